/*
 * /bookings and /operator/bookings: create (held in inventory, idempotent),
 * read, list, cancel and complete. Status changes go through status.c's
 * table; events leave through the outbox in the transaction of the change;
 * units go back to inventory after the change commits (retried by the
 * sweeper until inventory confirms).
 */
#include "booking.h"

#include <roam/cursor.h>
#include <roam/codec.h>
#include <roam/common.h>
#include <roam/idempotency.h>
#include <roam/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- input ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long days_from_civil(long y, long m, long d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Parses an existing YYYY-MM-DD date into days since the epoch. 0 or -1. */
static int parse_date(const char *s, long *days) {
    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return -1;
    long y = atol(s), m = atol(s + 5), d = atol(s + 8);
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1) return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > dim[m - 1] + (m == 2 && leap)) return -1;
    *days = days_from_civil(y, m, d);
    return 0;
}

/* Characters (UTF-8 code points) in s; the core already rejected invalid UTF-8. */
static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) n++;
    return n;
}

/* The string member name, or NULL with an error when present but not a string. */
static const char *opt_string(json_t *body, const char *name, json_t *errors) {
    json_t *v = json_object_get(body, name);
    if (v == NULL || json_is_null(v)) return NULL;
    if (!json_is_string(v)) {
        roam_field_error(errors, name, "must be a string");
        return NULL;
    }
    return json_string_value(v);
}

/* ---- answers ---- */

static int unavailable(roam_req_t *req, const char *what) {
    return roam_respond_problem(req, "upstream_unavailable", "%s is unreachable; try again", what);
}

static int not_found(roam_req_t *req) { return roam_respond_problem(req, "not_found", "No such booking"); }

/* ---- POST /bookings ---- */

static const char ref_alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"; /* 32 symbols: no 0/O, 1/I */

static void new_reference(char out[10]) {
    unsigned char raw[6];
    roam_random_bytes(raw, sizeof(raw));
    memcpy(out, "RM-", 3);
    for (int i = 0; i < 6; i++)
        out[3 + i] = ref_alphabet[raw[i] & 31];
    out[9] = '\0';
}

typedef struct {
    const char *listing_id, *unit_id, *check_in, *check_out, *note;
    json_int_t guests, quantity;
} create_input_t;

/* Validates the body; 0, or -1 with errors filled. */
static int create_input(json_t *body, create_input_t *in, json_t *errors) {
    memset(in, 0, sizeof(*in));
    const char *names[] = {"listing_id", "unit_id"};
    const char **slots[] = {&in->listing_id, &in->unit_id};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, names[i]);
        if (v == NULL)
            roam_field_error(errors, names[i], "is required");
        else if (!json_is_string(v) || !roam_uuid_valid(json_string_value(v)))
            roam_field_error(errors, names[i], "must be a UUID");
        else
            *slots[i] = json_string_value(v);
    }
    long ci = 0, co = 0;
    int ci_ok = 0, co_ok = 0;
    json_t *v = json_object_get(body, "check_in");
    if (v == NULL)
        roam_field_error(errors, "check_in", "is required");
    else if (!json_is_string(v) || parse_date(json_string_value(v), &ci) != 0)
        roam_field_error(errors, "check_in", "must be an existing date, YYYY-MM-DD");
    else
        ci_ok = 1, in->check_in = json_string_value(v);
    v = json_object_get(body, "check_out");
    if (v == NULL)
        roam_field_error(errors, "check_out", "is required");
    else if (!json_is_string(v) || parse_date(json_string_value(v), &co) != 0)
        roam_field_error(errors, "check_out", "must be an existing date, YYYY-MM-DD");
    else
        co_ok = 1, in->check_out = json_string_value(v);
    long today = (long)(time(NULL) / 86400); /* UTC */
    if (ci_ok && ci < today - 1) roam_field_error(errors, "check_in", "must not be in the past");
    if (ci_ok && co_ok) {
        if (co <= ci)
            roam_field_error(errors, "check_out", "must be after check_in");
        else if (co - ci > BOOKING_MAX_NIGHTS)
            roam_field_error(errors, "check_out", "must be at most %d nights after check_in", BOOKING_MAX_NIGHTS);
        else if (co - 1 > today + BOOKING_DAYS_AHEAD)
            roam_field_error(errors, "check_out", "must be within %d days from today", BOOKING_DAYS_AHEAD);
    }
    v = json_object_get(body, "guests");
    if (v == NULL)
        roam_field_error(errors, "guests", "is required");
    else if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 10000)
        roam_field_error(errors, "guests", "must be an integer of at least 1");
    else
        in->guests = json_integer_value(v);
    v = json_object_get(body, "quantity");
    in->quantity = 1;
    if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000))
        roam_field_error(errors, "quantity", "must be an integer from 1 to 1000");
    else if (v != NULL)
        in->quantity = json_integer_value(v);
    in->note = opt_string(body, "note", errors);
    if (in->note != NULL && utf8_chars(in->note) > BOOKING_NOTE_MAX)
        roam_field_error(errors, "note", "must be at most %d characters", BOOKING_NOTE_MAX);
    return json_array_size(errors) ? -1 : 0;
}

/* Gives back a hold that will not be recorded (best effort: inventory's expiry sweeps the rest). */
static void drop_hold(const char *id) {
    long status;
    json_t *doc;
    if (booking_inventory_hold_action(id, "release", &status, &doc) == 0) json_decref(doc);
}

/* Inserts the booking from inventory's hold document. 0, ROAM_EINVAL (malformed hold) or ROAM_EIO. */
static int insert_booking(roam_dbconn_t *c, const char *id, const char *user_id, json_t *me, json_t *hold,
                          const create_input_t *in, const char *expires) {
    json_t *listing = json_object_get(hold, "listing"), *unit = json_object_get(hold, "unit");
    json_t *policy = json_object_get(listing, "cancellation_policy");
    const char *title = json_string_value(json_object_get(listing, "title"));
    const char *operator_id = json_string_value(json_object_get(listing, "operator_id"));
    const char *currency = json_string_value(json_object_get(listing, "currency"));
    const char *tz = json_string_value(json_object_get(listing, "timezone"));
    const char *unit_name = json_string_value(json_object_get(unit, "name"));
    json_t *nights = json_object_get(hold, "nights");
    json_t *total = json_object_get(json_object_get(hold, "total"), "amount");
    json_t *fch = json_object_get(policy, "free_cancellation_hours"),
           *rpa = json_object_get(policy, "refund_percent_after");
    json_t *fcu = json_object_get(hold, "free_cancellation_until");
    if (!title || !operator_id || !currency || !tz || !unit_name || !json_is_array(nights) || !json_is_integer(total) ||
        !json_is_integer(fch) || !json_is_integer(rpa) || !(json_is_string(fcu) || json_is_null(fcu)))
        return ROAM_EINVAL;
    char guests[24], quantity[24], total_s[24], fch_s[24], rpa_s[24];
    snprintf(guests, sizeof(guests), "%lld", (long long)in->guests);
    snprintf(quantity, sizeof(quantity), "%lld", (long long)in->quantity);
    snprintf(total_s, sizeof(total_s), "%lld", (long long)json_integer_value(total));
    snprintf(fch_s, sizeof(fch_s), "%lld", (long long)json_integer_value(fch));
    snprintf(rpa_s, sizeof(rpa_s), "%lld", (long long)json_integer_value(rpa));
    /* Inventory prices one unit per night; the booking's breakdown is for all its units, so it sums to the total. */
    json_t *breakdown = json_deep_copy(nights);
    if (breakdown == NULL) return ROAM_EIO;
    size_t i;
    json_t *night;
    json_array_foreach(breakdown, i, night) {
        json_t *amount = json_object_get(json_object_get(night, "price"), "amount");
        if (!json_is_integer(amount)) {
            json_decref(breakdown);
            return ROAM_EINVAL;
        }
        json_integer_set(amount, json_integer_value(amount) * in->quantity);
    }
    char *nights_s = json_dumps(breakdown, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(breakdown);
    if (nights_s == NULL) return ROAM_EIO;
    int rc = ROAM_EIO;
    for (int attempt = 0; attempt < 8; attempt++) {
        char ref[10];
        new_reference(ref);
        const char *p[] = {id,
                           ref,
                           user_id,
                           json_string_value(json_object_get(me, "name")),
                           json_string_value(json_object_get(me, "email")),
                           in->listing_id,
                           title,
                           operator_id,
                           in->unit_id,
                           unit_name,
                           in->check_in,
                           in->check_out,
                           guests,
                           quantity,
                           currency,
                           total_s,
                           nights_s,
                           fch_s,
                           rpa_s,
                           tz,
                           json_string_value(fcu),
                           expires,
                           in->note};
        PGresult *r = roam_db_query(
            c,
            "INSERT INTO bookings (id, reference, user_id, guest_name, guest_email, listing_id, listing_title, "
            "  operator_id, unit_id, unit_name, check_in, check_out, guests, quantity, status, currency, total, "
            "  price_breakdown, free_cancellation_hours, refund_percent_after, timezone, free_cancellation_until, "
            "  hold_expires_at, note) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::int, $14::int, 'pending_payment', $15, "
            "  $16::bigint, $17::jsonb, $18::int, $19::int, $20, $21::timestamptz, $22::timestamptz, $23) "
            "ON CONFLICT (reference) DO NOTHING RETURNING 1",
            23, p);
        if (r == NULL) {
            roam_error("booking insert failed: %s", roam_db_errmsg(c));
            break;
        }
        int inserted = PQntuples(r) == 1;
        PQclear(r);
        if (inserted) {
            rc = 0;
            break;
        }
        /* A reference collision (about one in a billion per pair): draw again. */
    }
    free(nights_s);
    return rc;
}

static int create(roam_req_t *req, roam_dbconn_t *c, roam_idem_t *idem) {
    json_t *errors = json_array();
    create_input_t in;
    if (create_input(roam_req_json(req), &in, errors) != 0) return roam_respond_invalid(req, errors);
    json_decref(errors);
    if (c == NULL) return unavailable(req, "The database");

    json_t *me = NULL;
    int rc = booking_auth_me(roam_req_header(req, "Authorization"), &me);
    if (rc == ROAM_EDENIED) return roam_respond_problem(req, "unauthorized", "The token was refused");
    if (rc != 0) return unavailable(req, "The account service");
    roam_req_defer(req, (void (*)(void *))json_decref, me);

    char id[ROAM_UUID_LEN + 1];
    roam_uuid_v7(id);
    time_t exp = time(NULL) + booking_hold_ttl_s();
    struct tm tm;
    gmtime_r(&exp, &tm);
    char expires[32];
    strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);

    json_t *hreq = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "hold_id", id, "listing_id", in.listing_id,
                             "unit_id", in.unit_id, "check_in", in.check_in, "check_out", in.check_out, "guests",
                             in.guests, "quantity", in.quantity, "expires_at", expires);
    if (hreq == NULL) return unavailable(req, "Memory");
    long status;
    json_t *hold = NULL;
    rc = booking_inventory_hold(hreq, &status, &hold);
    json_decref(hreq);
    if (rc != 0) {
        drop_hold(id);
        return rc == ROAM_ETIMEDOUT ? roam_respond_problem(req, "upstream_timeout", "Inventory did not answer in time")
                                    : unavailable(req, "Inventory");
    }
    roam_req_defer(req, (void (*)(void *))json_decref, hold);
    if (status == 409) return roam_respond_problem(req, "sold_out", "Not enough units are available for these dates");
    if (status == 404) return roam_respond_problem(req, "not_found", "No such listing, or it has no such unit");
    if (status == 422) {
        json_t *e = json_object_get(hold, "errors");
        return roam_respond_invalid(req, json_is_array(e) ? json_deep_copy(e) : json_array());
    }
    if (status != 201 && status != 200) {
        roam_error("inventory answered %ld to a hold", status);
        drop_hold(id);
        return unavailable(req, "Inventory");
    }

    const roam_claims_t *claims = roam_req_claims(req);
    json_t *doc = NULL;
    if (roam_db_begin(c) != 0) goto fail;
    rc = insert_booking(c, id, claims->sub, me, hold, &in, expires);
    if (rc != 0) goto fail;
    if (store_booking_event(c, id, "booking.created", NULL) != 0) goto fail;
    if (store_booking_public(c, id, &doc) != 0) goto fail;
    roam_respond_json(req, 201, doc);
    if (roam_idem_finish(req, idem, c) != 0) goto fail;
    if (roam_db_commit(c) != 0) goto fail;
    return 201;
fail:
    roam_error("booking %s not recorded: %s", id, roam_db_errmsg(c));
    if (roam_db_in_tx(c)) roam_db_rollback(c);
    drop_hold(id);
    return unavailable(req, "The database");
}

int h_bookings_create(roam_req_t *req) { return roam_idem_run(req, "POST /bookings", create); }

/* ---- GET /bookings/{id} ---- */

int h_bookings_get(roam_req_t *req) {
    const char *id = roam_req_param(req, "id");
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    json_t *doc = NULL;
    int rc = store_booking_public(c, id, &doc);
    if (rc == ROAM_ENOTFOUND) return not_found(req);
    if (rc != 0) return unavailable(req, "The database");
    const char *sub = roam_req_claims(req)->sub;
    const char *user = json_string_value(json_object_get(doc, "user_id"));
    /* The operator's id is not in the public object: ask for it only when the caller is not the traveller. */
    int allowed = user && strcmp(user, sub) == 0;
    if (!allowed && roam_uuid_valid(sub)) {
        const char *p[] = {id, sub};
        PGresult *r = roam_db_query(c, "SELECT 1 FROM bookings WHERE id = $1 AND operator_id = $2", 2, p);
        if (r == NULL) {
            json_decref(doc);
            return unavailable(req, "The database");
        }
        allowed = PQntuples(r) == 1;
        PQclear(r);
    }
    if (!allowed) {
        json_decref(doc);
        return not_found(req);
    }
    return roam_respond_json(req, 200, doc);
}

/* ---- lists ---- */

/* Answers a page of the traveller's (operator_view 0) or the operator's bookings (filtered by extra1 listing, extra2
 * status). */
static int list_page(roam_req_t *req, int operator_view, const char *owner, const char *extra1, const char *extra2) {
    json_t *errors = json_array();
    long limit;
    char us[ROAM_CURSOR_US_MAX], cid[ROAM_UUID_LEN + 1];
    int has_cursor;
    roam_cursor_page_query(req, errors, &limit, us, cid, &has_cursor);
    if (json_array_size(errors)) return roam_respond_invalid(req, errors);
    json_decref(errors);
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    char lim[24];
    snprintf(lim, sizeof(lim), "%ld", limit + 1);
    const char *p[] = {owner, has_cursor ? us : NULL, has_cursor ? cid : NULL, lim, extra1, extra2};
    PGresult *r = store_booking_list(c, operator_view, p);
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

int h_bookings_list(roam_req_t *req) {
    const char *sub = roam_req_claims(req)->sub;
    if (!roam_uuid_valid(sub)) return roam_respond_json(req, 200, json_pack("{s:[], s:n}", "items", "next_cursor"));
    return list_page(req, 0, sub, NULL, NULL);
}

int h_operator_bookings(roam_req_t *req) {
    const char *sub = roam_req_claims(req)->sub;
    json_t *errors = json_array();
    const char *listing = roam_req_query(req, "listing_id"), *status = roam_req_query(req, "status");
    if (listing != NULL && listing[0] == '\0') listing = NULL;
    if (status != NULL && status[0] == '\0') status = NULL;
    if (listing != NULL && !roam_uuid_valid(listing)) roam_field_error(errors, "listing_id", "must be a UUID");
    if (status != NULL && !booking_status_valid(status))
        roam_field_error(errors, "status",
                         "must be one of pending_payment, payment_failed, confirmed, expired, cancelled, completed");
    if (json_array_size(errors)) return roam_respond_invalid(req, errors);
    json_decref(errors);
    if (!roam_uuid_valid(sub)) return roam_respond_json(req, 200, json_pack("{s:[], s:n}", "items", "next_cursor"));
    return list_page(req, 1, sub, listing, status);
}

/* ---- POST /bookings/{id}/cancel ---- */

int h_bookings_cancel(roam_req_t *req) {
    const char *id = roam_req_param(req, "id");
    json_t *errors = json_array();
    const char *reason = opt_string(roam_req_json(req), "reason", errors);
    if (reason != NULL && utf8_chars(reason) > BOOKING_REASON_MAX)
        roam_field_error(errors, "reason", "must be at most %d characters", BOOKING_REASON_MAX);
    if (json_array_size(errors)) return roam_respond_invalid(req, errors);
    json_decref(errors);
    const roam_claims_t *claims = roam_req_claims(req);
    if (!roam_uuid_valid(id) || !roam_uuid_valid(claims->sub)) return not_found(req);
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    if (roam_db_begin(c) != 0) return unavailable(req, "The database");
    const char *p[] = {id};
    PGresult *r = roam_db_query(c, "SELECT user_id, operator_id FROM bookings WHERE id = $1 FOR UPDATE", 1, p);
    if (r == NULL) goto fail;
    const char *by = NULL;
    if (PQntuples(r) == 1) {
        if (strcmp(claims->role, "operator") == 0 && strcmp(PQgetvalue(r, 0, 1), claims->sub) == 0)
            by = "operator";
        else if (strcmp(PQgetvalue(r, 0, 0), claims->sub) == 0)
            by = "traveller";
    }
    PQclear(r);
    if (by == NULL) {
        roam_db_rollback(c);
        return not_found(req);
    }
    long n = store_booking_cancel(c, id, by, reason);
    if (n < 0) goto fail;
    if (n == 0) {
        roam_db_rollback(c);
        return roam_respond_problem(req, "booking_not_cancellable", "This booking can no longer be cancelled");
    }
    if (store_booking_event(c, id, "booking.cancelled", NULL) != 0) goto fail;
    json_t *doc = NULL;
    if (store_booking_public(c, id, &doc) != 0) goto fail;
    if (roam_db_commit(c) != 0) {
        json_decref(doc);
        goto fail;
    }
    booking_release_hold(c, id);
    return roam_respond_json(req, 200, doc);
fail:
    if (roam_db_in_tx(c)) roam_db_rollback(c);
    return unavailable(req, "The database");
}

/* ---- POST /bookings/{id}/complete ---- */

int h_bookings_complete(roam_req_t *req) {
    const char *id = roam_req_param(req, "id");
    const char *sub = roam_req_claims(req)->sub;
    if (!roam_uuid_valid(id) || !roam_uuid_valid(sub)) return not_found(req);
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    if (roam_db_begin(c) != 0) return unavailable(req, "The database");
    const char *p[] = {id, sub, booking_status_from("completed")};
    PGresult *r = roam_db_query(c,
                                "SELECT status = ANY($3::text[]) AND (now() AT TIME ZONE timezone)::date >= check_in "
                                "FROM bookings WHERE id = $1 AND operator_id = $2 FOR UPDATE",
                                3, p);
    if (r == NULL) goto fail;
    int found = PQntuples(r) == 1, ok = found && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!found || !ok) {
        roam_db_rollback(c);
        return found ? roam_respond_problem(req, "booking_not_completable",
                                            "Only a confirmed booking can be completed, from its check-in date on")
                     : not_found(req);
    }
    if (store_booking_transition(c, id, "completed") != 1) goto fail;
    if (store_booking_event(c, id, "booking.completed", NULL) != 0) goto fail;
    json_t *doc = NULL;
    if (store_booking_public(c, id, &doc) != 0) goto fail;
    if (roam_db_commit(c) != 0) {
        json_decref(doc);
        goto fail;
    }
    return roam_respond_json(req, 200, doc);
fail:
    if (roam_db_in_tx(c)) roam_db_rollback(c);
    return unavailable(req, "The database");
}
