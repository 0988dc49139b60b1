/*
 * Password hashing with argon2id (libargon2), OWASP's first recommended
 * setting by default: 19 MiB of memory, 2 passes, 1 lane.
 *
 * Settings: ROAM_ARGON2_MEMORY_KIB (19456), ROAM_ARGON2_ITERATIONS (2).
 * A stored hash carries its own parameters, so changing them affects new
 * hashes only and old ones still verify.
 */
#include "auth.h"

#include <argon2.h>
#include <roam/common.h>
#include <roam/config.h>
#include <roam/log.h>

#include <stdio.h>
#include <string.h>

#define SALT_LEN 16
#define HASH_LEN 32
#define LANES    1

static uint32_t memory_kib = 19456;
static uint32_t iterations = 2;
/*
 * The hash of a random password, computed at start-up with the current
 * parameters: a login for an unknown email verifies against it, so it costs
 * what a wrong password for a real account costs.
 */
static char dummy_hash[AUTH_HASH_MAX];

int auth_password_hash(const char *pwd, size_t len, char out[AUTH_HASH_MAX]) {
    unsigned char salt[SALT_LEN];
    roam_random_bytes(salt, sizeof(salt));
    if (argon2_encodedlen(iterations, memory_kib, LANES, SALT_LEN, HASH_LEN, Argon2_id) > AUTH_HASH_MAX)
        return ROAM_EINVAL;
    int rc =
        argon2id_hash_encoded(iterations, memory_kib, LANES, pwd, len, salt, SALT_LEN, HASH_LEN, out, AUTH_HASH_MAX);
    if (rc == ARGON2_OK) return 0;
    roam_warn("argon2id_hash_encoded failed: %s", argon2_error_message(rc));
    return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? ROAM_ENOMEM : ROAM_EINVAL;
}

int auth_password_verify(const char *encoded, const char *pwd, size_t len) {
    int dummy = encoded == NULL;
    int rc = argon2id_verify(dummy ? dummy_hash : encoded, pwd, len);
    if (rc == ARGON2_OK) return dummy ? 0 : 1;
    if (rc == ARGON2_VERIFY_MISMATCH) return 0;
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR) return ROAM_ENOMEM;
    /* A stored hash we cannot decode: the account cannot log in, and we say why (without the hash). */
    roam_warn("argon2id_verify failed: %s", argon2_error_message(rc));
    return 0;
}

int auth_passwords_init(char *errbuf, size_t errlen) {
    memory_kib = (uint32_t)roam_config_int("ROAM_ARGON2_MEMORY_KIB", 19456, 8 * LANES, 4 * 1024 * 1024);
    iterations = (uint32_t)roam_config_int("ROAM_ARGON2_ITERATIONS", 2, 1, 100);
    unsigned char random_pwd[24];
    roam_random_bytes(random_pwd, sizeof(random_pwd));
    uint64_t t0 = roam_now_mono_ns();
    int rc = auth_password_hash((const char *)random_pwd, sizeof(random_pwd), dummy_hash);
    if (rc != 0) {
        snprintf(errbuf, errlen, "cannot compute an argon2id hash with ROAM_ARGON2_MEMORY_KIB=%u: %s",
                 (unsigned)memory_kib, roam_strerror(rc));
        return -1;
    }
    roam_info("argon2id: m=%u KiB, t=%u, p=%d: %.1f ms per hash", (unsigned)memory_kib, (unsigned)iterations, LANES,
              (double)(roam_now_mono_ns() - t0) / 1e6);
    return 0;
}
