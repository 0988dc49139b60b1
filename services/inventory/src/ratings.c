/*
 * Listing ratings from the review service's events (topic "reviews",
 * consumer group "inventory.ratings").
 *
 * review.created and review.hidden carry the listing's totals after the
 * change, {listing_rating: {count, sum, version}}, where version grows with
 * every change of that listing. The handler stores them only when their
 * version is newer than the one stored, in the transaction that claims the
 * event: a redelivered event is skipped by its claim, and an older one
 * (reordered, or replayed under another id) by its version. Events without
 * totals (review.replied) change nothing here.
 */
#include "inventory.h"

#include <roam/common.h>
#include <roam/log.h>
#include <roam/outbox.h>

#include <stdio.h>

#define RATINGS_CONSUMER "inventory.ratings"

/* A non-negative integer member of o, or -1. */
static json_int_t count_member(json_t *o, const char *name) {
    json_t *v = json_object_get(o, name);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

static int on_review_event(const roam_event_t *ev, void *ctx) {
    (void)ctx;
    json_t *totals = json_object_get(ev->data, "listing_rating");
    if (totals == NULL) return 0; /* not a rating change */
    const char *listing_id = json_string_value(json_object_get(ev->data, "listing_id"));
    json_int_t count = count_member(totals, "count"), sum = count_member(totals, "sum"),
               version = count_member(totals, "version");
    if (listing_id == NULL || !roam_uuid_valid(listing_id) || count < 0 || sum < 0 || version < 1 || sum < count ||
        sum > 5 * count) {
        roam_warn("review event %s (%s) has no valid listing_id and listing_rating; skipped", ev->id, ev->type);
        return 0;
    }

    roam_db_t *db = roam_daemon_db(roam_daemon());
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) return ROAM_EUNAVAIL;
    int rc = roam_db_begin(c) == 0 ? 0 : ROAM_EIO;
    int fresh = rc == 0 ? roam_event_claim(c, RATINGS_CONSUMER, ev->id) : rc;
    if (fresh == 1) {
        char n[24], s[24], v[24];
        snprintf(n, sizeof(n), "%lld", (long long)count);
        snprintf(s, sizeof(s), "%lld", (long long)sum);
        snprintf(v, sizeof(v), "%lld", (long long)version);
        const char *p[] = {listing_id, n, s, v};
        long changed = roam_db_exec(c,
                                    "UPDATE listings SET rating_count = $2, rating_sum = $3, rating_version = $4, "
                                    "updated_at = now() WHERE id = $1 AND rating_version < $4",
                                    4, p);
        if (changed < 0) {
            fresh = ROAM_EIO;
        } else if (changed == 0) {
            PGresult *r = roam_db_query(c, "SELECT rating_version FROM listings WHERE id = $1", 1, p);
            if (r == NULL)
                fresh = ROAM_EIO;
            else if (PQntuples(r) == 0)
                roam_warn("review event %s names unknown listing %s; skipped", ev->id, listing_id);
            else
                roam_debug("review event %s for listing %s has version %s, not newer than %s; skipped", ev->id,
                           listing_id, v, PQgetvalue(r, 0, 0));
            PQclear(r);
        }
    }
    rc = fresh < 0 ? fresh : (roam_db_commit(c) == 0 ? 0 : ROAM_EIO);
    roam_db_release(db, c);
    return rc;
}

int inventory_ratings_init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    static const char *const topics[] = {"reviews", NULL};
    if (roam_daemon_add_consumer(d, RATINGS_CONSUMER, topics, on_review_event, NULL) != 0) {
        snprintf(errbuf, errlen, "cannot start the %s consumer", RATINGS_CONSUMER);
        return -1;
    }
    return 0;
}
