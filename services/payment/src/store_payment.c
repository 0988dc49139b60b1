/*
 * SQL of the payments and refunds tables. The public object is built by
 * PostgreSQL (timestamps RFC 3339 UTC to the second with to_char).
 */
#include "payment.h"

#include <roam/common.h>
#include <roam/log.h>
#include <roam/money.h>
#include <roam/outbox.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The public object of the payments row p (failure_code only when failed). */
#define PAYMENT_DOC                                                                                                    \
    "(jsonb_build_object('id', p.id, 'booking_id', p.booking_id, 'status', p.status, "                                 \
    "  'amount', jsonb_build_object('amount', p.amount, 'currency', p.currency), "                                     \
    "  'card', jsonb_build_object('brand', p.card_brand, 'last4', p.card_last4), "                                     \
    "  'refunds', coalesce((SELECT jsonb_agg(jsonb_build_object('id', r.id, "                                          \
    "      'amount', jsonb_build_object('amount', r.amount, 'currency', p.currency), 'status', r.status, "             \
    "      'created_at', " TS(                                                                                         \
        "r.created_at") ") ORDER BY r.created_at, r.id) "                                                              \
                        "    FROM refunds r WHERE r.payment_id = p.id), '[]'::jsonb), "                                \
                        "  'created_at', " TS(                                                                         \
                            "p.created_at") ") || CASE WHEN p.failure_code IS NULL THEN '{}'::jsonb "                  \
                                            "  ELSE jsonb_build_object('failure_code', p.failure_code) END)::text"

/* Money from an amount column's text and a currency (returns new). */
static json_t *money(const char *amount, const char *currency) {
    return roam_money_json(strtoll(amount, NULL, 10), currency);
}

int store_payment_public(roam_dbconn_t *c, const char *id, json_t **out, char user_id[64], char operator_id[64]) {
    *out = NULL;
    if (!roam_uuid_valid(id)) return ROAM_ENOTFOUND;
    const char *p[] = {id};
    PGresult *r = roam_db_query(c,
                                "SELECT " PAYMENT_DOC ", p.user_id, coalesce(p.operator_id, '') "
                                "FROM payments p WHERE p.id = $1",
                                1, p);
    if (r == NULL) return ROAM_EIO;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return ROAM_ENOTFOUND;
    }
    *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    if (user_id) snprintf(user_id, 64, "%s", PQgetvalue(r, 0, 1));
    if (operator_id) snprintf(operator_id, 64, "%s", PQgetvalue(r, 0, 2));
    PQclear(r);
    return *out ? 0 : ROAM_EIO;
}

int store_payment_finish(roam_dbconn_t *c, const char *id, int succeeded, const char *failure_code) {
    const char *p[] = {id, succeeded ? "succeeded" : "failed", succeeded ? NULL : failure_code};
    PGresult *r = roam_db_query(c,
                                "UPDATE payments SET status = $2, failure_code = $3, updated_at = clock_timestamp() "
                                "WHERE id = $1 AND status = 'processing' "
                                "RETURNING booking_id, amount, currency, card_brand, card_last4",
                                3, p);
    if (r == NULL) {
        roam_error("payment %s: result not recorded: %s", id, roam_db_errmsg(c));
        return ROAM_EIO;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    char booking_id[ROAM_UUID_LEN + 1];
    snprintf(booking_id, sizeof(booking_id), "%s", PQgetvalue(r, 0, 0));
    json_t *data = json_pack("{s:s, s:s, s:o, s:{s:s, s:s}, s:s}", "payment_id", id, "booking_id", booking_id, "amount",
                             money(PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2)), "card", "brand", PQgetvalue(r, 0, 3),
                             "last4", PQgetvalue(r, 0, 4), "status", succeeded ? "succeeded" : "failed");
    PQclear(r);
    if (data == NULL) return ROAM_ENOMEM;
    if (!succeeded) json_object_set_new(data, "failure_code", json_string(failure_code));
    int rc = roam_outbox_add(c, PAYMENT_TOPIC, succeeded ? "payment.succeeded" : "payment.failed", booking_id, id, data,
                             NULL);
    json_decref(data);
    return rc == 0 ? 1 : rc;
}

PGresult *store_payment_list(roam_dbconn_t *c, const char *booking_id, const char *cursor_us, const char *cursor_id,
                             const char *limit) {
    const char *p[] = {booking_id, cursor_us, cursor_id, limit};
    return roam_db_query(c,
                         "SELECT " PAYMENT_DOC ", (extract(epoch FROM p.created_at) * 1000000)::bigint, p.id "
                         "FROM payments p WHERE p.booking_id = $1 "
                         "AND ($2::bigint IS NULL OR (p.created_at, p.id) < ('epoch'::timestamptz + $2::bigint * "
                         "  interval '1 microsecond', $3::uuid)) "
                         "ORDER BY p.created_at DESC, p.id DESC LIMIT $4::int",
                         4, p);
}
