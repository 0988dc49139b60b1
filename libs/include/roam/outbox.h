/*
 * roam/outbox.h: the transactional outbox and idempotent consumption.
 *
 * A service writes each event into its own schema's outbox table in the same
 * transaction as the state change (roam_outbox_add). A relay thread publishes
 * the rows in commit order through the idempotent producer and marks them
 * sent; it wakes on NOTIFY and polls as a fallback, survives Kafka outages
 * (it retries with backoff and loses nothing) and restarts (unsent rows are
 * still in the table). Only one relay per schema publishes at a time
 * (advisory lock), so several replicas keep per-key order.
 *
 * Order: rows are published by their sequence number, which is taken at
 * insert time. Events of one aggregate therefore leave in the order they
 * were written as long as the writer holds the aggregate's row lock (SELECT
 * ... FOR UPDATE, or the UPDATE itself) before adding its event; every
 * service does so.
 *
 * Consumers call roam_event_claim() inside the transaction that applies an
 * event's effect, so a redelivered event has no second effect.
 */
#ifndef ROAM_OUTBOX_H
#define ROAM_OUTBOX_H

#include <stdint.h>
#include <jansson.h>

typedef struct roam_db roam_db_t;
typedef struct roam_dbconn roam_dbconn_t;
typedef struct roam_producer roam_producer_t;
typedef struct roam_outbox_relay roam_outbox_relay_t;

/*
 * Inserts an event into the outbox within c's current transaction (the caller
 * began it). The envelope is built here (roam_event_envelope); the thread's
 * request id and traceparent travel as Kafka headers. data is borrowed.
 * If event_id is non-NULL it receives the new event's id.
 * Returns 0, ROAM_EINVAL when no transaction is open on c or topic, type or
 * subject is missing, ROAM_ENOMEM, or ROAM_EIO.
 */
int roam_outbox_add(roam_dbconn_t *c, const char *topic, const char *type, const char *key,
                    const char *subject, json_t *data, char event_id[37]);

/*
 * Starts the relay thread for the outbox of db's schema, publishing with p
 * (borrowed: both must outlive the relay). It opens its own connection from
 * db's url. Returns NULL with the reason in errbuf.
 */
roam_outbox_relay_t *roam_outbox_relay_start(roam_db_t *db, roam_producer_t *p, char *errbuf, size_t errlen);
/*
 * Stops the thread after the batch in hand and frees the relay (NULL is a
 * no-op). Call it once: r is invalid afterwards.
 */
void roam_outbox_relay_stop(roam_outbox_relay_t *r);
/* Unsent rows as last counted by the relay (-1 before the first count). */
int64_t roam_outbox_backlog(const roam_outbox_relay_t *r);

/*
 * Records that consumer processed event_id, within c's current transaction.
 * Returns 1 if this is the first time (apply the effect), 0 if it was already
 * processed (skip the effect, commit, return 0 to the consumer), or ROAM_EIO.
 */
int roam_event_claim(roam_dbconn_t *c, const char *consumer, const char *event_id);

/*
 * The core's own tables, created in every service schema before the
 * service's migrations (used by roam_migrate).
 */
extern const char roam_outbox_schema_sql[];

#endif
