/*
 * roam/daemon.h: the scaffold every daemon's main() hands itself to.
 *
 * roam_daemon_main reads the common configuration, sets up logging, connects
 * the dependencies the spec asks for (PostgreSQL with migrations, Redis,
 * Kafka with the outbox relay), registers their /readyz checks, serves the
 * spec's routes plus /healthz, /readyz and /metrics, and on SIGTERM or SIGINT
 * shuts everything down in order and returns 0.
 *
 * Common settings (see README, "Configuration"):
 *   ROAM_HTTP_ADDR, ROAM_HTTP_PORT, ROAM_HTTP_THREADS, ROAM_HTTP_MAX_CONNECTIONS,
 *   ROAM_HTTP_IDLE_TIMEOUT_S, ROAM_SHUTDOWN_TIMEOUT_MS, ROAM_ACCESS_LOG, ROAM_LOG_LEVEL,
 *   ROAM_DATABASE_URL, ROAM_DB_POOL_SIZE, ROAM_REDIS_URL, ROAM_REDIS_TIMEOUT_MS,
 *   ROAM_KAFKA_BROKERS, ROAM_OUTBOX_RELAY, ROAM_<UPSTREAM>_URL.
 *
 * Authentication: when any route has a role other than "internal", the
 * scaffold creates a verifier (roam/authn.h) with ROAM_JWT_ISSUER (default
 * "roam"), ROAM_JWT_AUDIENCE (default "roam-api"), the denylist in Redis
 * (ROAM_REDIS_URL becomes required) and keys from ROAM_JWKS_URL (default
 * ROAM_AUTH_URL + "/auth/jwks.json"), unless the spec sets local_keys, in
 * which case init adds them to roam_authn_keys(roam_daemon_authn(d)).
 * Routes with role "internal" require the header X-Roam-Internal to equal
 * ROAM_INTERNAL_SECRET (compared in constant time; the setting becomes
 * required).
 */
#ifndef ROAM_DAEMON_H
#define ROAM_DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <roam/common.h>
#include <roam/http.h>
#include <roam/kafka.h>

#define ROAM_NEED_DB 1u
#define ROAM_NEED_REDIS 2u
#define ROAM_NEED_KAFKA 4u
#define ROAM_NEED_AUTHN 8u /* a token verifier even without role routes (the gateway) */

typedef struct roam_daemon roam_daemon_t;
typedef struct roam_redis roam_redis_t;

typedef struct {
    const char *name;      /* "booking": logs, metrics, schema, program name roam-<name> */
    uint16_t default_port; /* ROAM_HTTP_PORT default */
    unsigned needs;        /* ROAM_NEED_* */
    const roam_route_t *routes;
    size_t nroutes;
    /*
     * Other services this daemon calls, by name ("inventory"). Each is read
     * from ROAM_<NAME>_URL and checked by /readyz (GET <url>/healthz).
     */
    const char *const *upstreams;
    /* 1: the daemon signs tokens itself and adds its keys in init (the auth service). */
    int local_keys;
    /* Called after the dependencies are up and before serving; may be NULL. */
    int (*init)(roam_daemon_t *d, char *errbuf, size_t errlen);
    /* Called after serving stopped and before the dependencies close; may be NULL. */
    void (*fini)(roam_daemon_t *d);
    /*
     * Non-NULL: serve on event loops with these hooks (roam/http.h) instead
     * of a thread pool; ROAM_HTTP_THREADS then counts loops (default: one per
     * CPU). Read after init, so init may fill it in.
     */
    const roam_loop_hooks_t *loop_hooks;
} roam_daemon_spec_t;

/*
 * Runs the daemon until a stop signal. Returns the process exit status.
 * "roam-<name> --routes" prints the route table instead and exits;
 * "roam-<name> --migrate" applies the service's migrations to
 * ROAM_DATABASE_URL (as start-up does) and exits: 0 when the schema is up to
 * date, 1 when a migration failed, 2 on a bad setting.
 */
int roam_daemon_main(const roam_daemon_spec_t *spec, int argc, char **argv);

/* The running daemon (one per process). */
roam_daemon_t *roam_daemon(void);
const roam_daemon_spec_t *roam_daemon_spec(const roam_daemon_t *d);
roam_db_t *roam_daemon_db(roam_daemon_t *d);
roam_redis_t *roam_daemon_redis(roam_daemon_t *d);
roam_producer_t *roam_daemon_producer(roam_daemon_t *d);
/* The base URL of an upstream named in the spec (borrowed), or NULL. */
const char *roam_daemon_upstream(roam_daemon_t *d, const char *name);
/* The token verifier, or NULL when no route needs one. */
typedef struct roam_authn roam_authn_t;
roam_authn_t *roam_daemon_authn(roam_daemon_t *d);
/* The bound HTTP port. */
uint16_t roam_daemon_port(const roam_daemon_t *d);

/*
 * Adds a consumer-group member for topics (NULL-terminated) that the scaffold
 * starts after init and stops before fini. Call from init. 0 or ROAM_EIO.
 */
int roam_daemon_add_consumer(roam_daemon_t *d, const char *group, const char *const *topics,
                             roam_event_handler_fn handler, void *ctx);

/*
 * Registers a /readyz check named name (for example "smtp"): fn returns 0
 * when the dependency is reachable. Call from init.
 */
void roam_daemon_add_check(roam_daemon_t *d, const char *name, int (*fn)(void *ctx), void *ctx);

/* Asks the daemon to shut down as if it had received SIGTERM. */
void roam_daemon_stop(roam_daemon_t *d);

#endif
