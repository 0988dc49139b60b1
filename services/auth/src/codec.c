/*
 * Pure helpers of the token code: base64url, SHA-256 in hex, the RFC 7638
 * JWK thumbprint and reading one claim of an already verified token
 * (unit-tested in tests/unit/test_auth_helpers.c).
 */
#include "auth.h"

#include <roam/common.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

void auth_b64url_encode(const unsigned char *in, size_t n, char *out) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
        out[o++] = tbl[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
    }
    out[o] = '\0';
}

static int b64url_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

long auth_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap) {
    if (n % 4 == 1) return -1;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0) return -1;
        acc = (acc << 6 | (unsigned)v) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap) return -1;
            out[o++] = (unsigned char)(acc >> bits & 0xFF);
        }
    }
    return (long)o;
}

void auth_sha256_hex(const void *data, size_t n, char out[65]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

void auth_jwk_thumbprint(const char *x, const char *y, char out[44]) {
    /* RFC 7638: the required members only, in lexicographic order, no whitespace. */
    char canon[256];
    int n = snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(canon, n > 0 && (size_t)n < sizeof(canon) ? (size_t)n : 0, md, &len, EVP_sha256(), NULL);
    auth_b64url_encode(md, sizeof(md), out);
}

int auth_token_claim(const char *token, const char *name, char *out, size_t outlen) {
    const char *p = strchr(token, '.');
    const char *end = p ? strchr(p + 1, '.') : NULL;
    if (end == NULL || end - p - 1 > 8192) return ROAM_EINVAL;
    unsigned char payload[6200];
    long n = auth_b64url_decode(p + 1, (size_t)(end - p - 1), payload, sizeof(payload));
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
