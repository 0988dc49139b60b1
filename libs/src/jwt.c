/*
 * Access tokens: ES256 verification with OpenSSL 3, signing with libjwt
 * 1.10, key sets in JWKS form built and parsed with OpenSSL's EVP_PKEY
 * parameter API.
 *
 * roam_jwt_verify parses the token itself (strict base64url, duplicate JSON
 * names refused), insists on the policy's alg byte for byte, picks the key
 * by kid, checks the signature, then checks every claim.
 *
 * Why the signature is not checked with libjwt's jwt_decode: libjwt 1.10
 * takes the key only as a PEM and parses it on every call, and OpenSSL 3.0's
 * PEM decoder costs about 700 us, so jwt_decode managed about 1,100 verifies
 * a second per core. Verifying the R||S signature directly against the
 * EVP_PKEY kept in the set does the same check (one EVP_DigestVerify, as
 * libjwt does) at about 10,000 a second. It also means nothing ever reaches
 * libjwt's case-insensitive alg handling or its HMAC path, so "es256", "none"
 * and HS256-with-the-public-key tokens are refused by the alg check alone.
 *
 * Only EC P-256 keys are kept: the set exists to verify ES256 tokens, and a
 * key of any other type could only ever fail.
 */
#include <roam/codec.h>
#include <roam/common.h>
#include <roam/jwt.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN_MAX 8192              /* longer tokens are rejected unread */
#define SEGMENT_MAX (TOKEN_MAX / 4 * 3) /* decoded size of any segment of such a token */
#define KID_MAX 128                 /* including the NUL */
#define KEYS_MAX 64                 /* a JWKS with more keys is refused */
#define P256_COORD 32
#define ES256_SIG 64 /* R||S */

typedef struct {
    char kid[KID_MAX];
    EVP_PKEY *pkey; /* the public key, owned (verifiers hold their own reference) */
    json_t *jwk;    /* the public JWK, owned */
} key_entry;

struct roam_jwks {
    pthread_rwlock_t lock;
    key_entry *keys; /* owned; replaced whole by load_json */
    size_t n;
};

/* Decodes a base64url segment holding a JSON object. Returns new, or NULL. */
static json_t *segment_json(const char *seg, size_t n) {
    unsigned char buf[SEGMENT_MAX];
    long len = roam_b64url_decode(seg, n, buf, sizeof(buf));
    if (len <= 0) return NULL;
    /* Duplicate names are refused so that no parser can read a different value than we did. */
    json_t *obj = json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    if (obj != NULL && !json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/*
 * Splits a compact JWS into its three segments (lengths in hlen, plen, slen;
 * the payload starts at token + hlen + 1). Returns 0, or -1 when the token is
 * too long, has other than three non-empty segments, or holds a character
 * outside base64url.
 */
static int split_token(const char *token, size_t *hlen, size_t *plen, size_t *slen) {
    size_t dots[2], ndots = 0, i;
    for (i = 0; token[i] != '\0'; i++) {
        if (i >= TOKEN_MAX) return -1;
        if (token[i] == '.') {
            if (ndots == 2) return -1;
            dots[ndots++] = i;
        } else if (!roam_b64url_char((unsigned char)token[i])) {
            return -1;
        }
    }
    if (ndots != 2) return -1;
    *hlen = dots[0];
    *plen = dots[1] - dots[0] - 1;
    *slen = i - dots[1] - 1;
    return (*hlen == 0 || *plen == 0 || *slen == 0) ? -1 : 0;
}

/* A kid we keep: 1 to KID_MAX - 1 printable ASCII characters (it is echoed into JSON and logs). */
static int kid_ok(const char *kid) {
    size_t n = 0;
    for (; kid[n] != '\0'; n++)
        if (n >= KID_MAX - 1 || kid[n] < 0x20 || kid[n] > 0x7e) return 0;
    return n > 0;
}

/* ---- keys ---- */

static void entries_free(key_entry *keys, size_t n) {
    for (size_t i = 0; i < n; i++) {
        EVP_PKEY_free(keys[i].pkey);
        json_decref(keys[i].jwk);
    }
    free(keys);
}

/* Builds the public JWK of an EC P-256 key. Returns new, or NULL for any other key. */
static json_t *jwk_from_pkey(EVP_PKEY *pk, const char *kid) {
    char group[64];
    size_t glen = 0;
    if (!EVP_PKEY_is_a(pk, "EC")) return NULL;
    if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen))
        return NULL;
    if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0) return NULL;

    json_t *jwk = NULL;
    BIGNUM *x = NULL, *y = NULL;
    unsigned char xb[P256_COORD], yb[P256_COORD];
    char xs[48], ys[48];
    if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) && EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) &&
        BN_bn2binpad(x, xb, P256_COORD) == P256_COORD && BN_bn2binpad(y, yb, P256_COORD) == P256_COORD) {
        roam_b64url_encode(xb, P256_COORD, xs);
        roam_b64url_encode(yb, P256_COORD, ys);
        jwk = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", xs, "y", ys, "kid",
                        kid, "alg", "ES256", "use", "sig");
    }
    BN_free(x);
    BN_free(y);
    return jwk;
}

/* Never prompt for a passphrase: an encrypted private key simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* Reads a public key PEM, or a private key PEM. Returns new, or NULL. */
static EVP_PKEY *pkey_from_pem(const char *pem, size_t len) {
    if (len == 0 || len > 64 * 1024) return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) return NULL;
    EVP_PKEY *pk = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    if (pk == NULL && BIO_reset(bio) == 1) pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    return pk;
}

/* Builds an EC P-256 public key from its affine coordinates. Returns new, or NULL (also off the curve). */
static EVP_PKEY *pkey_from_xy(const unsigned char x[P256_COORD], const unsigned char y[P256_COORD]) {
    unsigned char point[1 + 2 * P256_COORD];
    char group[] = "prime256v1";
    point[0] = 0x04; /* uncompressed */
    memcpy(point + 1, x, P256_COORD);
    memcpy(point + 1 + P256_COORD, y, P256_COORD);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    /* fromdata already refuses points off the curve; the full public check also covers the group order. */
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    int ok = check != NULL && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!ok) {
        EVP_PKEY_free(pk);
        return NULL;
    }
    return pk;
}

/* Reads one base64url P-256 coordinate of a JWK. 0 or -1. */
static int jwk_coord(json_t *jwk, const char *name, unsigned char out[P256_COORD]) {
    const char *s = json_string_value(json_object_get(jwk, name));
    unsigned char buf[P256_COORD + 3];
    if (s == NULL || roam_b64url_decode(s, strlen(s), buf, sizeof(buf)) != P256_COORD) return -1;
    memcpy(out, buf, P256_COORD);
    return 0;
}

/*
 * Fills e from an EC P-256 key: copies kid, builds the JWK and keeps a key
 * holding only the public half (rebuilt from the JWK's point, so a private
 * key handed in is not retained). 0 or -1 (e left empty).
 */
static int entry_from_pkey(key_entry *e, EVP_PKEY *pk, const char *kid) {
    unsigned char x[P256_COORD], y[P256_COORD];
    memset(e, 0, sizeof(*e));
    snprintf(e->kid, sizeof(e->kid), "%s", kid);
    e->jwk = jwk_from_pkey(pk, kid);
    if (e->jwk != NULL && jwk_coord(e->jwk, "x", x) == 0 && jwk_coord(e->jwk, "y", y) == 0)
        e->pkey = pkey_from_xy(x, y);
    if (e->pkey == NULL) {
        json_decref(e->jwk);
        memset(e, 0, sizeof(*e));
        return -1;
    }
    return 0;
}

/*
 * Parses one member of a JWKS "keys" array into e. Returns 1 when e was
 * filled, 0 when the key is of another kind and is skipped (not EC P-256, or
 * marked for another use or algorithm), -1 when it is an EC P-256 key that
 * is malformed.
 */
static int entry_from_jwk(key_entry *e, json_t *jwk) {
    if (!json_is_object(jwk)) return -1;
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    const char *use = json_string_value(json_object_get(jwk, "use"));
    const char *alg = json_string_value(json_object_get(jwk, "alg"));
    const char *kid = json_string_value(json_object_get(jwk, "kid"));
    if (kty == NULL) return -1;
    if (strcmp(kty, "EC") != 0 || crv == NULL || strcmp(crv, "P-256") != 0) return 0;
    if ((use != NULL && strcmp(use, "sig") != 0) || (alg != NULL && strcmp(alg, "ES256") != 0)) return 0;
    if (kid == NULL || !kid_ok(kid)) return -1;
    unsigned char x[P256_COORD], y[P256_COORD];
    if (jwk_coord(jwk, "x", x) != 0 || jwk_coord(jwk, "y", y) != 0) return -1;
    memset(e, 0, sizeof(*e));
    if ((e->pkey = pkey_from_xy(x, y)) == NULL) return -1;
    snprintf(e->kid, sizeof(e->kid), "%s", kid);
    if ((e->jwk = jwk_from_pkey(e->pkey, kid)) == NULL) { /* rebuilt: unknown members are not carried over */
        EVP_PKEY_free(e->pkey);
        memset(e, 0, sizeof(*e));
        return -1;
    }
    return 1;
}

roam_jwks_t *roam_jwks_new(void) {
    roam_jwks_t *ks = calloc(1, sizeof(*ks));
    if (ks == NULL) return NULL;
    if (pthread_rwlock_init(&ks->lock, NULL) != 0) {
        free(ks);
        return NULL;
    }
    return ks;
}

void roam_jwks_free(roam_jwks_t *ks) {
    if (ks == NULL) return;
    entries_free(ks->keys, ks->n);
    pthread_rwlock_destroy(&ks->lock);
    free(ks);
}

int roam_jwks_add_pem(roam_jwks_t *ks, const char *kid, const char *pem, size_t len) {
    if (ks == NULL || kid == NULL || pem == NULL || !kid_ok(kid)) return ROAM_EINVAL;
    EVP_PKEY *pk = pkey_from_pem(pem, len);
    key_entry e;
    int rc = pk != NULL ? entry_from_pkey(&e, pk, kid) : -1;
    EVP_PKEY_free(pk);
    ERR_clear_error(); /* failed parse attempts leave errors on this thread's queue */
    if (rc != 0) return ROAM_EINVAL;

    /* The same kid names one key: a second add replaces the first. */
    pthread_rwlock_wrlock(&ks->lock);
    size_t i = 0;
    while (i < ks->n && strcmp(ks->keys[i].kid, kid) != 0) i++;
    if (i < ks->n) {
        key_entry old = ks->keys[i];
        ks->keys[i] = e;
        pthread_rwlock_unlock(&ks->lock);
        EVP_PKEY_free(old.pkey);
        json_decref(old.jwk);
        return 0;
    }
    key_entry *grown = ks->n < KEYS_MAX ? realloc(ks->keys, (ks->n + 1) * sizeof(*grown)) : NULL;
    if (grown == NULL) {
        pthread_rwlock_unlock(&ks->lock);
        EVP_PKEY_free(e.pkey);
        json_decref(e.jwk);
        return ks->n < KEYS_MAX ? ROAM_ENOMEM : ROAM_EINVAL;
    }
    grown[ks->n] = e;
    ks->keys = grown;
    ks->n++;
    pthread_rwlock_unlock(&ks->lock);
    return 0;
}

/*
 * All parsing happens before the lock is taken; only the pointer swap is
 * done under it. A document that yields no usable key is refused too: it is
 * far more likely a broken key server than an intent to reject every token.
 */
int roam_jwks_load_json(roam_jwks_t *ks, const char *json, size_t len) {
    if (ks == NULL || json == NULL) return ROAM_EINVAL;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *arr = json_object_get(doc, "keys");
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0 || n > KEYS_MAX) {
        json_decref(doc);
        return ROAM_EINVAL;
    }
    key_entry *keys = calloc(n, sizeof(*keys));
    size_t got = 0;
    int ok = keys != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        int rc = entry_from_jwk(&keys[got], json_array_get(arr, i));
        if (rc < 0) ok = 0;
        if (rc <= 0) continue;
        for (size_t j = 0; j < got; j++)
            if (strcmp(keys[j].kid, keys[got].kid) == 0) ok = 0;
        got++;
    }
    json_decref(doc);
    ERR_clear_error();
    if (!ok || got == 0) {
        entries_free(keys, got);
        return keys == NULL ? ROAM_ENOMEM : ROAM_EINVAL;
    }

    pthread_rwlock_wrlock(&ks->lock);
    key_entry *old = ks->keys;
    size_t oldn = ks->n;
    ks->keys = keys;
    ks->n = got;
    pthread_rwlock_unlock(&ks->lock);
    entries_free(old, oldn);
    return 0;
}

json_t *roam_jwks_to_json(roam_jwks_t *ks) {
    json_t *arr = json_array();
    if (arr == NULL) return NULL;
    pthread_rwlock_rdlock(&ks->lock);
    for (size_t i = 0; i < ks->n; i++) {
        if (json_array_append_new(arr, json_deep_copy(ks->keys[i].jwk)) != 0) {
            pthread_rwlock_unlock(&ks->lock);
            json_decref(arr);
            return NULL;
        }
    }
    pthread_rwlock_unlock(&ks->lock);
    return json_pack("{s:o}", "keys", arr);
}

size_t roam_jwks_count(roam_jwks_t *ks) {
    pthread_rwlock_rdlock(&ks->lock);
    size_t n = ks->n;
    pthread_rwlock_unlock(&ks->lock);
    return n;
}

/*
 * Returns a new reference to the key named kid (EVP_PKEY_free it), or NULL.
 * The reference lets the signature check run outside the lock and survive
 * a concurrent reload that frees the set's own.
 */
static EVP_PKEY *key_lookup(roam_jwks_t *ks, const char *kid) {
    EVP_PKEY *pk = NULL;
    pthread_rwlock_rdlock(&ks->lock);
    for (size_t i = 0; i < ks->n; i++) {
        if (strcmp(ks->keys[i].kid, kid) == 0) {
            if (EVP_PKEY_up_ref(ks->keys[i].pkey) == 1) pk = ks->keys[i].pkey;
            break;
        }
    }
    pthread_rwlock_unlock(&ks->lock);
    return pk;
}

/*
 * Checks a JWS ES256 signature (base64url of R||S, RFC 7518 3.4) over the
 * signing input. 1 when valid, 0 otherwise.
 */
static int es256_valid(EVP_PKEY *pk, const char *input, size_t inlen, const char *sig64, size_t siglen) {
    unsigned char raw[ES256_SIG + 3], der[128], *p = der;
    if (roam_b64url_decode(sig64, siglen, raw, sizeof(raw)) != ES256_SIG) return 0;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, ES256_SIG / 2, NULL), *s = BN_bin2bn(raw + ES256_SIG / 2, ES256_SIG / 2, NULL);
    int derlen = -1;
    if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL; /* now owned by sig */
        if (i2d_ECDSA_SIG(sig, NULL) <= (int)sizeof(der)) derlen = i2d_ECDSA_SIG(sig, &p);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    if (derlen <= 0) return 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
             EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)input, inlen) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* ---- tokens ---- */

int roam_jwt_peek_kid(const char *token, char *kid, size_t kidlen) {
    size_t hlen, plen, slen;
    if (token == NULL || kid == NULL || kidlen == 0) return ROAM_EINVAL;
    if (split_token(token, &hlen, &plen, &slen) != 0) return ROAM_EINVAL;
    json_t *hdr = segment_json(token, hlen);
    const char *k = json_string_value(json_object_get(hdr, "kid"));
    int rc = ROAM_EINVAL;
    if (k != NULL && k[0] != '\0' && strlen(k) < kidlen) {
        memcpy(kid, k, strlen(k) + 1);
        rc = 0;
    }
    json_decref(hdr);
    return rc;
}

/* Records the reason for a rejection and returns code. */
static int deny(char *why, size_t whylen, int code, const char *reason) {
    if (why != NULL && whylen > 0) snprintf(why, whylen, "%s", reason);
    return code;
}

/*
 * Reads a NumericDate claim. Returns 1 and sets *out when present, 0 when
 * absent, -1 when present but not a number in a sane range.
 */
static int numeric_date(json_t *claims, const char *name, long long *out) {
    json_t *v = json_object_get(claims, name);
    if (v == NULL) return 0;
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0)) return -1; /* +-2^53 */
        *out = (long long)d;
        return 1;
    }
    return -1;
}

/* Copies a required non-empty string claim into out. 0 or -1 (absent, not a string, empty or too long). */
static int string_claim(json_t *claims, const char *name, char *out, size_t cap) {
    const char *s = json_string_value(json_object_get(claims, name));
    if (s == NULL || s[0] == '\0' || strlen(s) >= cap) return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int audience_ok(json_t *aud, const char *want) {
    if (json_is_string(aud)) return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud)) return 0;
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0) return 1;
    }
    return 0;
}

/* Checks the claims (after the signature has been verified) and fills out. */
static int check_claims(json_t *claims, const roam_jwt_policy_t *policy, long long now, roam_claims_t *out, char *why,
                        size_t whylen) {
    long long leeway = policy->leeway_s > 0 ? policy->leeway_s : 0;
    long long exp = 0, nbf = 0, iat = 0;
    int has;

    has = numeric_date(claims, "exp", &exp);
    if (has < 0) return deny(why, whylen, ROAM_EDENIED, "bad exp claim");
    if (has == 0) return deny(why, whylen, ROAM_EDENIED, "missing exp");
    if (exp <= now - leeway) return deny(why, whylen, ROAM_EDENIED, "expired");

    has = numeric_date(claims, "nbf", &nbf);
    if (has < 0) return deny(why, whylen, ROAM_EDENIED, "bad nbf claim");
    if (has > 0 && nbf > now + leeway) return deny(why, whylen, ROAM_EDENIED, "not yet valid");

    has = numeric_date(claims, "iat", &iat);
    if (has < 0) return deny(why, whylen, ROAM_EDENIED, "bad iat claim");
    if (has > 0 && iat > now + leeway) return deny(why, whylen, ROAM_EDENIED, "issued in the future");
    if (has == 0) iat = 0;

    const char *iss = json_string_value(json_object_get(claims, "iss"));
    if (iss == NULL || strcmp(iss, policy->iss) != 0) return deny(why, whylen, ROAM_EDENIED, "wrong issuer");
    if (!audience_ok(json_object_get(claims, "aud"), policy->aud))
        return deny(why, whylen, ROAM_EDENIED, "wrong audience");

    roam_claims_t c;
    memset(&c, 0, sizeof(c));
    if (string_claim(claims, "sub", c.sub, sizeof(c.sub)) != 0) return deny(why, whylen, ROAM_EDENIED, "bad sub claim");
    if (string_claim(claims, "role", c.role, sizeof(c.role)) != 0)
        return deny(why, whylen, ROAM_EDENIED, "bad role claim");
    if (string_claim(claims, "jti", c.jti, sizeof(c.jti)) != 0) return deny(why, whylen, ROAM_EDENIED, "bad jti claim");
    c.iat = iat;
    c.exp = exp;
    if (out != NULL) *out = c;
    return 0;
}

int roam_jwt_verify(const char *token, roam_jwks_t *ks, const roam_jwt_policy_t *policy, long long now,
                    roam_claims_t *out, char *why, size_t whylen) {
    size_t hlen, plen, slen;
    if (why != NULL && whylen > 0) why[0] = '\0';
    if (token == NULL || ks == NULL || policy == NULL || policy->alg == NULL || policy->iss == NULL ||
        policy->aud == NULL)
        return deny(why, whylen, ROAM_EDENIED, "missing token or incomplete policy");
    /* Only ES256 is implemented: the set holds only P-256 keys, and the post-decode check below names it. */
    if (strcmp(policy->alg, "ES256") != 0) return deny(why, whylen, ROAM_EDENIED, "unsupported policy algorithm");
    if (strnlen(token, TOKEN_MAX + 1) > TOKEN_MAX) return deny(why, whylen, ROAM_EDENIED, "token too large");
    if (split_token(token, &hlen, &plen, &slen) != 0) return deny(why, whylen, ROAM_EDENIED, "malformed token");
    if (now == 0) now = (long long)time(NULL);

    /* The header, checked before any key is touched. */
    json_t *hdr = segment_json(token, hlen);
    if (hdr == NULL) return deny(why, whylen, ROAM_EDENIED, "malformed header");
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    json_t *typ = json_object_get(hdr, "typ");
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    char kidbuf[KID_MAX];
    int rc = 0;
    if (alg == NULL || strcmp(alg, policy->alg) != 0)
        rc = deny(why, whylen, ROAM_EDENIED, "wrong algorithm");
    else if (typ != NULL && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0))
        rc = deny(why, whylen, ROAM_EDENIED, "wrong typ");
    else if (json_object_get(hdr, "crit") != NULL) /* RFC 7515 4.1.11: we understand no extensions */
        rc = deny(why, whylen, ROAM_EDENIED, "unsupported crit header");
    else if (kid == NULL || kid[0] == '\0')
        rc = deny(why, whylen, ROAM_EDENIED, "missing kid");
    else if (strlen(kid) >= sizeof(kidbuf))
        rc = deny(why, whylen, ROAM_ENOTFOUND, "unknown kid");
    else
        memcpy(kidbuf, kid, strlen(kid) + 1);
    json_decref(hdr);
    if (rc != 0) return rc;

    EVP_PKEY *pk = key_lookup(ks, kidbuf);
    if (pk == NULL) return deny(why, whylen, ROAM_ENOTFOUND, "unknown kid");
    /* The signing input is header.payload, exactly as sent. */
    int valid = es256_valid(pk, token, hlen + 1 + plen, token + hlen + 1 + plen + 1, slen);
    EVP_PKEY_free(pk);
    if (!valid) {
        ERR_clear_error();
        return deny(why, whylen, ROAM_EDENIED, "bad signature");
    }

    /* The claims: the payload bytes are exactly those the signature covered. */
    json_t *claims = segment_json(token + hlen + 1, plen);
    if (claims == NULL) return deny(why, whylen, ROAM_EDENIED, "malformed payload");
    rc = check_claims(claims, policy, now, out, why, whylen);
    json_decref(claims);
    return rc;
}

char *roam_jwt_sign_es256(const char *priv_pem, size_t len, const char *kid, json_t *claims) {
    if (priv_pem == NULL || len == 0 || len > INT32_MAX || kid == NULL || !kid_ok(kid) || !json_is_object(claims))
        return NULL;
    char *grants = json_dumps(claims, JSON_COMPACT);
    if (grants == NULL) return NULL;
    jwt_t *jwt = NULL;
    char *token = NULL;
    /* libjwt adds "typ":"JWT" and "alg" itself when encoding. */
    if (jwt_new(&jwt) == 0 && jwt_set_alg(jwt, JWT_ALG_ES256, (const unsigned char *)priv_pem, (int)len) == 0 &&
        jwt_add_header(jwt, "kid", kid) == 0 && jwt_add_grants_json(jwt, grants) == 0)
        token = jwt_encode_str(jwt);
    jwt_free(jwt);
    free(grants);
    ERR_clear_error();
    return token;
}
