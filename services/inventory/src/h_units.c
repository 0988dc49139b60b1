/*
 * Units, calendar changes, availability and quotes of a listing.
 *
 * "Today" is the listing's own date ((now() AT TIME ZONE timezone)::date,
 * computed by PostgreSQL); only the contract's coarse 422 limits of quotes
 * (before yesterday, too far ahead) use the UTC date, like search does.
 */
#include "inventory.h"

#include <roam/common.h>
#include <roam/http.h>

#include <string.h>

static int unavailable(roam_req_t *req, const char *what) {
    return roam_respond_problem(req, "upstream_unavailable", "%s is unreachable; try again", what);
}

/* Answers status with JSON text made by a store function (stolen). */
static int respond_text(roam_req_t *req, int status, char *json) {
    return roam_respond_raw(req, status, "application/json", json, strlen(json));
}

static int no_listing(roam_req_t *req) { return roam_respond_problem(req, "not_found", "No such listing"); }

static void cleanup_unit(void *in) { inv_unit_input_cleanup(in); }

int h_units_create(roam_req_t *req) {
    const roam_claims_t *claims = roam_req_claims(req);
    const char *listing_id = roam_req_param(req, "id");
    if (!roam_uuid_valid(listing_id) || !roam_uuid_valid(claims->sub)) return no_listing(req);

    inv_unit_input_t *in = roam_req_alloc(req, sizeof(*in));
    json_t *errors = json_array();
    if (in == NULL || errors == NULL || roam_req_defer(req, cleanup_unit, in) != 0) {
        json_decref(errors);
        return unavailable(req, "Memory");
    }
    memset(in, 0, sizeof(*in));
    if (inv_unit_input_parse(roam_req_json(req), in, errors) != 0) {
        json_decref(errors);
        return unavailable(req, "Memory");
    }
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) {
        json_decref(errors);
        return unavailable(req, "The database");
    }
    char *json = NULL, currency[4] = "";
    int rc = store_unit_create(c, listing_id, claims->sub, in, &json, currency);
    if (rc == ROAM_ECONFLICT) {
        roam_field_error(errors, "base_price.currency", "must be %s, the listing's currency", currency);
        return roam_respond_invalid(req, errors);
    }
    json_decref(errors);
    if (rc == ROAM_ENOTFOUND) return no_listing(req);
    if (rc == ROAM_ENOMEM) return unavailable(req, "Memory");
    if (rc != 0) return unavailable(req, "The database");
    return respond_text(req, 201, json);
}

int h_calendar_update(roam_req_t *req) {
    const roam_claims_t *claims = roam_req_claims(req);
    const char *listing_id = roam_req_param(req, "id"), *unit_id = roam_req_param(req, "unit_id");
    if (!roam_uuid_valid(listing_id) || !roam_uuid_valid(claims->sub)) return no_listing(req);

    json_t *errors = json_array();
    inv_calendar_change_t ch;
    inv_calendar_change_parse(roam_req_json(req), &ch, errors);
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) {
        json_decref(errors);
        return unavailable(req, "The database");
    }
    inv_listing_ctx_t ctx;
    int rc = store_listing_ctx(c, listing_id, claims->sub, unit_id, &ctx);
    if (rc == ROAM_ENOTFOUND || (rc == 0 && !ctx.unit_found)) {
        json_decref(errors);
        return roam_respond_problem(req, "not_found", rc == 0 ? "No such unit in this listing" : "No such listing");
    }
    if (rc != 0) {
        json_decref(errors);
        return unavailable(req, "The database");
    }
    char day[11];
    if (ch.from < ctx.today) {
        inv_date_format(ctx.today, day);
        roam_field_error(errors, "from", "must not be before today in the listing's time zone (%s)", day);
    }
    if (ch.to > ctx.today + INV_CALENDAR_DAYS_MAX) {
        inv_date_format(ctx.today + INV_CALENDAR_DAYS_MAX, day);
        roam_field_error(errors, "to", "must be at most %s (today + %d days, listing time)", day,
                         INV_CALENDAR_DAYS_MAX);
    }
    if (ch.price >= 0 && strcmp(ch.price_currency, ctx.currency) != 0)
        roam_field_error(errors, "price.currency", "must be %s, the listing's currency", ctx.currency);
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    char *json = NULL;
    rc = store_calendar_update(c, unit_id, ctx.currency, &ch, &json);
    if (rc == ROAM_ECONFLICT)
        return roam_respond_problem(req, "calendar_conflict",
                                    "The new quantity is below the units already held or booked on a date; nothing "
                                    "was changed");
    if (rc == ROAM_ENOMEM) return unavailable(req, "Memory");
    if (rc != 0) return unavailable(req, "The database");
    return respond_text(req, 200, json);
}

/* A date query argument: 1 and *out when given and valid, 0 when absent, -1 with an error when invalid. */
static int query_date(roam_req_t *req, const char *name, json_t *errors, inv_date_t *out) {
    const char *s = inv_query(req, name);
    if (s == NULL) return 0;
    if (inv_date_parse(s, out) != 0) {
        roam_field_error(errors, name, "must be a date (YYYY-MM-DD) that exists");
        return -1;
    }
    return 1;
}

int h_calendar_availability(roam_req_t *req) {
    const char *listing_id = roam_req_param(req, "id");
    if (!roam_uuid_valid(listing_id)) return no_listing(req);
    json_t *errors = json_array();
    inv_date_t from = 0, to = 0;
    int has_from = query_date(req, "from", errors, &from);
    int has_to = query_date(req, "to", errors, &to);
    const char *unit_id = inv_query(req, "unit_id");
    if (unit_id != NULL && !roam_uuid_valid(unit_id)) roam_field_error(errors, "unit_id", "must be a unit id");
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) {
        json_decref(errors);
        return unavailable(req, "The database");
    }
    inv_listing_ctx_t ctx;
    int rc = store_listing_ctx(c, listing_id, NULL, unit_id, &ctx);
    if (rc == ROAM_ENOTFOUND || (rc == 0 && unit_id != NULL && !ctx.unit_found)) {
        json_decref(errors);
        return roam_respond_problem(req, "not_found", rc == 0 ? "No such unit in this listing" : "No such listing");
    }
    if (rc != 0) {
        json_decref(errors);
        return unavailable(req, "The database");
    }
    /* Defaults: from today (listing time), to 30 days after from. */
    if (has_from == 0) from = ctx.today;
    if (has_to == 0) to = from + 30;
    if (to > INV_DATE_MAX)
        roam_field_error(errors, "to", "must be at most 9999-12-31");
    else if (to <= from)
        roam_field_error(errors, "to", "must be after from (the range is [from, to))");
    else if (to - from > INV_CALENDAR_DAYS_MAX)
        roam_field_error(errors, "to", "must be at most %d days after from", INV_CALENDAR_DAYS_MAX);
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    char *json = NULL;
    rc = store_availability(c, listing_id, unit_id, from, to, &json);
    if (rc == ROAM_ENOMEM) return unavailable(req, "Memory");
    if (rc != 0) return unavailable(req, "The database");
    return respond_text(req, 200, json);
}

int h_calendar_quote(roam_req_t *req) {
    const char *listing_id = roam_req_param(req, "id");
    if (!roam_uuid_valid(listing_id)) return no_listing(req);
    json_t *errors = json_array();
    const char *unit_id = inv_query(req, "unit_id");
    if (unit_id == NULL)
        roam_field_error(errors, "unit_id", "is required");
    else if (!roam_uuid_valid(unit_id))
        roam_field_error(errors, "unit_id", "must be a unit id");

    inv_stay_t stay = {.guests = 1, .quantity = 1};
    int dates_ok = 1;
    const char *names[] = {"check_in", "check_out"};
    inv_date_t *dates[] = {&stay.check_in, &stay.check_out};
    for (int i = 0; i < 2; i++) {
        int got = query_date(req, names[i], errors, dates[i]);
        if (got == 0) roam_field_error(errors, names[i], "is required");
        if (got != 1) dates_ok = 0;
    }
    const char *s = inv_query(req, "guests");
    if (s != NULL && inv_int_parse(s, 1, INV_MAX_GUESTS_MAX * INV_QUANTITY_MAX, &stay.guests) != 0) stay.guests = 0;
    s = inv_query(req, "quantity");
    if (s != NULL && inv_int_parse(s, 1, INV_QUANTITY_MAX, &stay.quantity) != 0) stay.quantity = 0;
    inv_stay_check(&stay, dates_ok, errors);

    /* The contract's window, in UTC as for search; the listing's own window only makes the stay unavailable. */
    inv_date_t today = inv_today_utc();
    char day[11];
    if (dates_ok && stay.check_in < today - 1) {
        inv_date_format(today - 1, day);
        roam_field_error(errors, "check_in", "must not be before %s (yesterday, UTC)", day);
    }
    if (dates_ok && stay.check_out - 1 > today + INV_BOOKABLE_AHEAD + 1) {
        inv_date_format(today + INV_BOOKABLE_AHEAD + 2, day);
        roam_field_error(errors, "check_out", "must be at most %s (dates are bookable up to %d days ahead)", day,
                         INV_BOOKABLE_AHEAD);
    }
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    char *json = NULL;
    int rc = store_quote(c, listing_id, unit_id, &stay, &json);
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "not_found", "No such listing or unit");
    if (rc == ROAM_ENOMEM) return unavailable(req, "Memory");
    if (rc != 0) return unavailable(req, "The database");
    return respond_text(req, 200, json);
}
