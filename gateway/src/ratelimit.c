/*
 * Per-client rate limiting in Redis: a token bucket per client address,
 * refilled at rate tokens a second up to burst, kept in one hash and updated
 * by one script so that every gateway replica shares it atomically. The
 * script reads Redis's own clock, so replicas' clocks do not matter.
 */
#include "gateway.h"

#include <roam/common.h>
#include <roam/log.h>
#include <roam/metrics.h>
#include <roam/redis.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS[1] bucket; ARGV rate, burst. Returns 0 when allowed, else milliseconds until a token. */
static const char script[] =
    "local rate = tonumber(ARGV[1]) local burst = tonumber(ARGV[2])\n"
    "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
    "local tokens = tonumber(b[1]) or burst local ts = tonumber(b[2]) or now\n"
    "tokens = math.min(burst, tokens + (now - ts) * rate / 1000)\n"
    "local wait = 0\n"
    "if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end\n"
    "redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)\n"
    "return wait\n";

struct gw_limiter {
    roam_redis_t *redis;
    char rate[24], burst[24];
    long rate_n;
    pthread_mutex_t lock; /* guards sha, reloaded when Redis restarts */
    char sha[41];
};

/* Copies the script's hash into out, loading the script first if needed; "" when Redis is down. */
static void script_sha(gw_limiter_t *l, int reload, char out[41]) {
    pthread_mutex_lock(&l->lock);
    if (reload || l->sha[0] == '\0') {
        l->sha[0] = '\0';
        redisReply *r = roam_redis_command(l->redis, "SCRIPT LOAD %s", script);
        if (r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40) memcpy(l->sha, r->str, 41);
        if (r != NULL) freeReplyObject(r);
    }
    memcpy(out, l->sha, 41);
    pthread_mutex_unlock(&l->lock);
}

gw_limiter_t *gw_limiter_new(roam_redis_t *redis, long rate, long burst) {
    gw_limiter_t *l = roam_xcalloc(1, sizeof(*l));
    l->redis = redis;
    l->rate_n = rate;
    snprintf(l->rate, sizeof(l->rate), "%ld", rate);
    snprintf(l->burst, sizeof(l->burst), "%ld", burst > 0 ? burst : rate);
    pthread_mutex_init(&l->lock, NULL);
    return l;
}

void gw_limiter_free(gw_limiter_t *l) {
    if (l == NULL) return;
    pthread_mutex_destroy(&l->lock);
    free(l);
}

long gw_limiter_take(gw_limiter_t *l, const char *client) {
    if (l->rate_n <= 0) return 0;
    char key[96];
    snprintf(key, sizeof(key), "roam:rl:%s", client);
    for (int attempt = 0; attempt < 2; attempt++) {
        char sha[41];
        script_sha(l, attempt > 0, sha);
        const char *argv[] = {"EVALSHA", sha, "1", key, l->rate, l->burst};
        redisReply *r = sha[0] ? roam_redis_commandargv(l->redis, 6, argv, NULL) : NULL;
        if (r == NULL) break; /* Redis unreachable: let the request through */
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject(r); /* Redis restarted and forgot the script: load it again */
            continue;
        }
        long wait_ms = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : 0;
        freeReplyObject(r);
        return wait_ms > 0 ? (wait_ms + 999) / 1000 : 0;
    }
    roam_metrics_dep_error("redis");
    return 0;
}
