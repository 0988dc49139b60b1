/*
 * The bookings table (migrations/0001_bookings.sql, 0002_booking_api.sql).
 * PostgreSQL builds the booking documents (one expression, BOOKING_DOC, used
 * by every reader), computes timestamps in RFC 3339 UTC and refunds in
 * integer minor units.
 */
#include "booking.h"

#include <roam/common.h>
#include <roam/log.h>
#include <roam/outbox.h>

#include <string.h>

#define TS(x)    "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define MONEY(x) "jsonb_build_object('amount', (" x "), 'currency', b.currency)"

/*
 * What a traveller cancelling now would get back: nothing unless confirmed;
 * in full strictly before free_cancellation_until; otherwise
 * refund_percent_after percent, rounded down (integer division of
 * non-negative numbers).
 */
#define REFUND_IF_CANCELLED                                                                                            \
    "CASE WHEN b.status <> 'confirmed' THEN 0 "                                                                        \
    "WHEN b.free_cancellation_until IS NOT NULL AND now() < b.free_cancellation_until THEN b.total "                   \
    "ELSE b.total * b.refund_percent_after / 100 END"

/* The public booking object of row b (API contract, "Bookings"); refund only once cancelled. */
#define BOOKING_DOC                                                                                                                                                                                                                                \
    "(jsonb_build_object('id', b.id, 'reference', b.reference, 'user_id', b.user_id, "                                                                                                                                                             \
    "'guest', jsonb_build_object('name', b.guest_name, 'email', b.guest_email), "                                                                                                                                                                  \
    "'listing_id', b.listing_id, 'listing_title', b.listing_title, 'unit_id', b.unit_id, "                                                                                                                                                         \
    "'check_in', to_char(b.check_in, 'YYYY-MM-DD'), 'check_out', to_char(b.check_out, 'YYYY-MM-DD'), "                                                                                                                                             \
    "'nights', b.check_out - b.check_in, 'guests', b.guests, 'quantity', b.quantity, 'status', b.status, "                                                                                                                                         \
    "'total', " MONEY("b.total") ", 'price_breakdown', b.price_breakdown, "                                                                                                                                                                        \
                                 "'cancellation_policy', jsonb_build_object('free_cancellation_hours', "                                                                                                                                           \
                                 "b.free_cancellation_hours, "                                                                                                                                                                                     \
                                 "'refund_percent_after', b.refund_percent_after), "                                                                                                                                                               \
                                 "'free_cancellation_until', " TS(                                                                                                                                                                                 \
                                     "b.free_cancellation_until") ", "                                                                                                                                                                             \
                                                                  "'refund_if_cancelled', " MONEY(                                                                                                                                                 \
                                                                      REFUND_IF_CANCELLED) ", "                                                                                                                                                    \
                                                                                           "'hold_expires_at', " TS(                                                                                                                               \
                                                                                               "b.hold_"                                                                                                                                           \
                                                                                               "expires_at") ", "                                                                                                                                  \
                                                                                                             "'create"                                                                                                                             \
                                                                                                             "d_at',"                                                                                                                              \
                                                                                                             " " TS("b.created_at") ", "                                                                                                           \
                                                                                                                                    "'updated_at', " TS(                                                                                           \
                                                                                                                                        "b.updated_at") ") "                                                                                       \
                                                                                                                                                        "|| CASE WHEN b.refund IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('refund', " MONEY( \
                                                                                                                                                            "b.refund") ") END)"

/* The event and internal snapshot: the public object and what other services need. */
#define SNAPSHOT_DOC                                                                                                   \
    "(" BOOKING_DOC " || jsonb_build_object('booking_id', b.id, 'operator_id', b.operator_id, "                        \
    "'unit_name', b.unit_name, 'timezone', b.timezone, 'note', b.note, "                                               \
    "'refund', CASE WHEN b.refund IS NULL THEN NULL ELSE " MONEY(                                                      \
        "b.refund") " END, "                                                                                           \
                    "'cancelled_by', b.cancelled_by, 'cancel_reason', b.cancel_reason, 'payment_id', b.payment_id))"

static int one_doc(roam_dbconn_t *c, const char *sql, const char *id, json_t **out) {
    if (!roam_uuid_valid(id)) return ROAM_ENOTFOUND;
    const char *p[] = {id};
    PGresult *r = roam_db_query(c, sql, 1, p);
    if (r == NULL) return ROAM_EIO;
    int rc = ROAM_ENOTFOUND;
    if (PQntuples(r) == 1) {
        *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        rc = *out ? 0 : ROAM_ENOMEM;
    }
    PQclear(r);
    return rc;
}

int store_booking_public(roam_dbconn_t *c, const char *id, json_t **out) {
    return one_doc(c, "SELECT " BOOKING_DOC " FROM bookings b WHERE b.id = $1", id, out);
}

int store_booking_snapshot(roam_dbconn_t *c, const char *id, json_t **out) {
    return one_doc(c, "SELECT " SNAPSHOT_DOC " FROM bookings b WHERE b.id = $1", id, out);
}

int store_booking_event(roam_dbconn_t *c, const char *id, const char *type, json_t *extra) {
    json_t *data = NULL;
    int rc = store_booking_snapshot(c, id, &data);
    if (rc != 0) return rc;
    if (extra != NULL) json_object_update(data, extra);
    rc = roam_outbox_add(c, BOOKING_TOPIC, type, id, id, data, NULL);
    json_decref(data);
    return rc;
}

int store_booking_transition(roam_dbconn_t *c, const char *id, const char *to) {
    const char *from = booking_status_from(to);
    if (from == NULL || !roam_uuid_valid(id)) return 0;
    const char *p[] = {id, to, from};
    long n = roam_db_exec(c,
                          "UPDATE bookings SET status = $2, updated_at = now(), "
                          "  completed_at = CASE WHEN $2 = 'completed' THEN now() ELSE completed_at END "
                          "WHERE id = $1 AND status = ANY($3::text[])",
                          3, p);
    if (n < 0) return ROAM_EIO;
    return n > 0;
}

int store_booking_hold_released(roam_dbconn_t *c, const char *id) {
    const char *p[] = {id};
    return roam_db_exec(c, "UPDATE bookings SET hold_released_at = now() WHERE id = $1 AND hold_released_at IS NULL", 1,
                        p) < 0
               ? ROAM_EIO
               : 0;
}

void booking_release_hold(roam_dbconn_t *c, const char *id) {
    long status;
    json_t *doc;
    if (booking_inventory_hold_action(id, "release", &status, &doc) != 0) return;
    json_decref(doc);
    /* 404: inventory never kept a hold for this booking, so nothing is held. */
    if (status == 200 || status == 404) {
        if (store_booking_hold_released(c, id) != 0) roam_warn("booking %s: release not recorded", id);
    } else {
        roam_warn("booking %s: inventory answered %ld to the release; the sweeper retries", id, status);
    }
}

int store_booking_cancel(roam_dbconn_t *c, const char *id, const char *by, const char *reason) {
    const char *p[] = {id, by, reason, booking_status_from("cancelled")};
    /* The refund is computed from the row before the update (b.status is the old status here). */
    long n = roam_db_exec(c,
                          "UPDATE bookings b SET status = 'cancelled', cancelled_at = now(), updated_at = now(), "
                          "  cancelled_by = $2, cancel_reason = $3, "
                          "  refund = CASE WHEN $2 = 'operator' AND b.status = 'confirmed' THEN b.total "
                          "           ELSE " REFUND_IF_CANCELLED " END "
                          "WHERE b.id = $1 AND b.status = ANY($4::text[])",
                          4, p);
    if (n < 0) return ROAM_EIO;
    return n > 0;
}

#define LIST_COLUMNS ", (extract(epoch FROM b.created_at) * 1000000)::bigint, b.id FROM bookings b WHERE "
#define LIST_SELECT  "SELECT " BOOKING_DOC LIST_COLUMNS
/* Operators also see the traveller's note. */
#define OPERATOR_LIST_SELECT "SELECT " BOOKING_DOC " || jsonb_build_object('note', b.note)" LIST_COLUMNS
#define LIST_AFTER                                                                                                     \
    " AND ($2::bigint IS NULL OR (b.created_at, b.id) < ('epoch'::timestamptz + $2::bigint * interval "                \
    "'1 microsecond', $3::uuid)) ORDER BY b.created_at DESC, b.id DESC LIMIT $4::int"

PGresult *store_booking_list(roam_dbconn_t *c, int operator_view, const char *const params[6]) {
    if (!operator_view) return roam_db_query(c, LIST_SELECT "b.user_id = $1::uuid" LIST_AFTER, 4, params);
    return roam_db_query(c,
                         OPERATOR_LIST_SELECT
                         "b.operator_id = $1::uuid AND ($5::uuid IS NULL OR b.listing_id = $5::uuid) "
                         "AND ($6::text IS NULL OR b.status = $6::text)" LIST_AFTER,
                         6, params);
}
