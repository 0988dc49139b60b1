/*
 * The consumer of topic "bookings" (group payment.bookings): refunds.
 *
 *   booking.cancelled with refund.amount > 0: refunds that amount on the
 *     booking's payment (payment_id in the snapshot);
 *   booking.refund_required: refunds payment_id's amount in full (what is
 *     left of it).
 *
 * Each event is applied in one transaction with roam_event_claim(), holding
 * the payment's row lock; the refunds row is UNIQUE per (payment, event) and
 * payments.refunded is CHECKed against the captured amount, so a redelivered
 * event refunds nothing more and refunds never exceed the charge. The
 * processor's refund is idempotent by a reference derived from the event id,
 * so a transaction that fails after the processor call and is retried does
 * not refund twice either. payment.refunded leaves through the outbox.
 */
#include "payment.h"
#include "processor.h"

#include <roam/common.h>
#include <roam/log.h>
#include <roam/money.h>
#include <roam/outbox.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONSUMER "payment.bookings"

/* Refunds up to want (-1: everything left) of payment_id for event ev. c inside a transaction. */
static int refund(roam_dbconn_t *c, const roam_event_t *ev, const char *payment_id, int64_t want, const char *reason) {
    const char *p[] = {payment_id};
    PGresult *r = roam_db_query(c,
                                "SELECT amount - refunded, currency, booking_id, status FROM payments "
                                "WHERE id = $1 FOR UPDATE",
                                1, p);
    if (r == NULL) return ROAM_EIO;
    if (PQntuples(r) == 0 || strcmp(PQgetvalue(r, 0, 3), "succeeded") != 0) {
        roam_warn("event %s (%s): payment %s is %s; nothing to refund", ev->id, ev->type, payment_id,
                  PQntuples(r) ? PQgetvalue(r, 0, 3) : "unknown");
        PQclear(r);
        return 0;
    }
    int64_t left = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    char currency[8], booking_id[ROAM_UUID_LEN + 1];
    snprintf(currency, sizeof(currency), "%s", PQgetvalue(r, 0, 1));
    snprintf(booking_id, sizeof(booking_id), "%s", PQgetvalue(r, 0, 2));
    PQclear(r);
    /* The event's booking must be the payment's: a mismatch refunds nothing. */
    const char *ev_booking = json_string_value(json_object_get(ev->data, "booking_id"));
    if (ev_booking == NULL) ev_booking = json_string_value(json_object_get(ev->data, "id"));
    if (ev_booking != NULL && strcmp(ev_booking, booking_id) != 0) {
        roam_warn("event %s (%s) names booking %s, but payment %s is for booking %s: skipped", ev->id, ev->type,
                  ev_booking, payment_id, booking_id);
        return 0;
    }
    int64_t amount = want < 0 || want > left ? left : want;
    if (amount <= 0) {
        roam_info("event %s (%s): payment %s has nothing left to refund", ev->id, ev->type, payment_id);
        return 0;
    }

    char reference[128];
    snprintf(reference, sizeof(reference), "%s:%s", payment_id, ev->id);
    payment_processor_t *proc = payment_processor();
    int rc = proc->refund(proc, payment_id, reference, amount);
    if (rc != 0) {
        roam_warn("event %s: processor refused the refund of payment %s: %s", ev->id, payment_id, roam_strerror(rc));
        return rc == ROAM_ECONFLICT ? 0 : rc;
    }

    char id[ROAM_UUID_LEN + 1], amount_s[24];
    roam_uuid_v7(id);
    snprintf(amount_s, sizeof(amount_s), "%lld", (long long)amount);
    const char *q[] = {id, payment_id, amount_s, reason, ev->id};
    long n = roam_db_exec(c,
                          "INSERT INTO refunds (id, payment_id, amount, status, reason, source_event) "
                          "VALUES ($1, $2, $3::bigint, 'succeeded', $4, $5) "
                          "ON CONFLICT (payment_id, source_event) DO NOTHING",
                          5, q);
    if (n < 0) return ROAM_EIO;
    if (n == 0) return 0; /* this event refunded already */
    const char *u[] = {payment_id, amount_s};
    if (roam_db_exec(c,
                     "UPDATE payments SET refunded = refunded + $2::bigint, updated_at = clock_timestamp() "
                     "WHERE id = $1",
                     2, u) != 1)
        return ROAM_EIO;
    json_t *data =
        json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "payment_id", payment_id, "booking_id", booking_id, "refund_id", id,
                  "amount", roam_money_json(amount, currency), "reason", reason, "status", "succeeded");
    if (data == NULL) return ROAM_ENOMEM;
    rc = roam_outbox_add(c, PAYMENT_TOPIC, "payment.refunded", booking_id, payment_id, data, NULL);
    json_decref(data);
    if (rc == 0)
        roam_info("payment %s: refunded %lld %s (%s, event %s)", payment_id, (long long)amount, currency, reason,
                  ev->id);
    return rc;
}

int payment_bookings_handle(const roam_event_t *ev, void *ctx) {
    (void)ctx;
    int cancelled = strcmp(ev->type, "booking.cancelled") == 0;
    if (!cancelled && strcmp(ev->type, "booking.refund_required") != 0) return 0;
    const char *payment_id = json_string_value(json_object_get(ev->data, "payment_id"));
    int64_t want = -1;
    if (cancelled) {
        json_t *amount = json_object_get(json_object_get(ev->data, "refund"), "amount");
        if (!json_is_integer(amount) || json_integer_value(amount) <= 0) return 0; /* nothing to refund */
        want = json_integer_value(amount);
    }
    if (payment_id == NULL || !roam_uuid_valid(payment_id)) {
        if (!cancelled || want > 0)
            roam_warn("event %s (%s) asks for a refund without a valid payment_id: skipped", ev->id, ev->type);
        return 0;
    }
    roam_db_t *db = roam_daemon_db(roam_daemon());
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) return ROAM_EUNAVAIL;
    int rc = roam_db_begin(c) == 0 ? 0 : ROAM_EIO;
    if (rc == 0) {
        int first = roam_event_claim(c, CONSUMER, ev->id);
        if (first < 0)
            rc = ROAM_EIO;
        else if (first == 1)
            rc = refund(c, ev, payment_id, want, cancelled ? "booking_cancelled" : "refund_required");
    }
    if (rc == 0 && roam_db_commit(c) != 0) rc = ROAM_EIO;
    if (rc != 0) {
        roam_warn("event %s (%s) not applied (%s); it will be delivered again", ev->id, ev->type, roam_strerror(rc));
        if (roam_db_in_tx(c)) roam_db_rollback(c);
    }
    roam_db_release(db, c);
    return rc;
}
