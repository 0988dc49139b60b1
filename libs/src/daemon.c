/* The daemon scaffold; see roam/daemon.h. */
#include <roam/authn.h>
#include <roam/common.h>
#include <roam/config.h>
#include <roam/daemon.h>
#include <roam/db.h>
#include <roam/httpc.h>
#include <roam/log.h>
#include <roam/metrics.h>
#include <roam/migrate.h>
#include <roam/outbox.h>
#include <roam/redis.h>

#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CHECKS 16
#define MAX_CONSUMERS 8
#define MAX_UPSTREAMS 8
#define CHECK_INTERVAL_MS 1000

typedef struct {
    char name[32];
    int (*fn)(void *ctx);
    void *ctx;
    atomic_int ok; /* last result */
} check_t;

typedef struct {
    const char *name;
    char *url;
    char *healthz;
} upstream_t;

struct roam_daemon {
    const roam_daemon_spec_t *spec;
    char program[64];
    roam_route_t *routes; /* ops routes + the spec's */
    size_t nroutes;
    roam_http_server_t *http;
    roam_db_t *db;
    roam_redis_t *redis;
    roam_authn_t *authn;
    roam_producer_t *producer;
    roam_outbox_relay_t *relay;
    const char *brokers;
    roam_consumer_t *consumers[MAX_CONSUMERS];
    int nconsumers;
    upstream_t upstreams[MAX_UPSTREAMS];
    int nupstreams;
    check_t checks[MAX_CHECKS];
    int nchecks;
    atomic_int checked_once;
    pthread_t checker;
    pthread_mutex_t check_lock;
    pthread_cond_t check_wake;
    int checker_stop;
};

static roam_daemon_t *the_daemon;

roam_daemon_t *roam_daemon(void) { return the_daemon; }
const roam_daemon_spec_t *roam_daemon_spec(const roam_daemon_t *d) { return d->spec; }
roam_db_t *roam_daemon_db(roam_daemon_t *d) { return d->db; }
roam_redis_t *roam_daemon_redis(roam_daemon_t *d) { return d->redis; }
roam_producer_t *roam_daemon_producer(roam_daemon_t *d) { return d->producer; }
roam_authn_t *roam_daemon_authn(roam_daemon_t *d) { return d->authn; }
uint16_t roam_daemon_port(const roam_daemon_t *d) { return roam_http_server_port(d->http); }

const char *roam_daemon_upstream(roam_daemon_t *d, const char *name) {
    for (int i = 0; i < d->nupstreams; i++)
        if (strcmp(d->upstreams[i].name, name) == 0) return d->upstreams[i].url;
    return NULL;
}

void roam_daemon_add_check(roam_daemon_t *d, const char *name, int (*fn)(void *), void *ctx) {
    if (d->nchecks == MAX_CHECKS) {
        roam_error("too many readiness checks; %s ignored", name);
        return;
    }
    check_t *c = &d->checks[d->nchecks++];
    snprintf(c->name, sizeof(c->name), "%.*s", (int)sizeof(c->name) - 1, name); /* names are short; a long one is cut */
    c->fn = fn;
    c->ctx = ctx;
    atomic_store(&c->ok, 0);
}

int roam_daemon_add_consumer(roam_daemon_t *d, const char *group, const char *const *topics,
                             roam_event_handler_fn handler, void *ctx) {
    if (d->brokers == NULL || d->nconsumers == MAX_CONSUMERS) {
        roam_error("cannot add consumer %s: %s", group, d->brokers ? "too many consumers" : "daemon has no Kafka");
        return ROAM_EIO;
    }
    char err[512];
    roam_consumer_t *c = roam_consumer_new(d->brokers, group, topics, handler, ctx, err, sizeof(err));
    if (c == NULL) {
        roam_error("consumer %s: %s", group, err);
        return ROAM_EIO;
    }
    d->consumers[d->nconsumers++] = c;
    return 0;
}

void roam_daemon_stop(roam_daemon_t *d) {
    (void)d;
    kill(getpid(), SIGTERM);
}

/* --- Readiness ------------------------------------------------------------ */

static int check_db(void *ctx) { return roam_db_ping(ctx); }
static int check_redis(void *ctx) { return roam_redis_ping(ctx); }
static int check_kafka(void *ctx) { return roam_producer_ping(ctx, 1000); }

static int check_upstream(void *ctx) {
    upstream_t *u = ctx;
    roam_httpc_opts_t o;
    roam_httpc_opts_init(&o);
    o.timeout_ms = 1000;
    o.connect_timeout_ms = 500;
    o.retries = 0;
    roam_httpc_resp_t resp;
    int rc = roam_httpc_do("GET", u->healthz, NULL, NULL, 0, &o, &resp);
    int ok = rc == 0 && resp.status == 200;
    roam_httpc_resp_cleanup(&resp);
    return ok ? 0 : ROAM_EUNAVAIL;
}

/*
 * Runs every check once a second in the background, so /readyz answers at
 * once from the last results and probes never pile work onto dependencies.
 */
static void *checker_main(void *arg) {
    roam_daemon_t *d = arg;
    pthread_mutex_lock(&d->check_lock);
    while (!d->checker_stop) {
        pthread_mutex_unlock(&d->check_lock);
        for (int i = 0; i < d->nchecks; i++) {
            int ok = d->checks[i].fn(d->checks[i].ctx) == 0;
            int was = atomic_exchange(&d->checks[i].ok, ok);
            if (was != ok && atomic_load(&d->checked_once))
                roam_log(ok ? ROAM_LOG_INFO : ROAM_LOG_WARN, "dependency %s is %s", d->checks[i].name,
                         ok ? "reachable again" : "unreachable");
        }
        atomic_store(&d->checked_once, 1);
        roam_httpc_thread_cleanup();
        pthread_mutex_lock(&d->check_lock);
        if (d->checker_stop) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)CHECK_INTERVAL_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&d->check_wake, &d->check_lock, &ts);
    }
    pthread_mutex_unlock(&d->check_lock);
    return NULL;
}

static int h_healthz(roam_req_t *req) {
    return roam_respond_json(req, 200, json_pack("{s:s, s:s}", "status", "ok", "service", roam_log_service()));
}

static int h_readyz(roam_req_t *req) {
    roam_daemon_t *d = the_daemon;
    json_t *checks = json_object();
    char failing[256] = "";
    for (int i = 0; i < d->nchecks; i++) {
        int ok = atomic_load(&d->checks[i].ok);
        json_object_set_new(checks, d->checks[i].name, json_string(ok ? "ok" : "unavailable"));
        if (!ok) {
            size_t n = strlen(failing);
            snprintf(failing + n, sizeof(failing) - n, "%s%s", n ? ", " : "", d->checks[i].name);
        }
    }
    if (!atomic_load(&d->checked_once)) snprintf(failing, sizeof(failing), "starting");
    if (failing[0] == '\0')
        return roam_respond_json(req, 200, json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
    char detail[320];
    snprintf(detail, sizeof(detail), "Not ready: %s unreachable", failing);
    json_t *doc = roam_problem_new("upstream_unavailable", detail);
    json_object_set_new(doc, "checks", checks);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return roam_respond_raw(req, 503, "application/problem+json", text, text ? strlen(text) : 0);
}

static int h_metrics(roam_req_t *req) {
    roam_buf_t b;
    if (roam_metrics_render(&b) != 0) return roam_respond_problem(req, "upstream_unavailable", "Out of memory");
    return roam_respond_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.buf, b.len);
}

static const roam_route_t ops_routes[] = {
    {"GET", "/healthz", NULL, 0, h_healthz},
    {"GET", "/readyz", NULL, 0, h_readyz},
    {"GET", "/metrics", NULL, 0, h_metrics},
};

/* --- Start-up --------------------------------------------------------------- */

static void upstream_env_name(const char *name, char *out, size_t len) {
    size_t i = 0;
    i += (size_t)snprintf(out, len, "ROAM_");
    for (const char *p = name; *p && i + 5 < len; p++) out[i++] = (char)toupper((unsigned char)*p);
    snprintf(out + i, len - i, "_URL");
}

static void config_upstreams(roam_daemon_t *d) {
    static const char *const http_schemes[] = {"http", "https", NULL};
    for (const char *const *u = d->spec->upstreams; u != NULL && *u != NULL; u++) {
        if (d->nupstreams == MAX_UPSTREAMS) break;
        char env[64];
        upstream_env_name(*u, env, sizeof(env));
        upstream_t *up = &d->upstreams[d->nupstreams++];
        up->name = *u;
        up->url = roam_xstrdup(roam_config_url(env, NULL, http_schemes));
        size_t n = strlen(up->url);
        while (n > 0 && up->url[n - 1] == '/') up->url[--n] = '\0';
        up->healthz = roam_xmalloc(n + 16);
        snprintf(up->healthz, n + 16, "%s/healthz", up->url);
    }
}


/* "roam-<name> --routes": the route table, "METHOD /path ROLE" per line, for the contract checks. */
static int print_routes(const roam_daemon_spec_t *spec) {
    for (size_t i = 0; i < spec->nroutes; i++)
        printf("%s %s %s\n", spec->routes[i].method, spec->routes[i].pattern,
               spec->routes[i].role ? spec->routes[i].role : "public");
    return 0;
}

/*
 * Applies the service's migrations, waiting up to 30 s for a database that is
 * still starting (compose, Kubernetes). Returns what roam_migrate returns.
 */
static int migrate_waiting(roam_db_t *db, const char *schema, char *err, size_t errlen) {
    int applied = -1;
    for (int attempt = 0; attempt < 30; attempt++) {
        applied = roam_migrate(db, schema, roam_migrations, roam_migrations_count, err, errlen);
        if (applied != ROAM_EUNAVAIL) break;
        if (attempt == 0) roam_warn("database not reachable yet; retrying for up to 30 s");
        sleep(1);
    }
    return applied;
}

/*
 * "roam-<name> --migrate": applies the migrations the daemon would apply at
 * start-up, then exits without serving (a container image's migration step).
 * Needs only ROAM_DATABASE_URL. 0 when the schema is up to date, 1 when a
 * migration failed, 2 on a bad setting (roam_config_fail).
 */
static int migrate_only(const roam_daemon_spec_t *spec) {
    static char program[64];
    snprintf(program, sizeof(program), "roam-%s", spec->name);
    roam_config_set_program(program);
    static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
    roam_log_init(spec->name, (roam_log_level_t)roam_config_enum("ROAM_LOG_LEVEL", "info", levels));
    if (!(spec->needs & ROAM_NEED_DB)) {
        roam_info("%s has no database: nothing to migrate", program);
        roam_log_flush();
        return 0;
    }
    static const char *const pg_schemes[] = {"postgresql", "postgres", NULL};
    const char *db_url = roam_config_url("ROAM_DATABASE_URL", NULL, pg_schemes);
    char err[512];
    roam_db_t *db = roam_db_new(db_url, spec->name, 1, err, sizeof(err));
    if (db == NULL) roam_config_fail("ROAM_DATABASE_URL", db_url, err);
    int applied = migrate_waiting(db, spec->name, err, sizeof(err));
    if (applied < 0) roam_error("migrations failed: %s", err);
    else roam_info("schema %s is up to date (%d migrations applied now)", spec->name, applied);
    roam_db_free(db);
    roam_log_flush();
    return applied < 0 ? 1 : 0;
}

int roam_daemon_main(const roam_daemon_spec_t *spec, int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--routes") == 0) return print_routes(spec);
    if (argc > 1 && strcmp(argv[1], "--migrate") == 0) return migrate_only(spec);
    if (argc > 1) {
        fprintf(stderr,
                "usage: roam-%s [--routes | --migrate]\n(configuration comes from the environment: see README.md)\n",
                spec->name);
        return 2;
    }
    roam_daemon_t *d = roam_xcalloc(1, sizeof(*d));
    the_daemon = d;
    d->spec = spec;
    snprintf(d->program, sizeof(d->program), "roam-%s", spec->name);
    roam_config_set_program(d->program);
    signal(SIGPIPE, SIG_IGN);

    /* Block the stop signals in every thread; the main thread waits for them below. */
    sigset_t stop_sigs;
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);

    /* Configuration first: a bad setting exits before anything starts. */
    static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
    int level = roam_config_enum("ROAM_LOG_LEVEL", "info", levels);
    roam_log_init(spec->name, (roam_log_level_t)level);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long def_threads = cpus > 0 ? cpus * 2 : 4;
    if (def_threads < 8) def_threads = 8;
    if (spec->loop_hooks != NULL) def_threads = cpus > 0 ? cpus : 2; /* event loops never block: one per CPU */

    roam_http_opts_t hopts;
    roam_http_opts_init(&hopts);
    hopts.service = spec->name;
    hopts.bind_addr = roam_config_str("ROAM_HTTP_ADDR", "127.0.0.1");
    hopts.port = (uint16_t)roam_config_int("ROAM_HTTP_PORT", spec->default_port, 1, 65535);
    hopts.threads = (unsigned)roam_config_int("ROAM_HTTP_THREADS", def_threads, 1, 256);
    hopts.max_connections = (unsigned)roam_config_int("ROAM_HTTP_MAX_CONNECTIONS", 1024, 16, 65536);
    hopts.connection_memory = (size_t)roam_config_int("ROAM_HTTP_CONNECTION_MEMORY", 8192, 4096, 1048576);
    hopts.idle_timeout_s = (unsigned)roam_config_int("ROAM_HTTP_IDLE_TIMEOUT_S", 60, 1, 3600);
    hopts.shutdown_timeout_ms = (unsigned)roam_config_int("ROAM_SHUTDOWN_TIMEOUT_MS", 10000, 0, 120000);
    hopts.access_log = roam_config_bool("ROAM_ACCESS_LOG", 1);

    /* What the route table asks for: token checks, service-to-service calls. */
    unsigned needs = spec->needs;
    int needs_internal = 0;
    for (size_t i = 0; i < spec->nroutes; i++) {
        const char *role = spec->routes[i].role;
        if (role == NULL) continue;
        if (strcmp(role, "internal") == 0) needs_internal = 1;
        else needs |= ROAM_NEED_AUTHN;
    }
    if (needs & ROAM_NEED_AUTHN) needs |= ROAM_NEED_REDIS; /* the logout denylist */
    const char *internal_secret = roam_config_str("ROAM_INTERNAL_SECRET", needs_internal ? NULL : "");
    if (internal_secret[0] != '\0' && strlen(internal_secret) < 16)
        roam_config_fail("ROAM_INTERNAL_SECRET", "(hidden)", "must be at least 16 characters");
    hopts.internal_secret = internal_secret[0] ? internal_secret : NULL;
    const char *issuer = NULL, *audience = NULL, *jwks_url = NULL;
    char jwks_default[512];
    if (needs & ROAM_NEED_AUTHN) {
        issuer = roam_config_str("ROAM_JWT_ISSUER", "roam");
        audience = roam_config_str("ROAM_JWT_AUDIENCE", "roam-api");
        if (!spec->local_keys) {
            static const char *const http_schemes[] = {"http", "https", NULL};
            const char *auth_url = getenv("ROAM_AUTH_URL");
            const char *def = NULL;
            if (auth_url != NULL && auth_url[0] != '\0') {
                snprintf(jwks_default, sizeof(jwks_default), "%s/auth/jwks.json", auth_url);
                def = jwks_default;
            }
            jwks_url = roam_config_url("ROAM_JWKS_URL", def, http_schemes);
        }
    }

    static const char *const pg_schemes[] = {"postgresql", "postgres", NULL};
    static const char *const redis_schemes[] = {"redis", NULL};
    const char *db_url = NULL, *redis_url = NULL;
    long pool = 0, redis_timeout = 0;
    int relay_on = 0;
    if (needs & ROAM_NEED_DB) {
        db_url = roam_config_url("ROAM_DATABASE_URL", NULL, pg_schemes);
        pool = roam_config_int("ROAM_DB_POOL_SIZE", (long)hopts.threads + 4, 1, 1000);
    }
    if (needs & ROAM_NEED_REDIS) {
        redis_url = roam_config_url("ROAM_REDIS_URL", NULL, redis_schemes);
        redis_timeout = roam_config_int("ROAM_REDIS_TIMEOUT_MS", 500, 10, 60000);
    }
    if (needs & ROAM_NEED_KAFKA) {
        d->brokers = roam_config_str("ROAM_KAFKA_BROKERS", NULL);
        relay_on = (needs & ROAM_NEED_DB) && roam_config_bool("ROAM_OUTBOX_RELAY", 1);
    }
    config_upstreams(d);

    /* Dependencies. */
    char err[512];
    int status = 1;
    if (db_url != NULL) {
        d->db = roam_db_new(db_url, spec->name, (unsigned)pool, err, sizeof(err));
        if (d->db == NULL) roam_config_fail("ROAM_DATABASE_URL", db_url, err);
        int applied = migrate_waiting(d->db, spec->name, err, sizeof(err));
        if (applied < 0) {
            roam_error("migrations failed: %s", err);
            goto out;
        }
        roam_info("schema %s is up to date (%d migrations applied now)", spec->name, applied);
        hopts.db = d->db;
        roam_daemon_add_check(d, "database", check_db, d->db);
    }
    if (redis_url != NULL) {
        d->redis = roam_redis_new(redis_url, (unsigned)hopts.threads + 2, (int)redis_timeout, err, sizeof(err));
        if (d->redis == NULL) roam_config_fail("ROAM_REDIS_URL", redis_url, err);
        roam_daemon_add_check(d, "redis", check_redis, d->redis);
    }
    if (needs & ROAM_NEED_AUTHN) {
        roam_authn_opts_t ao = {jwks_url, issuer, audience, d->redis, 4096};
        d->authn = roam_authn_new(&ao, err, sizeof(err));
        if (d->authn == NULL) roam_config_fail("ROAM_JWKS_URL", jwks_url, err);
        hopts.auth = roam_authn_verify;
        hopts.auth_ctx = d->authn;
        /* The auth service may not be up yet: keys also load on the first token. */
        if (jwks_url != NULL && roam_authn_refresh(d->authn) == 0) roam_info("loaded signing keys from %s", jwks_url);
    }
    if (d->brokers != NULL) {
        d->producer = roam_producer_new(d->brokers, d->program, err, sizeof(err));
        if (d->producer == NULL) roam_config_fail("ROAM_KAFKA_BROKERS", d->brokers, err);
        roam_daemon_add_check(d, "kafka", check_kafka, d->producer);
    }
    for (int i = 0; i < d->nupstreams; i++) {
        char name[40];
        snprintf(name, sizeof(name), "upstream_%s", d->upstreams[i].name);
        roam_daemon_add_check(d, name, check_upstream, &d->upstreams[i]);
    }

    if (spec->init != NULL && spec->init(d, err, sizeof(err)) != 0) {
        roam_error("start-up failed: %s", err);
        goto out;
    }

    /* Routes: the operations endpoints, then the service's own. */
    d->nroutes = ROAM_ARRAY_LEN(ops_routes) + spec->nroutes;
    d->routes = roam_xcalloc(d->nroutes, sizeof(roam_route_t));
    memcpy(d->routes, ops_routes, sizeof(ops_routes));
    if (spec->nroutes) memcpy(d->routes + ROAM_ARRAY_LEN(ops_routes), spec->routes, spec->nroutes * sizeof(roam_route_t));
    if (spec->loop_hooks != NULL) {
        hopts.event_loops = hopts.threads;
        hopts.loop_hooks = spec->loop_hooks;
    }
    d->http = roam_http_server_new(&hopts, d->routes, d->nroutes, err, sizeof(err));
    if (d->http == NULL) {
        roam_error("route table: %s", err);
        goto out;
    }

    pthread_mutex_init(&d->check_lock, NULL);
    pthread_cond_init(&d->check_wake, NULL);
    pthread_create(&d->checker, NULL, checker_main, d);

    if (relay_on) {
        d->relay = roam_outbox_relay_start(d->db, d->producer, err, sizeof(err));
        if (d->relay == NULL) {
            roam_error("outbox relay: %s", err);
            goto stop_checker;
        }
    }
    for (int i = 0; i < d->nconsumers; i++) {
        if (roam_consumer_start(d->consumers[i]) != 0) {
            roam_error("cannot start consumer %d", i);
            goto stop_all;
        }
    }
    if (roam_http_server_start(d->http) != 0) goto stop_all;
    roam_info("listening on %s:%u", hopts.bind_addr, roam_http_server_port(d->http));

    int sig = 0;
    sigwait(&stop_sigs, &sig);
    roam_info("received %s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    status = 0;

    roam_http_server_shutdown(d->http);
    roam_log_flush();
stop_all:
    for (int i = 0; i < d->nconsumers; i++) roam_consumer_stop(d->consumers[i]);
    if (d->relay != NULL) roam_outbox_relay_stop(d->relay);
    d->relay = NULL;
stop_checker:
    pthread_mutex_lock(&d->check_lock);
    d->checker_stop = 1;
    pthread_cond_signal(&d->check_wake);
    pthread_mutex_unlock(&d->check_lock);
    pthread_join(d->checker, NULL);
    if (spec->fini != NULL) spec->fini(d);
out:
    for (int i = 0; i < d->nconsumers; i++) roam_consumer_free(d->consumers[i]);
    if (d->http != NULL) roam_http_server_free(d->http);
    if (d->producer != NULL) roam_producer_free(d->producer);
    roam_authn_free(d->authn);
    if (d->redis != NULL) roam_redis_free(d->redis);
    if (d->db != NULL) roam_db_free(d->db);
    for (int i = 0; i < d->nupstreams; i++) {
        free(d->upstreams[i].url);
        free(d->upstreams[i].healthz);
    }
    roam_httpc_thread_cleanup();
    roam_info("stopped");
    roam_log_flush();
    return status;
}
