/*
 * roam/authn.h: bearer-token authentication for the gateway and every
 * service (defence in depth: each verifies again, none trusts identity
 * headers).
 *
 * A verifier holds a key set (from the auth service's JWKS URL, refreshed
 * when a token names an unknown kid, at most once every few seconds; or keys
 * added locally by the auth service itself), a small cache of tokens already
 * verified (until their exp) so signatures are not checked on every request,
 * and an optional Redis for the logout denylist, which is checked on every
 * call, cached or not.
 *
 * Denylist: the auth service sets ROAM_DENYLIST_PREFIX + jti with a TTL of
 * the token's remaining life when a session logs out, and publishes
 * "<key> <ttl seconds>" on ROAM_DENYLIST_CHANNEL in the same script. Each
 * verifier keeps the revoked ids in memory: a subscriber thread loads them
 * all (SCAN) whenever it (re)subscribes and adds each new one as it is
 * published, so a check costs no Redis round trip. While the subscription is
 * down, every check asks Redis (EXISTS) instead, and fails closed
 * (ROAM_EUNAVAIL) when Redis cannot answer. A component that sees a logout
 * itself (the auth service, the gateway passing one on) records it at once
 * with roam_authn_revoke, so its next check cannot race the publication.
 */
#ifndef ROAM_AUTHN_H
#define ROAM_AUTHN_H

#include <roam/jwt.h>

#define ROAM_DENYLIST_PREFIX "roam:deny:"
#define ROAM_DENYLIST_CHANNEL "roam:deny:events"

typedef struct roam_redis roam_redis_t;
typedef struct roam_authn roam_authn_t;

typedef struct {
    const char *jwks_url; /* NULL: keys are added with roam_authn_keys() */
    const char *issuer;
    const char *audience;
    roam_redis_t *redis; /* denylist; NULL skips the check */
    unsigned cache_size; /* verified tokens kept; 0 disables the cache */
} roam_authn_opts_t;

/* Returns NULL with the reason in errbuf. Strings are copied. */
roam_authn_t *roam_authn_new(const roam_authn_opts_t *opts, char *errbuf, size_t errlen);
void roam_authn_free(roam_authn_t *a);
/* The key set (borrowed), for a service that signs its own tokens to add its keys. */
roam_jwks_t *roam_authn_keys(roam_authn_t *a);
/*
 * Verifies token: signature, alg, exp, nbf, iss, aud, claims, and that its
 * jti is not on the denylist. Returns 0 and fills claims; ROAM_EDENIED for a
 * bad, expired or revoked token; ROAM_EUNAVAIL when the denylist or the key
 * set cannot be reached (the caller answers 503, never lets the token pass).
 * The signature of roam_http_auth_fn: pass the verifier as its ctx.
 */
int roam_authn_verify(void *authn, const char *token, roam_claims_t *claims);
/* Records in this verifier that jti is revoked until exp (seconds since the epoch). */
void roam_authn_revoke(roam_authn_t *a, const char *jti, long long exp);
/* 1 while the denylist subscription is live (checks are local), else 0. */
int roam_authn_denylist_live(roam_authn_t *a);
/* Fetches the JWKS now (also done lazily). 0, or ROAM_EUNAVAIL. */
int roam_authn_refresh(roam_authn_t *a);

#endif
