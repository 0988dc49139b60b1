/*
 * Units, the sparse calendar, availability and quotes.
 *
 * A date without a calendar_days row sells the unit's quantity at its base
 * price, open, with nothing held or booked; every read below fills missing
 * rows with those defaults. Ranges become dates as check_in + i over
 * generate_series of integers, so no time zone ever touches a date.
 */
#include "inventory.h"

#include <roam/common.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const char *num(char out[24], long long v) {
    snprintf(out, 24, "%lld", v);
    return out;
}

/* ---- units ---- */

int store_unit_create(roam_dbconn_t *c, const char *listing_id, const char *operator_id, const inv_unit_input_t *in,
                      char **json, char listing_currency[4]) {
    if (!roam_uuid_valid(listing_id)) return ROAM_ENOTFOUND;
    char id[ROAM_UUID_LEN + 1], guests[24], qty[24], price[24];
    roam_uuid_v4(id);
    const char *p[] = {id,
                       listing_id,
                       operator_id,
                       in->name,
                       in->description,
                       num(guests, in->max_guests),
                       num(qty, in->quantity),
                       num(price, in->base_price),
                       in->currency};
    /*
     * FOR SHARE of the listing: a concurrent change of its currency waits for
     * this unit, or this unit sees the new currency and is refused.
     */
    PGresult *r = roam_db_query(
        c,
        "INSERT INTO units (id, listing_id, name, description, max_guests, quantity, base_price) "
        "SELECT $1, l.id, $4, $5, $6::int, $7::int, $8::bigint FROM listings l "
        "WHERE l.id = $2 AND l.operator_id = $3 AND l.currency = $9 FOR SHARE "
        "RETURNING json_build_object('id', id, 'name', name, 'description', description, 'max_guests', max_guests, "
        "'quantity', quantity, 'base_price', json_build_object('amount', base_price, 'currency', $9::text))",
        9, p);
    if (r == NULL) return ROAM_EIO;
    int rc = single_text(r, json);
    if (rc != ROAM_ENOTFOUND) return rc;

    const char *q[] = {listing_id, operator_id};
    r = roam_db_query(c, "SELECT currency FROM listings WHERE id = $1 AND operator_id = $2", 2, q);
    if (r == NULL) return ROAM_EIO;
    rc = ROAM_ENOTFOUND;
    if (PQntuples(r) == 1) {
        snprintf(listing_currency, 4, "%s", PQgetvalue(r, 0, 0));
        rc = ROAM_ECONFLICT;
    }
    PQclear(r);
    return rc;
}

/* ---- the listing's context ---- */

int store_listing_ctx(roam_dbconn_t *c, const char *listing_id, const char *operator_id, const char *unit_id,
                      inv_listing_ctx_t *ctx) {
    memset(ctx, 0, sizeof(*ctx));
    if (!roam_uuid_valid(listing_id)) return ROAM_ENOTFOUND;
    if (unit_id != NULL && !roam_uuid_valid(unit_id)) unit_id = NULL; /* unit_found stays 0 */
    const char *p[] = {listing_id, operator_id, unit_id};
    PGresult *r = roam_db_query(c,
                                "SELECT l.currency, (now() AT TIME ZONE l.timezone)::date - date '1970-01-01', "
                                "l.status = 'active', "
                                "EXISTS (SELECT 1 FROM units u WHERE u.id = $3::uuid AND u.listing_id = l.id) "
                                "FROM listings l WHERE l.id = $1 AND ($2::uuid IS NULL OR l.operator_id = $2::uuid)",
                                3, p);
    if (r == NULL) return ROAM_EIO;
    int rc = ROAM_ENOTFOUND;
    if (PQntuples(r) == 1) {
        snprintf(ctx->currency, sizeof(ctx->currency), "%s", PQgetvalue(r, 0, 0));
        ctx->today = (inv_date_t)strtol(PQgetvalue(r, 0, 1), NULL, 10);
        ctx->active = PQgetvalue(r, 0, 2)[0] == 't';
        ctx->unit_found = PQgetvalue(r, 0, 3)[0] == 't';
        rc = 0;
    }
    PQclear(r);
    return rc;
}

/* ---- calendar changes ---- */

/* The items of availability from rows named d (unit_id, day, available, price, closed), currency $n. */
#define AVAILABILITY_ITEM(cur)                                                                                         \
    "json_build_object('unit_id', d.unit_id, 'date', to_char(d.day, 'YYYY-MM-DD'), "                                   \
    "'available', greatest(d.available, 0), 'price', json_build_object('amount', d.price, 'currency', " cur "), "      \
    "'closed', d.closed)"

int store_calendar_update(roam_dbconn_t *c, const char *unit_id, const char *currency, const inv_calendar_change_t *ch,
                          char **json) {
    char from[11], to[11], qty[24], price[24];
    inv_date_format(ch->from, from);
    inv_date_format(ch->to, to);
    const char *p[] = {unit_id,
                       from,
                       to,
                       ch->quantity >= 0 ? num(qty, ch->quantity) : NULL,
                       ch->price >= 0 ? num(price, ch->price) : NULL,
                       ch->closed < 0 ? NULL
                       : ch->closed   ? "t"
                                      : "f",
                       currency};
    /*
     * One statement: a date whose new quantity is below what is held and
     * booked breaks calendar_days_not_oversold, which undoes the whole
     * statement. Rows are written in date order, as holds lock them.
     */
    /* clang-format off */
    PGresult *r = roam_db_query(
        c,
        "WITH d AS (INSERT INTO calendar_days AS c (unit_id, day, quantity, price, closed) "
        "SELECT u.id, $2::date + i, coalesce($4::int, u.quantity), coalesce($5::bigint, u.base_price), "
        "coalesce($6::boolean, false) FROM units u CROSS JOIN generate_series(0, $3::date - $2::date - 1) i "
        "WHERE u.id = $1 ORDER BY i "
        "ON CONFLICT (unit_id, day) DO UPDATE SET quantity = coalesce($4::int, c.quantity), "
        "price = coalesce($5::bigint, c.price), closed = coalesce($6::boolean, c.closed) "
        "RETURNING c.unit_id, c.day, c.quantity - c.held - c.booked AS available, c.price, c.closed) "
        "SELECT json_build_object('items', coalesce(array_to_json(array_agg(" AVAILABILITY_ITEM("$7::text")
        " ORDER BY d.day)), '[]'::json)) FROM d",
        7, p);
    /* clang-format on */
    if (r == NULL) return strcmp(roam_db_sqlstate(c), "23514") == 0 ? ROAM_ECONFLICT : ROAM_EIO;
    int rc = single_text(r, json);
    return rc == ROAM_ENOTFOUND ? ROAM_EIO : rc;
}

/* ---- availability ---- */

int store_availability(roam_dbconn_t *c, const char *listing_id, const char *unit_id, inv_date_t from, inv_date_t to,
                       char **json) {
    char f[11], t[11];
    inv_date_format(from, f);
    inv_date_format(to, t);
    const char *p[] = {listing_id, unit_id, f, t};
    /* clang-format off */
    PGresult *r = roam_db_query(
        c,
        "SELECT json_build_object('items', coalesce(array_to_json(array_agg(" AVAILABILITY_ITEM("d.currency")
        " ORDER BY d.created_at, d.unit_id, d.day)), '[]'::json)) FROM ("
        "SELECT u.id AS unit_id, u.created_at, l.currency, $3::date + i AS day, "
        "coalesce(c.quantity, u.quantity) - coalesce(c.held, 0) - coalesce(c.booked, 0) AS available, "
        "coalesce(c.price, u.base_price) AS price, coalesce(c.closed, false) AS closed "
        "FROM listings l JOIN units u ON u.listing_id = l.id "
        "CROSS JOIN generate_series(0, $4::date - $3::date - 1) i "
        "LEFT JOIN calendar_days c ON c.unit_id = u.id AND c.day = $3::date + i "
        "WHERE l.id = $1 AND ($2::uuid IS NULL OR u.id = $2::uuid)) d",
        4, p);
    /* clang-format on */
    if (r == NULL) return ROAM_EIO;
    int rc = single_text(r, json);
    return rc == ROAM_ENOTFOUND ? ROAM_EIO : rc;
}

/* ---- quotes ---- */

int store_quote(roam_dbconn_t *c, const char *listing_id, const char *unit_id, const inv_stay_t *stay, char **json) {
    if (!roam_uuid_valid(listing_id) || !roam_uuid_valid(unit_id)) return ROAM_ENOTFOUND;
    char in[11], out[11], guests[24], qty[24], ahead[24];
    inv_date_format(stay->check_in, in);
    inv_date_format(stay->check_out, out);
    const char *p[] = {listing_id,
                       unit_id,
                       in,
                       out,
                       num(guests, stay->guests),
                       num(qty, stay->quantity),
                       num(ahead, INV_BOOKABLE_AHEAD)};
    /*
     * available: the listing is active, every night lies in [today, today +
     * 365] of the listing's time zone, the guests fit, and every night is
     * open with enough units. Nothing is locked: a quote is a snapshot.
     */
    /* clang-format off */
    PGresult *r = roam_db_query(
        c,
        "SELECT json_build_object("
        "'available', l.status = 'active' AND $3::date >= t.today AND $4::date - 1 <= t.today + $7::int "
        "AND $5::int <= u.max_guests * $6::int AND n.sellable, "
        "'total', json_build_object('amount', n.total * $6::int, 'currency', l.currency), "
        "'nights', n.nights, "
        "'free_cancellation_until', " INV_SQL_RFC3339(INV_SQL_FREE_CANCELLATION(
            "$3::date", "l.timezone", "l.free_cancellation_hours")) ") "
        "FROM listings l JOIN units u ON u.listing_id = l.id "
        "CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE l.timezone)::date AS today) t "
        "CROSS JOIN LATERAL (SELECT "
        "bool_and(NOT coalesce(c.closed, false) AND "
        "coalesce(c.quantity, u.quantity) - coalesce(c.held, 0) - coalesce(c.booked, 0) >= $6::int) AS sellable, "
        "sum(coalesce(c.price, u.base_price)) AS total, "
        "array_to_json(array_agg(json_build_object('date', to_char($3::date + i, 'YYYY-MM-DD'), "
        "'price', json_build_object('amount', coalesce(c.price, u.base_price), 'currency', l.currency)) ORDER BY i)) "
        "AS nights "
        "FROM generate_series(0, $4::date - $3::date - 1) i "
        "LEFT JOIN calendar_days c ON c.unit_id = u.id AND c.day = $3::date + i) n "
        "WHERE l.id = $1 AND u.id = $2",
        7, p);
    /* clang-format on */
    if (r == NULL) return ROAM_EIO;
    return single_text(r, json);
}
