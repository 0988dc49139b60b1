/*
 * Per-client rate limiting in Redis: a token bucket per client address,
 * refilled at rate tokens a second up to burst, kept in one hash and updated
 * by one script so that every gateway replica shares it atomically. The
 * script reads Redis's own clock, so replicas' clocks do not matter.
 *
 * Leases: a client that keeps the gateway busy would cost a Redis round
 * trip per request. Instead each gateway takes tokens from the shared bucket
 * in leases that it hands out locally for up to LEASE_NS. A lease starts at
 * one token (exactly the shared bucket), doubles each time a client uses a
 * whole lease within its window, up to MAX_LEASE, and falls back when a
 * lease lapses unused. Lapsed tokens are simply lost, so the shared limit is
 * never exceeded; a busy client may get slightly less than its rate.
 */
#include "gateway.h"

#include <roam/common.h>
#include <roam/log.h>
#include <roam/metrics.h>
#include <roam/redis.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * KEYS[1] bucket; ARGV rate, burst, wanted tokens. Returns {granted, wait}:
 * the tokens taken (0 to wanted) and, when none, milliseconds until one.
 */
static const char script[] =
    "local rate = tonumber(ARGV[1]) local burst = tonumber(ARGV[2]) local want = tonumber(ARGV[3])\n"
    "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
    "local tokens = tonumber(b[1]) or burst local ts = tonumber(b[2]) or now\n"
    "tokens = math.min(burst, tokens + (now - ts) * rate / 1000)\n"
    "local granted = math.min(want, math.floor(tokens)) local wait = 0\n"
    "if granted >= 1 then tokens = tokens - granted else granted = 0 wait = math.ceil((1 - tokens) * 1000 / rate) end\n"
    "redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)\n"
    "return {granted, wait}\n";

#define LEASE_NS (100 * 1000000LL)
#define MAX_LEASE 64
#define LEASE_SLOTS 8192 /* clients remembered at once; a collision just evicts */
#define BYPASS_NS (1000 * 1000000LL)

typedef struct {
    pthread_mutex_t lock;
    char client[48];
    long left;      /* tokens of the current lease not yet handed out */
    long size;      /* the current lease's size */
    int full;       /* the current lease was granted in full (so using it up means demand) */
    int64_t until;  /* the lease lapses at this monotonic time */
} lease_t;

struct gw_limiter {
    roam_redis_t *redis;
    char rate[24], burst[24];
    long rate_n;
    long max_lease;
    lease_t *leases;
    pthread_mutex_t lock; /* guards sha, reloaded when Redis restarts */
    char sha[41];
    /*
     * After Redis failed, requests pass without asking it until then: the
     * gateway's event loops must not wait on an unreachable Redis request
     * after request (each wait would hold up every connection of the loop).
     */
    atomic_llong bypass_until_ns;
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
    /* A lease never holds more than a twentieth of a second of the rate, nor more than the burst. */
    long b = burst > 0 ? burst : rate;
    l->max_lease = rate / 20;
    if (l->max_lease > MAX_LEASE) l->max_lease = MAX_LEASE;
    if (l->max_lease > b) l->max_lease = b;
    if (l->max_lease < 1) l->max_lease = 1;
    l->leases = roam_xcalloc(LEASE_SLOTS, sizeof(lease_t));
    for (int i = 0; i < LEASE_SLOTS; i++) pthread_mutex_init(&l->leases[i].lock, NULL);
    return l;
}

void gw_limiter_free(gw_limiter_t *l) {
    if (l == NULL) return;
    for (int i = 0; i < LEASE_SLOTS; i++) pthread_mutex_destroy(&l->leases[i].lock);
    free(l->leases);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/*
 * Takes up to want tokens from the shared bucket. Returns the number granted
 * (>= 1), 0 with *wait_s set when the client must wait, or -1 when Redis
 * cannot be reached.
 */
static long take_shared(gw_limiter_t *l, const char *client, long want, long *wait_s) {
    char key[96], want_s[24];
    snprintf(key, sizeof(key), "roam:rl:%s", client);
    snprintf(want_s, sizeof(want_s), "%ld", want);
    for (int attempt = 0; attempt < 2; attempt++) {
        char sha[41];
        script_sha(l, attempt > 0, sha);
        const char *argv[] = {"EVALSHA", sha, "1", key, l->rate, l->burst, want_s};
        redisReply *r = sha[0] ? roam_redis_commandargv(l->redis, 7, argv, NULL) : NULL;
        if (r == NULL) break;
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject(r); /* Redis restarted and forgot the script: load it again */
            continue;
        }
        long granted = -1, wait_ms = 0;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_INTEGER &&
            r->element[1]->type == REDIS_REPLY_INTEGER) {
            granted = (long)r->element[0]->integer;
            wait_ms = (long)r->element[1]->integer;
        }
        freeReplyObject(r);
        if (granted < 0) break;
        *wait_s = wait_ms > 0 ? (wait_ms + 999) / 1000 : 1;
        return granted;
    }
    roam_metrics_dep_error("redis");
    return -1;
}

static unsigned slot_of(const char *client) {
    unsigned h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)client; *p; p++) h = (h ^ *p) * 16777619u;
    return h % LEASE_SLOTS;
}

long gw_limiter_take(gw_limiter_t *l, const char *client) {
    if (l->rate_n <= 0) return 0;
    lease_t *s = &l->leases[slot_of(client)];
    int64_t now = (int64_t)roam_now_mono_ns();
    if (now < atomic_load(&l->bypass_until_ns)) return 0;
    long want;
    pthread_mutex_lock(&s->lock);
    int mine = strcmp(s->client, client) == 0;
    if (mine && now < s->until && s->left > 0) {
        s->left--;
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    if (!mine || s->size < 1) {
        want = 1;
    } else if (now < s->until && s->full) {
        want = s->size * 2 > l->max_lease ? l->max_lease : s->size * 2; /* used up in time: grow */
    } else if (now < s->until) {
        want = s->size; /* refused or cut short: ask for the same again */
    } else {
        want = s->size / 2 > 1 ? s->size / 2 : 1; /* lapsed: shrink */
    }
    pthread_mutex_unlock(&s->lock);

    long wait_s = 0;
    long granted = take_shared(l, client, want, &wait_s);
    if (granted < 0) { /* Redis unreachable: let requests through, and do not ask again for a second */
        atomic_store(&l->bypass_until_ns, (long long)roam_now_mono_ns() + BYPASS_NS);
        return 0;
    }

    pthread_mutex_lock(&s->lock);
    snprintf(s->client, sizeof(s->client), "%s", client);
    s->size = want;
    s->full = granted == want;
    s->left = granted > 0 ? granted - 1 : 0;
    s->until = now + LEASE_NS;
    pthread_mutex_unlock(&s->lock);
    return granted > 0 ? 0 : wait_s;
}
