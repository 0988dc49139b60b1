/*
 * roam/jwt.h: access-token verification (with OpenSSL) and signing (with
 * libjwt), with key sets in JWKS form built with OpenSSL.
 *
 * roam_jwt_verify checks, in order:
 * the header's alg equals the policy's (exactly, so "none", "HS256" against
 * a public key and case variants fail), the kid names a key in the set, the
 * signature, exp (required), nbf (if present), iss, aud (string or array),
 * and that sub, role and jti are present strings.
 */
#ifndef ROAM_JWT_H
#define ROAM_JWT_H

#include <stddef.h>
#include <jansson.h>

typedef struct {
    char sub[64];
    char role[32];
    char jti[64];
    long long iat;
    long long exp;
} roam_claims_t;

typedef struct {
    const char *alg; /* "ES256" */
    const char *iss;
    const char *aud;
    int leeway_s; /* clock skew allowed on exp, nbf and iat */
} roam_jwt_policy_t;

/* A set of public keys by kid; thread-safe (readers share, replace is atomic). */
typedef struct roam_jwks roam_jwks_t;

roam_jwks_t *roam_jwks_new(void);
void roam_jwks_free(roam_jwks_t *ks);
/*
 * Adds an EC P-256 public (or private: only its public half is kept) key PEM
 * under kid, replacing any key of that kid. 0 or ROAM_EINVAL.
 */
int roam_jwks_add_pem(roam_jwks_t *ks, const char *kid, const char *pem, size_t len);
/*
 * Replaces the whole set with the keys of a JWKS document ({"keys": [...]};
 * EC P-256 keys with kid). Keys of other types are skipped; a document with
 * no usable key is refused. 0 or ROAM_EINVAL (the set is unchanged on
 * failure).
 */
int roam_jwks_load_json(roam_jwks_t *ks, const char *json, size_t len);
/* The set as a JWKS document (returns new). */
json_t *roam_jwks_to_json(roam_jwks_t *ks);
/* Number of keys. */
size_t roam_jwks_count(roam_jwks_t *ks);

/*
 * Reads the kid from a token's header without verifying anything. Returns 0
 * or ROAM_EINVAL.
 */
int roam_jwt_peek_kid(const char *token, char *kid, size_t kidlen);

/*
 * Verifies token against ks under policy at time now (seconds since the
 * epoch; pass 0 for the current time). Returns 0 and fills out; ROAM_ENOTFOUND
 * when the kid is not in the set (refresh the set and retry once);
 * ROAM_EDENIED for every other failure, with the reason in why (may be NULL).
 */
int roam_jwt_verify(const char *token, roam_jwks_t *ks, const roam_jwt_policy_t *policy, long long now,
                    roam_claims_t *out, char *why, size_t whylen);

/*
 * Signs claims (borrowed) as an ES256 JWT with header kid, using the private
 * key PEM. Returns a new string (free it), or NULL.
 */
char *roam_jwt_sign_es256(const char *priv_pem, size_t len, const char *kid, json_t *claims);

#endif
