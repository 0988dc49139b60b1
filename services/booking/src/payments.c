/*
 * The consumer of topic "payments" (group booking.payments). Each event is
 * applied in one transaction together with roam_event_claim(), so a
 * redelivered event changes nothing; the consumer commits the offset only
 * after this handler returned 0, i.e. after the effect is durable.
 *
 *   payment.succeeded {payment_id, booking_id, amount}: a payable booking
 *     (pending_payment or payment_failed, hold not expired) has its hold
 *     confirmed in inventory and becomes confirmed (booking.confirmed). A
 *     booking that can no longer take the money (expired, cancelled, the hold
 *     released, or already confirmed by another payment) publishes
 *     booking.refund_required, so the payment service refunds in full.
 *   payment.failed {payment_id, booking_id, failure_code}: a payable booking
 *     becomes payment_failed (booking.payment_failed).
 */
#include "booking.h"

#include <roam/common.h>
#include <roam/log.h>
#include <roam/outbox.h>

#include <string.h>

#define CONSUMER "booking.payments"

/* booking.refund_required for the payment: the snapshot plus {booking_id, payment_id, amount}. */
static int refund_required(roam_dbconn_t *c, const char *booking_id, const char *payment_id, json_t *amount) {
    json_t *extra = json_pack("{s:s, s:s, s:O?}", "booking_id", booking_id, "payment_id", payment_id, "amount", amount);
    if (extra == NULL) return ROAM_ENOMEM;
    int rc = store_booking_event(c, booking_id, "booking.refund_required", extra);
    json_decref(extra);
    if (rc == 0)
        roam_info("booking %s: payment %s arrived when it was no longer payable; refund required", booking_id,
                  payment_id);
    return rc;
}

static int succeeded(roam_dbconn_t *c, const char *booking_id, const char *payment_id, json_t *amount) {
    const char *p[] = {booking_id, booking_status_from("confirmed")};
    PGresult *r = roam_db_query(c,
                                "SELECT status = ANY($2::text[]) AND hold_expires_at > now(), status, "
                                "coalesce(payment_id, '') FROM bookings WHERE id = $1 FOR UPDATE",
                                2, p);
    if (r == NULL) return ROAM_EIO;
    if (PQntuples(r) == 0) {
        PQclear(r);
        roam_warn("payment %s is for unknown booking %s: skipped", payment_id, booking_id);
        return 0;
    }
    int payable = PQgetvalue(r, 0, 0)[0] == 't';
    int same_payment = strcmp(PQgetvalue(r, 0, 1), "confirmed") == 0 && strcmp(PQgetvalue(r, 0, 2), payment_id) == 0;
    PQclear(r);
    if (same_payment) return 0;
    if (!payable) return refund_required(c, booking_id, payment_id, amount);

    long status;
    json_t *doc;
    if (booking_inventory_hold_action(booking_id, "confirm", &status, &doc) != 0) return ROAM_EUNAVAIL;
    json_decref(doc);
    /* 409 hold_released, or 404: inventory keeps no units for this booking, so it cannot take the money. */
    if (status == 409 || status == 404) return refund_required(c, booking_id, payment_id, amount);
    if (status != 200) {
        roam_warn("booking %s: inventory answered %ld to the confirmation; retrying", booking_id, status);
        return ROAM_EUNAVAIL;
    }
    if (store_booking_transition(c, booking_id, "confirmed") != 1) return ROAM_EIO;
    const char *pp[] = {booking_id, payment_id};
    if (roam_db_exec(c, "UPDATE bookings SET payment_id = $2 WHERE id = $1", 2, pp) < 0) return ROAM_EIO;
    json_t *extra = json_pack("{s:s}", "payment_id", payment_id);
    int rc = store_booking_event(c, booking_id, "booking.confirmed", extra);
    json_decref(extra);
    return rc;
}

static int failed(roam_dbconn_t *c, const char *booking_id, const char *payment_id, const char *code) {
    if (!roam_uuid_valid(booking_id)) return 0;
    const char *p[] = {booking_id};
    PGresult *r = roam_db_query(c, "SELECT 1 FROM bookings WHERE id = $1 FOR UPDATE", 1, p);
    if (r == NULL) return ROAM_EIO;
    PQclear(r);
    int rc = store_booking_transition(c, booking_id, "payment_failed");
    if (rc <= 0) return rc; /* not payable any more (or unknown): nothing to record */
    json_t *extra = json_pack("{s:s, s:s?}", "payment_id", payment_id, "failure_code", code);
    rc = store_booking_event(c, booking_id, "booking.payment_failed", extra);
    json_decref(extra);
    return rc;
}

int booking_payments_handle(const roam_event_t *ev, void *ctx) {
    (void)ctx;
    int is_success = strcmp(ev->type, "payment.succeeded") == 0;
    if (!is_success && strcmp(ev->type, "payment.failed") != 0) return 0; /* other payment events are not ours */
    const char *booking_id = json_string_value(json_object_get(ev->data, "booking_id"));
    const char *payment_id = json_string_value(json_object_get(ev->data, "payment_id"));
    if (booking_id == NULL || payment_id == NULL || !roam_uuid_valid(booking_id)) {
        roam_warn("event %s (%s) without a valid booking_id and payment_id: skipped", ev->id, ev->type);
        return 0;
    }
    roam_dbconn_t *c = roam_db_acquire(roam_daemon_db(roam_daemon()));
    if (c == NULL) return ROAM_EUNAVAIL;
    int rc = roam_db_begin(c) == 0 ? 0 : ROAM_EIO;
    if (rc == 0) {
        int first = roam_event_claim(c, CONSUMER, ev->id);
        if (first < 0)
            rc = ROAM_EIO;
        else if (first == 1)
            rc = is_success
                     ? succeeded(c, booking_id, payment_id, json_object_get(ev->data, "amount"))
                     : failed(c, booking_id, payment_id, json_string_value(json_object_get(ev->data, "failure_code")));
    }
    if (rc == 0 && roam_db_commit(c) != 0) rc = ROAM_EIO;
    if (rc != 0) {
        roam_warn("event %s (%s) for booking %s not applied (%s); it will be delivered again", ev->id, ev->type,
                  booking_id, roam_strerror(rc));
        if (roam_db_in_tx(c)) roam_db_rollback(c);
    }
    roam_db_release(roam_daemon_db(roam_daemon()), c);
    return rc;
}
