/*
 * The keyset cursor of GET /listings/{id}/reviews: base64url of a small JSON
 * object {"s": sort, "r": rating, "t": created_at in microseconds, "i": id},
 * the sort key of the last review of a page. It is opaque to clients but not
 * secret: a forged one can only choose where a page starts.
 */
#include "review.h"

#include <roam/codec.h>

#include <stdio.h>
#include <string.h>

static const char *const sort_names[] = {"newest", "rating_desc", "rating_asc"};

/* Timestamps PostgreSQL's timestamptz can hold and an interval can reach from the epoch: up to year 9999. */
#define CURSOR_MAX_US 253402300799999999LL

int review_sort_parse(const char *s, review_sort_t *out) {
    for (size_t i = 0; i < ROAM_ARRAY_LEN(sort_names); i++)
        if (strcmp(s, sort_names[i]) == 0) {
            *out = (review_sort_t)i;
            return 0;
        }
    return ROAM_EINVAL;
}

int review_cursor_encode(const review_cursor_t *cur, char out[REVIEW_CURSOR_MAX]) {
    char text[160];
    int n = snprintf(text, sizeof(text), "{\"s\":\"%s\",\"r\":%d,\"t\":%lld,\"i\":\"%s\"}", sort_names[cur->sort],
                     cur->rating, (long long)cur->created_us, cur->id);
    if (n < 0 || (size_t)n >= sizeof(text) || ROAM_B64URL_LEN((size_t)n) > REVIEW_CURSOR_MAX) return ROAM_EINVAL;
    roam_b64url_encode((const unsigned char *)text, (size_t)n, out);
    return 0;
}

int review_cursor_decode(const char *text, review_cursor_t *out) {
    size_t len = strlen(text);
    if (len == 0 || len >= REVIEW_CURSOR_MAX) return ROAM_EINVAL;
    unsigned char raw[REVIEW_CURSOR_MAX];
    long n = roam_b64url_decode(text, len, raw, sizeof(raw));
    if (n <= 0) return ROAM_EINVAL;
    json_t *doc = json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    int rc = ROAM_EINVAL;
    json_t *s = json_object_get(doc, "s"), *r = json_object_get(doc, "r"), *t = json_object_get(doc, "t"),
           *i = json_object_get(doc, "i");
    if (json_is_object(doc) && json_object_size(doc) == 4 && json_is_string(s) && json_is_integer(r) &&
        json_is_integer(t) && json_is_string(i) && review_sort_parse(json_string_value(s), &out->sort) == 0 &&
        json_integer_value(r) >= 1 && json_integer_value(r) <= 5 && json_integer_value(t) >= 0 &&
        json_integer_value(t) <= CURSOR_MAX_US && roam_uuid_valid(json_string_value(i))) {
        out->rating = (int)json_integer_value(r);
        out->created_us = (int64_t)json_integer_value(t);
        snprintf(out->id, sizeof(out->id), "%s", json_string_value(i));
        rc = 0;
    }
    json_decref(doc);
    return rc;
}
