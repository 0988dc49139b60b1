/*
 * Kafka producer, consumer and envelope against a live broker
 * (ROAM_TEST_KAFKA_BROKERS; roam-kafka-dev-broker is enough). The outage
 * test also needs the dev broker's control channel (ROAM_TEST_KAFKA_CONTROL)
 * and is skipped, with a note, without it.
 */
#include "check.h"

#include <roam/common.h>
#include <roam/kafka.h>
#include <roam/log.h>
#include <roam/metrics.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#define MAX_EVENTS 256

static const char *brokers;
static char run_id[9];

/* Collects what the handler saw. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int seen[MAX_EVENTS]; /* data.i of each successfully handled event, in order */
    char seen_key[MAX_EVENTS][16];
    int nseen;
    int attempts[MAX_EVENTS];
    int fail_once_at; /* the handler fails the first delivery of this i; -1 for none */
    int bad_headers;  /* events whose headers or log context were not what was sent */
} sink_t;

static void sink_init(sink_t *s, int fail_once_at) {
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->fail_once_at = fail_once_at;
}

static void sink_cleanup(sink_t *s) {
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

static int handler(const roam_event_t *ev, void *ctx) {
    sink_t *s = ctx;
    int i = (int)json_integer_value(json_object_get(ev->data, "i"));
    if (i < 0 || i >= MAX_EVENTS) return ROAM_EINVAL;
    char want_rid[32];
    snprintf(want_rid, sizeof(want_rid), "req-%d", i);
    pthread_mutex_lock(&s->mu);
    s->attempts[i]++;
    if (i == s->fail_once_at && s->attempts[i] == 1) {
        pthread_mutex_unlock(&s->mu);
        return ROAM_EIO;
    }
    if (ev->request_id == NULL || strcmp(ev->request_id, want_rid) != 0 || ev->traceparent == NULL ||
        strcmp(ev->traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01") != 0 ||
        roam_log_request_id() != ev->request_id || roam_log_traceparent() != ev->traceparent)
        s->bad_headers++;
    if (s->nseen < MAX_EVENTS) {
        snprintf(s->seen_key[s->nseen], sizeof(s->seen_key[0]), "%s", ev->subject);
        s->seen[s->nseen++] = i;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Waits until the sink holds at least n events or timeout_s passes; returns how many it holds. */
static int sink_wait(sink_t *s, int n, int timeout_s) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_s;
    pthread_mutex_lock(&s->mu);
    while (s->nseen < n)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &deadline) != 0) break;
    int got = s->nseen;
    pthread_mutex_unlock(&s->mu);
    return got;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t elapsed_ms(uint64_t since_ns) { return (roam_now_mono_ns() - since_ns) / 1000000u; }

/*
 * Produces events with data.i = first..first+n-1 in one call; event i is
 * keyed keys[i % nkeys] (also its subject). Returns what roam_producer_send
 * returned.
 */
static int produce_events(roam_producer_t *p, const char *topic, int first, int n, const char *const *keys, int nkeys) {
    roam_kafka_msg_t msgs[MAX_EVENTS];
    char *texts[MAX_EVENTS];
    char rids[MAX_EVENTS][32];
    for (int k = 0; k < n; k++) {
        int i = first + k;
        json_t *data = json_pack("{s:i}", "i", i);
        json_t *env = roam_event_envelope("test.happened", keys[i % nkeys], data);
        json_decref(data);
        texts[k] = json_dumps(env, JSON_COMPACT);
        json_decref(env);
        snprintf(rids[k], sizeof(rids[k]), "req-%d", i);
        msgs[k] = (roam_kafka_msg_t){
            .topic = topic,
            .key = keys[i % nkeys],
            .payload = texts[k],
            .len = strlen(texts[k]),
            .request_id = rids[k],
            .traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        };
    }
    int rc = roam_producer_send(p, msgs, (size_t)n, 15000);
    for (int k = 0; k < n; k++)
        free(texts[k]);
    return rc;
}

/* Produces one raw message (no envelope); returns roam_producer_send's result. */
static int produce_raw(roam_producer_t *p, const char *topic, const char *key, const char *payload) {
    roam_kafka_msg_t m = {.topic = topic, .key = key, .payload = payload, .len = strlen(payload)};
    return roam_producer_send(p, &m, 1, 15000);
}

static roam_producer_t *producer(void) {
    char err[256] = "";
    roam_producer_t *p = roam_producer_new(brokers, "test_kafka", err, sizeof(err));
    if (p == NULL) fprintf(stderr, "roam_producer_new: %s\n", err);
    return p;
}

static roam_consumer_t *consumer(const char *group, const char *topic, sink_t *s) {
    char err[256] = "";
    const char *topics[] = {topic, NULL};
    roam_consumer_t *c = roam_consumer_new(brokers, group, topics, handler, s, err, sizeof(err));
    if (c == NULL)
        fprintf(stderr, "roam_consumer_new: %s\n", err);
    else if (roam_consumer_start(c) != 0) {
        roam_consumer_free(c);
        c = NULL;
    }
    return c;
}

static void test_envelope(void) {
    json_t *data = json_pack("{s:s}", "booking_id", "b-1");
    json_t *e = roam_event_envelope("booking.created", "b-1", data);
    REQUIRE(e != NULL);
    CHECK_INT(data->refcount, 2); /* borrowed and shared, not copied */
    CHECK(json_object_get(e, "data") == data);
    const char *id = json_string_value(json_object_get(e, "id"));
    CHECK(roam_uuid_valid(id));
    CHECK(id != NULL && id[14] == '7'); /* version 7 */
    CHECK_STR(json_string_value(json_object_get(e, "type")), "booking.created");
    CHECK_STR(json_string_value(json_object_get(e, "source")), "/roam/testsvc");
    CHECK_STR(json_string_value(json_object_get(e, "subject")), "b-1");
    const char *at = json_string_value(json_object_get(e, "occurred_at"));
    REQUIRE(at != NULL);
    CHECK_INT(strlen(at), 24);
    CHECK(at[4] == '-' && at[10] == 'T' && at[19] == '.' && at[23] == 'Z');
    CHECK_INT(json_object_size(e), 6);

    json_t *e2 = roam_event_envelope("booking.created", "b-1", data);
    /* Time-ordered: the 48-bit millisecond prefix never goes backwards. */
    CHECK(strncmp(json_string_value(json_object_get(e2, "id")), id, 13) >= 0);
    json_decref(e2);
    json_decref(e);
    CHECK_INT(data->refcount, 1);
    json_decref(data);

    json_t *empty = roam_event_envelope("x.y", "s", NULL);
    CHECK(json_is_object(json_object_get(empty, "data")));
    json_decref(empty);
    CHECK(roam_event_envelope(NULL, "s", NULL) == NULL);
}

/*
 * Keyed events come back in per-key order with their headers; after the
 * consumer stops, a new member of the same group sees only what came later.
 */
static void test_roundtrip_and_commit(void) {
    char topic[64], group[64];
    snprintf(topic, sizeof(topic), "t_kafka_rt_%s", run_id);
    snprintf(group, sizeof(group), "g_rt_%s", run_id);
    static const char *const keys[] = {"even", "odd"};
    roam_producer_t *p = producer();
    REQUIRE(p != NULL);
    CHECK_INT(produce_events(p, topic, 0, 40, keys, 2), 40);

    sink_t s;
    sink_init(&s, -1);
    uint64_t t0 = roam_now_mono_ns();
    roam_consumer_t *c = consumer(group, topic, &s);
    CHECK(c != NULL);
    CHECK_INT(sink_wait(&s, 40, 30), 40);
    fprintf(stderr, "   first consumer got 40 events %llu ms after start (includes the group join)\n",
            (unsigned long long)elapsed_ms(t0));
    int last[2] = {-1, -1};
    bool ordered = true;
    for (int k = 0; k < s.nseen; k++) {
        int key = s.seen[k] % 2;
        if (s.seen[k] <= last[key] || strcmp(s.seen_key[k], keys[key]) != 0) ordered = false;
        last[key] = s.seen[k];
    }
    CHECK(ordered);
    CHECK_INT(s.bad_headers, 0);

    /* Lag reaches 0 once everything is consumed (refreshed every few seconds). */
    int64_t lag = -1;
    for (int t = 0; t < 80 && lag != 0; t++) {
        sleep_ms(100);
        lag = roam_consumer_lag(c);
    }
    CHECK_INT(lag, 0);
    roam_buf_t mb;
    REQUIRE(roam_metrics_render(&mb) == 0);
    char want[200];
    snprintf(want, sizeof(want), "\nroam_consumer_lag{group=\"%s\",topic=\"%s\"} 0\n", group, topic);
    CHECK(mb.buf != NULL && strstr(mb.buf, want) != NULL);
    free(mb.buf);
    roam_consumer_free(c);

    /* Another consumer in the same group: only events 40..44 arrive. */
    CHECK_INT(produce_events(p, topic, 40, 5, keys, 2), 5);
    sink_t s2;
    sink_init(&s2, -1);
    c = consumer(group, topic, &s2);
    CHECK(c != NULL);
    CHECK_INT(sink_wait(&s2, 5, 30), 5);
    sleep_ms(1500); /* room for anything wrongly redelivered to show up */
    pthread_mutex_lock(&s2.mu);
    CHECK_INT(s2.nseen, 5);
    int min = MAX_EVENTS;
    for (int k = 0; k < s2.nseen; k++)
        if (s2.seen[k] < min) min = s2.seen[k];
    CHECK_INT(min, 40);
    pthread_mutex_unlock(&s2.mu);
    roam_consumer_stop(c);
    roam_consumer_stop(c); /* idempotent */
    roam_consumer_free(c);
    sink_cleanup(&s2);
    sink_cleanup(&s);
    roam_producer_free(p);
}

/*
 * One partition (one key): a handler failure redelivers that event before
 * any later one, and invalid messages are skipped without blocking.
 */
static void test_retry_and_invalid(void) {
    char topic[64], group[64];
    snprintf(topic, sizeof(topic), "t_kafka_retry_%s", run_id);
    snprintf(group, sizeof(group), "g_retry_%s", run_id);
    static const char *const keys[] = {"one"};
    roam_producer_t *p = producer();
    REQUIRE(p != NULL);
    CHECK_INT(produce_events(p, topic, 0, 3, keys, 1), 3);
    CHECK_INT(produce_raw(p, topic, "one", "this is not JSON"), 1);
    CHECK_INT(produce_raw(p, topic, "one",
                          "{\"id\":\"not-a-uuid\",\"type\":\"x\",\"source\":\"/roam/x\","
                          "\"subject\":\"s\",\"occurred_at\":\"t\",\"data\":{\"i\":99}}"),
              1);
    CHECK_INT(produce_raw(p, topic, "one", "[1,2,3]"), 1);
    CHECK_INT(produce_events(p, topic, 3, 3, keys, 1), 3);

    sink_t s;
    sink_init(&s, 2);
    roam_consumer_t *c = consumer(group, topic, &s);
    CHECK(c != NULL);
    CHECK_INT(sink_wait(&s, 6, 30), 6);
    sleep_ms(300);
    pthread_mutex_lock(&s.mu);
    CHECK_INT(s.nseen, 6);
    for (int k = 0; k < s.nseen && k < 6; k++)
        CHECK_INT(s.seen[k], k);
    CHECK_INT(s.attempts[2], 2);
    CHECK_INT(s.attempts[3], 1);
    CHECK_INT(s.attempts[99], 0);
    pthread_mutex_unlock(&s.mu);
    CHECK_INT(s.bad_headers, 0);
    roam_consumer_free(c);
    sink_cleanup(&s);
    roam_producer_free(p);
}

typedef struct {
    roam_producer_t *p;
    const char *topic;
    int first;
    int rc;
} sender_arg_t;

static void *sender(void *arg) {
    sender_arg_t *a = arg;
    static const char *const keys[] = {"a", "b", "c"};
    a->rc = produce_events(a->p, a->topic, a->first, 50, keys, 3);
    return NULL;
}

/* Several threads share one producer. */
static void test_concurrent_send(void) {
    char topic[64];
    snprintf(topic, sizeof(topic), "t_kafka_mt_%s", run_id);
    roam_producer_t *p = producer();
    REQUIRE(p != NULL);
    pthread_t th[4];
    sender_arg_t args[4];
    uint64_t t0 = roam_now_mono_ns();
    for (int i = 0; i < 4; i++) {
        args[i] = (sender_arg_t){p, topic, i * 50, -100};
        pthread_create(&th[i], NULL, sender, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(args[i].rc, 50);
    }
    fprintf(stderr, "   4 threads x 50 messages delivered in %llu ms\n", (unsigned long long)elapsed_ms(t0));
    t0 = roam_now_mono_ns();
    static const char *const keys[] = {"a"};
    for (int i = 0; i < 20; i++)
        produce_events(p, topic, 0, 1, keys, 1);
    fprintf(stderr, "   single-message send round trip: %.1f ms average\n", elapsed_ms(t0) / 20.0);
    roam_producer_free(p);
}

/* POSTs to the dev broker's control channel; returns the HTTP status or -1. */
static long control_post(const char *control, const char *path) {
    char url[256];
    snprintf(url, sizeof(url), "%s%s", control, path);
    CURL *h = curl_easy_init();
    if (h == NULL) return -1;
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    long status = -1;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (sink) fclose(sink);
    return status;
}

static void test_ping_and_outage(void) {
    roam_producer_t *p = producer();
    REQUIRE(p != NULL);
    CHECK_INT(roam_producer_ping(p, 5000), 0);
    const char *control = getenv("ROAM_TEST_KAFKA_CONTROL");
    if (control == NULL || control[0] == '\0') {
        fprintf(stderr, "   note: ROAM_TEST_KAFKA_CONTROL not set; skipping the broker-outage part\n");
        roam_producer_free(p);
        return;
    }
    char topic[64];
    snprintf(topic, sizeof(topic), "t_kafka_outage_%s", run_id);
    static const char *const keys[] = {"k"};
    CHECK_INT(produce_events(p, topic, 0, 1, keys, 1), 1); /* topic and leader known before the outage */

    REQUIRE(control_post(control, "/brokers/all/down") == 200);
    uint64_t t0 = roam_now_mono_ns();
    CHECK_INT(roam_producer_ping(p, 1000), ROAM_EUNAVAIL);
    uint64_t ping_ms = elapsed_ms(t0);
    fprintf(stderr, "   ping with the broker down answered in %llu ms (timeout 1000)\n", (unsigned long long)ping_ms);
    CHECK(ping_ms < 1500);

    /* A send that cannot finish returns the delivered prefix (none) at its timeout. */
    const char *payload = "{}";
    roam_kafka_msg_t m = {.topic = topic, .key = "k", .payload = payload, .len = 2};
    t0 = roam_now_mono_ns();
    CHECK_INT(roam_producer_send(p, &m, 1, 500), 0);
    CHECK(elapsed_ms(t0) < 1000);

    CHECK_INT(control_post(control, "/brokers/all/up"), 200);
    t0 = roam_now_mono_ns();
    int rc = -1;
    for (int i = 0; i < 30 && rc != 0; i++) {
        rc = roam_producer_ping(p, 1000);
        if (rc != 0) sleep_ms(200);
    }
    CHECK_INT(rc, 0);
    fprintf(stderr, "   ping ok again %llu ms after the broker came back\n", (unsigned long long)elapsed_ms(t0));
    CHECK_INT(produce_events(p, topic, 1, 1, keys, 1), 1);
    roam_producer_free(p); /* also flushes the message queued during the outage */
}

int main(void) {
    brokers = check_env("ROAM_TEST_KAFKA_BROKERS");
    roam_log_init("testsvc", ROAM_LOG_WARN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    unsigned char r[4];
    roam_random_bytes(r, sizeof(r));
    snprintf(run_id, sizeof(run_id), "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);

    RUN(test_envelope);
    RUN(test_concurrent_send);
    RUN(test_roundtrip_and_commit);
    RUN(test_retry_and_invalid);
    RUN(test_ping_and_outage);
    curl_global_cleanup();
    CHECK_DONE();
}
