/*
 * The outbox and its relay against live PostgreSQL (ROAM_TEST_DATABASE_URL)
 * and Kafka (ROAM_TEST_KAFKA_BROKERS). Each run works in a fresh schema
 * t_outbox_<random> and topic, and drops the schema at the end.
 */
#include "check.h"

#include <roam/common.h>
#include <roam/db.h>
#include <roam/kafka.h>
#include <roam/log.h>
#include <roam/metrics.h>
#include <roam/outbox.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#define MAX_EVENTS  256
#define TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static const char *db_url, *brokers;
static char schema[32], topic[48];
static roam_db_t *db;

/* What the consumer saw, in order. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int seen[MAX_EVENTS];
    int nseen;
    int times[MAX_EVENTS]; /* deliveries per data.i */
    int bad_headers;
    uint64_t last_at_ns;
} sink = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int handler(const roam_event_t *ev, void *ctx) {
    int i = (int)json_integer_value(json_object_get(ev->data, "i"));
    if (i < 0 || i >= MAX_EVENTS) return 0;
    pthread_mutex_lock(&sink.mu);
    sink.times[i]++;
    if (sink.nseen < MAX_EVENTS) sink.seen[sink.nseen++] = i;
    if (ev->request_id == NULL || strcmp(ev->request_id, "req-outbox") != 0 || ev->traceparent == NULL ||
        strcmp(ev->traceparent, TRACEPARENT) != 0 || strcmp(ev->type, "test.outboxed") != 0 ||
        strcmp(ev->subject, "agg-1") != 0)
        sink.bad_headers++;
    sink.last_at_ns = roam_now_mono_ns();
    pthread_cond_broadcast(&sink.cv);
    pthread_mutex_unlock(&sink.mu);
    return 0;
}

/* Waits until the consumer has seen n events in all; returns how many it has. */
static int sink_wait(int n, int timeout_s) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_s;
    pthread_mutex_lock(&sink.mu);
    while (sink.nseen < n)
        if (pthread_cond_timedwait(&sink.cv, &sink.mu, &deadline) != 0) break;
    int got = sink.nseen;
    pthread_mutex_unlock(&sink.mu);
    return got;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t elapsed_ms(uint64_t since_ns) { return (roam_now_mono_ns() - since_ns) / 1000000u; }

/* Adds events data.i = first..first+n-1 in one transaction, committed or rolled back. Returns 0 on success. */
static int add_events(int first, int n, bool commit) {
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) return -1;
    int rc = roam_db_begin(c);
    for (int i = first; rc == 0 && i < first + n; i++) {
        json_t *data = json_pack("{s:i}", "i", i);
        char id[37] = "";
        rc = roam_outbox_add(c, topic, "test.outboxed", "agg-1", "agg-1", data, id);
        json_decref(data);
        if (rc == 0 && !roam_uuid_valid(id)) rc = -1;
    }
    if (rc == 0) rc = commit ? roam_db_commit(c) : roam_db_rollback(c);
    roam_db_release(db, c);
    return rc;
}

/* Runs a query returning one integer on a pool connection; -1 on failure. */
static long long query_int(const char *sql) {
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) return -1;
    PGresult *r = roam_db_query(c, sql, 0, NULL);
    long long v = (r && PQntuples(r) == 1) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    roam_db_release(db, c);
    return v;
}

/* Checks that the consumer saw exactly 0..n-1, in order, once each. */
static void check_seen_in_order(int n) {
    pthread_mutex_lock(&sink.mu);
    CHECK_INT(sink.nseen, n);
    bool ordered = true;
    for (int k = 0; k < sink.nseen && k < n; k++)
        if (sink.seen[k] != k) ordered = false;
    CHECK(ordered);
    if (!ordered) {
        fprintf(stderr, "   seen:");
        for (int k = 0; k < sink.nseen; k++)
            fprintf(stderr, " %d", sink.seen[k]);
        fprintf(stderr, "\n");
    }
    pthread_mutex_unlock(&sink.mu);
}

static roam_outbox_relay_t *relay(roam_producer_t *p) {
    char err[256] = "";
    roam_outbox_relay_t *r = roam_outbox_relay_start(db, p, err, sizeof(err));
    if (r == NULL) fprintf(stderr, "roam_outbox_relay_start: %s\n", err);
    return r;
}

static int64_t wait_backlog(roam_outbox_relay_t *r, int64_t want, int timeout_ms) {
    int64_t b = roam_outbox_backlog(r);
    for (int t = 0; t < timeout_ms / 50 && b != want; t++) {
        sleep_ms(50);
        b = roam_outbox_backlog(r);
    }
    return b;
}

static void test_schema_and_claim(void) {
    roam_dbconn_t *c = roam_db_acquire(db);
    REQUIRE(c != NULL);
    /* The core's schema SQL can run again (migrations apply it first in every schema). */
    PGresult *x = PQexec(roam_dbconn_pg(c), roam_outbox_schema_sql);
    CHECK(x != NULL && PQresultStatus(x) == PGRES_COMMAND_OK);
    PQclear(x);

    json_t *data = json_object();
    CHECK_INT(roam_outbox_add(c, topic, "x.y", "k", "s", data, NULL), ROAM_EINVAL); /* outside a transaction */

    char id[37];
    roam_uuid_v7(id);
    REQUIRE(roam_db_begin(c) == 0);
    CHECK_INT(roam_event_claim(c, "test-consumer", id), 1);
    CHECK_INT(roam_event_claim(c, "test-consumer", id), 0);
    CHECK_INT(roam_event_claim(c, "other-consumer", id), 1);
    CHECK_INT(roam_db_commit(c), 0);
    REQUIRE(roam_db_begin(c) == 0);
    CHECK_INT(roam_event_claim(c, "test-consumer", id), 0);
    CHECK_INT(roam_db_commit(c), 0);
    REQUIRE(roam_db_begin(c) == 0);
    CHECK_INT(roam_event_claim(c, "test-consumer", "not-a-uuid"), ROAM_EIO);
    roam_db_rollback(c);

    /* A claim rolled back with its transaction does not count. */
    roam_uuid_v7(id);
    REQUIRE(roam_db_begin(c) == 0);
    CHECK_INT(roam_event_claim(c, "test-consumer", id), 1);
    roam_db_rollback(c);
    REQUIRE(roam_db_begin(c) == 0);
    CHECK_INT(roam_event_claim(c, "test-consumer", id), 1);
    roam_db_rollback(c);
    json_decref(data);
    roam_db_release(db, c);
}

static void test_relay(void) {
    char err[256] = "", group[64];
    roam_log_set_context("req-outbox", TRACEPARENT);

    /* Committed, rolled back (data.i 200), committed: before any relay runs. */
    CHECK_INT(add_events(0, 3, true), 0);
    CHECK_INT(add_events(200, 1, false), 0);
    CHECK_INT(add_events(3, 2, true), 0);
    CHECK_INT(query_int("SELECT count(*) FROM outbox WHERE sent_at IS NULL"), 5);

    roam_producer_t *p = roam_producer_new(brokers, "test_outbox", err, sizeof(err));
    REQUIRE(p != NULL);
    snprintf(group, sizeof(group), "g_%s", schema);
    const char *topics[] = {topic, NULL};
    /* Topic exists before the consumer subscribes: one raw write creates it (skipped as invalid). */
    roam_kafka_msg_t hello = {.topic = topic, .key = "agg-1", .payload = "{}", .len = 2};
    CHECK_INT(roam_producer_send(p, &hello, 1, 10000), 1);
    roam_consumer_t *cons = roam_consumer_new(brokers, group, topics, handler, NULL, err, sizeof(err));
    REQUIRE(cons != NULL);
    CHECK_INT(roam_consumer_start(cons), 0);

    roam_outbox_relay_t *r = relay(p);
    REQUIRE(r != NULL);
    CHECK_INT(sink_wait(5, 30), 5);
    sleep_ms(1000);
    check_seen_in_order(5);
    CHECK_INT(sink.times[200], 0);
    CHECK_INT(sink.bad_headers, 0);
    CHECK_INT(wait_backlog(r, 0, 3000), 0);
    CHECK_INT(query_int("SELECT count(*) FROM outbox WHERE sent_at IS NULL"), 0);

    roam_buf_t mb;
    if (roam_metrics_render(&mb) == 0) {
        CHECK(mb.buf != NULL && strstr(mb.buf, "\nroam_outbox_backlog 0\n") != NULL);
        free(mb.buf);
    }

    /* Latency from COMMIT to the consumer's handler, with the relay idle (woken by NOTIFY). */
    uint64_t worst = 0, sum = 0;
    for (int i = 5; i < 15; i++) {
        sleep_ms(100);
        uint64_t t0 = roam_now_mono_ns();
        CHECK_INT(add_events(i, 1, true), 0);
        CHECK_INT(sink_wait(i + 1, 10), i + 1);
        pthread_mutex_lock(&sink.mu);
        uint64_t us = (sink.last_at_ns - t0) / 1000u;
        pthread_mutex_unlock(&sink.mu);
        sum += us;
        if (us > worst) worst = us;
    }
    fprintf(stderr, "   commit -> consumer handler: %.1f ms average, %.1f ms worst (10 events)\n", sum / 10000.0,
            worst / 1000.0);
    /* created_at is the adding transaction's start, sent_at the marking statement's: an upper bound on the relay's
     * share. */
    fprintf(stderr, "   transaction start -> marked sent (relay, incl. Kafka acks): %lld us average, %lld us worst\n",
            query_int("SELECT avg(extract(epoch FROM sent_at - created_at) * 1e6)::bigint FROM outbox"
                      " WHERE (payload->'data'->>'i')::int BETWEEN 5 AND 14"),
            query_int("SELECT max(extract(epoch FROM sent_at - created_at) * 1e6)::bigint FROM outbox"
                      " WHERE (payload->'data'->>'i')::int BETWEEN 5 AND 14"));

    /* Events committed while no relay runs are published when one starts again. */
    uint64_t t0 = roam_now_mono_ns();
    roam_outbox_relay_stop(r);
    fprintf(stderr, "   relay stop took %llu ms\n", (unsigned long long)elapsed_ms(t0));
    CHECK(elapsed_ms(t0) < 1000);
    CHECK_INT(add_events(15, 3, true), 0);
    sleep_ms(500);
    CHECK_INT(sink.nseen, 15);
    CHECK_INT(query_int("SELECT count(*) FROM outbox WHERE sent_at IS NULL"), 3);
    r = relay(p);
    REQUIRE(r != NULL);
    CHECK_INT(sink_wait(18, 15), 18);

    /* The relay's session dies: it reconnects, takes the lock again and goes on. */
    CHECK(query_int("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = 'testsvc-outbox-relay'") >= 1);
    t0 = roam_now_mono_ns();
    CHECK_INT(add_events(18, 1, true), 0);
    CHECK_INT(sink_wait(19, 15), 19);
    fprintf(stderr, "   after its session was killed the relay published in %llu ms\n",
            (unsigned long long)elapsed_ms(t0));

    /* Two relays on one schema: one publishes, the other takes over when it stops. */
    roam_outbox_relay_t *r2 = relay(p);
    REQUIRE(r2 != NULL);
    sleep_ms(300);
    for (int i = 19; i < 39; i += 4)
        CHECK_INT(add_events(i, 4, true), 0);
    CHECK_INT(sink_wait(39, 15), 39);
    CHECK_INT(wait_backlog(r2, 0, 3000), 0); /* the waiting relay counts too */
    roam_outbox_relay_stop(r);
    t0 = roam_now_mono_ns();
    CHECK_INT(add_events(39, 2, true), 0);
    CHECK_INT(sink_wait(41, 15), 41);
    fprintf(stderr, "   standby relay took over and published in %llu ms\n", (unsigned long long)elapsed_ms(t0));
    sleep_ms(500);
    check_seen_in_order(41);
    roam_outbox_relay_stop(r2);

    /* Kafka unreachable: rows stay unsent and are counted; a later relay delivers them. */
    roam_producer_t *dead = roam_producer_new("127.0.0.1:1", "test_outbox_dead", err, sizeof(err));
    REQUIRE(dead != NULL);
    CHECK_INT(add_events(41, 3, true), 0);
    r = relay(dead);
    REQUIRE(r != NULL);
    CHECK_INT(wait_backlog(r, 3, 3000), 3);
    sleep_ms(500);
    CHECK_INT(sink.nseen, 41);
    t0 = roam_now_mono_ns();
    roam_outbox_relay_stop(r); /* waits for the batch in hand to fail (the delivery timeout) */
    fprintf(stderr, "   relay stop with Kafka unreachable took %llu ms\n", (unsigned long long)elapsed_ms(t0));
    roam_producer_free(dead);
    r = relay(p);
    REQUIRE(r != NULL);
    CHECK_INT(sink_wait(44, 15), 44);
    CHECK_INT(wait_backlog(r, 0, 3000), 0);
    roam_outbox_relay_stop(r);

    sleep_ms(500);
    check_seen_in_order(44);
    for (int i = 0; i < 44; i++)
        if (sink.times[i] != 1) fprintf(stderr, "   event %d delivered %d times\n", i, sink.times[i]);
    CHECK_INT(sink.bad_headers, 0);
    roam_consumer_free(cons);
    roam_producer_free(p);
    roam_log_set_context(NULL, NULL);
}

/* Runs sql on the admin connection; returns 0 if it succeeded. */
static int admin_exec(PGconn *pg, const char *sql) {
    PGresult *r = PQexec(pg, sql);
    int ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) fprintf(stderr, "%s: %s", sql, PQerrorMessage(pg));
    PQclear(r);
    return ok ? 0 : -1;
}

int main(void) {
    db_url = check_env("ROAM_TEST_DATABASE_URL");
    brokers = check_env("ROAM_TEST_KAFKA_BROKERS");
    roam_log_init("testsvc", ROAM_LOG_WARN);
    unsigned char rnd[4];
    roam_random_bytes(rnd, sizeof(rnd));
    snprintf(schema, sizeof(schema), "t_outbox_%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
    snprintf(topic, sizeof(topic), "t_outbox_topic_%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);

    PGconn *admin = PQconnectdb(db_url);
    if (PQstatus(admin) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to %s: %s", db_url, PQerrorMessage(admin));
        PQfinish(admin);
        return 1;
    }
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s; SET search_path TO %s", schema, schema);
    if (admin_exec(admin, sql) != 0 || admin_exec(admin, roam_outbox_schema_sql) != 0) {
        PQfinish(admin);
        return 1;
    }
    char err[256] = "";
    db = roam_db_new(db_url, schema, 4, err, sizeof(err));
    if (db == NULL) {
        fprintf(stderr, "roam_db_new: %s\n", err);
        PQfinish(admin);
        return 1;
    }

    RUN(test_schema_and_claim);
    RUN(test_relay);

    roam_db_free(db);
    snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
    admin_exec(admin, sql);
    PQfinish(admin);
    CHECK_DONE();
}
