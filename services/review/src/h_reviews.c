/*
 * /listings/{id}/reviews and /reviews/{id}: submit, list, reply, hide.
 *
 * Eligibility is the booking service's word at submission time (GET
 * /internal/bookings/{id}): the booking must be the caller's, of this
 * listing, and completed. The review service does not know listings: an
 * unknown listing simply has no reviews.
 */
#include "review.h"

#include <roam/common.h>
#include <roam/http.h>
#include <roam/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_LIMIT_DEFAULT 20
#define LIST_LIMIT_MAX     100

/* ---- answers ---- */

static int unavailable(roam_req_t *req, const char *what) {
    return roam_respond_problem(req, "upstream_unavailable", "%s is unreachable; try again", what);
}

/*
 * Answers status with doc (stolen). Reals are written with 15 significant
 * digits, so an average of 4.3 reads 4.3 rather than 4.2999999999999998.
 */
static int respond_doc(roam_req_t *req, int status, json_t *doc) {
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(doc);
    if (text == NULL) return unavailable(req, "Memory");
    return roam_respond_raw(req, status, "application/json", text, strlen(text));
}

/* Answers a store failure other than the ones the caller handles. */
static int store_failed(roam_req_t *req, int rc) {
    return unavailable(req, rc == ROAM_ENOMEM ? "Memory" : "The database");
}

/* ---- input ---- */

/*
 * The text member name of body, trimmed, checked for 1..max characters and
 * control characters (multiline allows tab and line breaks). Returns a
 * NUL-terminated copy in request memory, or NULL with an error added (or
 * *oom set when memory ran out).
 */
static const char *text_field(roam_req_t *req, json_t *body, const char *name, size_t max, int multiline,
                              json_t *errors, int *oom) {
    json_t *v = json_object_get(body, name);
    if (v == NULL) {
        roam_field_error(errors, name, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        roam_field_error(errors, name, "must be a string");
        return NULL;
    }
    size_t len = json_string_length(v);
    const char *s = roam_trim(json_string_value(v), &len);
    size_t n = roam_utf8_chars(s, len);
    if (n < 1 || n > max) {
        roam_field_error(errors, name, "must be 1 to %zu characters (not only spaces)", max);
        return NULL;
    }
    if (!roam_text_clean(s, len, multiline)) {
        roam_field_error(errors, name,
                         multiline ? "must not contain control characters other than tabs and line breaks"
                                   : "must not contain control characters");
        return NULL;
    }
    char *copy = roam_req_alloc(req, len + 1);
    if (copy == NULL) {
        *oom = 1;
        return NULL;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

/* Parses a whole decimal integer in [min, max]. 0, or -1. */
static int parse_int(const char *s, long min, long max, long *out) {
    if (s[0] < '0' || s[0] > '9' || strlen(s) > 9) return -1;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* A query argument, or NULL when it is absent or empty. */
static const char *query_arg(roam_req_t *req, const char *name) {
    const char *v = roam_req_query(req, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* ---- routes ---- */

int h_reviews_create(roam_req_t *req) {
    const char *listing_id = roam_req_param(req, "id");
    if (!roam_uuid_valid(listing_id)) return roam_respond_problem(req, "not_found", "No such listing");

    json_t *body = roam_req_json(req);
    json_t *errors = json_array();
    int oom = 0;
    json_t *booking = json_object_get(body, "booking_id");
    const char *booking_id = json_string_value(booking);
    if (booking == NULL)
        roam_field_error(errors, "booking_id", "is required");
    else if (booking_id == NULL || !roam_uuid_valid(booking_id))
        roam_field_error(errors, "booking_id", "must be a booking id (a UUID string)");
    json_t *rating = json_object_get(body, "rating");
    if (rating == NULL)
        roam_field_error(errors, "rating", "is required");
    else if (!json_is_integer(rating) || json_integer_value(rating) < 1 || json_integer_value(rating) > 5)
        roam_field_error(errors, "rating", "must be an integer from 1 to 5");
    const char *title = text_field(req, body, "title", REVIEW_TITLE_MAX, 0, errors, &oom);
    const char *text = text_field(req, body, "body", REVIEW_BODY_MAX, 1, errors, &oom);
    if (oom) {
        json_decref(errors);
        return unavailable(req, "Memory");
    }
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    const roam_claims_t *claims = roam_req_claims(req);
    review_booking_t b;
    int rc = review_booking_get(req, booking_id, &b);
    if (rc == ROAM_ETIMEDOUT)
        return roam_respond_problem(req, "upstream_timeout", "The booking service did not answer in time; try again");
    if (rc == ROAM_ENOMEM) return unavailable(req, "Memory");
    if (rc != 0 && rc != ROAM_ENOTFOUND) return unavailable(req, "The booking service");
    /* One answer for every reason, so that other people's booking ids reveal nothing. */
    if (rc == ROAM_ENOTFOUND || strcasecmp(b.user_id, claims->sub) != 0 || strcasecmp(b.listing_id, listing_id) != 0 ||
        strcmp(b.status, "completed") != 0)
        return roam_respond_problem(req, "not_eligible",
                                    "Only your own completed booking of this listing can be reviewed");

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    review_new_t in = {
        .listing_id = b.listing_id,
        .booking_id = booking_id,
        .user_id = b.user_id,
        .operator_id = b.operator_id,
        .author_name = b.guest_name,
        .rating = (int)json_integer_value(rating),
        .title = title,
        .body = text,
    };
    json_t *review = NULL;
    rc = store_review_create(c, &in, &review);
    if (rc == ROAM_ECONFLICT) return roam_respond_problem(req, "already_reviewed", "This booking has a review already");
    if (rc != 0) return store_failed(req, rc);
    return respond_doc(req, 201, review);
}

int h_reviews_list(roam_req_t *req) {
    const char *listing_id = roam_req_param(req, "id");
    if (!roam_uuid_valid(listing_id)) return roam_respond_problem(req, "not_found", "No such listing");

    json_t *errors = json_array();
    review_sort_t sort = REVIEW_SORT_NEWEST;
    const char *s = query_arg(req, "sort");
    if (s != NULL && review_sort_parse(s, &sort) != 0)
        roam_field_error(errors, "sort", "must be newest, rating_desc or rating_asc");
    long limit = LIST_LIMIT_DEFAULT;
    const char *l = query_arg(req, "limit");
    if (l != NULL && parse_int(l, 1, LIST_LIMIT_MAX, &limit) != 0)
        roam_field_error(errors, "limit", "must be an integer from 1 to %d", LIST_LIMIT_MAX);
    review_cursor_t after;
    const char *cur = query_arg(req, "cursor");
    if (cur != NULL && review_cursor_decode(cur, &after) != 0)
        roam_field_error(errors, "cursor", "is not a cursor of this list");
    else if (cur != NULL && after.sort != sort && json_array_size(errors) == 0)
        roam_field_error(errors, "cursor", "belongs to another sort order; start again without it");
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    json_t *items = NULL;
    int more = 0;
    review_cursor_t next;
    review_summary_t sum;
    int rc = store_review_page(c, listing_id, sort, cur ? &after : NULL, (int)limit, &items, &more, &next, &sum);
    if (rc != 0) return store_failed(req, rc);

    char next_text[REVIEW_CURSOR_MAX];
    if (more && review_cursor_encode(&next, next_text) != 0) {
        json_decref(items);
        return roam_respond_problem(req, "internal_error", "The next cursor could not be written");
    }
    json_t *average = sum.count > 0 ? json_real((double)review_average_tenths(sum.sum, sum.count) / 10.0) : json_null();
    json_t *histogram = json_object();
    for (int k = 0; k < 5 && histogram != NULL; k++) {
        char key[2] = {(char)('1' + k), '\0'};
        json_object_set_new(histogram, key, json_integer((json_int_t)sum.histogram[k]));
    }
    json_t *doc = json_pack("{s:o, s:o, s:{s:o*, s:I, s:o*}}", "items", items, "next_cursor",
                            more ? json_string(next_text) : json_null(), "summary", "average", average, "count",
                            (json_int_t)sum.count, "histogram", histogram);
    return respond_doc(req, 200, doc);
}

int h_reviews_reply(roam_req_t *req) {
    const char *id = roam_req_param(req, "id");
    if (!roam_uuid_valid(id)) return roam_respond_problem(req, "not_found", "No such review");
    json_t *errors = json_array();
    int oom = 0;
    const char *text = text_field(req, roam_req_json(req), "body", REVIEW_BODY_MAX, 1, errors, &oom);
    if (oom) {
        json_decref(errors);
        return unavailable(req, "Memory");
    }
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    json_t *review = NULL;
    int rc = store_review_reply(c, id, roam_req_claims(req)->sub, text, &review);
    /* Another operator's review answers like a missing one, so ids leak nothing. */
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "not_found", "No such review");
    if (rc == ROAM_ECONFLICT) return roam_respond_problem(req, "already_replied", "This review has a reply already");
    if (rc != 0) return store_failed(req, rc);
    return respond_doc(req, 200, review);
}

int h_reviews_hide(roam_req_t *req) {
    const char *id = roam_req_param(req, "id");
    if (!roam_uuid_valid(id)) return roam_respond_problem(req, "not_found", "No such review");
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    json_t *review = NULL;
    int rc = store_review_hide(c, id, &review);
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "not_found", "No such review");
    if (rc != 0) return store_failed(req, rc);
    return respond_doc(req, 200, review);
}
