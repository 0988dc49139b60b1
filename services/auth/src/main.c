/*
 * roam-auth: accounts, passwords, access and refresh tokens, sessions.
 *
 * The scaffold (libs/src/daemon.c) reads the configuration, runs this
 * service's migrations, connects its dependencies and serves the routes
 * below plus /healthz, /readyz and /metrics. The service signs access tokens
 * and verifies them itself with the keys it publishes (local_keys).
 *
 * Settings of its own (see tokens.c, sessions.c, passwords.c):
 *   ROAM_JWT_PRIVATE_KEY_FILE | ROAM_JWT_PRIVATE_KEY, ROAM_JWT_KID,
 *   ROAM_JWT_PREVIOUS_JWKS_FILE, ROAM_JWT_ISSUER, ROAM_JWT_AUDIENCE,
 *   ROAM_ACCESS_TOKEN_TTL_S, ROAM_REFRESH_TOKEN_TTL_S,
 *   ROAM_REFRESH_REUSE_INTERVAL_S, ROAM_LOGIN_MAX_FAILURES,
 *   ROAM_LOGIN_WINDOW_S, ROAM_ARGON2_MEMORY_KIB, ROAM_ARGON2_ITERATIONS,
 *   ROAM_ADMIN_EMAIL and ROAM_ADMIN_PASSWORD (both or neither: the admin
 *   account created at start-up if no user has that email).
 */
#include "auth.h"

#include <roam/config.h>
#include <roam/daemon.h>
#include <roam/db.h>
#include <roam/log.h>

#include <stdio.h>
#include <string.h>

/* Creates the configured admin unless that email exists (two replicas may race: ON CONFLICT settles it). */
static int bootstrap_admin(roam_daemon_t *d, char *errbuf, size_t errlen) {
    const char *email = roam_config_str("ROAM_ADMIN_EMAIL", "");
    const char *pwd = roam_config_str("ROAM_ADMIN_PASSWORD", "");
    if (email[0] == '\0' && pwd[0] == '\0') return 0;
    if (email[0] == '\0') roam_config_fail("ROAM_ADMIN_EMAIL", "", "required when ROAM_ADMIN_PASSWORD is set");
    if (pwd[0] == '\0') roam_config_fail("ROAM_ADMIN_PASSWORD", "", "required when ROAM_ADMIN_EMAIL is set");
    if (!auth_email_valid(email, strlen(email)))
        roam_config_fail("ROAM_ADMIN_EMAIL", email, "must be an email address (name@example.com)");
    size_t n = roam_utf8_chars(pwd, strlen(pwd));
    if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX)
        roam_config_fail("ROAM_ADMIN_PASSWORD", "(hidden)", "must be 10 to 128 characters");

    char hash[AUTH_HASH_MAX];
    if (auth_password_hash(pwd, strlen(pwd), hash) != 0) {
        snprintf(errbuf, errlen, "cannot hash the admin password");
        return -1;
    }
    roam_db_t *db = roam_daemon_db(d);
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) {
        snprintf(errbuf, errlen, "cannot create the admin account: the database is unreachable");
        return -1;
    }
    char role[32] = "";
    int rc = store_user_ensure_admin(c, email, hash, "Administrator", role);
    if (rc < 0) snprintf(errbuf, errlen, "cannot create the admin account: %s", roam_db_errmsg(c));
    roam_db_release(db, c);
    if (rc < 0) return -1;
    if (rc == 1)
        roam_info("created the admin account %s", email);
    else if (strcmp(role, "admin") != 0)
        roam_warn("ROAM_ADMIN_EMAIL %s belongs to an existing %s account; it was not made an admin", email, role);
    return 0;
}

static int init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    if (auth_tokens_init(d, errbuf, errlen) != 0) return -1;
    if (auth_passwords_init(errbuf, errlen) != 0) return -1;
    if (auth_sessions_init(d, errbuf, errlen) != 0) return -1;
    return bootstrap_admin(d, errbuf, errlen);
}

static void fini(roam_daemon_t *d) {
    (void)d;
    auth_tokens_fini();
}

static const roam_route_t routes[] = {
    {"POST", "/auth/register", NULL, 0, h_auth_register},
    {"POST", "/auth/login", NULL, 0, h_auth_login},
    {"POST", "/auth/refresh", NULL, 0, h_auth_refresh},
    {"POST", "/auth/logout", "any", 0, h_auth_logout},
    {"GET", "/auth/me", "any", 0, h_auth_me},
    {"GET", "/auth/jwks.json", NULL, 0, h_auth_jwks},
    {"GET", "/internal/users/{id}", "internal", 0, h_internal_user},
};

static const roam_daemon_spec_t spec = {
    .name = "auth",
    .default_port = 8081,
    .needs = ROAM_NEED_DB | ROAM_NEED_REDIS,
    .routes = routes,
    .nroutes = ROAM_ARRAY_LEN(routes),
    .upstreams = NULL,
    .local_keys = 1,
    .init = init,
    .fini = fini,
};

int main(int argc, char **argv) { return roam_daemon_main(&spec, argc, argv); }
