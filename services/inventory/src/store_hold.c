/*
 * Holds: units set aside for a booking, night by night, atomically.
 *
 * No quantity is ever read into C and written back. Holding is one INSERT
 * ... ON CONFLICT DO UPDATE over the nights whose update only fires where
 * enough units are left; the affected row count tells whether every night
 * was taken, and if not the transaction is rolled back. The CHECK
 * calendar_days_not_oversold (held + booked <= quantity) stands behind it.
 * Every statement touches calendar rows in date order, so concurrent holds,
 * releases and calendar changes wait for each other instead of deadlocking;
 * a deadlock or serialization failure that happens anyway is retried.
 */
#include "inventory.h"

#include <roam/common.h>
#include <roam/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The hold body from the row aliased h. */
#define HOLD_BODY                                                                                                      \
    "json_build_object('hold_id', h.id, 'status', h.status, 'listing', h.listing, 'unit', h.unit, "                    \
    "'check_in', to_char(h.check_in, 'YYYY-MM-DD'), 'check_out', to_char(h.check_out, 'YYYY-MM-DD'), "                 \
    "'guests', h.guests, 'quantity', h.quantity, 'nights', h.nights, "                                                 \
    "'total', json_build_object('amount', h.total, 'currency', h.currency), "                                          \
    "'free_cancellation_until', " INV_SQL_RFC3339("h.free_cancellation_until") ")"

#define ATTEMPTS 4 /* deadlocks, serialization failures, a same-id hold rolled back under us */
#define RETRY    0x7fff

static const char *num(char out[24], long long v) {
    snprintf(out, 24, "%lld", v);
    return out;
}

/* 1 if the last failure on c is worth running the transaction again for. */
static int retryable(roam_dbconn_t *c) {
    const char *st = roam_db_sqlstate(c);
    return strcmp(st, "40P01") == 0 || strcmp(st, "40001") == 0;
}

/* Rolls back and returns rc (ROAM_EIO becomes RETRY when the failure was a deadlock). */
static int abandon(roam_dbconn_t *c, int rc) {
    if (rc == ROAM_EIO && retryable(c)) rc = RETRY;
    roam_db_rollback(c);
    return rc;
}

/*
 * The hold with in's id, if any: HOLD_REPLAYED (same parameters; *json the
 * body), HOLD_MISMATCH (*json the body), 0 when there is none, or ROAM_E*.
 */
static int existing(roam_dbconn_t *c, const inv_hold_input_t *in, char **json) {
    char in_d[11], out_d[11], guests[24], qty[24];
    inv_date_format(in->stay.check_in, in_d);
    inv_date_format(in->stay.check_out, out_d);
    const char *p[] = {in->hold_id,
                       in->listing_id,
                       in->unit_id,
                       in_d,
                       out_d,
                       num(guests, in->stay.guests),
                       num(qty, in->stay.quantity)};
    PGresult *r = roam_db_query(c,
                                "SELECT (h.listing_id, h.unit_id, h.check_in, h.check_out, h.guests, h.quantity) = "
                                "($2::uuid, $3::uuid, $4::date, $5::date, $6::int, $7::int), " HOLD_BODY
                                " FROM holds h WHERE h.id = $1",
                                7, p);
    if (r == NULL) return ROAM_EIO;
    int rc = 0;
    if (PQntuples(r) == 1) {
        *json = store_text(r, 0, 1);
        rc = *json == NULL ? ROAM_ENOMEM : PQgetvalue(r, 0, 0)[0] == 't' ? HOLD_REPLAYED : HOLD_MISMATCH;
    }
    PQclear(r);
    return rc;
}

static int try_create(roam_dbconn_t *c, const inv_hold_input_t *in, char **json, int *max_guests) {
    int rc = existing(c, in, json);
    if (rc != 0) return rc;

    char in_d[11], out_d[11], guests[24], qty[24], ahead[24];
    inv_date_format(in->stay.check_in, in_d);
    inv_date_format(in->stay.check_out, out_d);
    num(guests, in->stay.guests);
    num(qty, in->stay.quantity);
    num(ahead, INV_BOOKABLE_AHEAD);

    if (roam_db_begin(c) != 0) return ROAM_EIO;
    /*
     * The listing and the unit. FOR SHARE of the listing: archiving it waits
     * until this hold is decided, so nothing is held on an archived listing.
     */
    const char *pc[] = {in->listing_id, in->unit_id, in_d, out_d, ahead};
    PGresult *r = roam_db_query(c,
                                "SELECT l.status = 'active', u.id IS NOT NULL, u.listing_id = l.id, u.max_guests, "
                                "$3::date >= t.today AND $4::date - 1 <= t.today + $5::int "
                                "FROM listings l LEFT JOIN units u ON u.id = $2 "
                                "CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE l.timezone)::date AS today) t "
                                "WHERE l.id = $1 FOR SHARE OF l",
                                5, pc);
    if (r == NULL) return abandon(c, ROAM_EIO);
    if (PQntuples(r) != 1) {
        PQclear(r);
        return abandon(c, HOLD_NO_LISTING);
    }
    int active = PQgetvalue(r, 0, 0)[0] == 't', unit_exists = PQgetvalue(r, 0, 1)[0] == 't';
    int unit_ours = PQgetvalue(r, 0, 2)[0] == 't', in_window = PQgetvalue(r, 0, 4)[0] == 't';
    *max_guests = unit_exists ? atoi(PQgetvalue(r, 0, 3)) : 0;
    PQclear(r);
    if (!unit_exists) return abandon(c, HOLD_NO_UNIT);
    if (!unit_ours) return abandon(c, HOLD_SOLD_OUT);
    if (in->stay.guests > (long)*max_guests * in->stay.quantity) return abandon(c, HOLD_TOO_MANY_GUESTS);
    if (!active || !in_window) return abandon(c, HOLD_SOLD_OUT);

    /* The hold row first: a concurrent call with the same id waits here, before either touches the calendar. */
    const char *ph[] = {
        in->hold_id, in->listing_id, in->unit_id, in_d, out_d, qty, guests, in->expires_at[0] ? in->expires_at : NULL};
    long n = roam_db_exec(c,
                          "INSERT INTO holds (id, listing_id, unit_id, check_in, check_out, quantity, guests, status, "
                          "  expires_at) "
                          "VALUES ($1, $2, $3, $4::date, $5::date, $6::int, $7::int, 'held', $8::timestamptz) "
                          "ON CONFLICT (id) DO NOTHING",
                          8, ph);
    if (n < 0) return abandon(c, ROAM_EIO);
    if (n == 0) return abandon(c, RETRY); /* it exists now: compare with it */

    /*
     * Every night at once. A date without a row is inserted with the unit's
     * defaults (only if the unit has enough units at all); a date with a row
     * is updated only when it is open and has enough units left. Then the
     * hold records what was sold, if every night was.
     */
    const char *pt[] = {in->unit_id, in_d, out_d, qty, in->hold_id};
    /* clang-format off */
    r = roam_db_query(
        c,
        "WITH taken AS (INSERT INTO calendar_days AS c (unit_id, day, quantity, price, held) "
        "SELECT u.id, $2::date + i, u.quantity, u.base_price, $4::int "
        "FROM units u CROSS JOIN generate_series(0, $3::date - $2::date - 1) i "
        "LEFT JOIN calendar_days e ON e.unit_id = u.id AND e.day = $2::date + i "
        "WHERE u.id = $1 AND (e.unit_id IS NOT NULL OR u.quantity >= $4::int) ORDER BY i "
        "ON CONFLICT (unit_id, day) DO UPDATE SET held = c.held + EXCLUDED.held "
        "WHERE NOT c.closed AND c.quantity - c.held - c.booked >= EXCLUDED.held "
        "RETURNING c.day, c.price), "
        "priced AS (SELECT count(*) AS n, sum(t.price) AS total, "
        "array_to_json(array_agg(json_build_object('date', to_char(t.day, 'YYYY-MM-DD'), "
        "'price', json_build_object('amount', t.price, 'currency', l.currency)) ORDER BY t.day)) AS nights "
        "FROM taken t JOIN holds hh ON hh.id = $5 JOIN listings l ON l.id = hh.listing_id GROUP BY l.currency) "
        "UPDATE holds h SET nights = p.nights, total = p.total * h.quantity, currency = l.currency, "
        "listing = json_build_object('id', l.id, 'title', l.title, 'operator_id', l.operator_id, "
        "'currency', l.currency, 'timezone', l.timezone, 'cancellation_policy', json_build_object("
        "'free_cancellation_hours', l.free_cancellation_hours, 'refund_percent_after', l.refund_percent_after)), "
        "unit = json_build_object('id', u.id, 'name', u.name, 'max_guests', u.max_guests), "
        "free_cancellation_until = " INV_SQL_FREE_CANCELLATION("h.check_in", "l.timezone",
                                                               "l.free_cancellation_hours") " "
        "FROM priced p, listings l, units u "
        "WHERE h.id = $5 AND l.id = h.listing_id AND u.id = h.unit_id AND p.n = $3::date - $2::date "
        "RETURNING " HOLD_BODY,
        5, pt);
    /* clang-format on */
    if (r == NULL) return abandon(c, strcmp(roam_db_sqlstate(c), "23514") == 0 ? HOLD_SOLD_OUT : ROAM_EIO);
    if (PQntuples(r) != 1) {
        PQclear(r);
        return abandon(c, HOLD_SOLD_OUT);
    }
    *json = store_text(r, 0, 0);
    PQclear(r);
    if (*json == NULL) return abandon(c, ROAM_ENOMEM);
    if (roam_db_commit(c) != 0) {
        free(*json);
        *json = NULL;
        return retryable(c) ? RETRY : ROAM_EIO;
    }
    return HOLD_CREATED;
}

int store_hold_create(roam_dbconn_t *c, const inv_hold_input_t *in, char **json, int *max_guests) {
    *json = NULL;
    *max_guests = 0;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        int rc = try_create(c, in, json, max_guests);
        if (rc != RETRY) return rc;
    }
    roam_warn("hold %s: gave up after %d attempts (%s)", in->hold_id, ATTEMPTS, roam_db_sqlstate(c));
    return ROAM_EIO;
}

int store_hold_get(roam_dbconn_t *c, const char *id, char **json) {
    if (!roam_uuid_valid(id)) return ROAM_ENOTFOUND;
    const char *p[] = {id};
    PGresult *r = roam_db_query(c, "SELECT " HOLD_BODY " FROM holds h WHERE h.id = $1", 1, p);
    if (r == NULL) return ROAM_EIO;
    int rc = ROAM_ENOTFOUND;
    if (PQntuples(r) == 1) {
        *json = store_text(r, 0, 0);
        rc = *json ? 0 : ROAM_ENOMEM;
    }
    PQclear(r);
    return rc;
}

typedef enum { MOVE_RELEASE, MOVE_CONFIRM } move_t;

/* The calendar change of each transition, on rows locked in date order first. */
#define LOCKED_NIGHTS                                                                                                  \
    "WITH locked AS (SELECT day FROM calendar_days WHERE unit_id = $1 AND day >= $2::date AND day < $3::date "         \
    "ORDER BY day FOR UPDATE) "
static const char release_held_sql[] = LOCKED_NIGHTS "UPDATE calendar_days c SET held = c.held - $4::int "
                                                     "FROM locked WHERE c.unit_id = $1 AND c.day = locked.day";
static const char release_booked_sql[] = LOCKED_NIGHTS "UPDATE calendar_days c SET booked = c.booked - $4::int "
                                                       "FROM locked WHERE c.unit_id = $1 AND c.day = locked.day";
static const char confirm_sql[] =
    LOCKED_NIGHTS "UPDATE calendar_days c SET held = c.held - $4::int, booked = c.booked + $4::int "
                  "FROM locked WHERE c.unit_id = $1 AND c.day = locked.day";

static int try_move(roam_dbconn_t *c, const char *id, move_t move, char **json) {
    if (roam_db_begin(c) != 0) return ROAM_EIO;
    const char *p[] = {id};
    /* The hold's row lock orders concurrent releases and confirmations of one hold. */
    PGresult *r = roam_db_query(c,
                                "SELECT status, unit_id, check_in, check_out, quantity, check_out - check_in "
                                "FROM holds WHERE id = $1 FOR UPDATE",
                                1, p);
    if (r == NULL) return abandon(c, ROAM_EIO);
    if (PQntuples(r) != 1) {
        PQclear(r);
        return abandon(c, HOLD_NOT_FOUND);
    }
    char status[16], unit[40], in_d[16], out_d[16], qty[24];
    snprintf(status, sizeof(status), "%s", PQgetvalue(r, 0, 0));
    snprintf(unit, sizeof(unit), "%s", PQgetvalue(r, 0, 1));
    snprintf(in_d, sizeof(in_d), "%s", PQgetvalue(r, 0, 2));
    snprintf(out_d, sizeof(out_d), "%s", PQgetvalue(r, 0, 3));
    snprintf(qty, sizeof(qty), "%s", PQgetvalue(r, 0, 4));
    long nights = strtol(PQgetvalue(r, 0, 5), NULL, 10);
    PQclear(r);

    const char *sql = NULL, *next = NULL;
    int outcome = HOLD_OK;
    if (move == MOVE_RELEASE) {
        if (strcmp(status, "held") == 0)
            sql = release_held_sql, next = "released";
        else if (strcmp(status, "booked") == 0)
            sql = release_booked_sql, next = "released";
    } else {
        if (strcmp(status, "held") == 0)
            sql = confirm_sql, next = "booked";
        else if (strcmp(status, "released") == 0)
            outcome = HOLD_IS_RELEASED;
    }
    if (sql != NULL) {
        const char *pm[] = {unit, in_d, out_d, qty};
        long n = roam_db_exec(c, sql, 4, pm);
        if (n < 0) return abandon(c, ROAM_EIO);
        if (n != nights) {
            /* A held or booked night always has its row; anything else is a bug worth stopping at. */
            roam_error("hold %s: %ld of %ld calendar rows found; nothing changed", id, n, nights);
            return abandon(c, ROAM_EIO);
        }
    }
    const char *pu[] = {id, next};
    r = roam_db_query(c,
                      "UPDATE holds h SET status = coalesce($2, h.status), "
                      "updated_at = CASE WHEN $2 IS NULL THEN h.updated_at ELSE now() END "
                      "WHERE h.id = $1 RETURNING " HOLD_BODY,
                      2, pu);
    if (r == NULL) return abandon(c, ROAM_EIO);
    *json = PQntuples(r) == 1 ? store_text(r, 0, 0) : NULL;
    PQclear(r);
    if (*json == NULL) return abandon(c, ROAM_ENOMEM);
    if (roam_db_commit(c) != 0) {
        free(*json);
        *json = NULL;
        return retryable(c) ? RETRY : ROAM_EIO;
    }
    return outcome;
}

static int move_hold(roam_dbconn_t *c, const char *id, move_t move, char **json) {
    *json = NULL;
    if (!roam_uuid_valid(id)) return HOLD_NOT_FOUND;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        int rc = try_move(c, id, move, json);
        if (rc != RETRY) return rc;
    }
    roam_warn("hold %s: gave up after %d attempts (%s)", id, ATTEMPTS, roam_db_sqlstate(c));
    return ROAM_EIO;
}

int store_hold_release(roam_dbconn_t *c, const char *id, char **json) { return move_hold(c, id, MOVE_RELEASE, json); }

int store_hold_confirm(roam_dbconn_t *c, const char *id, char **json) { return move_hold(c, id, MOVE_CONFIRM, json); }
