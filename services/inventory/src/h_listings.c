/*
 * /listings (create, get, change, archive), /operator/listings and
 * /internal/listings/{id}. Another operator's listing answers 404, exactly as
 * a listing that does not exist.
 */
#include "inventory.h"

#include <roam/common.h>
#include <roam/http.h>

#include <stdlib.h>
#include <string.h>

static int unavailable(roam_req_t *req, const char *what) {
    return roam_respond_problem(req, "upstream_unavailable", "%s is unreachable; try again", what);
}

/* Answers status with JSON text made by a store function (stolen). */
static int respond_text(roam_req_t *req, int status, char *json) {
    return roam_respond_raw(req, status, "application/json", json, strlen(json));
}

static void cleanup_input(void *in) { inv_listing_input_cleanup(in); }

/*
 * Reads and checks a listing body (partial for PATCH), the time zone against
 * PostgreSQL's list included. Returns 0 with *out filled (freed with the
 * request), or the status of the answer already given (422, 503).
 */
static int read_listing(roam_req_t *req, roam_dbconn_t *c, int partial, inv_listing_input_t **out) {
    inv_listing_input_t *in = roam_req_alloc(req, sizeof(*in));
    json_t *errors = json_array();
    if (in == NULL || errors == NULL || roam_req_defer(req, cleanup_input, in) != 0) {
        json_decref(errors);
        return unavailable(req, "Memory");
    }
    memset(in, 0, sizeof(*in));
    if (inv_listing_input_parse(roam_req_json(req), partial, in, errors) != 0) {
        json_decref(errors);
        return unavailable(req, "Memory");
    }
    if (in->timezone != NULL) {
        char canonical[64];
        int rc = store_timezone_canonical(c, in->timezone, canonical);
        if (rc == ROAM_ENOTFOUND) {
            roam_field_error(errors, "timezone",
                             "is not a time zone PostgreSQL knows (IANA names such as "
                             "\"Europe/Paris\")");
        } else if (rc != 0) {
            json_decref(errors);
            return unavailable(req, "The database");
        } else {
            free(in->timezone);
            in->timezone = roam_trystrdup(canonical);
            if (in->timezone == NULL) {
                json_decref(errors);
                return unavailable(req, "Memory");
            }
        }
    }
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);
    *out = in;
    return 0;
}

/* The caller's id (an operator's), or NULL with 403 answered when the token's subject is not a user id. */
static const char *operator_id(roam_req_t *req) {
    const roam_claims_t *claims = roam_req_claims(req);
    if (claims == NULL || !roam_uuid_valid(claims->sub)) {
        roam_respond_problem(req, "forbidden", "This token does not name an operator");
        return NULL;
    }
    return claims->sub;
}

int h_listings_create(roam_req_t *req) {
    const char *op = operator_id(req);
    if (op == NULL) return 403;
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    inv_listing_input_t *in = NULL;
    int status = read_listing(req, c, 0, &in);
    if (status != 0) return status;
    char *json = NULL;
    int rc = store_listing_create(c, op, in, &json);
    if (rc == ROAM_ENOMEM) return unavailable(req, "Memory");
    if (rc != 0) return unavailable(req, "The database");
    return respond_text(req, 201, json);
}

/* GET of one listing for anyone (public and internal routes). */
static int get_listing(roam_req_t *req) {
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    char *json = NULL;
    int rc = store_listing_get(c, roam_req_param(req, "id"), NULL, &json);
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "not_found", "No such listing");
    if (rc == ROAM_ENOMEM) return unavailable(req, "Memory");
    if (rc != 0) return unavailable(req, "The database");
    return respond_text(req, 200, json);
}

int h_listings_get(roam_req_t *req) { return get_listing(req); }

int h_listings_internal(roam_req_t *req) { return get_listing(req); }

int h_listings_update(roam_req_t *req) {
    const char *op = operator_id(req);
    if (op == NULL) return 403;
    const char *id = roam_req_param(req, "id");
    if (!roam_uuid_valid(id)) return roam_respond_problem(req, "not_found", "No such listing");
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    inv_listing_input_t *in = NULL;
    int status = read_listing(req, c, 1, &in);
    if (status != 0) return status;
    char *json = NULL;
    int rc = store_listing_update(c, id, op, in, &json);
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "not_found", "No such listing");
    if (rc == ROAM_ECONFLICT) {
        json_t *errors = json_array();
        roam_field_error(errors, "currency",
                         "cannot change once the listing has units: their prices are in the current currency");
        return roam_respond_invalid(req, errors);
    }
    if (rc == ROAM_ENOMEM) return unavailable(req, "Memory");
    if (rc != 0) return unavailable(req, "The database");
    return respond_text(req, 200, json);
}

int h_listings_archive(roam_req_t *req) {
    const char *op = operator_id(req);
    if (op == NULL) return 403;
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    int rc = store_listing_archive(c, roam_req_param(req, "id"), op);
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "not_found", "No such listing");
    if (rc != 0) return unavailable(req, "The database");
    return roam_respond_empty(req, 204);
}

int h_listings_mine(roam_req_t *req) {
    const char *op = operator_id(req);
    if (op == NULL) return 403;
    json_t *errors = json_array();
    long limit = INV_PAGE_DEFAULT;
    const char *s = inv_query(req, "limit");
    if (s != NULL && inv_int_parse(s, 1, INV_PAGE_MAX, &limit) != 0)
        roam_field_error(errors, "limit", "must be an integer from 1 to %d", INV_PAGE_MAX);
    inv_cursor_t pos;
    const char *cursor = inv_query(req, "cursor");
    if (cursor != NULL && inv_cursor_decode(cursor, &pos) != 0)
        roam_field_error(errors, "cursor", "must be a next_cursor from an earlier page");
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    char *json = NULL;
    int rc = store_listing_page(c, op, limit, cursor ? &pos : NULL, &json);
    if (rc == ROAM_ENOMEM) return unavailable(req, "Memory");
    if (rc != 0) return unavailable(req, "The database");
    return respond_text(req, 200, json);
}
