/* Bearer-token verification with a key set, a verified-token cache and the denylist; see roam/authn.h. */
#include <roam/authn.h>
#include <roam/common.h>
#include <roam/httpc.h>
#include <roam/log.h>
#include <roam/metrics.h>
#include <roam/redis.h>

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REFRESH_MIN_INTERVAL_MS 5000 /* an unknown kid refetches the JWKS at most this often */
#define LEEWAY_S 30

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
};

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
    return a;
}

void roam_authn_free(roam_authn_t *a) {
    if (a == NULL) return;
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
    if (a->redis == NULL) return 0;
    char key[128];
    snprintf(key, sizeof(key), "%s%s", ROAM_DENYLIST_PREFIX, jti);
    redisReply *r = roam_redis_command(a->redis, "EXISTS %s", key);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
        if (r != NULL) freeReplyObject(r);
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
    unsigned int hl;
    EVP_Digest(token, len, hash, &hl, EVP_sha256(), NULL);

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
