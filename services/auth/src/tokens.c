/*
 * The signing key, the published key set and access tokens.
 *
 * Settings:
 *   ROAM_JWT_PRIVATE_KEY_FILE    path to an EC P-256 private key PEM, or
 *   ROAM_JWT_PRIVATE_KEY         the PEM itself (exactly one of the two)
 *   ROAM_JWT_KID                 default: the key's RFC 7638 thumbprint
 *   ROAM_JWT_PREVIOUS_JWKS_FILE  optional JWKS of older public keys, still
 *                                published (and accepted) during a rotation
 *   ROAM_JWT_ISSUER ("roam"), ROAM_JWT_AUDIENCE ("roam-api"),
 *   ROAM_ACCESS_TOKEN_TTL_S (900)
 *
 * The service verifies its own tokens with the same key set it publishes:
 * init loads it into the scaffold's verifier (spec.local_keys).
 */
#include "auth.h"

#include <roam/authn.h>
#include <roam/common.h>
#include <roam/config.h>
#include <roam/jwt.h>
#include <roam/log.h>

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_FILE_MAX (64 * 1024)
#define KID_MAX      128

static char *priv_pem; /* owned; cleansed at fini */
static size_t priv_len;
static char kid[KID_MAX];
static const char *issuer;
static const char *audience;
static long access_ttl = 900;
static char *jwks_text; /* owned */
static size_t jwks_len;

/* ---- access tokens ---- */

long auth_access_ttl(void) { return access_ttl; }

const char *auth_jwks_text(size_t *len) {
    *len = jwks_len;
    return jwks_text;
}

char *auth_access_token_new(const char *sub, const char *role, const char *sid) {
    char jti[ROAM_UUID_LEN + 1];
    roam_uuid_v4(jti);
    long long now = (long long)time(NULL);
    json_t *claims =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "iss", issuer, "aud", audience, "sub", sub, "role", role,
                  "jti", jti, "sid", sid, "iat", (json_int_t)now, "exp", (json_int_t)(now + access_ttl));
    if (claims == NULL) return NULL;
    char *token = roam_jwt_sign_es256(priv_pem, priv_len, kid, claims);
    json_decref(claims);
    return token;
}

/* ---- start-up ---- */

/* Reads a whole small file. Returns new (NUL-terminated), or NULL with errno-based reason in why. */
static char *read_small_file(const char *path, size_t *len, const char **why) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *why = strerror(errno);
        return NULL;
    }
    char *buf = roam_xmalloc(KEY_FILE_MAX + 1);
    size_t n = fread(buf, 1, KEY_FILE_MAX + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err || n > KEY_FILE_MAX) {
        *why = err ? "cannot read the file" : "the file is larger than 64 KiB";
        OPENSSL_cleanse(buf, n);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Never prompt for a passphrase: an encrypted key simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* NULL when pem holds an EC P-256 private key, else why not. */
static const char *check_private_key(const char *pem, size_t len) {
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    const char *why = NULL;
    char group[64] = "";
    size_t glen = 0;
    if (pk == NULL)
        why = "not a PEM private key (an unencrypted PKCS#8 or SEC1 EC key is expected)";
    else if (!EVP_PKEY_is_a(pk, "EC") ||
             !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) ||
             (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0))
        why = "the key must be an EC key on curve P-256 (prime256v1) for ES256";
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return why;
}

/* The public JWK of the signing key (returns new), with the given kid. */
static json_t *current_jwk(const char *with_kid) {
    roam_jwks_t *tmp = roam_jwks_new();
    json_t *jwk = NULL;
    if (tmp != NULL && roam_jwks_add_pem(tmp, with_kid, priv_pem, priv_len) == 0) {
        json_t *doc = roam_jwks_to_json(tmp);
        jwk = json_incref(json_array_get(json_object_get(doc, "keys"), 0));
        json_decref(doc);
    }
    roam_jwks_free(tmp);
    return jwk;
}

static int kid_printable(const char *s) {
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= KID_MAX - 1 || s[n] < 0x20 || s[n] > 0x7e) return 0;
    return n > 0;
}

int auth_tokens_init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    issuer = roam_config_str("ROAM_JWT_ISSUER", "roam");
    audience = roam_config_str("ROAM_JWT_AUDIENCE", "roam-api");
    access_ttl = roam_config_int("ROAM_ACCESS_TOKEN_TTL_S", 900, 30, 86400);

    const char *file = roam_config_str("ROAM_JWT_PRIVATE_KEY_FILE", "");
    const char *inline_pem = roam_config_str("ROAM_JWT_PRIVATE_KEY", "");
    if (file[0] != '\0' && inline_pem[0] != '\0')
        roam_config_fail("ROAM_JWT_PRIVATE_KEY", "(hidden)", "set either it or ROAM_JWT_PRIVATE_KEY_FILE, not both");
    if (file[0] == '\0' && inline_pem[0] == '\0')
        roam_config_fail("ROAM_JWT_PRIVATE_KEY_FILE", "",
                         "required (or ROAM_JWT_PRIVATE_KEY): the EC P-256 private key that signs access tokens");
    const char *key_var = file[0] ? "ROAM_JWT_PRIVATE_KEY_FILE" : "ROAM_JWT_PRIVATE_KEY";
    if (file[0] != '\0') {
        const char *why = NULL;
        priv_pem = read_small_file(file, &priv_len, &why);
        if (priv_pem == NULL) roam_config_fail(key_var, file, why);
    } else {
        priv_pem = roam_xstrdup(inline_pem);
        priv_len = strlen(priv_pem);
    }
    const char *bad = check_private_key(priv_pem, priv_len);
    if (bad != NULL) roam_config_fail(key_var, file[0] ? file : "(hidden)", bad);

    /* The kid: configured, or the key's thumbprint, so that a new key always gets a new kid. */
    json_t *probe = current_jwk("probe");
    if (probe == NULL) roam_config_fail(key_var, file[0] ? file : "(hidden)", "cannot derive the public key");
    char thumb[44];
    auth_jwk_thumbprint(json_string_value(json_object_get(probe, "x")), json_string_value(json_object_get(probe, "y")),
                        thumb);
    json_decref(probe);
    const char *kid_cfg = roam_config_str("ROAM_JWT_KID", "");
    if (kid_cfg[0] != '\0' && !kid_printable(kid_cfg))
        roam_config_fail("ROAM_JWT_KID", kid_cfg, "must be 1 to 127 printable ASCII characters");
    snprintf(kid, sizeof(kid), "%s", kid_cfg[0] ? kid_cfg : thumb);

    /* The published set: the current key first, then the previous ones. */
    json_t *keys = json_array();
    json_array_append_new(keys, current_jwk(kid));
    const char *prev_file = roam_config_str("ROAM_JWT_PREVIOUS_JWKS_FILE", "");
    if (prev_file[0] != '\0') {
        const char *why = NULL;
        size_t n = 0;
        char *text = read_small_file(prev_file, &n, &why);
        if (text == NULL) roam_config_fail("ROAM_JWT_PREVIOUS_JWKS_FILE", prev_file, why);
        json_t *doc = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
        free(text);
        json_t *prev = json_object_get(doc, "keys");
        if (!json_is_array(prev))
            roam_config_fail("ROAM_JWT_PREVIOUS_JWKS_FILE", prev_file, "not a JWKS document ({\"keys\": [...]})");
        size_t i;
        json_t *k;
        json_array_foreach(prev, i, k) {
            const char *pk = json_string_value(json_object_get(k, "kid"));
            if (pk != NULL && strcmp(pk, kid) == 0) continue; /* the current key, published already */
            json_array_append(keys, k);
        }
        json_decref(doc);
    }
    json_t *doc = json_pack("{s:o}", "keys", keys);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    roam_jwks_t *set = roam_authn_keys(roam_daemon_authn(d));
    if (text == NULL || roam_jwks_load_json(set, text, strlen(text)) != 0) {
        free(text);
        roam_config_fail(prev_file[0] ? "ROAM_JWT_PREVIOUS_JWKS_FILE" : key_var, prev_file[0] ? prev_file : "(hidden)",
                         "the key set is invalid (malformed EC P-256 key or duplicate kid)");
    }
    free(text);
    json_t *published = roam_jwks_to_json(set);
    jwks_text = json_dumps(published, JSON_COMPACT);
    json_decref(published);
    jwks_len = jwks_text ? strlen(jwks_text) : 0;

    /* Sign and verify once, so that a key libjwt cannot use fails now rather than at the first login. */
    char *token = auth_access_token_new("00000000-0000-4000-8000-000000000000", "traveller",
                                        "00000000-0000-4000-8000-000000000000");
    roam_jwt_policy_t policy = {"ES256", issuer, audience, 0};
    roam_claims_t claims;
    char why[96] = "";
    int rc = token ? roam_jwt_verify(token, set, &policy, 0, &claims, why, sizeof(why)) : ROAM_EINVAL;
    if (token == NULL) snprintf(why, sizeof(why), "signing failed");
    free(token);
    if (rc != 0) {
        snprintf(errbuf, errlen, "the signing key does not produce verifiable tokens (%s)", why);
        return -1;
    }
    roam_info("signing access tokens with kid %s; publishing %zu key(s)", kid, roam_jwks_count(set));
    return 0;
}

void auth_tokens_fini(void) {
    if (priv_pem != NULL) OPENSSL_cleanse(priv_pem, priv_len);
    free(priv_pem);
    priv_pem = NULL;
    free(jwks_text);
    jwks_text = NULL;
}
