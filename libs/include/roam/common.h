/*
 * roam/common.h: error codes, the two allocators, ids and clocks.
 *
 * Error convention (libuv's): functions return 0 on success and a negative
 * ROAM_E* code on failure. Constructors return NULL and, where they take an
 * errbuf, describe the failure there (librdkafka's).
 */
#ifndef ROAM_COMMON_H
#define ROAM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define ROAM_OK 0
#define ROAM_EINVAL (-1)     /* bad argument or input */
#define ROAM_ENOMEM (-2)     /* allocation failed */
#define ROAM_EIO (-3)        /* a dependency failed (database, Redis, Kafka, network) */
#define ROAM_ENOTFOUND (-4)  /* no such object */
#define ROAM_ECONFLICT (-5)  /* constraint or state conflict */
#define ROAM_ETIMEDOUT (-6)  /* a deadline passed */
#define ROAM_EUNAVAIL (-7)   /* dependency not reachable right now */
#define ROAM_EDENIED (-8)    /* credentials or signature rejected */

/* Returns a static, human-readable name for a ROAM_E* code. */
const char *roam_strerror(int err);

/*
 * Start-up allocators: they abort the process with a log line when memory
 * runs out, so start-up and configuration code need not check. Never use
 * them on a request path.
 */
void *roam_xmalloc(size_t n);
void *roam_xcalloc(size_t n, size_t size);
void *roam_xrealloc(void *p, size_t n);
char *roam_xstrdup(const char *s);

/*
 * Request-path allocators: they return NULL when memory runs out, and the
 * caller answers 503 (Redis's ztrymalloc).
 */
void *roam_trymalloc(size_t n);
void *roam_trycalloc(size_t n, size_t size);
char *roam_trystrdup(const char *s);

#define ROAM_UUID_LEN 36 /* without the NUL */

/* Writes a random (version 4) UUID into out, NUL-terminated. */
void roam_uuid_v4(char out[ROAM_UUID_LEN + 1]);
/* Writes a time-ordered (version 7) UUID into out, NUL-terminated. */
void roam_uuid_v7(char out[ROAM_UUID_LEN + 1]);
/* Returns 1 if s is a UUID in canonical 8-4-4-4-12 hex form, else 0. */
int roam_uuid_valid(const char *s);

/* Fills buf with n cryptographically random bytes (aborts if the kernel cannot). */
void roam_random_bytes(void *buf, size_t n);

/* Monotonic clock in nanoseconds, for durations. */
uint64_t roam_now_mono_ns(void);
/* Wall clock in milliseconds since the epoch. */
int64_t roam_now_ms(void);
/* Writes the current UTC time as RFC 3339 with milliseconds ("2026-05-01T12:00:00.123Z"). */
void roam_now_rfc3339(char out[32]);

#define ROAM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
