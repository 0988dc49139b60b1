/*
 * The reviews and listing_ratings tables (migrations/0001_reviews.sql) and
 * the review events, written to the outbox in the transaction of the change.
 *
 * Event data: {review_id, listing_id, rating, listing_rating: {count, sum,
 * version}} for review.created and review.hidden, where listing_rating is
 * the listing's totals over visible reviews after the change, read from the
 * listing_ratings row the same transaction updated. That UPDATE locks the
 * row until commit, so a listing's events enter the outbox, and leave it, in
 * version order. review.replied carries {review_id, listing_id, user_id,
 * replied_at} and changes no totals.
 */
#include "review.h"

#include <roam/log.h>
#include <roam/outbox.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The columns of a review object, in the order review_json reads them. */
#define REVIEW_COLUMNS                                                                                                 \
    "id, listing_id, booking_id, user_id, author_name, rating, title, body, reply_body, " RFC3339(                     \
        "replied_at") " AS replied_text, " RFC3339("created_at") " AS created_text"
#define REVIEW_NCOLUMNS 11

/* The review object of row i of r, whose columns from first on are REVIEW_COLUMNS. Returns new, or NULL. */
static json_t *review_json(PGresult *r, int i, int first) {
    const char *v[REVIEW_NCOLUMNS];
    for (int k = 0; k < REVIEW_NCOLUMNS; k++)
        v[k] = PQgetvalue(r, i, first + k);
    json_t *reply =
        PQgetisnull(r, i, first + 8) ? json_null() : json_pack("{s:s, s:s}", "body", v[8], "created_at", v[9]);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:o*, s:s}", "id", v[0], "listing_id", v[1],
                     "booking_id", v[2], "user_id", v[3], "author_name", v[4], "rating", atoi(v[5]), "title", v[6],
                     "body", v[7], "reply", reply, "created_at", v[10]);
}

/* Rolls back c's transaction and returns rc. */
static int fail(roam_dbconn_t *c, int rc) {
    roam_db_rollback(c);
    return rc;
}

/*
 * Queues event type for review_id of listing_id with the totals in row 0 of
 * totals (count, sum, version). 0 or a negative ROAM_E* code.
 */
static int add_rating_event(roam_dbconn_t *c, const char *type, const char *review_id, const char *listing_id,
                            int rating, PGresult *totals) {
    json_t *data =
        json_pack("{s:s, s:s, s:i, s:{s:I, s:I, s:I}}", "review_id", review_id, "listing_id", listing_id, "rating",
                  rating, "listing_rating", "count", (json_int_t)strtoll(PQgetvalue(totals, 0, 0), NULL, 10), "sum",
                  (json_int_t)strtoll(PQgetvalue(totals, 0, 1), NULL, 10), "version",
                  (json_int_t)strtoll(PQgetvalue(totals, 0, 2), NULL, 10));
    if (data == NULL) return ROAM_ENOMEM;
    int rc = roam_outbox_add(c, REVIEW_TOPIC, type, listing_id, review_id, data, NULL);
    json_decref(data);
    return rc;
}

int store_review_create(roam_dbconn_t *c, const review_new_t *in, json_t **out) {
    char id[ROAM_UUID_LEN + 1], rating[4];
    roam_uuid_v7(id);
    snprintf(rating, sizeof(rating), "%d", in->rating);
    if (roam_db_begin(c) != 0) return ROAM_EIO;

    /* The unique booking_id decides between racing submissions: no read first. */
    const char *p[] = {id,     in->listing_id, in->booking_id, in->user_id, in->operator_id, in->author_name,
                       rating, in->title,      in->body};
    PGresult *r = roam_db_query(c,
                                "INSERT INTO reviews (id, listing_id, booking_id, user_id, operator_id, author_name, "
                                "rating, title, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                                "RETURNING " REVIEW_COLUMNS,
                                9, p);
    if (r == NULL) return fail(c, strcmp(roam_db_sqlstate(c), "23505") == 0 ? ROAM_ECONFLICT : ROAM_EIO);
    json_t *review = PQntuples(r) == 1 ? review_json(r, 0, 0) : NULL;
    PQclear(r);
    if (review == NULL) return fail(c, ROAM_EIO);

    const char *q[] = {in->listing_id, rating};
    PGresult *t = roam_db_query(
        c,
        "INSERT INTO listing_ratings AS lr (listing_id, count, sum, n1, n2, n3, n4, n5, version) "
        "VALUES ($1, 1, $2::int, ($2::int = 1)::int, ($2::int = 2)::int, ($2::int = 3)::int, ($2::int = 4)::int, "
        "($2::int = 5)::int, 1) "
        "ON CONFLICT (listing_id) DO UPDATE SET count = lr.count + 1, sum = lr.sum + $2::int, "
        "n1 = lr.n1 + ($2::int = 1)::int, n2 = lr.n2 + ($2::int = 2)::int, n3 = lr.n3 + ($2::int = 3)::int, "
        "n4 = lr.n4 + ($2::int = 4)::int, n5 = lr.n5 + ($2::int = 5)::int, version = lr.version + 1, "
        "updated_at = now() RETURNING count, sum, version",
        2, q);
    int rc = t != NULL && PQntuples(t) == 1 ? 0 : ROAM_EIO;
    if (rc == 0) rc = add_rating_event(c, "review.created", id, in->listing_id, in->rating, t);
    PQclear(t);
    if (rc == 0) rc = roam_db_commit(c) == 0 ? 0 : ROAM_EIO;
    if (rc != 0) {
        json_decref(review);
        return fail(c, rc == ROAM_ENOMEM ? rc : ROAM_EIO);
    }
    *out = review;
    return 0;
}

int store_review_reply(roam_dbconn_t *c, const char *id, const char *operator_id, const char *body, json_t **out) {
    if (!roam_uuid_valid(id)) return ROAM_ENOTFOUND;
    if (roam_db_begin(c) != 0) return ROAM_EIO;
    /* The WHERE clause decides a race between two replies: the second finds reply_body set. */
    const char *p[] = {id, operator_id, body};
    PGresult *r = roam_db_query(c,
                                "UPDATE reviews SET reply_body = $3, replied_at = now(), updated_at = now() "
                                "WHERE id = $1 AND operator_id = $2 AND hidden_at IS NULL AND reply_body IS NULL "
                                "RETURNING " REVIEW_COLUMNS,
                                3, p);
    if (r == NULL) return fail(c, ROAM_EIO);
    if (PQntuples(r) == 0) {
        PQclear(r);
        PGresult *e = roam_db_query(c,
                                    "SELECT reply_body IS NOT NULL FROM reviews "
                                    "WHERE id = $1 AND operator_id = $2 AND hidden_at IS NULL",
                                    2, p);
        if (e == NULL) return fail(c, ROAM_EIO);
        int rc = PQntuples(e) == 1 && PQgetvalue(e, 0, 0)[0] == 't' ? ROAM_ECONFLICT : ROAM_ENOTFOUND;
        PQclear(e);
        return fail(c, rc);
    }
    json_t *review = review_json(r, 0, 0);
    PQclear(r);
    if (review == NULL) return fail(c, ROAM_ENOMEM);

    const char *listing_id = json_string_value(json_object_get(review, "listing_id"));
    json_t *data = json_pack("{s:s, s:s, s:O, s:O}", "review_id", id, "listing_id", listing_id, "user_id",
                             json_object_get(review, "user_id"), "replied_at",
                             json_object_get(json_object_get(review, "reply"), "created_at"));
    int rc = data ? roam_outbox_add(c, REVIEW_TOPIC, "review.replied", listing_id, id, data, NULL) : ROAM_ENOMEM;
    json_decref(data);
    if (rc == 0) rc = roam_db_commit(c) == 0 ? 0 : ROAM_EIO;
    if (rc != 0) {
        json_decref(review);
        return fail(c, rc == ROAM_ENOMEM ? rc : ROAM_EIO);
    }
    *out = review;
    return 0;
}

int store_review_hide(roam_dbconn_t *c, const char *id, json_t **out) {
    if (!roam_uuid_valid(id)) return ROAM_ENOTFOUND;
    if (roam_db_begin(c) != 0) return ROAM_EIO;
    /* Only the first hide changes anything: a concurrent second one waits for the row and then matches nothing. */
    const char *p[] = {id};
    PGresult *h = roam_db_query(c,
                                "UPDATE reviews SET hidden_at = now(), updated_at = now() "
                                "WHERE id = $1 AND hidden_at IS NULL RETURNING listing_id, rating",
                                1, p);
    if (h == NULL) return fail(c, ROAM_EIO);
    int rc = 0;
    if (PQntuples(h) == 1) {
        const char *q[] = {PQgetvalue(h, 0, 0), PQgetvalue(h, 0, 1)};
        PGresult *t = roam_db_query(
            c,
            "UPDATE listing_ratings SET count = count - 1, sum = sum - $2::int, n1 = n1 - ($2::int = 1)::int, "
            "n2 = n2 - ($2::int = 2)::int, n3 = n3 - ($2::int = 3)::int, n4 = n4 - ($2::int = 4)::int, "
            "n5 = n5 - ($2::int = 5)::int, version = version + 1, updated_at = now() "
            "WHERE listing_id = $1 RETURNING count, sum, version",
            2, q);
        rc = t != NULL && PQntuples(t) == 1 ? 0 : ROAM_EIO;
        if (rc == 0) rc = add_rating_event(c, "review.hidden", id, q[0], atoi(q[1]), t);
        PQclear(t);
    }
    PQclear(h);
    if (rc != 0) return fail(c, rc == ROAM_ENOMEM ? rc : ROAM_EIO);

    PGresult *r = roam_db_query(c, "SELECT " REVIEW_COLUMNS " FROM reviews WHERE id = $1", 1, p);
    if (r == NULL) return fail(c, ROAM_EIO);
    if (PQntuples(r) == 0) {
        PQclear(r);
        return fail(c, ROAM_ENOTFOUND);
    }
    json_t *review = review_json(r, 0, 0);
    PQclear(r);
    if (review == NULL) return fail(c, ROAM_ENOMEM);
    if (roam_db_commit(c) != 0) {
        json_decref(review);
        return fail(c, ROAM_EIO);
    }
    *out = review;
    return 0;
}

/*
 * Per sort: the ORDER BY of a page and the condition "after the cursor",
 * whose position is the row cur (c_rating, c_ts, c_id). Within one rating
 * the newest come first; id breaks ties.
 */
typedef struct {
    const char *order;
    const char *after;
} sort_sql_t;

static const sort_sql_t sorts[] = {
    [REVIEW_SORT_NEWEST] = {"created_at DESC, id DESC", "(created_at, id) < (c_ts, c_id)"},
    [REVIEW_SORT_RATING_DESC] = {"rating DESC, created_at DESC, id DESC",
                                 "(rating, created_at, id) < (c_rating, c_ts, c_id)"},
    [REVIEW_SORT_RATING_ASC] = {"rating ASC, created_at DESC, id DESC",
                                "(rating > c_rating OR (rating = c_rating AND (created_at, id) < (c_ts, c_id)))"},
};

/* The cursor's position as a one-row table ($3 rating, $4 created_at in microseconds, $5 id). */
#define CURSOR_CTE                                                                                                     \
    "cur AS (SELECT $3::int AS c_rating, timestamptz 'epoch' + $4::bigint * interval '1 microsecond' AS c_ts, "        \
    "$5::uuid AS c_id), "

int store_review_page(roam_dbconn_t *c, const char *listing_id, review_sort_t sort, const review_cursor_t *after,
                      int limit, json_t **items, int *more, review_cursor_t *next, review_summary_t *summary) {
    const sort_sql_t *s = &sorts[sort];
    /*
     * One statement, so one snapshot: the page and the summary agree. The
     * summary row joins every page row, and stands alone when the page is
     * empty. limit + 1 rows are read to learn whether more follow.
     */
    char sql[2048];
    int n = snprintf(sql, sizeof(sql),
                     "WITH %spage AS ("
                     " SELECT r.*, row_number() OVER (ORDER BY %s) AS ord FROM ("
                     "  SELECT " REVIEW_COLUMNS ", created_at, (extract(epoch FROM created_at) * 1000000)::bigint AS us"
                     "  FROM reviews%s WHERE listing_id = $1 AND hidden_at IS NULL%s%s ORDER BY %s LIMIT $2) r) "
                     "SELECT p.id, p.listing_id, p.booking_id, p.user_id, p.author_name, p.rating, p.title, p.body,"
                     " p.reply_body, p.replied_text, p.created_text, p.us, coalesce(s.count, 0), coalesce(s.sum, 0),"
                     " coalesce(s.n1, 0), coalesce(s.n2, 0), coalesce(s.n3, 0), coalesce(s.n4, 0), coalesce(s.n5, 0) "
                     "FROM (VALUES (1)) AS one (x) LEFT JOIN listing_ratings s ON s.listing_id = $1 "
                     "LEFT JOIN page p ON true ORDER BY p.ord",
                     after ? CURSOR_CTE : "", s->order, after ? ", cur" : "", after ? " AND " : "",
                     after ? s->after : "", s->order);
    if (n < 0 || (size_t)n >= sizeof(sql)) return ROAM_EIO;

    char lim[16], rating[4], us[24];
    snprintf(lim, sizeof(lim), "%d", limit + 1);
    if (after) {
        snprintf(rating, sizeof(rating), "%d", after->rating);
        snprintf(us, sizeof(us), "%lld", (long long)after->created_us);
    }
    const char *p[] = {listing_id, lim, rating, us, after ? after->id : NULL};
    PGresult *r = roam_db_query(c, sql, after ? 5 : 2, p);
    if (r == NULL) return ROAM_EIO;
    int rows = PQntuples(r);
    if (rows < 1) {
        PQclear(r);
        return ROAM_EIO;
    }
    summary->count = strtoll(PQgetvalue(r, 0, 12), NULL, 10);
    summary->sum = strtoll(PQgetvalue(r, 0, 13), NULL, 10);
    for (int k = 0; k < 5; k++)
        summary->histogram[k] = strtoll(PQgetvalue(r, 0, 14 + k), NULL, 10);

    int reviews = PQgetisnull(r, 0, 0) ? 0 : rows;
    *more = reviews > limit;
    if (*more) reviews = limit;
    json_t *arr = json_array();
    int rc = arr ? 0 : ROAM_ENOMEM;
    for (int i = 0; i < reviews && rc == 0; i++)
        if (json_array_append_new(arr, review_json(r, i, 0)) != 0) rc = ROAM_ENOMEM;
    if (rc == 0 && *more) {
        next->sort = sort;
        next->rating = atoi(PQgetvalue(r, reviews - 1, 5));
        next->created_us = strtoll(PQgetvalue(r, reviews - 1, 11), NULL, 10);
        snprintf(next->id, sizeof(next->id), "%s", PQgetvalue(r, reviews - 1, 0));
    }
    PQclear(r);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *items = arr;
    return 0;
}
