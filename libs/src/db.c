/* The PostgreSQL connection pool; see roam/db.h. */
#include <roam/common.h>
#include <roam/db.h>
#include <roam/log.h>
#include <roam/metrics.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACQUIRE_TIMEOUT_MS 5000
#define IDLE_CHECK_MS 2000 /* a connection idle longer than this is checked before reuse */

struct roam_dbconn {
    roam_db_t *db;
    PGconn *pg;
    int in_use;
    int64_t last_used_ms;
    char sqlstate[6];
    char errmsg[256];
};

struct roam_db {
    char *url;
    char *schema;
    char *options; /* "-cjit=off -csearch_path=<schema>" */
    unsigned size;
    roam_dbconn_t *conns;
    pthread_mutex_t lock;
    pthread_cond_t freed;
};

roam_db_t *roam_db_new(const char *url, const char *schema, unsigned size, char *errbuf, size_t errlen) {
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    if (opts == NULL) {
        snprintf(errbuf, errlen, "bad database URL: %s", err ? err : "cannot parse");
        PQfreemem(err);
        return NULL;
    }
    PQconninfoFree(opts);
    if (schema != NULL) {
        for (const char *p = schema; *p; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
                snprintf(errbuf, errlen, "bad schema name \"%s\": use lower-case letters, digits and _", schema);
                return NULL;
            }
        }
    }
    roam_db_t *db = roam_xcalloc(1, sizeof(*db));
    db->url = roam_xstrdup(url);
    db->size = size ? size : 1;
    db->conns = roam_xcalloc(db->size, sizeof(roam_dbconn_t));
    for (unsigned i = 0; i < db->size; i++) db->conns[i].db = db;
    /*
     * JIT is off: these are short OLTP statements, and a plan whose estimate
     * crosses jit_above_cost (a search over the whole catalogue) spent up to a
     * second compiling it, every time, for a query that runs in a fraction of that.
     */
    size_t n = (schema ? strlen(schema) : 0) + 48;
    db->options = roam_xmalloc(n);
    if (schema != NULL) {
        db->schema = roam_xstrdup(schema);
        snprintf(db->options, n, "-cjit=off -csearch_path=%s", schema);
    } else {
        snprintf(db->options, n, "-cjit=off");
    }
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->freed, NULL);
    return db;
}

void roam_db_free(roam_db_t *db) {
    if (db == NULL) return;
    for (unsigned i = 0; i < db->size; i++)
        if (db->conns[i].pg != NULL) PQfinish(db->conns[i].pg);
    pthread_mutex_destroy(&db->lock);
    pthread_cond_destroy(&db->freed);
    free(db->conns);
    free(db->url);
    free(db->schema);
    free(db->options);
    free(db);
}

const char *roam_db_url(const roam_db_t *db) { return db->url; }
const char *roam_db_schema(const roam_db_t *db) { return db->schema; }

static void set_error(roam_dbconn_t *c, const PGresult *res) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "08000");
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (msg == NULL && c->pg != NULL) msg = PQerrorMessage(c->pg);
    snprintf(c->errmsg, sizeof(c->errmsg), "%s", msg ? msg : "unknown error");
    size_t n = strlen(c->errmsg);
    while (n > 0 && c->errmsg[n - 1] == '\n') c->errmsg[--n] = '\0';
}

/*
 * libpq prints server notices ("schema already exists, skipping", "terminating
 * connection") straight to stderr; route them into the JSON log instead.
 */
static void notice_cb(void *arg, const char *message) {
    (void)arg;
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", message);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n') msg[--n] = '\0';
    roam_log(strncmp(msg, "NOTICE", 6) == 0 || strncmp(msg, "DEBUG", 5) == 0 ? ROAM_LOG_DEBUG : ROAM_LOG_WARN,
             "postgresql: %s", msg);
}

void roam_db_route_notices(PGconn *pg) {
    if (pg != NULL) PQsetNoticeProcessor(pg, notice_cb, NULL);
}

/* Opens (or re-opens) c's connection. 0 or ROAM_EUNAVAIL. */
static int connect_conn(roam_dbconn_t *c) {
    roam_db_t *db = c->db;
    if (c->pg != NULL) PQfinish(c->pg);
    const char *keys[] = {"dbname", "options", "connect_timeout", "application_name", NULL};
    const char *vals[] = {db->url, db->options ? db->options : "", "3", roam_log_service(), NULL};
    /* expand_dbname=1: the URL in dbname supplies everything it names; the rest are defaults. */
    c->pg = PQconnectdbParams(keys, vals, 1);
    roam_db_route_notices(c->pg);
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
        set_error(c, NULL);
        roam_metrics_dep_error("database");
        roam_warn("database connection failed: %s", c->errmsg);
        if (c->pg != NULL) PQfinish(c->pg);
        c->pg = NULL;
        return ROAM_EUNAVAIL;
    }
    return 0;
}

/* Makes sure c is usable: reconnects a broken one, probes one idle for a while. */
static int ensure_conn(roam_dbconn_t *c) {
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) return connect_conn(c);
    if (roam_now_ms() - c->last_used_ms > IDLE_CHECK_MS) {
        PGresult *r = PQexec(c->pg, "");
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        PQclear(r);
        if (st != PGRES_EMPTY_QUERY || PQstatus(c->pg) != CONNECTION_OK) return connect_conn(c);
    }
    return 0;
}

roam_dbconn_t *roam_db_acquire(roam_db_t *db) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ACQUIRE_TIMEOUT_MS / 1000;
    roam_dbconn_t *c = NULL;
    pthread_mutex_lock(&db->lock);
    for (;;) {
        /* Prefer an open connection; fall back to an empty slot. */
        for (unsigned i = 0; i < db->size && c == NULL; i++)
            if (!db->conns[i].in_use && db->conns[i].pg != NULL) c = &db->conns[i];
        for (unsigned i = 0; i < db->size && c == NULL; i++)
            if (!db->conns[i].in_use) c = &db->conns[i];
        if (c != NULL) break;
        if (pthread_cond_timedwait(&db->freed, &db->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&db->lock);
            roam_warn("database pool exhausted: no connection free within %d ms", ACQUIRE_TIMEOUT_MS);
            return NULL;
        }
    }
    c->in_use = 1;
    pthread_mutex_unlock(&db->lock);

    if (ensure_conn(c) != 0) {
        roam_db_release(db, c);
        return NULL;
    }
    c->sqlstate[0] = '\0';
    c->errmsg[0] = '\0';
    return c;
}

void roam_db_release(roam_db_t *db, roam_dbconn_t *c) {
    if (c == NULL) return;
    if (c->pg != NULL && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        PGresult *r = PQexec(c->pg, "ROLLBACK");
        PQclear(r);
        if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
            PQfinish(c->pg); /* cannot be trusted any more */
            c->pg = NULL;
        }
    }
    c->last_used_ms = roam_now_ms();
    pthread_mutex_lock(&db->lock);
    c->in_use = 0;
    pthread_cond_signal(&db->freed);
    pthread_mutex_unlock(&db->lock);
}

PGresult *roam_db_query(roam_dbconn_t *c, const char *sql, int nparams, const char *const *params) {
    if (c->pg == NULL) {
        snprintf(c->sqlstate, sizeof(c->sqlstate), "08003");
        snprintf(c->errmsg, sizeof(c->errmsg), "no connection");
        return NULL;
    }
    PGresult *r = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return r;
    set_error(c, r);
    PQclear(r);
    /* Class 23 (constraint) and 40 (serialization) are expected outcomes, not dependency failures. */
    if (strncmp(c->sqlstate, "23", 2) != 0 && strncmp(c->sqlstate, "40", 2) != 0) {
        roam_metrics_dep_error("database");
        roam_warn("database error %s: %s", c->sqlstate, c->errmsg);
    }
    return NULL;
}

long roam_db_exec(roam_dbconn_t *c, const char *sql, int nparams, const char *const *params) {
    PGresult *r = roam_db_query(c, sql, nparams, params);
    if (r == NULL) return strncmp(c->sqlstate, "23", 2) == 0 ? ROAM_ECONFLICT : ROAM_EIO;
    const char *n = PQcmdTuples(r);
    long rows = (n && *n) ? strtol(n, NULL, 10) : 0;
    PQclear(r);
    return rows;
}

int roam_db_begin(roam_dbconn_t *c) { return roam_db_exec(c, "BEGIN", 0, NULL) < 0 ? ROAM_EIO : 0; }
int roam_db_commit(roam_dbconn_t *c) {
    PGresult *r = roam_db_query(c, "COMMIT", 0, NULL);
    if (r == NULL) return strncmp(c->sqlstate, "23", 2) == 0 ? ROAM_ECONFLICT : ROAM_EIO;
    /* COMMIT of a failed transaction answers ROLLBACK without an error: report it as one. */
    int rolled_back = strcmp(PQcmdStatus(r), "ROLLBACK") == 0;
    PQclear(r);
    if (rolled_back) {
        snprintf(c->sqlstate, sizeof(c->sqlstate), "25P02");
        snprintf(c->errmsg, sizeof(c->errmsg), "transaction was aborted and has been rolled back");
        return ROAM_EIO;
    }
    return 0;
}
int roam_db_rollback(roam_dbconn_t *c) { return roam_db_exec(c, "ROLLBACK", 0, NULL) < 0 ? ROAM_EIO : 0; }

int roam_db_in_tx(roam_dbconn_t *c) {
    return c->pg != NULL && PQtransactionStatus(c->pg) != PQTRANS_IDLE;
}

const char *roam_db_sqlstate(const roam_dbconn_t *c) { return c->sqlstate; }
const char *roam_db_errmsg(const roam_dbconn_t *c) { return c->errmsg; }
PGconn *roam_dbconn_pg(roam_dbconn_t *c) { return c->pg; }

int roam_db_ping(roam_db_t *db) {
    /* A fresh short-timeout connection: a pool slot may be busy, and this must answer quickly. */
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *vals[] = {db->url, "1", NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    roam_db_route_notices(pg);
    int ok = pg != NULL && PQstatus(pg) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(pg, "SELECT 1");
        ok = r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
    }
    PQfinish(pg);
    if (!ok) roam_metrics_dep_error("database");
    return ok ? 0 : ROAM_EUNAVAIL;
}
