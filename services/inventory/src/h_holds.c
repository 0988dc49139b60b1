/*
 * /internal/holds: the units the booking service holds for a booking, and
 * their release or confirmation. Only other services reach these routes
 * (X-Roam-Internal); the contract is docs/internal-api.md.
 */
#include "inventory.h"

#include <roam/common.h>
#include <roam/http.h>

#include <stdlib.h>
#include <string.h>

static int unavailable(roam_req_t *req, const char *what) {
    return roam_respond_problem(req, "upstream_unavailable", "%s is unreachable; try again", what);
}

static int respond_text(roam_req_t *req, int status, char *json) {
    return roam_respond_raw(req, status, "application/json", json, strlen(json));
}

/* A UUID member into out (37 bytes); adds its error. */
static void uuid_member(json_t *body, const char *name, json_t *errors, char out[37]) {
    json_t *v = json_object_get(body, name);
    out[0] = '\0';
    if (v == NULL)
        roam_field_error(errors, name, "is required");
    else if (!json_is_string(v) || !roam_uuid_valid(json_string_value(v)))
        roam_field_error(errors, name, "must be a UUID");
    else
        memcpy(out, json_string_value(v), ROAM_UUID_LEN + 1);
}

/* A date member into *out; adds its error. 1 when valid. */
static int date_member(json_t *body, const char *name, json_t *errors, inv_date_t *out) {
    json_t *v = json_object_get(body, name);
    if (v == NULL) {
        roam_field_error(errors, name, "is required");
        return 0;
    }
    if (!json_is_string(v) || inv_date_parse(json_string_value(v), out) != 0) {
        roam_field_error(errors, name, "must be a date (YYYY-MM-DD) that exists");
        return 0;
    }
    return 1;
}

/* An integer member (default def when absent) into *out; a non-integer becomes 0, which inv_stay_check refuses. */
static void int_member(json_t *body, const char *name, long def, long *out) {
    json_t *v = json_object_get(body, name);
    if (v == NULL) {
        *out = def;
        return;
    }
    json_int_t i = json_is_integer(v) ? json_integer_value(v) : 0;
    *out = (i < 0 || i > 1000000) ? 0 : (long)i;
}

/*
 * The optional expires_at member (the booking's hold expiry, for the orphan
 * safety net): RFC 3339 UTC to the second, "2026-05-01T12:00:00Z".
 */
static void expires_member(json_t *body, json_t *errors, char out[21]) {
    json_t *v = json_object_get(body, "expires_at");
    out[0] = '\0';
    if (v == NULL || json_is_null(v)) return;
    const char *s = json_string_value(v);
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    int ok = s != NULL && strlen(s) == 20;
    for (int i = 0; ok && i < 20; i++)
        ok = shape[i] == 'd' ? (s[i] >= '0' && s[i] <= '9') : s[i] == shape[i];
    int y = ok ? atoi(s) : 0, mo = ok ? atoi(s + 5) : 0, d = ok ? atoi(s + 8) : 0;
    int h = ok ? atoi(s + 11) : 0, mi = ok ? atoi(s + 14) : 0, se = ok ? atoi(s + 17) : 0;
    static const int dim[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (ok && (mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1] || (mo == 2 && d == 29 && !leap))) ok = 0;
    if (!ok || y < 1 || h > 23 || mi > 59 || se > 59) {
        roam_field_error(errors, "expires_at", "must be an RFC 3339 UTC timestamp, YYYY-MM-DDTHH:MM:SSZ");
        return;
    }
    memcpy(out, s, 21);
}

int h_holds_create(roam_req_t *req) {
    json_t *body = roam_req_json(req);
    json_t *errors = json_array();
    inv_hold_input_t in;
    memset(&in, 0, sizeof(in));
    uuid_member(body, "hold_id", errors, in.hold_id);
    uuid_member(body, "listing_id", errors, in.listing_id);
    uuid_member(body, "unit_id", errors, in.unit_id);
    int dates_ok = date_member(body, "check_in", errors, &in.stay.check_in);
    dates_ok &= date_member(body, "check_out", errors, &in.stay.check_out);
    int_member(body, "guests", 1, &in.stay.guests);
    int_member(body, "quantity", 1, &in.stay.quantity);
    inv_stay_check(&in.stay, dates_ok, errors);
    expires_member(body, errors, in.expires_at);
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) {
        json_decref(errors);
        return unavailable(req, "The database");
    }
    char *json = NULL;
    int max_guests = 0;
    int rc = store_hold_create(c, &in, &json, &max_guests);
    switch (rc) {
    case HOLD_CREATED: json_decref(errors); return respond_text(req, 201, json);
    case HOLD_REPLAYED: json_decref(errors); return respond_text(req, 200, json);
    case HOLD_MISMATCH:
        json_decref(errors);
        free(json);
        return roam_respond_problem(
            req, "hold_mismatch", "Hold %s exists with other parameters; use a new hold_id for a new hold", in.hold_id);
    case HOLD_TOO_MANY_GUESTS:
        roam_field_error(errors, "guests", "must be at most %ld (%d per unit, %ld units)",
                         (long)max_guests * in.stay.quantity, max_guests, in.stay.quantity);
        return roam_respond_invalid(req, errors);
    default: break;
    }
    json_decref(errors);
    switch (rc) {
    case HOLD_SOLD_OUT:
        return roam_respond_problem(req, "sold_out", "Not enough units are open for every night of this stay");
    case HOLD_NO_LISTING: return roam_respond_problem(req, "not_found", "No such listing");
    case HOLD_NO_UNIT: return roam_respond_problem(req, "not_found", "No such unit");
    case ROAM_ENOMEM: return unavailable(req, "Memory");
    default: return unavailable(req, "The database");
    }
}

int h_holds_get(roam_req_t *req) {
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    char *json = NULL;
    int rc = store_hold_get(c, roam_req_param(req, "id"), &json);
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "not_found", "No such hold");
    if (rc == ROAM_ENOMEM) return unavailable(req, "Memory");
    if (rc != 0) return unavailable(req, "The database");
    return respond_text(req, 200, json);
}

/* Answers a release or confirmation outcome. */
static int respond_move(roam_req_t *req, int rc, char *json) {
    switch (rc) {
    case HOLD_OK: return respond_text(req, 200, json);
    case HOLD_IS_RELEASED:
        free(json);
        return roam_respond_problem(req, "hold_released", "The hold was released; its units are for sale again");
    case HOLD_NOT_FOUND: return roam_respond_problem(req, "not_found", "No such hold");
    case ROAM_ENOMEM: return unavailable(req, "Memory");
    default: return unavailable(req, "The database");
    }
}

int h_holds_release(roam_req_t *req) {
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    char *json = NULL;
    int rc = store_hold_release(c, roam_req_param(req, "id"), &json);
    return respond_move(req, rc, json);
}

int h_holds_confirm(roam_req_t *req) {
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    char *json = NULL;
    int rc = store_hold_confirm(c, roam_req_param(req, "id"), &json);
    return respond_move(req, rc, json);
}
