/*
 * Pure helpers of the token code: the RFC 7638
 * JWK thumbprint and reading one claim of an already verified token
 * (unit-tested in tests/unit/test_auth_helpers.c).
 */
#include "auth.h"

#include <roam/codec.h>
#include <roam/common.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

void auth_jwk_thumbprint(const char *x, const char *y, char out[44]) {
    /* RFC 7638: the required members only, in lexicographic order, no whitespace. */
    char canon[256];
    int n = snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(canon, n > 0 && (size_t)n < sizeof(canon) ? (size_t)n : 0, md, &len, EVP_sha256(), NULL);
    roam_b64url_encode(md, sizeof(md), out);
}

int auth_token_claim(const char *token, const char *name, char *out, size_t outlen) {
    const char *p = strchr(token, '.');
    const char *end = p ? strchr(p + 1, '.') : NULL;
    if (end == NULL || end - p - 1 > 8192) return ROAM_EINVAL;
    unsigned char payload[6200];
    long n = roam_b64url_decode(p + 1, (size_t)(end - p - 1), payload, sizeof(payload));
    if (n <= 0) return ROAM_EINVAL;
    json_t *doc = json_loadb((const char *)payload, (size_t)n, 0, NULL);
    const char *v = json_string_value(json_object_get(doc, name));
    int rc = ROAM_EINVAL;
    if (v != NULL && strlen(v) < outlen) {
        memcpy(out, v, strlen(v) + 1);
        rc = 0;
    }
    json_decref(doc);
    return rc;
}
