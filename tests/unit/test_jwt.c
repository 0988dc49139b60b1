/*
 * roam/jwt.h: signing, verification and every rejection the header promises,
 * JWKS round trips, and the libjwt pitfalls (alg case, alg none, HS256 with
 * the public key as the secret). Keys are generated at run time.
 */
#include <roam/common.h>
#include <roam/jwt.h>

#include <jwt.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <time.h>

#include "check.h"

static const roam_jwt_policy_t policy = {.alg = "ES256", .iss = "roam-auth", .aud = "roam", .leeway_s = 30};
static long long now;
static EVP_PKEY *key1, *key2;
static char *priv1, *pub1, *priv2, *pub2;

/* ---- helpers ---- */

static char *pem_of(EVP_PKEY *pk, int private) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (private)
        PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL);
    else
        PEM_write_bio_PUBKEY(bio, pk);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    char *s = strndup(data, (size_t)n);
    BIO_free(bio);
    return s;
}

static void b64url(const unsigned char *in, size_t n, char *out) {
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=') len--;
    out[len] = '\0';
    for (char *p = out; *p; p++) {
        if (*p == '+') *p = '-';
        if (*p == '/') *p = '_';
    }
}

/*
 * Builds a compact token from raw header and payload JSON, signed as how
 * says: "es256" (ECDSA P-256 over SHA-256 with key, R||S), "hs256" (HMAC with
 * secret), "junk" (a made-up signature) or "none" (empty signature).
 * Returns new.
 */
static char *craft(const char *header, const char *payload, const char *how, EVP_PKEY *key, const char *secret) {
    char *tok = malloc(16384);
    char h[4096], p[8192], s[256] = "";
    b64url((const unsigned char *)header, strlen(header), h);
    b64url((const unsigned char *)payload, strlen(payload), p);
    snprintf(tok, 16384, "%s.%s", h, p);
    if (strcmp(how, "es256") == 0) {
        unsigned char der[128], raw[64];
        size_t derlen = sizeof(der);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key);
        EVP_DigestSign(md, der, &derlen, (const unsigned char *)tok, strlen(tok));
        EVP_MD_CTX_free(md);
        const unsigned char *dp = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &dp, (long)derlen);
        BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
        ECDSA_SIG_free(sig);
        b64url(raw, 64, s);
    } else if (strcmp(how, "hs256") == 0) {
        unsigned char mac[32];
        unsigned int maclen = sizeof(mac);
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)tok, strlen(tok), mac, &maclen);
        b64url(mac, maclen, s);
    } else if (strcmp(how, "junk") == 0) {
        strcpy(s, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    }
    strcat(tok, ".");
    strcat(tok, s);
    return tok;
}

/* The standard claims, valid at now. Returns new. */
static json_t *base_claims(void) {
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "iss", "roam-auth", "aud", "roam", "sub", "u-1", "role",
                     "traveler", "jti", "j-1", "iat", (json_int_t)now, "exp", (json_int_t)(now + 300));
}

/* A keyset holding key1 as "k1". */
static roam_jwks_t *set1(void) {
    roam_jwks_t *ks = roam_jwks_new();
    if (roam_jwks_add_pem(ks, "k1", pub1, strlen(pub1)) != 0) abort();
    return ks;
}

/* Signs claims (stolen) with key1 under kid and verifies against set1; returns the code, why in why. */
static int sign_verify(json_t *claims, const char *kid, char *why, size_t whylen, roam_claims_t *out) {
    roam_jwks_t *ks = set1();
    char *tok = roam_jwt_sign_es256(priv1, strlen(priv1), kid, claims);
    json_decref(claims);
    int rc = tok != NULL ? roam_jwt_verify(tok, ks, &policy, now, out, why, whylen) : -100;
    free(tok);
    roam_jwks_free(ks);
    return rc;
}

/* Expects claims (stolen) to be denied with reason. */
#define DENIED(claims, reason)                                                         \
    do {                                                                               \
        char why_[64];                                                                 \
        CHECK_INT(sign_verify((claims), "k1", why_, sizeof(why_), NULL), ROAM_EDENIED); \
        CHECK_STR(why_, (reason));                                                     \
    } while (0)

static json_t *with(json_t *c, const char *name, json_t *v) {
    json_object_set_new(c, name, v);
    return c;
}

static json_t *without(json_t *c, const char *name) {
    json_object_del(c, name);
    return c;
}

/* ---- tests ---- */

static void test_sign_verify_ok(void) {
    roam_jwks_t *ks = set1();
    json_t *claims = base_claims();
    char *tok = roam_jwt_sign_es256(priv1, strlen(priv1), "k1", claims);
    json_decref(claims);
    REQUIRE(tok != NULL);
    roam_claims_t c;
    char why[64];
    CHECK_INT(roam_jwt_verify(tok, ks, &policy, now, &c, why, sizeof(why)), 0);
    CHECK_STR(c.sub, "u-1");
    CHECK_STR(c.role, "traveler");
    CHECK_STR(c.jti, "j-1");
    CHECK_INT(c.iat, now);
    CHECK_INT(c.exp, now + 300);
    /* now == 0 means the current time, and these claims are current. */
    CHECK_INT(roam_jwt_verify(tok, ks, &policy, 0, &c, why, sizeof(why)), 0);
    /* JOSE signatures are raw R||S (64 bytes, 86 base64url characters), not DER. */
    CHECK_INT(strlen(strrchr(tok, '.') + 1), 86);
    /* The header is what we promised: alg ES256, typ JWT, our kid. */
    char kid[16];
    CHECK_INT(roam_jwt_peek_kid(tok, kid, sizeof(kid)), 0);
    CHECK_STR(kid, "k1");
    jwt_t *j = NULL;
    CHECK_INT(jwt_decode(&j, tok, NULL, 0), 0);
    CHECK_STR(jwt_get_header(j, "alg"), "ES256");
    CHECK_STR(jwt_get_header(j, "typ"), "JWT");
    CHECK_INT(jwt_get_grant_int(j, "exp"), now + 300); /* ints stay ints */
    jwt_free(j);
    /* A token we craft ourselves (OpenSSL, not libjwt) verifies too: the formats agree. */
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"roam-auth\",\"aud\":\"roam\",\"sub\":\"u-2\",\"role\":\"admin\",\"jti\":\"j\",\"exp\":%lld}",
             now + 60);
    char *crafted = craft("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", payload, "es256", key1, NULL);
    CHECK_INT(roam_jwt_verify(crafted, ks, &policy, now, &c, why, sizeof(why)), 0);
    j = NULL;
    CHECK_INT(jwt_decode(&j, crafted, (const unsigned char *)pub1, (int)strlen(pub1)), 0); /* libjwt agrees */
    jwt_free(j);
    CHECK_STR(c.role, "admin");
    CHECK_INT(c.iat, 0);
    free(crafted);
    /* typ is optional. */
    crafted = craft("{\"alg\":\"ES256\",\"kid\":\"k1\"}", payload, "es256", key1, NULL);
    CHECK_INT(roam_jwt_verify(crafted, ks, &policy, now, &c, why, sizeof(why)), 0);
    free(crafted);
    free(tok);
    roam_jwks_free(ks);
}

static void test_time_claims(void) {
    roam_claims_t c;
    char why[64];
    DENIED(with(base_claims(), "exp", json_integer(now - 100)), "expired");
    DENIED(with(base_claims(), "exp", json_integer(now - 30)), "expired");
    CHECK_INT(sign_verify(with(base_claims(), "exp", json_integer(now - 10)), "k1", why, sizeof(why), &c), 0);
    DENIED(without(base_claims(), "exp"), "missing exp");
    DENIED(with(base_claims(), "exp", json_string("tomorrow")), "bad exp claim");
    DENIED(with(base_claims(), "nbf", json_integer(now + 100)), "not yet valid");
    CHECK_INT(sign_verify(with(base_claims(), "nbf", json_integer(now + 10)), "k1", why, sizeof(why), &c), 0);
    CHECK_INT(sign_verify(with(base_claims(), "nbf", json_integer(now - 10)), "k1", why, sizeof(why), &c), 0);
    DENIED(with(base_claims(), "iat", json_integer(now + 100)), "issued in the future");
    CHECK_INT(sign_verify(without(base_claims(), "iat"), "k1", why, sizeof(why), &c), 0);
    CHECK_INT(c.iat, 0);
    /* NumericDate may be fractional. */
    CHECK_INT(sign_verify(with(base_claims(), "exp", json_real((double)now + 100.5)), "k1", why, sizeof(why), &c), 0);
    CHECK_INT(c.exp, now + 100);
    DENIED(with(base_claims(), "exp", json_real(1e300)), "bad exp claim");
}

static void test_iss_aud(void) {
    roam_claims_t c;
    char why[64];
    DENIED(with(base_claims(), "iss", json_string("evil")), "wrong issuer");
    DENIED(with(base_claims(), "iss", json_string("ROAM-AUTH")), "wrong issuer");
    DENIED(without(base_claims(), "iss"), "wrong issuer");
    DENIED(with(base_claims(), "aud", json_string("other")), "wrong audience");
    DENIED(without(base_claims(), "aud"), "wrong audience");
    CHECK_INT(sign_verify(with(base_claims(), "aud", json_pack("[s,s]", "other", "roam")), "k1", why, sizeof(why), &c),
              0);
    DENIED(with(base_claims(), "aud", json_pack("[s,s]", "other", "roamx")), "wrong audience");
    DENIED(with(base_claims(), "aud", json_pack("[]")), "wrong audience");
    DENIED(with(base_claims(), "aud", json_integer(1)), "wrong audience");
}

static void test_subject_claims(void) {
    DENIED(without(base_claims(), "sub"), "bad sub claim");
    DENIED(without(base_claims(), "role"), "bad role claim");
    DENIED(without(base_claims(), "jti"), "bad jti claim");
    DENIED(with(base_claims(), "sub", json_string("")), "bad sub claim");
    DENIED(with(base_claims(), "role", json_integer(7)), "bad role claim");
    char longs[65];
    memset(longs, 'a', 64);
    longs[64] = '\0';
    DENIED(with(base_claims(), "jti", json_string(longs)), "bad jti claim"); /* does not fit jti[64] */
    longs[63] = '\0';
    char why[64];
    roam_claims_t c;
    CHECK_INT(sign_verify(with(base_claims(), "jti", json_string(longs)), "k1", why, sizeof(why), &c), 0);
    CHECK_STR(c.jti, longs);
}

static void test_signature(void) {
    roam_jwks_t *ks = set1();
    char why[64];
    json_t *claims = base_claims();
    char *tok = roam_jwt_sign_es256(priv1, strlen(priv1), "k1", claims);
    json_object_set_new(claims, "role", json_string("admin"));
    char *other = roam_jwt_sign_es256(priv1, strlen(priv1), "k1", claims);
    REQUIRE(tok != NULL && other != NULL);

    /* Tampered payload: the admin payload with the traveler signature. */
    char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
    char *odot1 = strchr(other, '.'), *odot2 = strrchr(other, '.');
    char tampered[4096];
    snprintf(tampered, sizeof(tampered), "%.*s%.*s%s", (int)(dot1 - tok), tok, (int)(odot2 - odot1), odot1, dot2);
    CHECK_INT(roam_jwt_verify(tampered, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    CHECK_STR(why, "bad signature");

    /* A flipped signature bit. */
    char *flip = strdup(tok);
    char *last = flip + strlen(flip) - 5;
    *last = *last == 'A' ? 'B' : 'A';
    CHECK_INT(roam_jwt_verify(flip, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    CHECK_STR(why, "bad signature");
    free(flip);

    /* Signed by another key under k1's name. */
    char *forged = roam_jwt_sign_es256(priv2, strlen(priv2), "k1", claims);
    CHECK_INT(roam_jwt_verify(forged, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    CHECK_STR(why, "bad signature");
    free(forged);

    /* Unknown kid: ENOTFOUND, so the caller refreshes the set. Missing kid: denied. */
    char *unknown = roam_jwt_sign_es256(priv1, strlen(priv1), "k9", claims);
    CHECK_INT(roam_jwt_verify(unknown, ks, &policy, now, NULL, why, sizeof(why)), ROAM_ENOTFOUND);
    CHECK_STR(why, "unknown kid");
    free(unknown);
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"roam-auth\",\"aud\":\"roam\",\"sub\":\"u\",\"role\":\"r\",\"jti\":\"j\",\"exp\":%lld}",
             now + 60);
    char *nokid = craft("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", payload, "es256", key1, NULL);
    CHECK_INT(roam_jwt_verify(nokid, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    CHECK_STR(why, "missing kid");
    free(nokid);

    json_decref(claims);
    free(tok);
    free(other);
    roam_jwks_free(ks);
}

static void test_algorithm_attacks(void) {
    roam_jwks_t *ks = set1();
    char why[64];
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"roam-auth\",\"aud\":\"roam\",\"sub\":\"u\",\"role\":\"admin\",\"jti\":\"j\",\"exp\":%lld}",
             now + 60);

    /* alg none, with an empty signature and with a made-up one. */
    char *t = craft("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"k1\"}", payload, "none", NULL, NULL);
    CHECK_INT(roam_jwt_verify(t, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    free(t);
    t = craft("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"k1\"}", payload, "junk", NULL, NULL);
    CHECK_INT(roam_jwt_verify(t, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    CHECK_STR(why, "wrong algorithm");
    free(t);
    t = craft("{\"typ\":\"JWT\",\"kid\":\"k1\"}", payload, "es256", key1, NULL);
    CHECK_INT(roam_jwt_verify(t, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    CHECK_STR(why, "wrong algorithm");
    free(t);

    /* A correctly signed token whose alg is "es256": libjwt would accept it; we do not. */
    t = craft("{\"alg\":\"es256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", payload, "es256", key1, NULL);
    CHECK_INT(roam_jwt_verify(t, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    CHECK_STR(why, "wrong algorithm");
    free(t);

    /*
     * Algorithm confusion: HS256 with the public key PEM (exactly as the set
     * stores it) as the HMAC secret. libjwt alone accepts it.
     */
    t = craft("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", payload, "hs256", NULL, pub1);
    jwt_t *j = NULL;
    int libjwt_rc = jwt_decode(&j, t, (const unsigned char *)pub1, (int)strlen(pub1));
    jwt_free(j);
    CHECK_INT(libjwt_rc, 0); /* the pitfall is real, so this test means something */
    CHECK_INT(roam_jwt_verify(t, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    CHECK_STR(why, "wrong algorithm");
    free(t);

    /* typ other than JWT, crit, duplicate header names. */
    t = craft("{\"alg\":\"ES256\",\"typ\":\"jwe\",\"kid\":\"k1\"}", payload, "es256", key1, NULL);
    CHECK_INT(roam_jwt_verify(t, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    CHECK_STR(why, "wrong typ");
    free(t);
    t = craft("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k1\",\"crit\":[\"x\"],\"x\":1}", payload, "es256", key1,
              NULL);
    CHECK_INT(roam_jwt_verify(t, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    free(t);
    t = craft("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k1\",\"alg\":\"HS256\"}", payload, "es256", key1, NULL);
    CHECK_INT(roam_jwt_verify(t, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    CHECK_STR(why, "malformed header");
    free(t);

    /* A policy asking for another algorithm is refused outright. */
    roam_jwt_policy_t hs = policy;
    hs.alg = "HS256";
    t = craft("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", payload, "hs256", NULL, pub1);
    CHECK_INT(roam_jwt_verify(t, ks, &hs, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    free(t);
    roam_jwks_free(ks);
}

static void test_garbage(void) {
    roam_jwks_t *ks = set1();
    char why[64];
    static const char *const bad[] = {
        "", "abc", "a.b", "a.b.c.d", "..", "a..c", "eyJhbGciOiJFUzI1NiJ9.e30.", "!!!.e30.AAAA", "e30.e30.AA AA",
        "eyJhbGciOiJFUzI1NiJ9.e30.AAAA=", "bm90IGpzb24.e30.AAAA", /* header "not json" */
        "WzFd.e30.AAAA",                                             /* header is an array */
        "A.e30.AAAA",                                                /* impossible base64 length */
    };
    for (size_t i = 0; i < ROAM_ARRAY_LEN(bad); i++) {
        CHECK_INT(roam_jwt_verify(bad[i], ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
        char kid[32];
        CHECK_INT(roam_jwt_peek_kid(bad[i], kid, sizeof(kid)), ROAM_EINVAL);
    }
    CHECK_INT(roam_jwt_verify(NULL, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);

    /* A validly signed token over 8 KiB is refused unread. */
    json_t *claims = base_claims();
    char *pad = malloc(9000);
    memset(pad, 'x', 8999);
    pad[8999] = '\0';
    json_object_set_new(claims, "pad", json_string(pad));
    char *big = roam_jwt_sign_es256(priv1, strlen(priv1), "k1", claims);
    REQUIRE(big != NULL);
    CHECK_INT(roam_jwt_verify(big, ks, &policy, now, NULL, why, sizeof(why)), ROAM_EDENIED);
    CHECK_STR(why, "token too large");
    char kid[32];
    CHECK_INT(roam_jwt_peek_kid(big, kid, sizeof(kid)), ROAM_EINVAL);
    free(big);
    free(pad);
    json_decref(claims);

    /* peek_kid: a kid that does not fit the buffer is refused, not cut. */
    claims = base_claims();
    char *tok = roam_jwt_sign_es256(priv1, strlen(priv1), "a-long-key-id", claims);
    CHECK_INT(roam_jwt_peek_kid(tok, kid, 5), ROAM_EINVAL);
    CHECK_INT(roam_jwt_peek_kid(tok, kid, sizeof(kid)), 0);
    CHECK_STR(kid, "a-long-key-id");
    free(tok);
    /* Signing refuses what it cannot sign. */
    CHECK(roam_jwt_sign_es256(pub1, strlen(pub1), "k1", claims) == NULL); /* a public key */
    CHECK(roam_jwt_sign_es256("junk", 4, "k1", claims) == NULL);
    CHECK(roam_jwt_sign_es256(priv1, strlen(priv1), "", claims) == NULL);
    json_t *arr = json_array();
    CHECK(roam_jwt_sign_es256(priv1, strlen(priv1), "k1", arr) == NULL);
    json_decref(arr);
    json_decref(claims);
    roam_jwks_free(ks);
}

static void test_jwks_round_trip(void) {
    roam_jwks_t *ks = roam_jwks_new();
    CHECK_INT(roam_jwks_add_pem(ks, "k1", pub1, strlen(pub1)), 0);
    CHECK_INT(roam_jwks_add_pem(ks, "k2", priv2, strlen(priv2)), 0); /* only the public half is kept */
    CHECK_INT(roam_jwks_count(ks), 2);
    CHECK_INT(roam_jwks_add_pem(ks, "k2", pub2, strlen(pub2)), 0); /* same kid: replaced */
    CHECK_INT(roam_jwks_count(ks), 2);
    CHECK_INT(roam_jwks_add_pem(ks, "k3", "garbage", 7), ROAM_EINVAL);
    CHECK_INT(roam_jwks_add_pem(ks, "", pub1, strlen(pub1)), ROAM_EINVAL);
    EVP_PKEY *rsa = EVP_RSA_gen(1024);
    char *rsapem = pem_of(rsa, 0);
    CHECK_INT(roam_jwks_add_pem(ks, "k4", rsapem, strlen(rsapem)), ROAM_EINVAL);
    EVP_PKEY *p384 = EVP_EC_gen("P-384");
    char *p384pem = pem_of(p384, 0);
    CHECK_INT(roam_jwks_add_pem(ks, "k5", p384pem, strlen(p384pem)), ROAM_EINVAL);
    CHECK_INT(roam_jwks_count(ks), 2);

    json_t *doc = roam_jwks_to_json(ks);
    REQUIRE(doc != NULL);
    json_t *keys = json_object_get(doc, "keys");
    CHECK_INT(json_array_size(keys), 2);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        CHECK_STR(json_string_value(json_object_get(k, "kty")), "EC");
        CHECK_STR(json_string_value(json_object_get(k, "crv")), "P-256");
        CHECK_STR(json_string_value(json_object_get(k, "alg")), "ES256");
        CHECK_STR(json_string_value(json_object_get(k, "use")), "sig");
        CHECK_INT(strlen(json_string_value(json_object_get(k, "x"))), 43);
        CHECK_INT(strlen(json_string_value(json_object_get(k, "y"))), 43);
        CHECK(json_object_get(k, "d") == NULL);
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);

    roam_jwks_t *ks2 = roam_jwks_new();
    CHECK_INT(roam_jwks_load_json(ks2, text, strlen(text)), 0);
    CHECK_INT(roam_jwks_count(ks2), 2);
    json_t *claims = base_claims();
    char *t1 = roam_jwt_sign_es256(priv1, strlen(priv1), "k1", claims);
    char *t2 = roam_jwt_sign_es256(priv2, strlen(priv2), "k2", claims);
    char why[64];
    CHECK_INT(roam_jwt_verify(t1, ks2, &policy, now, NULL, why, sizeof(why)), 0);
    CHECK_INT(roam_jwt_verify(t2, ks2, &policy, now, NULL, why, sizeof(why)), 0);
    /* The reloaded set renders the same document. */
    json_t *again = roam_jwks_to_json(ks2);
    char *text2 = json_dumps(again, JSON_COMPACT);
    CHECK_STR(text2, text);
    free(text2);
    json_decref(again);

    /* Keys of other kinds are skipped; a document of only those is refused. */
    char mixed[1024];
    snprintf(mixed, sizeof(mixed), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"AQAB\",\"e\":\"AQAB\"},%.*s]}",
             (int)(strchr(text, '}') - strchr(text, '[')), strchr(text, '[') + 1);
    roam_jwks_t *ks3 = roam_jwks_new();
    CHECK_INT(roam_jwks_load_json(ks3, mixed, strlen(mixed)), 0);
    CHECK_INT(roam_jwks_count(ks3), 1);
    CHECK_INT(roam_jwt_verify(t1, ks3, &policy, now, NULL, why, sizeof(why)), 0);
    CHECK_INT(roam_jwt_verify(t2, ks3, &policy, now, NULL, why, sizeof(why)), ROAM_ENOTFOUND);
    roam_jwks_free(ks3);

    free(t1);
    free(t2);
    json_decref(claims);
    free(text);
    roam_jwks_free(ks2);
    roam_jwks_free(ks);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p384);
    free(rsapem);
    free(p384pem);
}

static void test_jwks_bad_documents(void) {
    roam_jwks_t *ks = roam_jwks_new();
    CHECK_INT(roam_jwks_add_pem(ks, "k1", pub1, strlen(pub1)), 0);
    CHECK_INT(roam_jwks_add_pem(ks, "k2", pub2, strlen(pub2)), 0);
    json_t *doc = roam_jwks_to_json(ks);
    json_t *good = json_array_get(json_object_get(doc, "keys"), 0);
    const char *x = json_string_value(json_object_get(good, "x"));
    const char *y = json_string_value(json_object_get(good, "y"));
    char bad[12][512];
    int n = 0;
    snprintf(bad[n++], 512, "not json");
    snprintf(bad[n++], 512, "{\"keys\":[]}");
    snprintf(bad[n++], 512, "{\"keys\":\"x\"}");
    snprintf(bad[n++], 512, "[1,2]");
    snprintf(bad[n++], 512, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}"); /* none usable */
    snprintf(bad[n++], 512, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a\",\"x\":\"%s\",\"y\":\"AAAA\"}]}",
             x);
    snprintf(bad[n++], 512, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a\",\"x\":\"%s\",\"y\":\"%s\"}]}", x,
             x); /* off the curve */
    snprintf(bad[n++], 512, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}", x, y); /* no kid */
    snprintf(bad[n++], 512,
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a\",\"x\":\"%s\",\"y\":\"%s\"},"
             "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a\",\"x\":\"%s\",\"y\":\"%s\"}]}",
             x, y, x, y); /* duplicate kid */
    snprintf(bad[n++], 512,
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a\",\"x\":\"%s\",\"y\":\"%s\"},{\"kty\":1}]}", x,
             y); /* one good, one broken */
    snprintf(bad[n++], 512, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a\",\"x\":\"%s=\",\"y\":\"%s\"}]}", x,
             y); /* padding */
    for (int i = 0; i < n; i++) {
        CHECK_INT(roam_jwks_load_json(ks, bad[i], strlen(bad[i])), ROAM_EINVAL);
        CHECK_INT(roam_jwks_count(ks), 2);
    }
    /* The set still verifies with its old keys. */
    json_t *claims = base_claims();
    char *t = roam_jwt_sign_es256(priv2, strlen(priv2), "k2", claims);
    CHECK_INT(roam_jwt_verify(t, ks, &policy, now, NULL, NULL, 0), 0);
    free(t);
    json_decref(claims);
    json_decref(doc);
    roam_jwks_free(ks);
}

/* Readers verify while a writer keeps replacing the set: no torn reads, no leaks. */
static roam_jwks_t *shared_ks;
static char *shared_token;
static char *shared_doc;
static volatile int stop_readers;

static void *reader(void *arg) {
    long fails = 0;
    while (!stop_readers)
        if (roam_jwt_verify(shared_token, shared_ks, &policy, now, NULL, NULL, 0) != 0) fails++;
    return (void *)fails;
}

static void test_concurrent_reload(void) {
    shared_ks = roam_jwks_new();
    roam_jwks_add_pem(shared_ks, "k1", pub1, strlen(pub1));
    json_t *doc = roam_jwks_to_json(shared_ks);
    shared_doc = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    json_t *claims = base_claims();
    shared_token = roam_jwt_sign_es256(priv1, strlen(priv1), "k1", claims);
    json_decref(claims);
    pthread_t th[2];
    stop_readers = 0;
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, reader, NULL);
    int reload_fail = 0;
    for (int i = 0; i < 300; i++)
        if (roam_jwks_load_json(shared_ks, shared_doc, strlen(shared_doc)) != 0) reload_fail++;
    stop_readers = 1;
    long fails = 0;
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(th[i], &r);
        fails += (long)r;
    }
    CHECK_INT(reload_fail, 0);
    CHECK_INT(fails, 0);
    free(shared_token);
    free(shared_doc);
    roam_jwks_free(shared_ks);
}

static void bench_verify(void) {
    roam_jwks_t *ks = set1();
    json_t *claims = base_claims();
    char *tok = roam_jwt_sign_es256(priv1, strlen(priv1), "k1", claims);
    json_decref(claims);
    uint64_t t0 = roam_now_mono_ns();
    int n = 0, bad = 0;
    while (roam_now_mono_ns() - t0 < 500000000u) {
        for (int i = 0; i < 50; i++, n++)
            if (roam_jwt_verify(tok, ks, &policy, now, NULL, NULL, 0) != 0) bad++;
    }
    double secs = (double)(roam_now_mono_ns() - t0) / 1e9;
    CHECK_INT(bad, 0);
    fprintf(stderr, "   verify: %.0f per second, single thread (%d in %.2f s)\n", n / secs, n, secs);
    free(tok);
    roam_jwks_free(ks);
}

int main(void) {
    now = (long long)time(NULL);
    key1 = EVP_EC_gen("P-256");
    key2 = EVP_EC_gen("P-256");
    if (key1 == NULL || key2 == NULL) {
        fprintf(stderr, "cannot generate P-256 keys\n");
        return 1;
    }
    priv1 = pem_of(key1, 1);
    pub1 = pem_of(key1, 0);
    priv2 = pem_of(key2, 1);
    pub2 = pem_of(key2, 0);

    RUN(test_sign_verify_ok);
    RUN(test_time_claims);
    RUN(test_iss_aud);
    RUN(test_subject_claims);
    RUN(test_signature);
    RUN(test_algorithm_attacks);
    RUN(test_garbage);
    RUN(test_jwks_round_trip);
    RUN(test_jwks_bad_documents);
    RUN(test_concurrent_reload);
    RUN(bench_verify);

    free(priv1);
    free(pub1);
    free(priv2);
    free(pub2);
    EVP_PKEY_free(key1);
    EVP_PKEY_free(key2);
    CHECK_DONE();
}
