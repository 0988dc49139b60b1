/*
 * The search and suggest queries (migrations/0020_search.sql and
 * 0021_search_keys.sql have the document column, the query builder, the
 * folded keys and the indexes; docs/search.md the design and the plan).
 *
 * One statement per request. Every statement takes the same twenty
 * parameters (SEARCH_NPARAMS, in the order of search_query_t), NULL for
 * "absent", and names each of them with its type, so libpq needs no
 * parameter types. libpq sends it as an unnamed statement, which PostgreSQL
 * plans with the request's values: "$2 IS NULL OR city_key = fold($2)"
 * becomes "city_key = 'paris'" before planning, and the indexes apply.
 *
 * Each statement is one of eight fixed texts (with or without dates, times
 * four sorts), so no SQL is ever assembled at run time.
 */
#include "inventory.h"

#include <roam/common.h>

#include <stdio.h>
#include <string.h>

/* ---- the pieces (SQL assembled from macros, kept as written) ---- */

/* clang-format off */

/*
 * price_from with check_in ($5) and check_out ($6): the cheapest stay in a
 * unit for $7 guests that is open and has a unit left on every night. The
 * calendar is sparse: a night without a row sells the unit's quantity at
 * its base price with nothing held, so only existing rows can close a night
 * or change its price, and a unit with quantity 0 sells only if rows cover
 * every night. One range scan of the calendar's primary key per unit.
 */
#define PRICE_FOR_STAY                                                                                               \
    " CROSS JOIN LATERAL (SELECT min(u.base_price * ($6::date - $5::date) + n.delta) AS price"                     \
    " FROM units u"                                                                                                  \
    " CROSS JOIN LATERAL (SELECT count(*) AS rows,"                                                                  \
    " coalesce(sum(d.price - u.base_price), 0)::bigint AS delta,"                                                   \
    " bool_or(d.closed OR d.quantity - d.held - d.booked < 1) AS unsellable"                                       \
    " FROM calendar_days d WHERE d.unit_id = u.id AND d.day >= $5::date AND d.day < $6::date) n"                  \
    " WHERE u.listing_id = l.id AND u.max_guests >= $7::int AND n.unsellable IS NOT TRUE"                          \
    " AND (u.quantity >= 1 OR n.rows = $6::date - $5::date) OFFSET 0) p"

/* Every night of the stay must be bookable: from the listing's today to today + 365 (its time zone). */
#define STAY_IN_WINDOW                                                                                               \
    " AND $5::date >= (now() AT TIME ZONE l.timezone)::date"                                                         \
    " AND $6::date <= (now() AT TIME ZONE l.timezone)::date + 366"

/*
 * price_from without dates: the lowest price of any open date with a unit
 * left in [today, today + 365] of the listing's time zone (its bookable
 * nights), over units for
 * $7 guests. A unit's base price counts when its quantity is at least one
 * and some date of the window has no row ("gap"); then only rows priced
 * below the base price can lower it, and the (unit_id, price) index finds
 * those without reading the others (the window test is written as
 * arithmetic on purpose, so that the planner leads with that index rather
 * than the primary key's date range). The gap test probes the window's
 * first and last dates and counts rows only when both exist, so a sparse
 * calendar costs about three index probes per unit. OFFSET 0 keeps the
 * outer conditions on price out of the aggregate (they would evaluate it
 * twice).
 */
#define CHEAPEST_ROW(extra)                                                                                          \
    "(SELECT d.price FROM calendar_days d WHERE d.unit_id = u.id" extra                                              \
    " AND d.day - t.today BETWEEN 0 AND 365 AND NOT d.closed AND d.quantity - d.held - d.booked >= 1"               \
    " ORDER BY d.price LIMIT 1)"
#define PRICE_ANY_DATE                                                                                               \
    " CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE l.timezone)::date AS today) t"                                 \
    " CROSS JOIN LATERAL (SELECT min(CASE WHEN g.gap"                                                               \
    " THEN LEAST(u.base_price, " CHEAPEST_ROW(" AND d.price < u.base_price") ")"                                    \
    " ELSE " CHEAPEST_ROW("") " END) AS price"                                                                       \
    " FROM units u"                                                                                                  \
    " CROSS JOIN LATERAL (SELECT u.quantity >= 1 AND ("                                                              \
    " NOT EXISTS (SELECT 1 FROM calendar_days e WHERE e.unit_id = u.id AND e.day = t.today)"                         \
    " OR NOT EXISTS (SELECT 1 FROM calendar_days e WHERE e.unit_id = u.id AND e.day = t.today + 365)"                \
    " OR (SELECT count(*) FROM calendar_days e WHERE e.unit_id = u.id"                                               \
    " AND e.day >= t.today AND e.day <= t.today + 365) < 366) AS gap) g"                                             \
    " WHERE u.listing_id = l.id AND u.max_guests >= $7::int OFFSET 0) p"

/* Without dates $5 and $6 are NULL; naming them keeps their types known. */
#define NO_STAY " AND $5::date IS NULL AND $6::date IS NULL"

/* Everything but the price: the listing's own columns. */
#define FILTERS                                                                                                      \
    " WHERE l.status = 'active'"                                                                                     \
    " AND ($1::text IS NULL OR l.search_doc @@ search_tsquery($1::text))"                                            \
    " AND ($2::text IS NULL OR l.city_key = fold($2::text))"                                                       \
    " AND ($3::text IS NULL OR l.country_key = fold($3::text))"                                                    \
    " AND ($4::text IS NULL OR l.type = $4::text)"                                                                   \
    " AND ($10::text IS NULL OR l.currency = $10::text)"                                                             \
    " AND ($11::text IS NULL OR l.amenities @> string_to_array($11::text, ','))"                                     \
    " AND ($12::boolean IS NULL OR (l.free_cancellation_hours > 0) = $12::boolean)"                                  \
    " AND ($13::float8 IS NULL OR point(l.longitude, l.latitude)"                                                    \
    " <@ box(point($13::float8, $14::float8), point($15::float8, $16::float8)))"

/* The price conditions: something to sell, within the asked range. */
#define PRICE_OK                                                                                                     \
    " p.price IS NOT NULL"                                                                                           \
    " AND ($8::bigint IS NULL OR p.price >= $8::bigint)"                                                             \
    " AND ($9::bigint IS NULL OR p.price <= $9::bigint)"

/* The rating as shown (one decimal), NULL when unrated. */
#define AVERAGE "CASE WHEN l.rating_count > 0 THEN round(l.rating_sum::numeric / l.rating_count, 1) END"
#define RANK "ts_rank_cd(l.search_doc, search_tsquery($1::text))"

/*
 * Sort keys (k1, k2) and the keyset condition "after the cursor's row"
 * ($17, $18, $19 = the last row's keys and id; all NULL on the first page).
 * Price sorts order by currency, then amount (down for price_desc), then id;
 * rating by the shown average, best first, unrated last, then id; relevance
 * by rank, then id.
 */
#define KEYS_PRICE ", l.currency::text AS k1, p.price::text AS k2"
#define AFTER_PRICE_ASC                                                                                              \
    " AND ($19::uuid IS NULL OR (l.currency::text, p.price, l.id) > ($17::text, $18::bigint, $19::uuid))"
#define AFTER_PRICE_DESC                                                                                             \
    " AND ($19::uuid IS NULL OR l.currency::text > $17::text OR (l.currency::text = $17::text"                       \
    " AND (p.price < $18::bigint OR (p.price = $18::bigint AND l.id > $19::uuid))))"

#define KEYS_RATING ", (" AVERAGE ")::text AS k1, $18::text AS k2"
#define AFTER_RATING                                                                                                 \
    " AND ($19::uuid IS NULL OR CASE WHEN $17::numeric IS NULL THEN l.rating_count = 0 AND l.id > $19::uuid"         \
    " ELSE l.rating_count = 0 OR (" AVERAGE ") < $17::numeric"                                                       \
    " OR ((" AVERAGE ") = $17::numeric AND l.id > $19::uuid) END)"

#define AFTER_RELEVANCE                                                                                              \
    " AND ($19::uuid IS NULL OR (" RANK ") < $17::real OR ((" RANK ") = $17::real AND l.id > $19::uuid))"

/* An item's columns but its price, from listings l. */
#define COLUMNS                                                                                                      \
    "l.id, l.title, l.type, l.city, l.country, l.rating_count, " AVERAGE " AS average,"                              \
    " l.currency::text AS currency, l.free_cancellation_hours > 0 AS free_cancellation,"                             \
    " l.photos[1] AS thumbnail_url"

/*
 * The page's JSON, built for the rows of s only (row_to_json: compact,
 * members in this order). Columns: item JSON, k1, k2, id.
 */
#define ITEMS_OF_S                                                                                                   \
    "SELECT (SELECT row_to_json(j) FROM (SELECT s.id, s.title, s.type, s.city, s.country,"                           \
    " (SELECT row_to_json(r) FROM (SELECT s.average AS average, s.rating_count AS count) r) AS rating,"             \
    " (SELECT row_to_json(m) FROM (SELECT s.price AS amount, s.currency AS currency) m) AS price_from,"             \
    " s.free_cancellation, s.thumbnail_url) j)::text, s.k1, s.k2, s.id FROM ("

/*
 * Price sorts: every candidate's price is needed before the first row can
 * be named. The query filters, orders and cuts ($20 rows: the limit plus
 * one, to know whether there is a next page).
 */
#define PAGE_BY_PRICE(price, window, after, order, outer_order)                                                      \
    ITEMS_OF_S "SELECT " COLUMNS ", p.price" KEYS_PRICE " FROM listings l" price FILTERS window " AND" PRICE_OK      \
    after order " LIMIT $20::int) s" outer_order

/*
 * Rating and relevance: the candidates are sorted first, which is cheap
 * (no calendar), and the price is computed for one candidate after another
 * only until the page is full; a candidate with nothing to sell is skipped.
 * The middle query's order is the inner one's, so PostgreSQL keeps the
 * nested loop's order and stops at the limit instead of pricing the whole
 * catalogue. OFFSET 0 keeps the candidates a separate, sorted subquery.
 */
#define PAGE_LAZY(price, window, inner_cols, after, inner_order, mid_cols, mid_order, outer_order)                 \
    ITEMS_OF_S "SELECT l.*" mid_cols ", p.price FROM (SELECT " COLUMNS ", l.timezone" inner_cols                    \
    " FROM listings l" FILTERS window after inner_order " OFFSET 0) l" price " WHERE" PRICE_OK mid_order           \
    " LIMIT $20::int) s" outer_order

#define PAGE_RELEVANCE(price, window)                                                                                \
    PAGE_LAZY(price, window, ", " RANK " AS rank, $18::text AS k2", AFTER_RELEVANCE, " ORDER BY rank DESC, l.id",   \
              ", l.rank::text AS k1", " ORDER BY l.rank DESC, l.id", " ORDER BY s.rank DESC, s.id")
#define PAGE_RATING(price, window)                                                                                   \
    PAGE_LAZY(price, window, KEYS_RATING, AFTER_RATING, " ORDER BY average DESC NULLS LAST, l.id", "",             \
              " ORDER BY l.average DESC NULLS LAST, l.id", " ORDER BY s.average DESC NULLS LAST, s.id")

/* [with dates][sort] */
static const char *const search_sql[2][4] = {
    {
        [SEARCH_SORT_RELEVANCE] = PAGE_RELEVANCE(PRICE_ANY_DATE, NO_STAY),
        [SEARCH_SORT_PRICE_ASC] = PAGE_BY_PRICE(PRICE_ANY_DATE, NO_STAY, AFTER_PRICE_ASC,
                                                " ORDER BY l.currency::text, p.price, l.id",
                                                " ORDER BY s.currency, s.price, s.id"),
        [SEARCH_SORT_PRICE_DESC] = PAGE_BY_PRICE(PRICE_ANY_DATE, NO_STAY, AFTER_PRICE_DESC,
                                                 " ORDER BY l.currency::text, p.price DESC, l.id",
                                                 " ORDER BY s.currency, s.price DESC, s.id"),
        [SEARCH_SORT_RATING] = PAGE_RATING(PRICE_ANY_DATE, NO_STAY),
    },
    {
        [SEARCH_SORT_RELEVANCE] = PAGE_RELEVANCE(PRICE_FOR_STAY, STAY_IN_WINDOW),
        [SEARCH_SORT_PRICE_ASC] = PAGE_BY_PRICE(PRICE_FOR_STAY, STAY_IN_WINDOW, AFTER_PRICE_ASC,
                                                " ORDER BY l.currency::text, p.price, l.id",
                                                " ORDER BY s.currency, s.price, s.id"),
        [SEARCH_SORT_PRICE_DESC] = PAGE_BY_PRICE(PRICE_FOR_STAY, STAY_IN_WINDOW, AFTER_PRICE_DESC,
                                                 " ORDER BY l.currency::text, p.price DESC, l.id",
                                                 " ORDER BY s.currency, s.price DESC, s.id"),
        [SEARCH_SORT_RATING] = PAGE_RATING(PRICE_FOR_STAY, STAY_IN_WINDOW),
    },
};

/* clang-format on */

const char *store_search_sql(int with_dates, search_sort_t sort) { return search_sql[with_dates ? 1 : 0][sort]; }

int store_search_listings(roam_dbconn_t *c, const search_query_t *q, PGresult **out) {
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", q->limit + 1);
    const char *p[SEARCH_NPARAMS] = {
        q->q,         q->city,      q->country,      q->type,         q->check_in,          q->check_out, q->guests,
        q->min_price, q->max_price, q->currency,     q->amenities,    q->free_cancellation, q->bbox[0],   q->bbox[1],
        q->bbox[2],   q->bbox[3],   q->after_key[0], q->after_key[1], q->after_id,          limit,
    };
    PGresult *r = roam_db_query(c, store_search_sql(q->check_in != NULL, q->sort), SEARCH_NPARAMS, p);
    if (r == NULL) return ROAM_EIO;
    *out = r;
    return 0;
}

/*
 * Destinations of active listings whose folded city or country contains
 * fold($1) (LIKE metacharacters in it escaped), grouped by folded city and
 * country, so that "Zurich" and "Zürich" are one destination, shown with
 * its most common spelling. Most listings first, then by name; at most ten.
 * The trigram indexes serve the substring match for queries of three or
 * more characters; shorter ones scan the active listings.
 */
int store_search_suggest(roam_dbconn_t *c, const char *q, char **json_out) {
    const char *p[] = {q};
    /* clang-format off */
    PGresult *r = roam_db_query(c,
        "SELECT '{\"items\":[' || coalesce(string_agg((SELECT row_to_json(x)::text"
        " FROM (SELECT d.city, d.country, d.listings) x), ','"
        " ORDER BY d.listings DESC, d.city_key, d.country_key), '') || ']}'"
        " FROM (SELECT mode() WITHIN GROUP (ORDER BY l.city) AS city,"
        " mode() WITHIN GROUP (ORDER BY l.country) AS country, count(*) AS listings, l.city_key, l.country_key"
        " FROM listings l, (SELECT '%' || replace(replace(replace(fold($1::text), '\\', '\\\\'),"
        " '%', '\\%'), '_', '\\_') || '%' AS pattern) e"
        " WHERE l.status = 'active' AND (l.city_key LIKE e.pattern OR l.country_key LIKE e.pattern)"
        " GROUP BY l.city_key, l.country_key"
        " ORDER BY listings DESC, l.city_key, l.country_key LIMIT 10) d",
        1, p);
    /* clang-format on */
    if (r == NULL) return ROAM_EIO;
    int rc = ROAM_EIO;
    if (PQntuples(r) == 1) {
        *json_out = roam_trystrdup(PQgetvalue(r, 0, 0));
        rc = *json_out ? 0 : ROAM_ENOMEM;
    }
    PQclear(r);
    return rc;
}
