/*
 * The transactional outbox, its relay, and idempotent consumption; see
 * roam/outbox.h.
 *
 * The relay thread owns one libpq connection of its own (not a pool slot:
 * it holds a session-level advisory lock and LISTENs, both of which belong
 * to a session). Per pass it publishes the oldest unsent rows in seq order
 * through roam_producer_send and marks exactly the delivered prefix sent, so
 * a Kafka outage or a crash at any point leads to redelivery, never loss.
 * Consumers dedupe redeliveries with roam_event_claim.
 */
#include <roam/common.h>
#include <roam/db.h>
#include <roam/kafka.h>
#include <roam/log.h>
#include <roam/metrics.h>
#include <roam/outbox.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RELAY_BATCH            100
#define RELAY_BATCH_SQL        "100" /* RELAY_BATCH, for the LIMIT clause */
#define RELAY_IDLE_MS          1000  /* poll interval when no NOTIFY arrives (the fallback) */
#define RELAY_LOCK_RETRY_MS    1000  /* how often a relay without the lock tries again */
#define RELAY_BACKOFF_FIRST_MS 200
#define RELAY_BACKOFF_MAX_MS   5000
#define BACKLOG_EVERY_NS       1000000000ull
#define CLEANUP_EVERY_NS       3600000000000ull
/* Longer than the producer's own delivery timeout, so every message's fate is known when the call returns. */
#define RELAY_SEND_TIMEOUT_MS (ROAM_KAFKA_DELIVERY_TIMEOUT_MS + 2000)

const char roam_outbox_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS outbox (\n"
    "    seq bigserial PRIMARY KEY,\n"
    "    id uuid NOT NULL UNIQUE,\n"
    "    topic text NOT NULL,\n"
    "    key text,\n"
    "    payload jsonb NOT NULL,\n"
    "    headers jsonb NOT NULL DEFAULT '{}',\n"
    "    created_at timestamptz NOT NULL DEFAULT now(),\n"
    "    sent_at timestamptz\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS outbox_unsent_idx ON outbox (seq) WHERE sent_at IS NULL;\n"
    "CREATE TABLE IF NOT EXISTS processed_events (\n"
    "    consumer text NOT NULL,\n"
    "    event_id uuid NOT NULL,\n"
    "    processed_at timestamptz NOT NULL DEFAULT now(),\n"
    "    PRIMARY KEY (consumer, event_id)\n"
    ");\n";

/*
 * The NOTIFY channel of the connection's schema. Both ends compute it in SQL
 * from current_schema(), so they agree by construction; left() keeps it
 * within PostgreSQL's 63-byte identifier limit.
 */
#define CHANNEL_SQL "left('roam_outbox_' || current_schema(), 63)"

int roam_outbox_add(roam_dbconn_t *c, const char *topic, const char *type, const char *key, const char *subject,
                    json_t *data, char event_id[37]) {
    if (!roam_db_in_tx(c)) {
        roam_error("roam_outbox_add called outside a transaction: the event would not commit with its change");
        return ROAM_EINVAL;
    }
    if (topic == NULL) return ROAM_EINVAL;
    json_t *env = roam_event_envelope(type, subject, data);
    json_t *hdrs = json_object();
    char *payload = env ? json_dumps(env, JSON_COMPACT) : NULL;
    const char *rid = roam_log_request_id(), *tp = roam_log_traceparent();
    if (hdrs != NULL && rid != NULL) json_object_set_new(hdrs, "x-request-id", json_string(rid));
    if (hdrs != NULL && tp != NULL) json_object_set_new(hdrs, "traceparent", json_string(tp));
    char *headers = hdrs ? json_dumps(hdrs, JSON_COMPACT) : NULL;
    int rc = ROAM_EIO;
    if (payload == NULL || headers == NULL) {
        rc = env == NULL ? ROAM_EINVAL : ROAM_ENOMEM;
        goto out;
    }
    const char *id = json_string_value(json_object_get(env, "id"));
    const char *params[] = {id, topic, key, payload, headers};
    /* One round trip; the notification is delivered only if and when the transaction commits. */
    PGresult *r = roam_db_query(c,
                                "WITH ins AS (INSERT INTO outbox (id, topic, key, payload, headers)"
                                " VALUES ($1::uuid, $2, $3, $4::jsonb, $5::jsonb) RETURNING seq)"
                                " SELECT pg_notify(" CHANNEL_SQL ", '') FROM ins",
                                5, params);
    if (r != NULL) {
        rc = PQntuples(r) == 1 ? 0 : ROAM_EIO;
        PQclear(r);
    }
    if (rc == 0 && event_id != NULL) snprintf(event_id, ROAM_UUID_LEN + 1, "%s", id);
out:
    free(payload);
    free(headers);
    json_decref(hdrs);
    json_decref(env);
    return rc;
}

/*
 * Claims are kept PROCESSED_KEEP_DAYS, far longer than any topic keeps its
 * messages (Kafka's default is 7 days), so a redelivery always finds its
 * claim. Older ones (of every consumer in the schema) are deleted by the
 * first claim of each process and then once an hour, in the claiming
 * transaction (old rows never conflict with the new one), at most
 * PRUNE_BATCH at a time.
 */
#define PROCESSED_KEEP_DAYS "30"
#define PRUNE_EVERY_NS      3600000000000ull
#define PRUNE_BATCH         "10000"

static _Atomic uint64_t claims_pruned_at_ns;

static void prune_claims(roam_dbconn_t *c) {
    uint64_t now = roam_now_mono_ns(), last = atomic_load(&claims_pruned_at_ns);
    if (last != 0 && now - last < PRUNE_EVERY_NS) return;
    if (!atomic_compare_exchange_strong(&claims_pruned_at_ns, &last, now)) return; /* another thread does it */
    /*
     * SKIP LOCKED: replicas pruning at once neither wait for nor deadlock with
     * each other. The savepoint keeps a failed prune from failing the claim.
     */
    if (roam_db_exec(c, "SAVEPOINT prune_claims", 0, NULL) < 0) return;
    long n = roam_db_exec(c,
                          "DELETE FROM processed_events WHERE (consumer, event_id) IN"
                          " (SELECT consumer, event_id FROM processed_events"
                          "  WHERE processed_at < now() - interval '" PROCESSED_KEEP_DAYS " days'"
                          "  LIMIT " PRUNE_BATCH " FOR UPDATE SKIP LOCKED)",
                          0, NULL);
    if (n < 0) {
        roam_warn("could not delete old event claims; trying again in an hour");
        roam_db_exec(c, "ROLLBACK TO SAVEPOINT prune_claims", 0, NULL);
        return;
    }
    roam_db_exec(c, "RELEASE SAVEPOINT prune_claims", 0, NULL);
    if (n > 0) roam_info("deleted %ld event claims older than " PROCESSED_KEEP_DAYS " days", n);
}

int roam_event_claim(roam_dbconn_t *c, const char *consumer, const char *event_id) {
    const char *params[] = {consumer, event_id};
    long n = roam_db_exec(c,
                          "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2::uuid)"
                          " ON CONFLICT DO NOTHING",
                          2, params);
    if (n < 0) return ROAM_EIO;
    if (n > 0) prune_claims(c);
    return n > 0 ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Relay                                                                     */

struct roam_outbox_relay {
    roam_producer_t *producer; /* borrowed */
    char *url, *schema, *options, *app_name;
    pthread_t thread;
    int wake[2]; /* stop writes to wake[1]; the thread polls wake[0] */
    atomic_bool stopping;
    _Atomic int64_t backlog;

    /* Relay thread only. */
    PGconn *pg;
    bool locked; /* holds the schema's advisory lock, and LISTENs */
    uint64_t backlog_at_ns, cleanup_at_ns;

    struct roam_outbox_relay *next; /* in the metrics registry */
};

/* Live relays for the metrics collector (collectors cannot be unregistered). */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static roam_outbox_relay_t *registry;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

static void relay_collect(void *unused, roam_buf_t *b) {
    int64_t total = 0;
    bool known = false;
    pthread_mutex_lock(&registry_mu);
    for (roam_outbox_relay_t *r = registry; r != NULL; r = r->next) {
        int64_t n = atomic_load(&r->backlog);
        if (n >= 0) {
            total += n;
            known = true;
        }
    }
    pthread_mutex_unlock(&registry_mu);
    if (known)
        roam_buf_appendf(b,
                         "# HELP roam_outbox_backlog Outbox rows not yet published to Kafka.\n"
                         "# TYPE roam_outbox_backlog gauge\n"
                         "roam_outbox_backlog %lld\n",
                         (long long)total);
}

static void registry_init(void) { roam_metrics_register(relay_collect, NULL); }

static int next_backoff(int ms) {
    if (ms == 0) return RELAY_BACKOFF_FIRST_MS;
    return ms * 2 > RELAY_BACKOFF_MAX_MS ? RELAY_BACKOFF_MAX_MS : ms * 2;
}

/* Closes the connection; the session's advisory lock and LISTEN go with it. */
static void relay_disconnect(roam_outbox_relay_t *r) {
    if (r->pg != NULL) PQfinish(r->pg);
    r->pg = NULL;
    if (r->locked) roam_info("outbox relay for schema %s stopped publishing", r->schema);
    r->locked = false;
}

/* Logs a failed statement on the relay's connection and counts it. */
static void relay_db_error(roam_outbox_relay_t *r, const char *what, const PGresult *res) {
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(r->pg);
    roam_warn("outbox relay (%s): %s failed: %.*s", r->schema, what, (int)strcspn(msg, "\n"), msg);
    roam_metrics_dep_error("database");
}

/* Runs sql expecting status; returns the result or NULL (logged). */
static PGresult *relay_exec(roam_outbox_relay_t *r, const char *what, const char *sql, ExecStatusType status) {
    PGresult *res = PQexec(r->pg, sql);
    if (res == NULL || PQresultStatus(res) != status) {
        relay_db_error(r, what, res);
        PQclear(res);
        return NULL;
    }
    return res;
}

/* Server messages outside a query (a FATAL before the server hangs up) go to our log, not libpq's stderr. */
static void relay_notice(void *arg, const char *msg) {
    roam_outbox_relay_t *r = arg;
    roam_warn("outbox relay (%s): server says: %.*s", r->schema, (int)strcspn(msg, "\n"), msg);
}

static int relay_connect(roam_outbox_relay_t *r) {
    const char *keys[] = {"dbname", "options", "connect_timeout", "application_name", NULL};
    const char *vals[] = {r->url, r->options, "5", r->app_name, NULL};
    r->pg = PQconnectdbParams(keys, vals, 1); /* expand_dbname: the URL supplies the rest */
    roam_db_route_notices(r->pg);
    if (r->pg == NULL || PQstatus(r->pg) != CONNECTION_OK) {
        const char *msg = r->pg ? PQerrorMessage(r->pg) : "out of memory";
        roam_warn("outbox relay (%s): cannot connect: %.*s", r->schema, (int)strcspn(msg, "\n"), msg);
        roam_metrics_dep_error("database");
        relay_disconnect(r);
        return -1;
    }
    PQsetNoticeProcessor(r->pg, relay_notice, r);
    return 0;
}

/*
 * Tries to become the schema's publishing relay. Once it holds the lock it
 * LISTENs, before its first SELECT, so no commit after that goes unnoticed.
 * Returns 1 (holds it), 0 (another relay does) or -1 (connection failed).
 */
static int relay_try_lock(roam_outbox_relay_t *r) {
    PGresult *res = relay_exec(r, "taking the relay lock",
                               "SELECT pg_try_advisory_lock(hashtext('roam_outbox_relay.' || current_schema())),"
                               " format('LISTEN %I', " CHANNEL_SQL ")",
                               PGRES_TUPLES_OK);
    if (res == NULL) return -1;
    bool got = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    if (got) {
        PGresult *l = relay_exec(r, "LISTEN", PQgetvalue(res, 0, 1), PGRES_COMMAND_OK);
        PQclear(res);
        if (l == NULL) return -1;
        PQclear(l);
        r->locked = true;
        roam_info("outbox relay for schema %s is publishing", r->schema);
        return 1;
    }
    PQclear(res);
    return 0;
}

/* Refreshes the backlog at most once a second. -1 if the connection failed. */
static int relay_count_backlog(roam_outbox_relay_t *r) {
    uint64_t now = roam_now_mono_ns();
    if (r->backlog_at_ns != 0 && now - r->backlog_at_ns < BACKLOG_EVERY_NS) return 0;
    r->backlog_at_ns = now;
    PGresult *res =
        relay_exec(r, "counting the backlog", "SELECT count(*) FROM outbox WHERE sent_at IS NULL", PGRES_TUPLES_OK);
    if (res == NULL) return -1;
    atomic_store(&r->backlog, strtoll(PQgetvalue(res, 0, 0), NULL, 10));
    PQclear(res);
    return 0;
}

/* Deletes rows sent more than 7 days ago, once an hour. -1 if the connection failed. */
static int relay_cleanup(roam_outbox_relay_t *r) {
    uint64_t now = roam_now_mono_ns();
    if (r->cleanup_at_ns != 0 && now - r->cleanup_at_ns < CLEANUP_EVERY_NS) return 0;
    r->cleanup_at_ns = now;
    PGresult *res = relay_exec(r, "deleting old rows", "DELETE FROM outbox WHERE sent_at < now() - interval '7 days'",
                               PGRES_COMMAND_OK);
    if (res == NULL) return -1;
    if (strcmp(PQcmdTuples(res), "0") != 0)
        roam_info("outbox relay (%s): deleted %s rows sent more than 7 days ago", r->schema, PQcmdTuples(res));
    PQclear(res);
    return 0;
}

enum { PUBLISH_DB_ERROR = -1, PUBLISH_SHORT = -2 };

/*
 * Publishes the oldest unsent rows (up to RELAY_BATCH) and marks the
 * delivered prefix sent. Returns the number of rows published (all that were
 * read), PUBLISH_SHORT when Kafka took only a prefix (possibly none), or
 * PUBLISH_DB_ERROR.
 *
 * Marking uses the exact seqs, not a range: a row with a lower seq whose
 * transaction commits after the SELECT must not be marked without being
 * published.
 */
static int relay_publish(roam_outbox_relay_t *r) {
    PGresult *res = relay_exec(r, "reading the outbox",
                               "SELECT seq, topic, key, payload::text, headers::text FROM outbox"
                               " WHERE sent_at IS NULL ORDER BY seq LIMIT " RELAY_BATCH_SQL,
                               PGRES_TUPLES_OK);
    if (res == NULL) return PUBLISH_DB_ERROR;
    int n = PQntuples(res);
    if (n == 0) {
        PQclear(res);
        return 0;
    }
    roam_kafka_msg_t msgs[RELAY_BATCH];
    json_t *hdrs[RELAY_BATCH];
    for (int i = 0; i < n; i++) {
        hdrs[i] = json_loads(PQgetvalue(res, i, 4), 0, NULL);
        msgs[i] = (roam_kafka_msg_t){
            .topic = PQgetvalue(res, i, 1),
            .key = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
            .payload = PQgetvalue(res, i, 3),
            .len = (size_t)PQgetlength(res, i, 3),
            .request_id = json_string_value(json_object_get(hdrs[i], "x-request-id")),
            .traceparent = json_string_value(json_object_get(hdrs[i], "traceparent")),
        };
    }
    int sent = roam_producer_send(r->producer, msgs, (size_t)n, RELAY_SEND_TIMEOUT_MS);
    for (int i = 0; i < n; i++)
        json_decref(hdrs[i]);
    if (sent < 0) {
        roam_error("outbox relay (%s): the Kafka producer failed: %s", r->schema, roam_strerror(sent));
        sent = 0;
    }

    int rc = sent == n ? n : PUBLISH_SHORT;
    if (sent > 0) {
        /* "{1,2,...}": at most RELAY_BATCH numbers of at most 20 characters. */
        char seqs[RELAY_BATCH * 21 + 3];
        size_t len = 0;
        seqs[len++] = '{';
        for (int i = 0; i < sent; i++)
            len += (size_t)snprintf(seqs + len, sizeof(seqs) - len, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
        snprintf(seqs + len, sizeof(seqs) - len, "}");
        const char *params[] = {seqs};
        PGresult *u = PQexecParams(r->pg, "UPDATE outbox SET sent_at = now() WHERE seq = ANY($1::bigint[])", 1, NULL,
                                   params, NULL, NULL, 0);
        if (u == NULL || PQresultStatus(u) != PGRES_COMMAND_OK) {
            /* They are in Kafka: they will be published again (consumers dedupe). */
            relay_db_error(r, "marking rows sent", u);
            rc = PUBLISH_DB_ERROR;
        }
        PQclear(u);
    }
    PQclear(res);
    return rc;
}

/*
 * Sleeps up to ms, waking early on stop and, with notify, on a NOTIFY or a
 * broken connection (then closed); a notification that arrived while the
 * relay was busy returns at once. Backoff sleeps pass notify false: new
 * commits must not shorten the wait after a failure.
 */
static void relay_wait(roam_outbox_relay_t *r, int ms, bool notify) {
    PGnotify *note;
    bool notified = false;
    if (notify && r->pg != NULL) {
        while ((note = PQnotifies(r->pg)) != NULL) {
            PQfreemem(note);
            notified = true;
        }
    }
    if (notified) return;

    struct pollfd fds[2] = {{.fd = r->wake[0], .events = POLLIN}, {.fd = -1}};
    if (notify && r->pg != NULL) fds[1] = (struct pollfd){.fd = PQsocket(r->pg), .events = POLLIN};
    int n = poll(fds, fds[1].fd >= 0 ? 2 : 1, ms);
    if (n <= 0 || fds[1].fd < 0 || !(fds[1].revents & (POLLIN | POLLERR | POLLHUP))) return;
    if (!PQconsumeInput(r->pg) || PQstatus(r->pg) != CONNECTION_OK) {
        relay_db_error(r, "waiting for notifications", NULL);
        relay_disconnect(r);
        return;
    }
    while ((note = PQnotifies(r->pg)) != NULL)
        PQfreemem(note);
}

static void *relay_main(void *arg) {
    roam_outbox_relay_t *r = arg;
    int conn_backoff = 0, send_backoff = 0;
    while (!atomic_load(&r->stopping)) {
        if (r->pg == NULL) {
            if (relay_connect(r) != 0) {
                conn_backoff = next_backoff(conn_backoff);
                relay_wait(r, conn_backoff, false);
                continue;
            }
        }
        if (relay_count_backlog(r) != 0) goto db_failed;
        if (!r->locked) {
            int got = relay_try_lock(r);
            if (got < 0) goto db_failed;
            if (got == 0) {
                relay_wait(r, RELAY_LOCK_RETRY_MS, false);
                continue;
            }
        }
        if (relay_cleanup(r) != 0) goto db_failed;

        int rc = relay_publish(r);
        if (rc == PUBLISH_DB_ERROR) goto db_failed;
        conn_backoff = 0;
        if (rc == PUBLISH_SHORT) {
            send_backoff = next_backoff(send_backoff);
            relay_wait(r, send_backoff, false);
            continue;
        }
        send_backoff = 0;
        if (rc == RELAY_BATCH) continue; /* probably more waiting */
        relay_wait(r, RELAY_IDLE_MS, true);
        continue;

    db_failed:
        /* Start over on a fresh session: simplest way to be sure of the lock and LISTEN state. */
        relay_disconnect(r);
        conn_backoff = next_backoff(conn_backoff);
        relay_wait(r, conn_backoff, false);
    }
    relay_disconnect(r);
    return NULL;
}

static void relay_free(roam_outbox_relay_t *r) {
    if (r->wake[0] >= 0) close(r->wake[0]);
    if (r->wake[1] >= 0) close(r->wake[1]);
    free(r->url);
    free(r->schema);
    free(r->options);
    free(r->app_name);
    free(r);
}

roam_outbox_relay_t *roam_outbox_relay_start(roam_db_t *db, roam_producer_t *p, char *errbuf, size_t errlen) {
    const char *schema = roam_db_schema(db);
    if (schema == NULL || schema[0] == '\0' || p == NULL) {
        snprintf(errbuf, errlen, "outbox relay: needs a database pool with a schema and a producer");
        return NULL;
    }
    roam_outbox_relay_t *r = roam_xcalloc(1, sizeof(*r));
    r->wake[0] = r->wake[1] = -1;
    r->producer = p;
    r->url = roam_xstrdup(roam_db_url(db));
    r->schema = roam_xstrdup(schema);
    /* roam_db_new admits only [a-z0-9_] schema names, so the value needs no quoting. */
    size_t n = strlen(schema) + 16;
    r->options = roam_xmalloc(n);
    snprintf(r->options, n, "-csearch_path=%s", schema);
    n = strlen(roam_log_service()) + 16;
    r->app_name = roam_xmalloc(n);
    snprintf(r->app_name, n, "%s-outbox-relay", roam_log_service());
    atomic_init(&r->backlog, -1);
    if (pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(errbuf, errlen, "outbox relay: pipe: %s", strerror(errno));
        r->wake[0] = r->wake[1] = -1;
        relay_free(r);
        return NULL;
    }
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        snprintf(errbuf, errlen, "outbox relay: cannot start its thread");
        relay_free(r);
        return NULL;
    }
    pthread_once(&registry_once, registry_init);
    pthread_mutex_lock(&registry_mu);
    r->next = registry;
    registry = r;
    pthread_mutex_unlock(&registry_mu);
    return r;
}

void roam_outbox_relay_stop(roam_outbox_relay_t *r) {
    if (r == NULL) return;
    atomic_store(&r->stopping, true);
    ssize_t w = write(r->wake[1], "x", 1); /* a full pipe already wakes it */
    (void)w;
    pthread_join(r->thread, NULL);
    pthread_mutex_lock(&registry_mu);
    for (roam_outbox_relay_t **pp = &registry; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    pthread_mutex_unlock(&registry_mu);
    relay_free(r);
}

int64_t roam_outbox_backlog(const roam_outbox_relay_t *r) { return atomic_load(&r->backlog); }
