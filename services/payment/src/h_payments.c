/*
 * /payments and /bookings/{id}/payments: pay a booking (idempotent), read a
 * payment, list a booking's payments.
 *
 * POST /payments records the attempt (processing) and commits before the
 * processor is called, so a crash leaves a row the recovery pass resolves;
 * the partial unique index on payments(booking_id) for processing and
 * succeeded rows means two attempts for one booking can never both charge.
 * The result and its event (payment.succeeded / payment.failed) then commit
 * in one transaction with the stored idempotent answer.
 */
#include "payment.h"
#include "processor.h"

#include <roam/cursor.h>
#include <roam/codec.h>
#include <roam/common.h>
#include <roam/config.h>
#include <roam/idempotency.h>
#include <roam/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int unavailable(roam_req_t *req, const char *what) {
    return roam_respond_problem(req, "upstream_unavailable", "%s is unreachable; try again", what);
}

static int lookup_failed(roam_req_t *req, int rc) {
    if (rc == ROAM_ETIMEDOUT)
        return roam_respond_problem(req, "upstream_timeout", "The booking service did not answer in time");
    return unavailable(req, "The booking service");
}

static const char *str(json_t *o, const char *name) { return json_string_value(json_object_get(o, name)); }

/* ---- POST /payments ---- */

/*
 * ROAM_PAYMENT_TEST_CRASH_AFTER_CHARGE (tests only): the process exits at
 * once after the processor charged and before the result is recorded, as a
 * kill -9 would, so the tests can check the recovery pass.
 */
int payment_crash_after_charge;
/* ROAM_PAYMENT_TEST_CHARGE_DELAY_MS (tests only): a slow processor, so a hold can run out during the charge. */
long payment_charge_delay_ms;

static int create(roam_req_t *req, roam_dbconn_t *c, roam_idem_t *idem) {
    json_t *body = roam_req_json(req);
    payment_processor_t *proc = payment_processor();
    json_t *errors = json_array();
    const char *booking_id = NULL;
    json_t *v = json_object_get(body, "booking_id");
    if (!json_is_object(body))
        roam_field_error(errors, "booking_id", "is required");
    else if (v == NULL)
        roam_field_error(errors, "booking_id", "is required");
    else if (!json_is_string(v) || !roam_uuid_valid(json_string_value(v)))
        roam_field_error(errors, "booking_id", "must be a UUID");
    else
        booking_id = json_string_value(v);

    card_t card;
    memset(&card, 0, sizeof(card));
    json_t *pm = json_object_get(body, "payment_method");
    const char *payment_method = NULL;
    if (pm != NULL && !proc->accepts_tokens) {
        roam_field_error(errors, "payment_method",
                         "the configured processor (%s) accepts cards only: send card instead", proc->name);
    } else if (pm != NULL) {
        if (json_object_get(body, "card") != NULL)
            roam_field_error(errors, "card", "send either card or payment_method, not both");
        else if (!json_is_string(pm) || json_string_length(pm) == 0 || json_string_length(pm) > 255)
            roam_field_error(errors, "payment_method", "must be a token of 1 to 255 characters");
        else
            payment_method = json_string_value(pm);
    } else {
        card_parse(json_is_object(body) ? json_object_get(body, "card") : NULL, (int64_t)time(NULL), &card, errors);
    }
    if (json_array_size(errors)) {
        card_wipe(&card);
        return roam_respond_invalid(req, errors);
    }
    json_decref(errors);
    if (c == NULL) {
        card_wipe(&card);
        return unavailable(req, "The database");
    }

    /*
     * A retry whose key's lease ran out after a crash (roam/idempotency.h lets
     * it run again): the attempt that key already made is the answer.
     */
    const char *sub = roam_req_claims(req)->sub;
    const char *key = roam_req_header(req, "Idempotency-Key");
    const char *kp[] = {sub, key};
    PGresult *kr = roam_db_query(c,
                                 "SELECT id, status FROM payments WHERE user_id = $1 AND idempotency_key = $2 "
                                 "ORDER BY created_at DESC LIMIT 1",
                                 2, kp);
    if (kr == NULL) {
        card_wipe(&card);
        return unavailable(req, "The database");
    }
    if (PQntuples(kr) == 1) {
        card_wipe(&card);
        int processing = strcmp(PQgetvalue(kr, 0, 1), "processing") == 0;
        char prev[ROAM_UUID_LEN + 1];
        snprintf(prev, sizeof(prev), "%s", PQgetvalue(kr, 0, 0));
        PQclear(kr);
        /* 503 is not stored: a later retry gets the outcome once the recovery pass has it. */
        if (processing) return unavailable(req, "The payment processor (the first attempt is not resolved yet)");
        json_t *doc = NULL;
        if (store_payment_public(c, prev, &doc, NULL, NULL) != 0) return unavailable(req, "The database");
        return roam_respond_json(req, 201, doc);
    }
    PQclear(kr);

    /* The booking decides who may pay, what and until when. */
    json_t *booking = NULL;
    int rc = payment_booking_lookup(booking_id, &booking);
    if (rc == ROAM_ENOTFOUND ||
        (rc == 0 && (str(booking, "user_id") == NULL || strcmp(str(booking, "user_id"), sub)))) {
        json_decref(booking);
        card_wipe(&card);
        return roam_respond_problem(req, "not_found", "No such booking");
    }
    if (rc != 0) {
        card_wipe(&card);
        return lookup_failed(req, rc);
    }
    roam_req_defer(req, (void (*)(void *))json_decref, booking);
    const char *status = str(booking, "status");
    const char *expires = str(booking, "hold_expires_at");
    json_t *total = json_object_get(booking, "total");
    json_t *amount = json_object_get(total, "amount");
    const char *currency = str(total, "currency");
    if (status == NULL || (strcmp(status, "pending_payment") != 0 && strcmp(status, "payment_failed") != 0) ||
        expires == NULL) {
        card_wipe(&card);
        return roam_respond_problem(req, "booking_not_payable", "The booking is %s; it cannot be paid",
                                    status ? status : "in an unknown state");
    }
    if (!json_is_integer(amount) || json_integer_value(amount) < 0 || currency == NULL) {
        card_wipe(&card);
        roam_error("booking %s has no usable total", booking_id);
        return unavailable(req, "The booking service");
    }

    /* The attempt, committed before any charge. The hold is checked against the database clock. */
    char id[ROAM_UUID_LEN + 1], amount_s[24];
    roam_uuid_v7(id);
    snprintf(amount_s, sizeof(amount_s), "%lld", (long long)json_integer_value(amount));
    const char *p[] = {id,
                       booking_id,
                       sub,
                       str(booking, "operator_id"),
                       amount_s,
                       currency,
                       payment_method ? "token" : card.brand,
                       payment_method ? "0000" : card.last4,
                       proc->name,
                       expires,
                       key};
    long n = roam_db_exec(c,
                          "INSERT INTO payments (id, booking_id, user_id, operator_id, amount, currency, status, "
                          "  card_brand, card_last4, processor, idempotency_key) "
                          "SELECT $1, $2, $3, $4, $5::bigint, $6, 'processing', $7, $8, $9, $11 "
                          "WHERE $10::timestamptz > now()",
                          11, p);
    if (n == ROAM_ECONFLICT || n == 0) {
        card_wipe(&card);
        return roam_respond_problem(req, "booking_not_payable",
                                    n == 0 ? "The booking's hold has expired"
                                           : "Another payment for this booking is in progress or has succeeded");
    }
    if (n < 0) {
        card_wipe(&card);
        roam_error("payment %s not recorded: %s", id, roam_db_errmsg(c));
        return unavailable(req, "The database");
    }

    charge_in_t in = {.reference = id,
                      .amount = json_integer_value(amount),
                      .currency = currency,
                      .card = payment_method ? NULL : &card,
                      .payment_method = payment_method};
    charge_out_t out;
    if (payment_charge_delay_ms > 0) {
        struct timespec ts = {payment_charge_delay_ms / 1000, (payment_charge_delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    rc = proc->charge(proc, &in, &out);
    card_wipe(&card);
    if (payment_crash_after_charge) {
        roam_warn("ROAM_PAYMENT_TEST_CRASH_AFTER_CHARGE: exiting after charging payment %s", id);
        _exit(137);
    }
    if (rc != 0) {
        /* The outcome is unknown: the row stays processing and the recovery pass asks the processor later. */
        roam_error("payment %s: processor %s failed: %s", id, proc->name, roam_strerror(rc));
        return unavailable(req, "The payment processor");
    }
    roam_info("payment %s for booking %s: %s%s%s", id, booking_id,
              out.outcome == CHARGE_SUCCEEDED ? "succeeded" : "declined", out.outcome == CHARGE_SUCCEEDED ? "" : " ",
              out.failure_code);

    json_t *doc = NULL;
    if (roam_db_begin(c) != 0) goto fail;
    if (store_payment_finish(c, id, out.outcome == CHARGE_SUCCEEDED, out.failure_code) < 0) goto fail;
    /* 0 rows: the recovery pass recorded it first; the answer is what it recorded. */
    if (store_payment_public(c, id, &doc, NULL, NULL) != 0) goto fail;
    roam_respond_json(req, 201, doc);
    if (roam_idem_finish(req, idem, c) != 0) goto fail;
    if (roam_db_commit(c) != 0) goto fail;
    return 201;
fail:
    roam_error("payment %s: result not recorded (%s); the recovery pass will", id, roam_db_errmsg(c));
    if (roam_db_in_tx(c)) roam_db_rollback(c);
    return unavailable(req, "The database");
}

int h_payments_create(roam_req_t *req) { return roam_idem_run(req, "POST /payments", create); }

/* ---- GET /payments/{id} ---- */

int h_payments_get(roam_req_t *req) {
    const char *id = roam_req_param(req, "id");
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    json_t *doc = NULL;
    char user[64], op[64];
    int rc = store_payment_public(c, id, &doc, user, op);
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "not_found", "No such payment");
    if (rc != 0) return unavailable(req, "The database");
    const char *sub = roam_req_claims(req)->sub;
    if (strcmp(user, sub) != 0 && (op[0] == '\0' || strcmp(op, sub) != 0)) {
        json_decref(doc);
        return roam_respond_problem(req, "not_found", "No such payment");
    }
    return roam_respond_json(req, 200, doc);
}

/* ---- GET /bookings/{id}/payments ---- */

int h_booking_payments_list(roam_req_t *req) {
    const char *booking_id = roam_req_param(req, "id");
    json_t *errors = json_array();
    long limit;
    char us[ROAM_CURSOR_US_MAX], cid[ROAM_UUID_LEN + 1];
    int has_cursor;
    roam_cursor_page_query(req, errors, &limit, us, cid, &has_cursor);
    if (json_array_size(errors)) return roam_respond_invalid(req, errors);
    json_decref(errors);

    json_t *booking = NULL;
    int rc = payment_booking_lookup(booking_id, &booking);
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "not_found", "No such booking");
    if (rc != 0) return lookup_failed(req, rc);
    const char *sub = roam_req_claims(req)->sub;
    const char *user = str(booking, "user_id"), *op = str(booking, "operator_id");
    int allowed = (user && strcmp(user, sub) == 0) || (op && strcmp(op, sub) == 0);
    json_decref(booking);
    if (!allowed) return roam_respond_problem(req, "not_found", "No such booking");

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    char lim[24];
    snprintf(lim, sizeof(lim), "%ld", limit + 1);
    PGresult *r = store_payment_list(c, booking_id, has_cursor ? us : NULL, has_cursor ? cid : NULL, lim);
    if (r == NULL) return unavailable(req, "The database");
    json_t *items = json_array();
    int n = PQntuples(r);
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, json_loads(PQgetvalue(r, i, 0), 0, NULL));
    json_t *next = json_null();
    if (n > limit) {
        char cur[ROAM_CURSOR_MAX];
        roam_cursor_encode(PQgetvalue(r, (int)limit - 1, 1), PQgetvalue(r, (int)limit - 1, 2), cur);
        next = json_string(cur);
    }
    PQclear(r);
    return roam_respond_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}
