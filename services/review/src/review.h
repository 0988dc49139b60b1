/*
 * The review service's private interfaces: one section per source file.
 * Handlers are h_<resource>_<verb> in h_<resource>.c; SQL lives in
 * store_review.c. Paths in comments are the service's own (the gateway adds
 * /api/v1).
 */
#ifndef ROAM_REVIEW_H
#define ROAM_REVIEW_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <roam/common.h>
#include <roam/daemon.h>
#include <roam/db.h>
#include <roam/http.h>
#include <roam/text.h>

#define REVIEW_TOPIC "reviews"

/* ---- h_reviews.c: the route handlers (table in main.c) -------------------- */

int h_reviews_create(roam_req_t *req); /* POST /listings/{id}/reviews (traveller) */
int h_reviews_list(roam_req_t *req);   /* GET  /listings/{id}/reviews */
int h_reviews_reply(roam_req_t *req);  /* POST /reviews/{id}/reply (the listing's operator) */
int h_reviews_hide(roam_req_t *req);   /* POST /reviews/{id}/hide (admin) */

/* ---- validate.c: pure checks of what clients send ------------------------- */

#define REVIEW_TITLE_MAX 120  /* characters */
#define REVIEW_BODY_MAX  5000 /* characters, for review and reply bodies */

/*
 * The average of count ratings summing to sum, in tenths, rounded half up
 * (4.25 gives 43). count must be positive.
 */
long review_average_tenths(long long sum, long long count);

/* ---- cursor.c: the opaque keyset cursor of GET /listings/{id}/reviews ------ */

typedef enum { REVIEW_SORT_NEWEST = 0, REVIEW_SORT_RATING_DESC, REVIEW_SORT_RATING_ASC } review_sort_t;

/* The sort named s ("newest", "rating_desc", "rating_asc"): 0, or ROAM_EINVAL. */
int review_sort_parse(const char *s, review_sort_t *out);

/* The position after the last review of a page. */
typedef struct {
    review_sort_t sort;
    int rating;         /* 1..5 */
    int64_t created_us; /* created_at in microseconds since the epoch */
    char id[ROAM_UUID_LEN + 1];
} review_cursor_t;

#define REVIEW_CURSOR_MAX 256 /* an encoded cursor fits, with its NUL */

/* Encodes cur as URL-safe text into out. 0, or ROAM_EINVAL if it does not fit. */
int review_cursor_encode(const review_cursor_t *cur, char out[REVIEW_CURSOR_MAX]);
/*
 * Decodes a cursor made by review_cursor_encode. 0, or ROAM_EINVAL for
 * anything else (a cursor of another sort decodes: the caller compares).
 */
int review_cursor_decode(const char *text, review_cursor_t *out);

/* ---- booking_client.c: the booking service's internal lookup --------------- */

/* What the review service needs to know about a booking. */
typedef struct {
    char user_id[ROAM_UUID_LEN + 1];
    char listing_id[ROAM_UUID_LEN + 1];
    char operator_id[ROAM_UUID_LEN + 1];
    char status[32];
    char *guest_name; /* request memory */
} review_booking_t;

/* Reads ROAM_BOOKING_TIMEOUT_MS and the internal secret. Exits on bad values. */
int review_booking_client_init(roam_daemon_t *d, char *errbuf, size_t errlen);
/*
 * Asks the booking service (GET /internal/bookings/{id}) about booking_id.
 * 0 with *out filled, ROAM_ENOTFOUND when it has no such booking,
 * ROAM_ETIMEDOUT when it did not answer in time, ROAM_EUNAVAIL when it could
 * not be reached or answered something else, or ROAM_ENOMEM.
 */
int review_booking_get(roam_req_t *req, const char *booking_id, review_booking_t *out);

/* ---- store_review.c: the reviews and listing_ratings tables ---------------- */

typedef struct {
    const char *listing_id;
    const char *booking_id;
    const char *user_id;
    const char *operator_id;
    const char *author_name;
    int rating;
    const char *title; /* trimmed, NUL-terminated */
    const char *body;
} review_new_t;

/*
 * Inserts a review, adds it to its listing's totals and queues
 * review.created, in one transaction. 0 with *out (new: the review object),
 * ROAM_ECONFLICT when the booking has a review already, or ROAM_EIO.
 */
int store_review_create(roam_dbconn_t *c, const review_new_t *in, json_t **out);

/*
 * Sets the reply of a visible review of operator_id's, once, and queues
 * review.replied. 0 with *out (new), ROAM_ENOTFOUND (no such visible review
 * of this operator), ROAM_ECONFLICT (it has a reply already), or ROAM_EIO.
 */
int store_review_reply(roam_dbconn_t *c, const char *id, const char *operator_id, const char *body, json_t **out);

/*
 * Hides a review (a no-op when hidden already): it leaves its listing's
 * totals and review.hidden is queued, in one transaction. 0 with *out (new),
 * ROAM_ENOTFOUND, or ROAM_EIO.
 */
int store_review_hide(roam_dbconn_t *c, const char *id, json_t **out);

typedef struct {
    long long count, sum;
    long long histogram[5]; /* ratings 1..5 */
} review_summary_t;

/*
 * One page of listing_id's visible reviews in sort order after `after` (NULL
 * for the first page), and the summary, read in one snapshot. 0 with *items
 * (new array), *more (1 when reviews follow; *next then holds the last
 * item's position) and *summary; or ROAM_EIO.
 */
int store_review_page(roam_dbconn_t *c, const char *listing_id, review_sort_t sort, const review_cursor_t *after,
                      int limit, json_t **items, int *more, review_cursor_t *next, review_summary_t *summary);

#endif
