/*
 * roam/kafka.h: the Kafka producer and consumer (librdkafka), and the event
 * envelope every service uses.
 *
 * Envelope (CloudEvents field names), JSON:
 *   {"id": uuid, "type": "booking.created", "source": "/roam/booking",
 *    "occurred_at": RFC 3339 UTC, "subject": aggregate id, "data": {...}}
 * Messages are keyed by the aggregate whose order matters (the booking id for
 * booking and payment events) and carry the headers "x-request-id" and
 * "traceparent".
 */
#ifndef ROAM_KAFKA_H
#define ROAM_KAFKA_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

typedef struct roam_producer roam_producer_t;
typedef struct roam_consumer roam_consumer_t;

/*
 * An idempotent producer (enable.idempotence=true, acks=all) polled by its
 * own thread. Returns NULL with the reason in errbuf.
 */
roam_producer_t *roam_producer_new(const char *brokers, const char *client_id, char *errbuf, size_t errlen);
/*
 * How long the producer keeps trying to deliver a message before reporting
 * it failed (message.timeout.ms). A roam_producer_send() with a longer
 * timeout learns every message's fate, so none it reports undelivered is
 * still queued to be written later.
 */
#define ROAM_KAFKA_DELIVERY_TIMEOUT_MS 10000

/* Flushes (up to 10 s) and destroys. */
void roam_producer_free(roam_producer_t *p);

typedef struct {
    const char *topic;
    const char *key; /* may be NULL */
    const void *payload;
    size_t len;
    const char *request_id;  /* header x-request-id, may be NULL */
    const char *traceparent; /* header traceparent, may be NULL */
} roam_kafka_msg_t;

/*
 * Produces msgs[0..n) in order and waits up to timeout_ms for their delivery
 * reports. Returns the number delivered as a prefix: msgs[0..ret) are durably
 * in Kafka; if ret < n, msgs[ret] failed (and later ones may or may not have
 * been written). Returns a negative ROAM_E* code on a fatal producer error.
 */
int roam_producer_send(roam_producer_t *p, const roam_kafka_msg_t *msgs, size_t n, int timeout_ms);

/* Asks the cluster for metadata within timeout_ms: 0 or ROAM_EUNAVAIL. For /readyz. */
int roam_producer_ping(roam_producer_t *p, int timeout_ms);

/* A received event, valid only during the handler call. */
typedef struct {
    const char *id;
    const char *type;
    const char *source;
    const char *subject;
    const char *occurred_at;
    json_t *data;     /* borrowed */
    json_t *envelope; /* borrowed: the whole document */
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *request_id;  /* from the header, or NULL */
    const char *traceparent; /* from the header, or NULL */
} roam_event_t;

/*
 * Handles one event. Returns 0 when its effect is durable (the offset is then
 * committed), or a negative ROAM_E* code to have the same event delivered
 * again after a backoff. Handlers must be idempotent: see roam_event_claim().
 */
typedef int (*roam_event_handler_fn)(const roam_event_t *ev, void *ctx);

/*
 * A consumer-group member for topics (NULL-terminated, copied) with
 * auto-commit off: an offset is committed only after the handler returned 0
 * for that message, so a crash redelivers rather than loses. A message that
 * is not a valid envelope is logged, counted and skipped. Starts from the
 * earliest offset when the group has none. Returns NULL with the reason in
 * errbuf.
 */
roam_consumer_t *roam_consumer_new(const char *brokers, const char *group, const char *const *topics,
                                   roam_event_handler_fn handler, void *ctx, char *errbuf, size_t errlen);
/* Starts the consumer's thread. 0 or ROAM_EIO. */
int roam_consumer_start(roam_consumer_t *c);
/* Stops the thread after the event in hand, commits, leaves the group and closes. Idempotent. */
void roam_consumer_stop(roam_consumer_t *c);
void roam_consumer_free(roam_consumer_t *c);
/* Messages behind the high watermark over assigned partitions, or -1 if unknown. */
int64_t roam_consumer_lag(roam_consumer_t *c);

/*
 * Builds an envelope (returns new) with a new time-ordered id, source
 * "/roam/<service>" and occurred_at now. data is borrowed (copied by
 * reference: its refcount is incremented).
 */
json_t *roam_event_envelope(const char *type, const char *subject, json_t *data);

#endif
