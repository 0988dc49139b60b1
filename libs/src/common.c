/* Error names, allocators, ids and clocks. */
#include <roam/common.h>
#include <roam/log.h>

#include <openssl/rand.h>
#include <pthread.h>
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
 * Random bytes come from OpenSSL's DRBG (seeded from the kernel) through a
 * small per-thread buffer: one RAND_bytes call costs about 1.4 us on the
 * build machines whatever its size, and every request needs three ids. The
 * buffer is never handed out twice, and a forked child discards the copy it
 * inherited so parent and child never share bytes.
 */
#define RANDOM_BUF 4096

static __thread unsigned char rnd_buf[RANDOM_BUF];
static __thread size_t rnd_left;
static pthread_once_t rnd_once = PTHREAD_ONCE_INIT;

static void rnd_forget(void) {
    explicit_bzero(rnd_buf, sizeof(rnd_buf));
    rnd_left = 0;
}

static void rnd_init(void) { pthread_atfork(NULL, NULL, rnd_forget); }

void roam_random_bytes(void *buf, size_t n) {
    pthread_once(&rnd_once, rnd_init);
    unsigned char *out = buf;
    if (n > RANDOM_BUF / 4) { /* large requests go straight to the generator */
        if (RAND_bytes(out, (int)n) != 1) goto fail;
        return;
    }
    if (rnd_left < n) {
        if (RAND_bytes(rnd_buf, RANDOM_BUF) != 1) goto fail;
        rnd_left = RANDOM_BUF;
    }
    unsigned char *src = rnd_buf + RANDOM_BUF - rnd_left;
    memcpy(out, src, n);
    explicit_bzero(src, n); /* used bytes do not linger in memory */
    rnd_left -= n;
    return;
fail:
    roam_error("the random generator failed");
    abort();
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
    /* strftime is slow for a per-request log line: reuse the formatted second. */
    static __thread time_t cached_sec = -1;
    static __thread char cached[24];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = ts.tv_sec;
    }
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
    memcpy(out, cached, 19);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    out[21] = (char)('0' + ms / 10 % 10);
    out[22] = (char)('0' + ms % 10);
    out[23] = 'Z';
    out[24] = '\0';
}
