/* Error names, allocators, ids and clocks. */
#include <roam/common.h>
#include <roam/log.h>

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *roam_strerror(int err) {
    switch (err) {
    case ROAM_OK: return "ok";
    case ROAM_EINVAL: return "invalid argument";
    case ROAM_ENOMEM: return "out of memory";
    case ROAM_EIO: return "dependency failed";
    case ROAM_ENOTFOUND: return "not found";
    case ROAM_ECONFLICT: return "conflict";
    case ROAM_ETIMEDOUT: return "timed out";
    case ROAM_EUNAVAIL: return "unavailable";
    case ROAM_EDENIED: return "denied";
    default: return "unknown error";
    }
}

static void oom(size_t n) {
    roam_error("out of memory allocating %zu bytes at start-up", n);
    abort();
}

void *roam_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (p == NULL) oom(n);
    return p;
}

void *roam_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) oom(n * size);
    return p;
}

void *roam_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) oom(n);
    return q;
}

char *roam_xstrdup(const char *s) {
    char *p = strdup(s);
    if (p == NULL) oom(strlen(s) + 1);
    return p;
}

void *roam_trymalloc(size_t n) { return malloc(n ? n : 1); }
void *roam_trycalloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
char *roam_trystrdup(const char *s) { return strdup(s); }

/*
 * OpenSSL's DRBG: seeded from the kernel, one instance per thread, reseeded
 * after fork. A getrandom(2) call per id cost more than the rest of a
 * request put together.
 */
void roam_random_bytes(void *buf, size_t n) {
    if (RAND_bytes(buf, (int)n) != 1) {
        roam_error("the random generator failed");
        abort();
    }
}

static void uuid_format(const unsigned char b[16], char out[ROAM_UUID_LEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

void roam_uuid_v4(char out[ROAM_UUID_LEN + 1]) {
    unsigned char b[16];
    roam_random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    uuid_format(b, out);
}

void roam_uuid_v7(char out[ROAM_UUID_LEN + 1]) {
    unsigned char b[16];
    uint64_t ms = (uint64_t)roam_now_ms();
    roam_random_bytes(b + 6, 10);
    for (int i = 0; i < 6; i++) b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    uuid_format(b, out);
}

int roam_uuid_valid(const char *s) {
    if (s == NULL) return 0;
    for (int i = 0; i < ROAM_UUID_LEN; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return s[ROAM_UUID_LEN] == '\0';
}

uint64_t roam_now_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t roam_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void roam_now_rfc3339(char out[32]) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}
