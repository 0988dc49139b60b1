/* Bearer-token verification with a key set, a verified-token cache and the denylist; see roam/authn.h. */
#include <roam/authn.h>
#include <roam/codec.h>
#include <roam/common.h>
#include <roam/httpc.h>
#include <roam/log.h>
#include <roam/metrics.h>
#include <roam/redis.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UNREACHABLE_NS (250 * 1000000LL) /* how long a slow failed denylist read is trusted to stay failed */
#define SLOW_FAILURE_NS (20 * 1000000LL)  /* a failure this slow was a wait, not a refusal */
#define REFRESH_MIN_INTERVAL_MS 5000 /* an unknown kid refetches the JWKS at most this often */
#define LEEWAY_S 30

#define DENY_BUCKETS 4096

/* A revoked token id, until its token would have expired anyway. */
typedef struct deny_entry {
    struct deny_entry *next;
    long long exp;
    char jti[64];
} deny_entry_t;

/* One verified token, by the SHA-256 of its text. */
typedef struct {
    unsigned char hash[32];
    roam_claims_t claims;
    int used;
} cache_entry_t;

struct roam_authn {
    char *jwks_url;
    char *issuer;
    char *audience;
    roam_redis_t *redis;
    roam_jwks_t *keys;
    pthread_mutex_t refresh_lock;
    int64_t last_refresh_ms;
    /* Direct-mapped cache: a slot per hash prefix; a collision just evicts. */
    cache_entry_t *cache;
    unsigned cache_size;
    pthread_mutex_t cache_lock;
    /* The local denylist, filled by the subscriber. */
    deny_entry_t *deny[DENY_BUCKETS];
    pthread_rwlock_t deny_lock;
    atomic_int live;     /* the subscription is up and the set is complete */
    /*
     * After a denylist read that failed slowly (Redis not answering rather
     * than refusing), tokens are refused as unverifiable without asking Redis
     * again until then: an event loop (the gateway's) must not wait on an
     * unreachable Redis request after request.
     */
    atomic_llong unreachable_until_ns;
    atomic_int stopping;
    int sub_fd;          /* the subscriber's socket, shut down to stop it; -1 when none */
    pthread_mutex_t sub_lock; /* sub_fd is cleared under it before the socket closes */
    pthread_t subscriber;
    int has_subscriber;
};

static unsigned deny_hash(const char *jti) {
    unsigned h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)jti; *p; p++) h = (h ^ *p) * 16777619u;
    return h % DENY_BUCKETS;
}

void roam_authn_revoke(roam_authn_t *a, const char *jti, long long exp) {
    if (a == NULL || jti == NULL || strlen(jti) >= sizeof(((deny_entry_t *)0)->jti)) return;
    unsigned b = deny_hash(jti);
    pthread_rwlock_wrlock(&a->deny_lock);
    for (deny_entry_t *e = a->deny[b]; e != NULL; e = e->next) {
        if (strcmp(e->jti, jti) == 0) {
            if (exp > e->exp) e->exp = exp;
            pthread_rwlock_unlock(&a->deny_lock);
            return;
        }
    }
    deny_entry_t *e = malloc(sizeof(*e));
    if (e != NULL) {
        snprintf(e->jti, sizeof(e->jti), "%s", jti);
        e->exp = exp;
        e->next = a->deny[b];
        a->deny[b] = e;
    }
    pthread_rwlock_unlock(&a->deny_lock);
}

static int deny_local(roam_authn_t *a, const char *jti) {
    int found = 0;
    pthread_rwlock_rdlock(&a->deny_lock);
    for (deny_entry_t *e = a->deny[deny_hash(jti)]; e != NULL && !found; e = e->next)
        found = strcmp(e->jti, jti) == 0;
    pthread_rwlock_unlock(&a->deny_lock);
    return found;
}

/* Drops entries whose tokens have expired (they fail the exp check anyway). */
static void deny_sweep(roam_authn_t *a) {
    long long now = (long long)time(NULL) - 60;
    pthread_rwlock_wrlock(&a->deny_lock);
    for (unsigned b = 0; b < DENY_BUCKETS; b++) {
        deny_entry_t **pp = &a->deny[b];
        while (*pp != NULL) {
            if ((*pp)->exp < now) {
                deny_entry_t *dead = *pp;
                *pp = dead->next;
                free(dead);
            } else {
                pp = &(*pp)->next;
            }
        }
    }
    pthread_rwlock_unlock(&a->deny_lock);
}

/* Adds "<key> <ttl>" (a published message, or a SCAN result with its TTL). */
static void deny_add_key(roam_authn_t *a, const char *key, long long ttl_s) {
    size_t plen = strlen(ROAM_DENYLIST_PREFIX);
    if (strncmp(key, ROAM_DENYLIST_PREFIX, plen) != 0 || strcmp(key, ROAM_DENYLIST_CHANNEL) == 0) return;
    roam_authn_revoke(a, key + plen, (long long)time(NULL) + (ttl_s > 0 ? ttl_s : 1));
}

/* Loads every key on the denylist through a pooled connection. 0 or -1. */
static int deny_load_all(roam_authn_t *a) {
    char cursor[32] = "0";
    do {
        redisReply *r = roam_redis_command(a->redis, "SCAN %s MATCH %s* COUNT 1000", cursor, ROAM_DENYLIST_PREFIX);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r != NULL) freeReplyObject(r);
            return -1;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str ? r->element[0]->str : "0");
        redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const char *key = keys->element[i]->str;
            if (key == NULL) continue;
            redisReply *t = roam_redis_command(a->redis, "TTL %s", key);
            if (t != NULL && t->type == REDIS_REPLY_INTEGER && t->integer != -2) deny_add_key(a, key, t->integer);
            if (t != NULL) freeReplyObject(t);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/*
 * Keeps the local denylist in step with Redis: subscribe first, then load
 * what exists, so nothing published in between is missed. Any error drops
 * back to per-check EXISTS until the next successful (re)subscription.
 */
static void *subscriber_main(void *arg) {
    roam_authn_t *a = arg;
    int backoff_ms = 200;
    while (!atomic_load(&a->stopping)) {
        redisContext *c = roam_redis_connect(a->redis, 1000);
        redisReply *r = NULL;
        if (c != NULL) {
            struct timeval none = {0, 0};
            redisSetTimeout(c, none); /* block: messages come when they come */
            pthread_mutex_lock(&a->sub_lock);
            a->sub_fd = c->fd;
            pthread_mutex_unlock(&a->sub_lock);
            r = redisCommand(c, "SUBSCRIBE %s", ROAM_DENYLIST_CHANNEL);
        }
        if (r != NULL && r->type == REDIS_REPLY_ARRAY && !atomic_load(&a->stopping) && deny_load_all(a) == 0) {
            freeReplyObject(r);
            r = NULL;
            atomic_store(&a->live, 1);
            roam_debug("denylist subscription live");
            backoff_ms = 200;
            time_t last_sweep = time(NULL);
            void *reply;
            while (!atomic_load(&a->stopping) && redisGetReply(c, &reply) == REDIS_OK) {
                redisReply *m = reply;
                /* ["message", channel, "<key> <ttl>"] */
                if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 && m->element[2]->str != NULL) {
                    char key[160];
                    long long ttl = 0;
                    if (sscanf(m->element[2]->str, "%159s %lld", key, &ttl) == 2) deny_add_key(a, key, ttl);
                }
                freeReplyObject(m);
                if (time(NULL) - last_sweep > 60) {
                    deny_sweep(a);
                    last_sweep = time(NULL);
                }
            }
        }
        if (r != NULL) freeReplyObject(r);
        if (atomic_exchange(&a->live, 0) && !atomic_load(&a->stopping))
            roam_warn("denylist subscription lost; checking Redis on every request until it is back");
        pthread_mutex_lock(&a->sub_lock);
        a->sub_fd = -1;
        pthread_mutex_unlock(&a->sub_lock);
        if (c != NULL) redisFree(c);
        for (int waited = 0; waited < backoff_ms && !atomic_load(&a->stopping); waited += 50) usleep(50 * 1000);
        if (backoff_ms < 5000) backoff_ms *= 2;
    }
    return NULL;
}

int roam_authn_denylist_live(roam_authn_t *a) { return atomic_load(&a->live); }

roam_authn_t *roam_authn_new(const roam_authn_opts_t *o, char *errbuf, size_t errlen) {
    if (o->issuer == NULL || o->audience == NULL) {
        snprintf(errbuf, errlen, "issuer and audience are required");
        return NULL;
    }
    roam_authn_t *a = roam_xcalloc(1, sizeof(*a));
    a->jwks_url = o->jwks_url ? roam_xstrdup(o->jwks_url) : NULL;
    a->issuer = roam_xstrdup(o->issuer);
    a->audience = roam_xstrdup(o->audience);
    a->redis = o->redis;
    a->keys = roam_jwks_new();
    a->cache_size = o->cache_size;
    if (a->cache_size) a->cache = roam_xcalloc(a->cache_size, sizeof(cache_entry_t));
    pthread_mutex_init(&a->refresh_lock, NULL);
    pthread_mutex_init(&a->cache_lock, NULL);
    pthread_rwlock_init(&a->deny_lock, NULL);
    a->sub_fd = -1;
    pthread_mutex_init(&a->sub_lock, NULL);
    if (a->redis != NULL && pthread_create(&a->subscriber, NULL, subscriber_main, a) == 0) a->has_subscriber = 1;
    return a;
}

void roam_authn_free(roam_authn_t *a) {
    if (a == NULL) return;
    if (a->has_subscriber) {
        atomic_store(&a->stopping, 1);
        pthread_mutex_lock(&a->sub_lock);
        if (a->sub_fd >= 0) shutdown(a->sub_fd, SHUT_RDWR); /* unblocks the subscriber's read */
        pthread_mutex_unlock(&a->sub_lock);
        pthread_join(a->subscriber, NULL);
    }
    for (unsigned b = 0; b < DENY_BUCKETS; b++) {
        while (a->deny[b] != NULL) {
            deny_entry_t *next = a->deny[b]->next;
            free(a->deny[b]);
            a->deny[b] = next;
        }
    }
    pthread_rwlock_destroy(&a->deny_lock);
    pthread_mutex_destroy(&a->sub_lock);
    roam_jwks_free(a->keys);
    free(a->cache);
    free(a->jwks_url);
    free(a->issuer);
    free(a->audience);
    pthread_mutex_destroy(&a->refresh_lock);
    pthread_mutex_destroy(&a->cache_lock);
    free(a);
}

roam_jwks_t *roam_authn_keys(roam_authn_t *a) { return a->keys; }

int roam_authn_refresh(roam_authn_t *a) {
    if (a->jwks_url == NULL) return ROAM_ENOTFOUND;
    roam_httpc_opts_t o;
    roam_httpc_opts_init(&o);
    o.timeout_ms = 2000;
    roam_httpc_resp_t r;
    int rc = roam_httpc_do("GET", a->jwks_url, NULL, NULL, 0, &o, &r);
    if (rc == 0 && r.status == 200 && r.body != NULL) rc = roam_jwks_load_json(a->keys, r.body, r.len);
    else if (rc == 0) rc = ROAM_EUNAVAIL;
    roam_httpc_resp_cleanup(&r);
    if (rc != 0) {
        roam_metrics_dep_error("upstream_auth");
        roam_warn("cannot load the signing keys from %s: %s", a->jwks_url, roam_strerror(rc));
        return ROAM_EUNAVAIL;
    }
    return 0;
}

/* Refetches the key set unless another thread did so very recently. */
static int refresh_throttled(roam_authn_t *a) {
    pthread_mutex_lock(&a->refresh_lock);
    int64_t now = roam_now_ms();
    int rc = 0;
    if (now - a->last_refresh_ms >= REFRESH_MIN_INTERVAL_MS || roam_jwks_count(a->keys) == 0) {
        a->last_refresh_ms = now;
        rc = roam_authn_refresh(a);
    }
    pthread_mutex_unlock(&a->refresh_lock);
    return rc;
}

static int cache_get(roam_authn_t *a, const unsigned char hash[32], roam_claims_t *out) {
    if (a->cache_size == 0) return 0;
    unsigned slot = (unsigned)(hash[0] | hash[1] << 8 | hash[2] << 16) % a->cache_size;
    int hit = 0;
    pthread_mutex_lock(&a->cache_lock);
    cache_entry_t *e = &a->cache[slot];
    if (e->used && memcmp(e->hash, hash, 32) == 0) {
        if (e->claims.exp > (long long)time(NULL)) {
            *out = e->claims;
            hit = 1;
        } else {
            e->used = 0; /* expired: verify again, which will refuse it */
        }
    }
    pthread_mutex_unlock(&a->cache_lock);
    return hit;
}

static void cache_put(roam_authn_t *a, const unsigned char hash[32], const roam_claims_t *claims) {
    if (a->cache_size == 0) return;
    unsigned slot = (unsigned)(hash[0] | hash[1] << 8 | hash[2] << 16) % a->cache_size;
    pthread_mutex_lock(&a->cache_lock);
    cache_entry_t *e = &a->cache[slot];
    memcpy(e->hash, hash, 32);
    e->claims = *claims;
    e->used = 1;
    pthread_mutex_unlock(&a->cache_lock);
}

/* 0 if jti is not revoked, ROAM_EDENIED if it is, ROAM_EUNAVAIL if Redis cannot say. */
static int denylist_check(roam_authn_t *a, const char *jti) {
    if (deny_local(a, jti)) return ROAM_EDENIED;
    if (a->redis == NULL || atomic_load(&a->live)) return 0;
    long long t0 = (long long)roam_now_mono_ns();
    if (t0 < atomic_load(&a->unreachable_until_ns)) return ROAM_EUNAVAIL;
    char key[128];
    snprintf(key, sizeof(key), "%s%s", ROAM_DENYLIST_PREFIX, jti);
    redisReply *r = roam_redis_command(a->redis, "EXISTS %s", key);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
        if (r != NULL) freeReplyObject(r);
        long long t1 = (long long)roam_now_mono_ns();
        if (t1 - t0 >= SLOW_FAILURE_NS) atomic_store(&a->unreachable_until_ns, t1 + UNREACHABLE_NS);
        return ROAM_EUNAVAIL;
    }
    int revoked = r->integer > 0;
    freeReplyObject(r);
    return revoked ? ROAM_EDENIED : 0;
}

int roam_authn_verify(void *ctx, const char *token, roam_claims_t *claims) {
    roam_authn_t *a = ctx;
    size_t len = strlen(token);
    if (len == 0 || len > 8192) return ROAM_EDENIED;
    unsigned char hash[32];
    roam_sha256(token, len, hash);

    if (!cache_get(a, hash, claims)) {
        roam_jwt_policy_t p = {"ES256", a->issuer, a->audience, LEEWAY_S};
        char why[96];
        int rc = roam_jwt_verify(token, a->keys, &p, 0, claims, why, sizeof(why));
        if (rc == ROAM_ENOTFOUND && a->jwks_url != NULL) {
            /* An unknown kid: the auth service may have rotated its key. */
            if (refresh_throttled(a) == ROAM_EUNAVAIL && roam_jwks_count(a->keys) == 0) return ROAM_EUNAVAIL;
            rc = roam_jwt_verify(token, a->keys, &p, 0, claims, why, sizeof(why));
        }
        if (rc != 0) {
            roam_debug("token refused: %s", rc == ROAM_ENOTFOUND ? "unknown kid" : why);
            return ROAM_EDENIED;
        }
        cache_put(a, hash, claims);
    }
    return denylist_check(a, claims->jti);
}
