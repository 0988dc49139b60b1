/*
 * Kafka over librdkafka: the idempotent producer, the consumer-group member
 * that commits only after its handler succeeded, and the event envelope.
 *
 * Producer: librdkafka does the batching, retries, ordering and idempotence;
 * this file adds a poll thread (which serves delivery reports) and a
 * synchronous "send these and tell me which were written" call on top.
 *
 * Consumer: one thread per consumer polls, validates the envelope, calls the
 * handler and commits that message's offset synchronously. A failed handler
 * makes the thread seek the partition back to the failed message and retry
 * after a backoff, so a partition never moves past an event whose effect is
 * not durable.
 */
#include <roam/common.h>
#include <roam/kafka.h>
#include <roam/log.h>
#include <roam/metrics.h>

#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS                200 /* longest a stop request waits for a poll to return */
#define RETRY_BACKOFF_FIRST_MS 100 /* consumer: first wait before redelivering a failed event */
#define RETRY_BACKOFF_MAX_MS   5000
#define LAG_REFRESH_NS         5000000000ull /* consumer lag is recomputed at most this often */
#define COMMITTED_TIMEOUT_MS   500
#define SEEK_TIMEOUT_MS        5000
#define FREE_FLUSH_MS          10000

/* Absolute CLOCK_MONOTONIC deadline ms from now, for pthread_cond_timedwait. */
static struct timespec deadline_after(int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void cond_init_monotonic(pthread_cond_t *cv) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
}

/* librdkafka logs from its own threads; route them into our JSON lines. Its
 * "error" lines are transient (a refused connection, retried by itself):
 * only a fatal error, reported through on_error, deserves our error level. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    roam_log_level_t l = level <= 4 ? ROAM_LOG_WARN : level <= 6 ? ROAM_LOG_INFO : ROAM_LOG_DEBUG;
    if (!roam_log_enabled(l)) return;
    roam_log(l, "kafka: %s: %s: %s", rd_kafka_name(rk), fac, buf);
}

/*
 * librdkafka recovers from everything but a fatal error by itself (it
 * reconnects and retries), so other errors are only counted, and logged at
 * debug level: the log callback has already said the same (connection
 * failures), except that every broker is down, which is worth a warning.
 */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof(why));
        roam_error("kafka: %s: fatal error, the client is unusable: %s: %s", rd_kafka_name(rk), rd_kafka_err2name(orig),
                   why);
    } else {
        roam_log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? ROAM_LOG_WARN : ROAM_LOG_DEBUG, "kafka: %s: %s: %s",
                 rd_kafka_name(rk), rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    }
    roam_metrics_dep_error("kafka");
}

/* Sets name=value on conf; on failure describes it in errbuf and returns -1. */
static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errbuf, size_t errlen) {
    char why[256];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) == RD_KAFKA_CONF_OK) return 0;
    snprintf(errbuf, errlen, "kafka config %s=%s: %s", name, value, why);
    return -1;
}

/* Applies a NULL-terminated list of name, value pairs. */
static int conf_set_all(rd_kafka_conf_t *conf, const char *const *kv, char *errbuf, size_t errlen) {
    for (; kv[0] != NULL; kv += 2)
        if (conf_set(conf, kv[0], kv[1], errbuf, errlen) != 0) return -1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Producer                                                                  */

struct roam_producer {
    rd_kafka_t *rk;
    pthread_t poller;
    atomic_bool stopping;
    pthread_mutex_t mu; /* guards every in-flight batch */
};

/*
 * One roam_producer_send() call. Delivery reports may arrive after the call
 * timed out and returned, so the batch lives on the heap and is freed by
 * whoever finishes with it last: the caller if every report is in when it
 * returns, else the last report. All fields are guarded by the producer's mu.
 */
typedef struct send_batch send_batch_t;
typedef struct {
    send_batch_t *batch;
    bool done;
    rd_kafka_resp_err_t err;
} send_slot_t;

struct send_batch {
    pthread_cond_t cv; /* signalled when pending reaches 0 */
    size_t pending;    /* delivery reports still expected */
    bool caller_gone;
    send_slot_t slot[];
};

static void batch_free(send_batch_t *b) {
    pthread_cond_destroy(&b->cv);
    free(b);
}

/* Runs on the poll thread (or in rd_kafka_flush during free). */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    roam_producer_t *p = opaque;
    send_slot_t *s = m->_private;
    if (s == NULL) return;
    send_batch_t *b = s->batch;
    bool free_it = false;
    pthread_mutex_lock(&p->mu);
    s->done = true;
    s->err = m->err;
    if (--b->pending == 0) {
        if (b->caller_gone)
            free_it = true;
        else
            pthread_cond_signal(&b->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (free_it) batch_free(b);
}

static void *producer_poll_main(void *arg) {
    roam_producer_t *p = arg;
    while (!atomic_load(&p->stopping))
        rd_kafka_poll(p->rk, POLL_MS);
    return NULL;
}

roam_producer_t *roam_producer_new(const char *brokers, const char *client_id, char *errbuf, size_t errlen) {
    char delivery_timeout[16];
    snprintf(delivery_timeout, sizeof(delivery_timeout), "%d", ROAM_KAFKA_DELIVERY_TIMEOUT_MS);
    /* clang-format off */ /* name, value pairs */
    const char *const settings[] = {
        "bootstrap.servers", brokers,
        "client.id", client_id ? client_id : roam_log_service(),
        /* Exactly-once, in-order writes per partition despite retries. */
        "enable.idempotence", "true",
        "acks", "all",
        "linger.ms", "5",
        "message.timeout.ms", delivery_timeout,
        /* The Java client's partitioner, so every client maps a key to the same partition. */
        "partitioner", "murmur2_random",
        /* Come back quickly after a broker outage. */
        "reconnect.backoff.max.ms", "1000",
        /* Brokers close idle connections; that is not worth a log line. */
        "log.connection.close", "false",
        NULL,
    };
    /* clang-format on */
    if (brokers == NULL || brokers[0] == '\0') {
        snprintf(errbuf, errlen, "kafka: no bootstrap brokers given");
        return NULL;
    }
    roam_producer_t *p = roam_xcalloc(1, sizeof(*p));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf_set_all(conf, settings, errbuf, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        free(p);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_opaque(conf, p);

    pthread_mutex_init(&p->mu, NULL);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, errlen); /* owns conf on success */
    if (p->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    if (pthread_create(&p->poller, NULL, producer_poll_main, p) != 0) {
        snprintf(errbuf, errlen, "kafka: cannot start the producer's poll thread");
        rd_kafka_destroy(p->rk);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    return p;
}

void roam_producer_free(roam_producer_t *p) {
    if (p == NULL) return;
    atomic_store(&p->stopping, true);
    pthread_join(p->poller, NULL);
    rd_kafka_resp_err_t err = rd_kafka_flush(p->rk, FREE_FLUSH_MS);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        roam_warn("kafka: producer closing with %d message(s) undelivered after %d ms: %s", rd_kafka_outq_len(p->rk),
                  FREE_FLUSH_MS, rd_kafka_err2str(err));
        roam_metrics_dep_error("kafka");
        /* Fail what is left so its delivery reports run and free their batches. */
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(p->rk, 1000);
    }
    rd_kafka_destroy(p->rk);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Enqueues one message. Returns librdkafka's error; on success the message's report will reach slot. */
static rd_kafka_resp_err_t produce_one(roam_producer_t *p, const roam_kafka_msg_t *m, send_slot_t *slot) {
    rd_kafka_headers_t *hdrs = NULL;
    if (m->request_id != NULL || m->traceparent != NULL) {
        hdrs = rd_kafka_headers_new(2);
        if (m->request_id != NULL) rd_kafka_header_add(hdrs, "x-request-id", -1, m->request_id, -1);
        if (m->traceparent != NULL) rd_kafka_header_add(hdrs, "traceparent", -1, m->traceparent, -1);
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        p->rk, RD_KAFKA_V_TOPIC(m->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(m->key, m->key ? strlen(m->key) : 0), RD_KAFKA_V_VALUE((void *)m->payload, m->len),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(slot), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && hdrs != NULL)
        rd_kafka_headers_destroy(hdrs); /* else librdkafka owns them */
    return err;
}

static bool mono_passed(const struct timespec *deadline) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

int roam_producer_send(roam_producer_t *p, const roam_kafka_msg_t *msgs, size_t n, int timeout_ms) {
    if (n == 0) return 0;
    if (n > INT32_MAX) return ROAM_EINVAL;
    if (rd_kafka_fatal_error(p->rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) return ROAM_EIO;
    send_batch_t *b = roam_trycalloc(1, sizeof(*b) + n * sizeof(b->slot[0]));
    if (b == NULL) return ROAM_ENOMEM;
    cond_init_monotonic(&b->cv);
    b->pending = n; /* lowered below by what was never enqueued, so no report can reach 0 early */
    struct timespec deadline = deadline_after(timeout_ms < 0 ? 0 : timeout_ms);

    size_t queued = 0;
    rd_kafka_resp_err_t enqueue_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    while (queued < n) {
        b->slot[queued].batch = b;
        enqueue_err = produce_one(p, &msgs[queued], &b->slot[queued]);
        if (enqueue_err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !mono_passed(&deadline)) {
            /* Serve delivery reports here too, to make room sooner. */
            rd_kafka_poll(p->rk, 10);
            continue;
        }
        if (enqueue_err != RD_KAFKA_RESP_ERR_NO_ERROR) break;
        queued++;
    }

    pthread_mutex_lock(&p->mu);
    b->pending -= n - queued;
    while (b->pending > 0)
        if (pthread_cond_timedwait(&b->cv, &p->mu, &deadline) == ETIMEDOUT) break;
    size_t delivered = 0;
    while (delivered < queued && b->slot[delivered].done && b->slot[delivered].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        delivered++;
    rd_kafka_resp_err_t why = delivered < queued
                                  ? (b->slot[delivered].done ? b->slot[delivered].err : RD_KAFKA_RESP_ERR__TIMED_OUT)
                                  : enqueue_err;
    bool free_it = b->pending == 0;
    if (!free_it) b->caller_gone = true;
    pthread_mutex_unlock(&p->mu);
    if (free_it) batch_free(b);

    if (delivered < n) {
        roam_warn("kafka: %zu of %zu message(s) delivered; message %zu (topic %s) failed: %s", delivered, n, delivered,
                  msgs[delivered].topic, rd_kafka_err2str(why));
        roam_metrics_dep_error("kafka");
        /* A prefix that made it is still reported, so the caller does not resend it. */
        if (delivered == 0 && rd_kafka_fatal_error(p->rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) return ROAM_EIO;
    }
    return (int)delivered;
}

int roam_producer_ping(roam_producer_t *p, int timeout_ms) {
    if (rd_kafka_fatal_error(p->rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) return ROAM_EUNAVAIL;
    const struct rd_kafka_metadata *md = NULL;
    /* Brokers only (no topics): the cheapest request that needs a live broker. */
    rd_kafka_resp_err_t err = rd_kafka_metadata(p->rk, 0, NULL, &md, timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        roam_metrics_dep_error("kafka");
        return ROAM_EUNAVAIL;
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Consumer                                                                  */

struct roam_consumer {
    rd_kafka_t *rk;
    char *group;
    char **topics; /* NULL-terminated copy */
    size_t ntopics;
    roam_event_handler_fn handler;
    void *ctx;

    pthread_t thread;
    bool started, stopped; /* guarded by mu */
    atomic_bool stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* wakes a backoff sleep on stop */

    /* Written by the consumer thread, read by anyone. */
    _Atomic int64_t lag;
    int64_t *topic_lag; /* per topics[i], -1 unknown; guarded by mu */
    uint64_t lag_at_ns; /* consumer thread only */
    atomic_ullong invalid;

    struct roam_consumer *next; /* in the metrics registry */
};

/*
 * Live consumers, for the metrics collector. Collectors cannot be
 * unregistered, so one collector is registered once and walks this list.
 */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static roam_consumer_t *registry;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

/* Writes s as a Prometheus label value (escaping \, " and newline) into out. */
static void prom_label(const char *s, char *out, size_t len) {
    size_t o = 0;
    for (; *s != '\0' && o + 3 < len; s++) {
        if (*s == '\\' || *s == '"') {
            out[o++] = '\\';
            out[o++] = *s;
        } else if (*s == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
}

static void consumer_collect(void *unused, roam_buf_t *b) {
    char group[256], topic[512];
    pthread_mutex_lock(&registry_mu);
    if (registry != NULL) {
        roam_buf_appendf(b, "# HELP roam_consumer_lag Messages behind the high watermark on the assigned partitions.\n"
                            "# TYPE roam_consumer_lag gauge\n");
        for (roam_consumer_t *c = registry; c != NULL; c = c->next) {
            prom_label(c->group, group, sizeof(group));
            pthread_mutex_lock(&c->mu);
            for (size_t i = 0; i < c->ntopics; i++) {
                if (c->topic_lag[i] < 0) continue;
                prom_label(c->topics[i], topic, sizeof(topic));
                roam_buf_appendf(b, "roam_consumer_lag{group=\"%s\",topic=\"%s\"} %lld\n", group, topic,
                                 (long long)c->topic_lag[i]);
            }
            pthread_mutex_unlock(&c->mu);
        }
        roam_buf_appendf(
            b,
            "# HELP roam_consumer_invalid_events_total Messages skipped because they were not a valid event envelope.\n"
            "# TYPE roam_consumer_invalid_events_total counter\n");
        for (roam_consumer_t *c = registry; c != NULL; c = c->next) {
            prom_label(c->group, group, sizeof(group));
            roam_buf_appendf(b, "roam_consumer_invalid_events_total{group=\"%s\"} %llu\n", group,
                             (unsigned long long)atomic_load(&c->invalid));
        }
    }
    pthread_mutex_unlock(&registry_mu);
}

static void registry_init(void) { roam_metrics_register(consumer_collect, NULL); }

static void consumer_free_fields(roam_consumer_t *c) {
    if (c->topics != NULL)
        for (size_t i = 0; i < c->ntopics; i++)
            free(c->topics[i]);
    free(c->topics);
    free(c->topic_lag);
    free(c->group);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

roam_consumer_t *roam_consumer_new(const char *brokers, const char *group, const char *const *topics,
                                   roam_event_handler_fn handler, void *ctx, char *errbuf, size_t errlen) {
    if (brokers == NULL || brokers[0] == '\0' || group == NULL || group[0] == '\0' || topics == NULL ||
        topics[0] == NULL || handler == NULL) {
        snprintf(errbuf, errlen, "kafka: a consumer needs brokers, a group, at least one topic and a handler");
        return NULL;
    }
    /* clang-format off */ /* name, value pairs */
    const char *const settings[] = {
        "bootstrap.servers", brokers,
        "group.id", group,
        "client.id", roam_log_service(),
        /* Offsets are committed by hand, only after the handler's effect is durable. */
        "enable.auto.commit", "false",
        "auto.offset.reset", "earliest",
        /*
         * A dead replica's partitions move on after 10 s rather than
         * Kafka's 45 s default. Heartbeats come from librdkafka's own
         * thread, so a slow handler does not count against it. (The dev
         * broker also keeps a group rebalancing this long after its last
         * member leaves, before a new member can join.)
         */
        "session.timeout.ms", "10000",
        "reconnect.backoff.max.ms", "1000",
        "log.connection.close", "false",
        NULL,
    };
    /* clang-format on */
    roam_consumer_t *c = roam_xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    cond_init_monotonic(&c->cv);
    atomic_init(&c->lag, -1);
    c->group = roam_xstrdup(group);
    c->handler = handler;
    c->ctx = ctx;
    while (topics[c->ntopics] != NULL)
        c->ntopics++;
    c->topics = roam_xcalloc(c->ntopics + 1, sizeof(char *));
    c->topic_lag = roam_xcalloc(c->ntopics, sizeof(int64_t));
    for (size_t i = 0; i < c->ntopics; i++) {
        c->topics[i] = roam_xstrdup(topics[i]);
        c->topic_lag[i] = -1;
    }

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf_set_all(conf, settings, errbuf, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        consumer_free_fields(c);
        return NULL;
    }
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_opaque(conf, c);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errbuf, errlen);
    if (c->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        consumer_free_fields(c);
        return NULL;
    }
    /* Serve errors and logs from the consumer thread's poll too. */
    rd_kafka_poll_set_consumer(c->rk);

    pthread_once(&registry_once, registry_init);
    pthread_mutex_lock(&registry_mu);
    c->next = registry;
    registry = c;
    pthread_mutex_unlock(&registry_mu);
    return c;
}

/* Sleeps up to ms; returns early when stop is requested. */
static void consumer_sleep(roam_consumer_t *c, int ms) {
    struct timespec deadline = deadline_after(ms);
    pthread_mutex_lock(&c->mu);
    while (!atomic_load(&c->stopping))
        if (pthread_cond_timedwait(&c->cv, &c->mu, &deadline) == ETIMEDOUT) break;
    pthread_mutex_unlock(&c->mu);
}

/* Copies header name's last value into out as a C string; NULL if absent or too long. */
static const char *header_copy(rd_kafka_headers_t *hdrs, const char *name, char *out, size_t len) {
    const void *v;
    size_t n;
    if (hdrs == NULL || rd_kafka_header_get_last(hdrs, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || v == NULL ||
        n >= len || memchr(v, '\0', n) != NULL)
        return NULL;
    memcpy(out, v, n);
    out[n] = '\0';
    return out;
}

/* Commits the offset after m, synchronously. */
static void commit_after(roam_consumer_t *c, const rd_kafka_message_t *m) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset = m->offset + 1;
    rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, l, 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* The effect is durable; the event may be seen again (idempotent handlers skip it). */
        roam_warn("kafka: %s: commit of %s[%d]@%lld failed: %s", c->group, rd_kafka_topic_name(m->rkt),
                  (int)m->partition, (long long)(m->offset + 1), rd_kafka_err2str(err));
        roam_metrics_dep_error("kafka");
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* Rewinds m's partition to m, so the next poll returns it again. */
static void seek_back(roam_consumer_t *c, const rd_kafka_message_t *m) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition);
    tp->offset = m->offset;
    rd_kafka_error_t *error = rd_kafka_seek_partitions(c->rk, l, SEEK_TIMEOUT_MS);
    if (error != NULL || tp->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Only when the partition was revoked meanwhile: its next owner resumes from the last commit. */
        roam_warn("kafka: %s: seek back to %s[%d]@%lld failed: %s", c->group, tp->topic, (int)tp->partition,
                  (long long)tp->offset, error ? rd_kafka_error_string(error) : rd_kafka_err2str(tp->err));
        if (error != NULL) rd_kafka_error_destroy(error);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* Returns the string member name of o, or NULL. */
static const char *member_str(json_t *o, const char *name) { return json_string_value(json_object_get(o, name)); }

/* Skips m as not an event: logs, counts and commits past it. */
static void skip_invalid(roam_consumer_t *c, const rd_kafka_message_t *m, const char *why) {
    roam_log_fields(ROAM_LOG_WARN, "kafka: skipping a message that is not a valid event",
                    json_pack("{s:s, s:s, s:i, s:I, s:s}", "group", c->group, "topic", rd_kafka_topic_name(m->rkt),
                              "partition", (int)m->partition, "offset", (json_int_t)m->offset, "reason", why));
    atomic_fetch_add(&c->invalid, 1);
    commit_after(c, m);
}

/*
 * Handles one message. Returns 0 when the partition may move on (handled
 * and committed, or skipped as invalid), or the handler's error.
 */
static int consume_one(roam_consumer_t *c, rd_kafka_message_t *m) {
    json_error_t jerr;
    json_t *doc = m->payload ? json_loadb(m->payload, m->len, 0, &jerr) : NULL;
    if (doc == NULL) {
        skip_invalid(c, m, m->payload ? jerr.text : "empty message");
        return 0;
    }
    roam_event_t ev = {
        .id = member_str(doc, "id"),
        .type = member_str(doc, "type"),
        .source = member_str(doc, "source"),
        .subject = member_str(doc, "subject"),
        .occurred_at = member_str(doc, "occurred_at"),
        .data = json_object_get(doc, "data"),
        .envelope = doc,
        .topic = rd_kafka_topic_name(m->rkt),
        .partition = m->partition,
        .offset = m->offset,
    };
    /* A non-UUID id could never be claimed (roam_event_claim) and would block the partition for ever. */
    if (!roam_uuid_valid(ev.id) || ev.type == NULL || ev.source == NULL || ev.subject == NULL ||
        ev.occurred_at == NULL || !json_is_object(ev.data)) {
        json_decref(doc);
        skip_invalid(c, m, "envelope needs a UUID id, string type, source, subject and occurred_at, and object data");
        return 0;
    }
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) hdrs = NULL;
    char request_id[256], traceparent[256];
    ev.request_id = header_copy(hdrs, "x-request-id", request_id, sizeof(request_id));
    ev.traceparent = header_copy(hdrs, "traceparent", traceparent, sizeof(traceparent));

    roam_log_set_context(ev.request_id, ev.traceparent);
    int rc = c->handler(&ev, c->ctx);
    if (rc < 0)
        roam_warn("kafka: %s: handler failed for event %s (%s) at %s[%d]@%lld: %s; it will be redelivered", c->group,
                  ev.id, ev.type, ev.topic, (int)ev.partition, (long long)ev.offset, roam_strerror(rc));
    roam_log_set_context(NULL, NULL);
    json_decref(doc);
    if (rc < 0) return rc;
    commit_after(c, m);
    return 0;
}

/*
 * Recomputes the lag over the current assignment from cached watermarks and
 * positions. A partition this instance has not consumed from yet has no
 * position; its committed offset stands in (one round trip to the group
 * coordinator, so this runs every few seconds only).
 */
static void consumer_update_lag(roam_consumer_t *c) {
    uint64_t now = roam_now_mono_ns();
    if (c->lag_at_ns != 0 && now - c->lag_at_ns < LAG_REFRESH_NS) return;
    c->lag_at_ns = now;

    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(c->rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
    int64_t *per_topic = roam_trycalloc(c->ntopics, sizeof(int64_t));
    if (per_topic == NULL || a->cnt == 0) {
        free(per_topic);
        rd_kafka_topic_partition_list_destroy(a);
        atomic_store(&c->lag, -1);
        return;
    }
    rd_kafka_position(c->rk, a);
    rd_kafka_topic_partition_list_t *missing = rd_kafka_topic_partition_list_new(a->cnt);
    for (int i = 0; i < a->cnt; i++)
        if (a->elems[i].offset < 0)
            rd_kafka_topic_partition_list_add(missing, a->elems[i].topic, a->elems[i].partition);
    if (missing->cnt > 0 && rd_kafka_committed(c->rk, missing, COMMITTED_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < missing->cnt; i++) {
            rd_kafka_topic_partition_t *tp =
                rd_kafka_topic_partition_list_find(a, missing->elems[i].topic, missing->elems[i].partition);
            /* No commit yet means the group starts from the beginning. */
            tp->offset = missing->elems[i].offset >= 0 ? missing->elems[i].offset : 0;
        }
    }
    rd_kafka_topic_partition_list_destroy(missing);

    int64_t total = 0;
    bool known = true;
    for (int i = 0; i < a->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &a->elems[i];
        int64_t lo, hi;
        size_t t = 0;
        while (t < c->ntopics && strcmp(c->topics[t], tp->topic) != 0)
            t++;
        if (rd_kafka_get_watermark_offsets(c->rk, tp->topic, tp->partition, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0 || tp->offset < 0) {
            known = false;
            if (t < c->ntopics) per_topic[t] = -1;
            continue;
        }
        int64_t behind = hi > tp->offset ? hi - tp->offset : 0;
        total += behind;
        if (t < c->ntopics && per_topic[t] >= 0) per_topic[t] += behind;
    }
    rd_kafka_topic_partition_list_destroy(a);
    atomic_store(&c->lag, known ? total : -1);
    pthread_mutex_lock(&c->mu);
    memcpy(c->topic_lag, per_topic, c->ntopics * sizeof(int64_t));
    pthread_mutex_unlock(&c->mu);
    free(per_topic);
}

static void *consumer_main(void *arg) {
    roam_consumer_t *c = arg;
    int backoff_ms = 0;
    while (!atomic_load(&c->stopping)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, POLL_MS);
        consumer_update_lag(c);
        if (m == NULL) continue;
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* Consumer errors are informational: librdkafka keeps going by itself. */
            roam_warn("kafka: %s: %s%s%s", c->group, m->rkt ? rd_kafka_topic_name(m->rkt) : "", m->rkt ? ": " : "",
                      rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (consume_one(c, m) == 0) {
            backoff_ms = 0;
        } else {
            seek_back(c, m);
            backoff_ms = backoff_ms == 0
                             ? RETRY_BACKOFF_FIRST_MS
                             : (backoff_ms * 2 > RETRY_BACKOFF_MAX_MS ? RETRY_BACKOFF_MAX_MS : backoff_ms * 2);
            consumer_sleep(c, backoff_ms);
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

int roam_consumer_start(roam_consumer_t *c) {
    pthread_mutex_lock(&c->mu);
    if (c->started || c->stopped) {
        pthread_mutex_unlock(&c->mu);
        return c->started ? 0 : ROAM_EIO;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)c->ntopics);
    for (size_t i = 0; i < c->ntopics; i++)
        rd_kafka_topic_partition_list_add(l, c->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        pthread_mutex_unlock(&c->mu);
        roam_error("kafka: %s: subscribe failed: %s", c->group, rd_kafka_err2str(err));
        return ROAM_EIO;
    }
    if (pthread_create(&c->thread, NULL, consumer_main, c) != 0) {
        pthread_mutex_unlock(&c->mu);
        roam_error("kafka: %s: cannot start the consumer thread", c->group);
        return ROAM_EIO;
    }
    c->started = true;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void roam_consumer_stop(roam_consumer_t *c) {
    if (c == NULL) return;
    pthread_mutex_lock(&c->mu);
    if (c->stopped) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->stopped = true;
    bool started = c->started;
    atomic_store(&c->stopping, true);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);

    if (started) pthread_join(c->thread, NULL);
    /* Every handled event is already committed; this leaves the group so its partitions move on at once. */
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(c->rk);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        roam_warn("kafka: %s: closing the consumer: %s", c->group, rd_kafka_err2str(err));
}

void roam_consumer_free(roam_consumer_t *c) {
    if (c == NULL) return;
    roam_consumer_stop(c);
    pthread_mutex_lock(&registry_mu);
    for (roam_consumer_t **pp = &registry; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&registry_mu);
    rd_kafka_destroy(c->rk);
    consumer_free_fields(c);
}

int64_t roam_consumer_lag(roam_consumer_t *c) { return atomic_load(&c->lag); }

/* ------------------------------------------------------------------------ */
/* Envelope                                                                  */

json_t *roam_event_envelope(const char *type, const char *subject, json_t *data) {
    if (type == NULL || subject == NULL) return NULL;
    char id[ROAM_UUID_LEN + 1], now[32];
    roam_uuid_v7(id);
    roam_now_rfc3339(now);
    json_t *e = json_object();
    if (e == NULL) return NULL;
    /* json_object_set_new steals even a NULL value and fails, so one check at the end covers every member. */
    int bad = json_object_set_new(e, "id", json_string(id));
    bad |= json_object_set_new(e, "type", json_string(type));
    bad |= json_object_set_new(e, "source", json_sprintf("/roam/%s", roam_log_service()));
    bad |= json_object_set_new(e, "occurred_at", json_string(now));
    bad |= json_object_set_new(e, "subject", json_string(subject));
    bad |= data ? json_object_set(e, "data", data) : json_object_set_new(e, "data", json_object());
    if (bad) {
        json_decref(e);
        return NULL;
    }
    return e;
}
