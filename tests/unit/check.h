/*
 * A minimal test harness: CHECK records a failure and continues, REQUIRE
 * stops the test. main() runs the tests listed with RUN and exits non-zero
 * if any check failed.
 */
#ifndef ROAM_TEST_CHECK_H
#define ROAM_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        check_count++;                                                              \
        if (!(cond)) {                                                              \
            check_failures++;                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define REQUIRE(cond)                                                                 \
    do {                                                                              \
        check_count++;                                                                \
        if (!(cond)) {                                                                \
            check_failures++;                                                         \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
            return;                                                                   \
        }                                                                             \
    } while (0)

#define CHECK_STR(a, b)                                                                        \
    do {                                                                                       \
        const char *check_a_ = (a), *check_b_ = (b);                                           \
        check_count++;                                                                         \
        if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_) != 0) {         \
            check_failures++;                                                                  \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s == %s (\"%s\" vs \"%s\")\n", __FILE__, \
                    __LINE__, #a, #b, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)"); \
        }                                                                                      \
    } while (0)

#define CHECK_INT(a, b)                                                                          \
    do {                                                                                         \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                          \
        check_count++;                                                                           \
        if (check_a_ != check_b_) {                                                              \
            check_failures++;                                                                    \
            fprintf(stderr, "%s:%d: CHECK_INT failed: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, \
                    #a, #b, check_a_, check_b_);                                                 \
        }                                                                                        \
    } while (0)

#define RUN(test)                                 \
    do {                                          \
        fprintf(stderr, "-- %s\n", #test);        \
        test();                                   \
    } while (0)

#define CHECK_DONE()                                                                       \
    do {                                                                                   \
        fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);            \
        return check_failures ? 1 : 0;                                                     \
    } while (0)

/* Returns the value of an environment variable the test needs, or exits 1 saying why. */
static inline const char *check_env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "%s is not set: run this test through tests/run (or tests/harness/with-services)\n", name);
        exit(1);
    }
    return v;
}

#endif
