/*
 * Listings (migrations/0001_listings.sql). PostgreSQL builds the listing
 * object itself, so that the answer is one round trip and its numbers
 * (coordinates, ratings) keep PostgreSQL's shortest exact spelling.
 */
#include "inventory.h"

#include <roam/common.h>
#include <roam/log.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The listing object of the contract from the row aliased l. */
#define LISTING_JSON                                                                                                   \
    "json_build_object('id', l.id, 'operator_id', l.operator_id, 'title', l.title, 'type', l.type, "                   \
    "'description', l.description, 'city', l.city, 'country', l.country, 'address', l.address, "                       \
    "'latitude', l.latitude, 'longitude', l.longitude, 'timezone', l.timezone, "                                       \
    "'amenities', to_json(l.amenities), 'photos', to_json(l.photos), 'currency', l.currency, "                         \
    "'cancellation_policy', json_build_object('free_cancellation_hours', l.free_cancellation_hours, "                  \
    "'refund_percent_after', l.refund_percent_after), "                                                                \
    "'rating', json_build_object('average', CASE WHEN l.rating_count > 0 "                                             \
    "THEN round(l.rating_sum::numeric / l.rating_count, 1) END, 'count', l.rating_count), "                            \
    "'units', coalesce((SELECT array_to_json(array_agg(json_build_object('id', u.id, 'name', u.name, "                 \
    "'description', u.description, 'max_guests', u.max_guests, 'quantity', u.quantity, "                               \
    "'base_price', json_build_object('amount', u.base_price, 'currency', l.currency)) ORDER BY u.created_at, u.id)) "  \
    "FROM units u WHERE u.listing_id = l.id), '[]'::json), "                                                           \
    "'status', l.status, 'created_at', " INV_SQL_RFC3339("l.created_at") ")"

char *store_text(PGresult *r, int row, int col) {
    int len = PQgetlength(r, row, col);
    const char *in = PQgetvalue(r, row, col);
    char *out = roam_trymalloc((size_t)len + 1);
    if (out == NULL) return NULL;
    /* PostgreSQL's json functions write " : " and ", " between members; drop whitespace outside strings. */
    size_t n = 0;
    int in_string = 0, escaped = 0;
    for (int i = 0; i < len; i++) {
        char ch = in[i];
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (ch == '\\')
                escaped = 1;
            else if (ch == '"')
                in_string = 0;
        } else if (ch == '"') {
            in_string = 1;
        } else if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {
            continue;
        }
        out[n++] = ch;
    }
    out[n] = '\0';
    return out;
}

/* The first column of the only row of r as new text: 0, ROAM_ENOTFOUND (no row) or ROAM_ENOMEM. Clears r. */
static int single_text(PGresult *r, char **json) {
    int rc = ROAM_ENOTFOUND;
    if (PQntuples(r) == 1) {
        *json = store_text(r, 0, 0);
        rc = *json ? 0 : ROAM_ENOMEM;
    }
    PQclear(r);
    return rc;
}

/* ---- time zones ---- */

/*
 * pg_timezone_names takes about 50 ms (it reads every zone file), and the
 * zones of a running server do not change: read them once per process.
 */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static char **tz_names;
static size_t tz_count;

static int load_zones(roam_dbconn_t *c) {
    PGresult *r = roam_db_query(c, "SELECT name FROM pg_timezone_names ORDER BY name", 0, NULL);
    if (r == NULL) return ROAM_EIO;
    size_t n = (size_t)PQntuples(r);
    char **names = roam_trycalloc(n ? n : 1, sizeof(char *));
    int rc = names ? 0 : ROAM_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if ((names[i] = store_text(r, (int)i, 0)) == NULL) rc = ROAM_ENOMEM;
    PQclear(r);
    if (rc != 0) {
        for (size_t i = 0; names != NULL && i < n; i++)
            free(names[i]);
        free(names);
        return rc;
    }
    tz_names = names; /* kept for the life of the process */
    tz_count = n;
    return 0;
}

int store_timezone_canonical(roam_dbconn_t *c, const char *name, char out[64]) {
    pthread_mutex_lock(&tz_lock);
    int rc = tz_names ? 0 : load_zones(c);
    pthread_mutex_unlock(&tz_lock);
    if (rc != 0) return ROAM_EIO;
    /* Immutable once published; a linear scan of ~1200 short names is a few microseconds. */
    for (size_t i = 0; i < tz_count; i++) {
        if (strcasecmp(tz_names[i], name) == 0 && inv_timezone_shape_ok(tz_names[i])) {
            snprintf(out, 64, "%s", tz_names[i]);
            return 0;
        }
    }
    return ROAM_ENOTFOUND;
}

/* ---- listings ---- */

static void format_double(char out[32], double d) { snprintf(out, 32, "%.17g", d); }

static const char *int_text(char out[24], long v) {
    snprintf(out, 24, "%ld", v);
    return out;
}

int store_listing_create(roam_dbconn_t *c, const char *operator_id, const inv_listing_input_t *in, char **json) {
    char id[ROAM_UUID_LEN + 1], lat[32], lon[32], hours[24], pct[24];
    roam_uuid_v4(id);
    format_double(lat, in->latitude);
    format_double(lon, in->longitude);
    const char *p[] = {id,
                       operator_id,
                       in->type,
                       in->title,
                       in->description,
                       in->city,
                       in->country,
                       in->address,
                       in->has_coords ? lat : NULL,
                       in->has_coords ? lon : NULL,
                       in->timezone,
                       in->amenities_json,
                       in->photos_json,
                       in->currency,
                       int_text(hours, in->free_cancellation_hours),
                       int_text(pct, in->refund_percent_after)};
    PGresult *r = roam_db_query(
        c,
        "WITH l AS (INSERT INTO listings (id, operator_id, type, title, description, city, country, address, "
        "latitude, longitude, timezone, amenities, photos, currency, free_cancellation_hours, refund_percent_after) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::float8, $10::float8, $11, "
        "ARRAY(SELECT json_array_elements_text($12::json)), ARRAY(SELECT json_array_elements_text($13::json)), "
        "$14, $15::int, $16::int) RETURNING *) "
        "SELECT " LISTING_JSON " FROM l",
        16, p);
    if (r == NULL) return ROAM_EIO;
    int rc = single_text(r, json);
    return rc == ROAM_ENOTFOUND ? ROAM_EIO : rc;
}

int store_listing_get(roam_dbconn_t *c, const char *id, const char *operator_id, char **json) {
    if (!roam_uuid_valid(id)) return ROAM_ENOTFOUND;
    const char *p[] = {id, operator_id};
    PGresult *r = roam_db_query(c,
                                "SELECT " LISTING_JSON " FROM listings l "
                                "WHERE l.id = $1 AND ($2::uuid IS NULL OR l.operator_id = $2::uuid)",
                                2, p);
    if (r == NULL) return ROAM_EIO;
    return single_text(r, json);
}

int store_listing_update(roam_dbconn_t *c, const char *id, const char *operator_id, const inv_listing_input_t *in,
                         char **json) {
    if (!roam_uuid_valid(id)) return ROAM_ENOTFOUND;
    unsigned f = in->present;
    char lat[32], lon[32], hours[24], pct[24];
    format_double(lat, in->latitude);
    format_double(lon, in->longitude);
    int policy = (f & INV_F_POLICY) != 0;
    const char *p[] = {id,
                       operator_id,
                       in->title,
                       in->type,
                       in->description,
                       in->city,
                       in->country,
                       in->timezone,
                       (f & INV_F_ADDRESS) ? "t" : "f",
                       in->address,
                       (f & INV_F_COORDS) ? "t" : "f",
                       in->has_coords ? lat : NULL,
                       in->has_coords ? lon : NULL,
                       in->amenities_json,
                       in->photos_json,
                       in->currency,
                       policy ? int_text(hours, in->free_cancellation_hours) : NULL,
                       policy ? int_text(pct, in->refund_percent_after) : NULL};

    /*
     * The row lock comes first, in its own statement: the UPDATE's snapshot
     * is then taken after every unit added before the lock was granted
     * (units are added under FOR SHARE of the listing), so its "no units
     * yet" test cannot miss one that committed meanwhile.
     */
    if (roam_db_begin(c) != 0) return ROAM_EIO;
    const char *q[] = {id, operator_id};
    PGresult *r = roam_db_query(c, "SELECT 1 FROM listings WHERE id = $1 AND operator_id = $2 FOR UPDATE", 2, q);
    if (r == NULL) goto fail;
    int found = PQntuples(r) == 1;
    PQclear(r);
    if (!found) {
        roam_db_rollback(c);
        return ROAM_ENOTFOUND;
    }
    r = roam_db_query(
        c,
        "UPDATE listings l SET title = coalesce($3, l.title), type = coalesce($4, l.type), "
        "description = coalesce($5, l.description), city = coalesce($6, l.city), country = coalesce($7, l.country), "
        "timezone = coalesce($8, l.timezone), "
        "address = CASE WHEN $9::boolean THEN $10 ELSE l.address END, "
        "latitude = CASE WHEN $11::boolean THEN $12::float8 ELSE l.latitude END, "
        "longitude = CASE WHEN $11::boolean THEN $13::float8 ELSE l.longitude END, "
        "amenities = CASE WHEN $14::json IS NULL THEN l.amenities "
        "ELSE ARRAY(SELECT json_array_elements_text($14::json)) END, "
        "photos = CASE WHEN $15::json IS NULL THEN l.photos ELSE ARRAY(SELECT json_array_elements_text($15::json)) "
        "END, "
        "currency = coalesce($16, l.currency), "
        "free_cancellation_hours = coalesce($17::int, l.free_cancellation_hours), "
        "refund_percent_after = coalesce($18::int, l.refund_percent_after), updated_at = now() "
        "WHERE l.id = $1 AND l.operator_id = $2 AND ($16::text IS NULL OR $16 = l.currency "
        "OR NOT EXISTS (SELECT 1 FROM units WHERE listing_id = l.id)) "
        "RETURNING " LISTING_JSON,
        18, p);
    if (r == NULL) goto fail;
    int rc = single_text(r, json);
    if (rc == ROAM_ENOTFOUND) {
        roam_db_rollback(c);
        return ROAM_ECONFLICT;
    }
    if (rc != 0) {
        roam_db_rollback(c);
        return rc;
    }
    if (roam_db_commit(c) != 0) {
        free(*json);
        *json = NULL;
        return ROAM_EIO;
    }
    return 0;
fail:
    roam_db_rollback(c);
    return ROAM_EIO;
}

int store_listing_archive(roam_dbconn_t *c, const char *id, const char *operator_id) {
    if (!roam_uuid_valid(id)) return ROAM_ENOTFOUND;
    const char *p[] = {id, operator_id};
    /* Archiving an archived listing matches the row too: a repeat is the same success. */
    long n = roam_db_exec(c,
                          "UPDATE listings SET status = 'archived', "
                          "updated_at = CASE WHEN status = 'archived' THEN updated_at ELSE now() END "
                          "WHERE id = $1 AND operator_id = $2",
                          2, p);
    if (n < 0) return ROAM_EIO;
    return n == 1 ? 0 : ROAM_ENOTFOUND;
}

int store_listing_page(roam_dbconn_t *c, const char *operator_id, long limit, const inv_cursor_t *pos, char **json) {
    char us[24], lim[24];
    snprintf(us, sizeof(us), "%lld", pos ? pos->created_us : 0LL);
    const char *p[] = {operator_id, pos ? us : NULL, pos ? pos->id : NULL, int_text(lim, limit + 1)};
    /* One row more than asked tells whether there is a next page. */
    PGresult *r =
        roam_db_query(c,
                      "SELECT " LISTING_JSON ", (extract(epoch FROM l.created_at) * 1000000)::bigint, l.id "
                      "FROM listings l WHERE l.operator_id = $1 AND ($2::bigint IS NULL OR "
                      "(l.created_at, l.id) < (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid)) "
                      "ORDER BY l.created_at DESC, l.id DESC LIMIT $4::int",
                      4, p);
    if (r == NULL) return ROAM_EIO;
    int rows = PQntuples(r);
    int shown = rows > limit ? (int)limit : rows;
    char cursor[96] = "";
    if (rows > limit) {
        inv_cursor_t next;
        next.created_us = strtoll(PQgetvalue(r, shown - 1, 1), NULL, 10);
        snprintf(next.id, sizeof(next.id), "%s", PQgetvalue(r, shown - 1, 2));
        inv_cursor_encode(&next, cursor);
    }
    size_t total = 64 + strlen(cursor);
    for (int i = 0; i < shown; i++)
        total += (size_t)PQgetlength(r, i, 0) + 1;
    char *out = roam_trymalloc(total);
    if (out == NULL) {
        PQclear(r);
        return ROAM_ENOMEM;
    }
    size_t n = 0;
    n += (size_t)sprintf(out + n, "{\"items\":[");
    for (int i = 0; i < shown; i++) {
        if (i > 0) out[n++] = ',';
        size_t len = (size_t)PQgetlength(r, i, 0);
        memcpy(out + n, PQgetvalue(r, i, 0), len);
        n += len;
    }
    if (cursor[0] != '\0')
        sprintf(out + n, "],\"next_cursor\":\"%s\"}", cursor);
    else
        sprintf(out + n, "],\"next_cursor\":null}");
    PQclear(r);
    *json = out;
    return 0;
}
