/*
 * The inventory service's private interfaces: one section per source file.
 * Handlers are h_<resource>_<verb> in h_<resource>.c; SQL lives in
 * store_<aggregate>.c. Paths in comments are the service's own (the gateway
 * adds /api/v1).
 */
#ifndef ROAM_INVENTORY_H
#define ROAM_INVENTORY_H

#include <stdint.h>
#include <jansson.h>
#include <roam/daemon.h>
#include <roam/db.h>
#include <roam/http.h>
#include <roam/text.h>

/* ---- h_listings.c: listings of operators ---------------------------------- */

int h_listings_create(roam_req_t *req);  /* POST   /listings (operator) */
int h_listings_get(roam_req_t *req);     /* GET    /listings/{id} */
int h_listings_update(roam_req_t *req);  /* PATCH  /listings/{id} (its operator) */
int h_listings_archive(roam_req_t *req); /* DELETE /listings/{id} (its operator) */
int h_listings_mine(roam_req_t *req);    /* GET    /operator/listings (operator) */

/* ---- h_units.c: units and their calendars ---------------------------------- */

int h_units_create(roam_req_t *req);          /* POST /listings/{id}/units (its operator) */
int h_calendar_update(roam_req_t *req);       /* PUT  /listings/{id}/units/{unit_id}/calendar (its operator) */
int h_calendar_availability(roam_req_t *req); /* GET  /listings/{id}/availability */
int h_calendar_quote(roam_req_t *req);        /* GET  /listings/{id}/quote */

/* ---- h_search.c: search and destination suggestions ------------------------ */

int h_search_listings(roam_req_t *req); /* GET /listings */
int h_search_suggest(roam_req_t *req);  /* GET /listings/suggest */

/* ---- store_search.c: the search and suggest queries ------------------------ */

typedef enum {
    SEARCH_SORT_RELEVANCE,
    SEARCH_SORT_PRICE_ASC,
    SEARCH_SORT_PRICE_DESC,
    SEARCH_SORT_RATING,
} search_sort_t;

#define SEARCH_NPARAMS 20

/*
 * A validated search (h_search.c checks every value). Strings are borrowed,
 * in the text form PostgreSQL reads; NULL means absent.
 */
typedef struct {
    const char *q;                   /* the search box, trimmed, non-empty */
    const char *city, *country;      /* matched after fold() */
    const char *type;                /* hotel, apartment, tour, activity */
    const char *check_in, *check_out; /* YYYY-MM-DD; both or neither */
    const char *guests;              /* never NULL ("1" by default) */
    const char *min_price, *max_price; /* minor units */
    const char *currency;            /* upper case */
    const char *amenities;           /* comma-separated, all required */
    const char *free_cancellation;   /* "true" or "false" */
    const char *bbox[4];             /* minLon, minLat, maxLon, maxLat: all or none */
    search_sort_t sort;
    const char *after_key[2];        /* the previous page's last row: sort keys (k1, k2) ... */
    const char *after_id;            /* ... and id; all NULL on the first page */
    int limit;                       /* 1 to 100 */
} search_query_t;

/*
 * Runs the search. On success *out gets a new result (PQclear it) of up to
 * limit + 1 rows: (item JSON text, k1, k2, id), the keys being what a cursor
 * after that row must carry in after_key/after_id. Returns 0 or ROAM_EIO.
 */
int store_search_listings(roam_dbconn_t *c, const search_query_t *q, PGresult **out);
/* The statement store_search_listings runs (borrowed, static), for tools. */
const char *store_search_sql(int with_dates, search_sort_t sort);
/*
 * The suggest answer for q, {"items": [{city, country, listings}]}, as JSON
 * text in *json_out (returns new, malloc'ed). Returns 0, ROAM_ENOMEM or
 * ROAM_EIO.
 */
int store_search_suggest(roam_dbconn_t *c, const char *q, char **json_out);

/* ---- h_holds.c: holds for the booking service (internal) ------------------- */

int h_holds_create(roam_req_t *req);      /* POST /internal/holds */
int h_holds_get(roam_req_t *req);         /* GET  /internal/holds/{id} */
int h_holds_release(roam_req_t *req);     /* POST /internal/holds/{id}/release */
int h_holds_confirm(roam_req_t *req);     /* POST /internal/holds/{id}/confirm */

/* ---- hold_expiry.c: the orphan-hold safety net ---------------------------- */

/*
 * Starts the thread that releases holds still 'held' ROAM_HOLD_EXPIRY_GRACE_S
 * (default 600) after their expires_at, every ROAM_HOLD_SWEEP_INTERVAL_MS
 * (default 10000). 0, or -1 with errbuf.
 */
int inventory_hold_expiry_start(roam_daemon_t *d, char *errbuf, size_t errlen);
void inventory_hold_expiry_stop(void);
int h_listings_internal(roam_req_t *req); /* GET /internal/listings/{id} */

/* ---- validate.c: pure checks of what clients send (tests/unit/test_inventory_helpers.c) ---- */

#define INV_TITLE_MAX         200
#define INV_DESCRIPTION_MAX   10000
#define INV_PLACE_MAX         100 /* city, country */
#define INV_ADDRESS_MAX       300
#define INV_AMENITIES_MAX     50
#define INV_AMENITY_MAX       40
#define INV_PHOTOS_MAX        20
#define INV_PHOTO_URL_MAX     2048
#define INV_POLICY_HOURS_MAX  8760
#define INV_UNIT_NAME_MAX     100
#define INV_UNIT_DESC_MAX     2000
#define INV_MAX_GUESTS_MAX    50
#define INV_QUANTITY_MAX      1000
#define INV_CALENDAR_DAYS_MAX 366 /* a calendar change or availability range */
#define INV_STAY_NIGHTS_MAX   30  /* a quote or a hold */
#define INV_BOOKABLE_AHEAD    365 /* the last bookable night is today + 365 (listing time) */
#define INV_PAGE_MAX          100
#define INV_PAGE_DEFAULT      20

/* 1 if s[0..len) is an amenity slug: 1 to 40 of [a-z0-9_-]. */
int inv_slug_valid(const char *s, size_t len);
/*
 * 1 if s[0..len) is a photo reference: an http or https URL with a host, or
 * a site-relative path ("/img/a.jpg", not "//host/a.jpg"), at most
 * INV_PHOTO_URL_MAX bytes, with no whitespace or control characters.
 */
int inv_photo_valid(const char *s, size_t len);
/*
 * 1 if name has the shape of an IANA zone name Roam accepts: "UTC", or
 * Area/Location[/...] of [A-Za-z0-9_+-] ("America/Argentina/Buenos_Aires",
 * "Etc/GMT+3"); not the posix/ and right/ copies. Abbreviations ("EST",
 * "CET") and POSIX strings ("UTC+3") fail. Whether PostgreSQL knows the zone
 * is checked separately (store_timezone_canonical).
 */
int inv_timezone_shape_ok(const char *name);

/* Days since 1970-01-01 of a date (negative before it). */
typedef int32_t inv_date_t;
#define INV_DATE_MAX 2932896 /* 9999-12-31, the last date inv_date_parse accepts */
/*
 * Parses a strict YYYY-MM-DD date (years 0001 to 9999) that exists
 * (2026-02-29 does not). 0, or -1 with *out untouched.
 */
int inv_date_parse(const char *s, inv_date_t *out);
/* Writes d as YYYY-MM-DD and a NUL. */
void inv_date_format(inv_date_t d, char out[11]);
/* Today's date in UTC (for the checks the contract states in UTC). */
inv_date_t inv_today_utc(void);

/* A query argument (decoded, borrowed), or NULL when it is absent or empty: "?cursor=" counts as absent. */
const char *inv_query(roam_req_t *req, const char *name);
/*
 * Parses a decimal integer query argument (optional sign, digits only, no
 * spaces) into *out when it lies in [min, max]. 0 or -1.
 */
int inv_int_parse(const char *s, long min, long max, long *out);

/* The keyset position of a page of listings: (created_at in microseconds since the epoch, id). */
typedef struct {
    long long created_us;
    char id[37];
} inv_cursor_t;
/* Writes the opaque, URL-safe cursor of pos into out (base64url). */
void inv_cursor_encode(const inv_cursor_t *pos, char out[96]);
/* Reads a cursor made by inv_cursor_encode. 0, or -1 when s is not one. */
int inv_cursor_decode(const char *s, inv_cursor_t *pos);

/* The members of a listing in a POST or PATCH body (INV_F_* bits say which were given). */
enum {
    INV_F_TITLE = 1 << 0,
    INV_F_TYPE = 1 << 1,
    INV_F_DESCRIPTION = 1 << 2,
    INV_F_CITY = 1 << 3,
    INV_F_COUNTRY = 1 << 4,
    INV_F_TIMEZONE = 1 << 5,
    INV_F_ADDRESS = 1 << 6,
    INV_F_COORDS = 1 << 7,
    INV_F_AMENITIES = 1 << 8,
    INV_F_PHOTOS = 1 << 9,
    INV_F_CURRENCY = 1 << 10,
    INV_F_POLICY = 1 << 11,
};

typedef struct {
    unsigned present; /* INV_F_* of the members given (null counts for the optional ones) */
    /* Trimmed, NUL-terminated copies (new; freed by inv_listing_input_cleanup). NULL when absent or null. */
    char *title, *type, *description, *city, *country, *timezone, *address, *currency;
    int has_coords; /* with INV_F_COORDS: 1 = set both, 0 = clear both (null) */
    double latitude, longitude;
    char *amenities_json, *photos_json; /* JSON arrays of strings (new), deduplicated amenities */
    int free_cancellation_hours, refund_percent_after;
} inv_listing_input_t;

/*
 * Reads a listing from body (borrowed). With partial (PATCH) every member is
 * optional; otherwise title, type, description, city, country, currency and
 * cancellation_policy are required. Optional members given as null take
 * their default (timezone UTC, no address, no coordinates, no amenities or
 * photos). Appends {field, message} to errors for every problem; the
 * timezone is only checked for its shape here. Returns 0, or ROAM_ENOMEM.
 * Pair with inv_listing_input_cleanup whatever it returns.
 */
int inv_listing_input_parse(json_t *body, int partial, inv_listing_input_t *in, json_t *errors);
void inv_listing_input_cleanup(inv_listing_input_t *in);

/*
 * Reads a unit body {name, description?, max_guests, quantity, base_price}
 * (base_price's currency is checked against the listing's later). Appends
 * errors; returns 0 or ROAM_ENOMEM. Pair with inv_unit_input_cleanup.
 */
typedef struct inv_unit_input inv_unit_input_t;
int inv_unit_input_parse(json_t *body, inv_unit_input_t *in, json_t *errors);
void inv_unit_input_cleanup(inv_unit_input_t *in);

/*
 * Reads a calendar change {from, to, quantity?, price?, closed?}: the dates,
 * a non-empty range of at most INV_CALENDAR_DAYS_MAX days, and at least one
 * of the three fields (the price's currency is checked later). Appends
 * errors.
 */
typedef struct inv_calendar_change inv_calendar_change_t;
void inv_calendar_change_parse(json_t *body, inv_calendar_change_t *ch, json_t *errors);

/*
 * Checks a stay: with dates_ok (both dates parsed), check_out after
 * check_in and at most INV_STAY_NIGHTS_MAX nights; always at least one guest
 * and 1 to INV_QUANTITY_MAX units. Appends errors naming check_out, guests
 * and quantity.
 */
typedef struct inv_stay inv_stay_t;
void inv_stay_check(const inv_stay_t *stay, int dates_ok, json_t *errors);

/* ---- store_listing.c: listings (migrations/0001_listings.sql) ------------- */

/*
 * The canonical spelling of a time zone PostgreSQL knows (pg_timezone_names,
 * matched without regard to case, read once per process) into out.
 * 0, ROAM_ENOTFOUND, or ROAM_EIO.
 */
int store_timezone_canonical(roam_dbconn_t *c, const char *name, char out[64]);
/* Inserts a listing of operator_id. 0 and *json (new: the listing object, malloc'ed), or ROAM_EIO. */
int store_listing_create(roam_dbconn_t *c, const char *operator_id, const inv_listing_input_t *in, char **json);
/*
 * The listing object by id, whatever its status; with operator_id (may be
 * NULL) only that operator's. 0 and *json (new), ROAM_ENOTFOUND, or ROAM_EIO.
 */
int store_listing_get(roam_dbconn_t *c, const char *id, const char *operator_id, char **json);
/*
 * Applies the members in in to operator_id's listing id. 0 and *json (new),
 * ROAM_ENOTFOUND (no such listing of that operator), ROAM_ECONFLICT (a new
 * currency while the listing has units), or ROAM_EIO.
 */
int store_listing_update(roam_dbconn_t *c, const char *id, const char *operator_id, const inv_listing_input_t *in,
                         char **json);
/* Archives operator_id's listing id (again is fine). 0, ROAM_ENOTFOUND or ROAM_EIO. */
int store_listing_archive(roam_dbconn_t *c, const char *id, const char *operator_id);
/*
 * One page of operator_id's listings, newest first, after pos (NULL: from
 * the start): *json (new) is {"items": [...], "next_cursor": ...}. 0 or ROAM_EIO.
 */
int store_listing_page(roam_dbconn_t *c, const char *operator_id, long limit, const inv_cursor_t *pos, char **json);
/*
 * A copy of the JSON text in row, col of r without the whitespace between
 * tokens (new, malloc'ed), or NULL when memory runs out.
 */
char *store_text(PGresult *r, int row, int col);

/* ---- store_calendar.c: units, the calendar, availability and quotes -------- */

/* SQL: a timestamptz as RFC 3339 UTC text ("2026-05-01T12:00:00Z"). */
#define INV_SQL_RFC3339(ts) "to_char((" ts ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/*
 * SQL: the free-cancellation deadline of a stay as a timestamptz, NULL
 * without free cancellation: check-in at 00:00 in the listing's time zone
 * minus the policy's hours. PostgreSQL does the zone arithmetic (DST and all).
 */
#define INV_SQL_FREE_CANCELLATION(check_in, tz, hours)                                                                 \
    "CASE WHEN (" hours ") > 0 THEN ((" check_in ")::timestamp AT TIME ZONE (" tz                                      \
    ")) - make_interval(hours => (" hours ")) END"

struct inv_unit_input {
    char *name, *description; /* new, trimmed; description NULL when absent */
    int max_guests, quantity;
    int64_t base_price;
    char currency[4];
};

/*
 * Adds a unit to operator_id's listing. 0 and *json (new: the unit object),
 * ROAM_ENOTFOUND (no such listing of that operator), ROAM_ECONFLICT (the
 * price is not in the listing's currency; listing_currency gets it), or
 * ROAM_EIO.
 */
int store_unit_create(roam_dbconn_t *c, const char *listing_id, const char *operator_id, const inv_unit_input_t *in,
                      char **json, char listing_currency[4]);

/* What calendar requests need to know about a listing (and one of its units). */
typedef struct {
    char currency[4];
    inv_date_t today; /* in the listing's time zone */
    int active;       /* status active */
    int unit_found;   /* the unit asked for is the listing's */
} inv_listing_ctx_t;

/*
 * Loads ctx for listing_id; with operator_id (may be NULL) only that
 * operator's; with unit_id (may be NULL), ctx->unit_found says whether it is
 * a unit of that listing. 0, ROAM_ENOTFOUND or ROAM_EIO.
 */
int store_listing_ctx(roam_dbconn_t *c, const char *listing_id, const char *operator_id, const char *unit_id,
                      inv_listing_ctx_t *ctx);

struct inv_calendar_change {
    inv_date_t from, to;    /* [from, to) */
    int quantity;           /* -1: unchanged */
    int64_t price;          /* -1: unchanged */
    char price_currency[4]; /* with a price */
    int closed;             /* -1: unchanged, else 0 or 1 */
};

/*
 * Sets the given fields of unit_id for every date of [from, to) in one
 * statement. 0 and *json (new: {"items": [...]} of the dates, as in
 * availability), ROAM_ECONFLICT when a quantity would fall below what is
 * held and booked on a date (nothing changed), or ROAM_EIO.
 */
int store_calendar_update(roam_dbconn_t *c, const char *unit_id, const char *currency, const inv_calendar_change_t *ch,
                          char **json);
/* {"items": [...]} per unit (all, or unit_id) and date of [from, to). 0 and *json (new), or ROAM_EIO. */
int store_availability(roam_dbconn_t *c, const char *listing_id, const char *unit_id, inv_date_t from, inv_date_t to,
                       char **json);

struct inv_stay {
    inv_date_t check_in, check_out; /* nights [check_in, check_out) */
    long guests, quantity;
};

/*
 * Prices a stay of unit_id of listing_id without holding anything: *json
 * (new) is {available, total, nights, free_cancellation_until}.
 * 0, ROAM_ENOTFOUND (no such listing, or the unit is not its), or ROAM_EIO.
 */
int store_quote(roam_dbconn_t *c, const char *listing_id, const char *unit_id, const inv_stay_t *stay, char **json);

/* ---- store_hold.c: holds for the booking service (docs/internal-api.md) ---- */

typedef struct {
    char hold_id[37], listing_id[37], unit_id[37];
    inv_stay_t stay;
    char expires_at[21]; /* "YYYY-MM-DDTHH:MM:SSZ", or "" when the caller sent none */
} inv_hold_input_t;

typedef enum {
    HOLD_CREATED = 1,     /* 201: the units are held */
    HOLD_REPLAYED,        /* 200: the same hold existed; its body */
    HOLD_MISMATCH,        /* 409 hold_mismatch: the id holds something else */
    HOLD_SOLD_OUT,        /* 409 sold_out */
    HOLD_NO_LISTING,      /* 404: no such listing */
    HOLD_NO_UNIT,         /* 404: no such unit */
    HOLD_TOO_MANY_GUESTS, /* 422 guests */
    HOLD_OK,              /* 200: released or confirmed (or it was already) */
    HOLD_IS_RELEASED,     /* 409 hold_released: a released hold cannot be confirmed */
    HOLD_NOT_FOUND,       /* 404: no such hold */
} inv_hold_outcome_t;

/*
 * Holds in->stay.quantity units of the unit for every night, atomically, or
 * nothing. Returns an inv_hold_outcome_t (with *json, new, the hold body
 * when there is one) or a negative ROAM_E* code. *max_guests gets the
 * unit's limit for HOLD_TOO_MANY_GUESTS.
 */
int store_hold_create(roam_dbconn_t *c, const inv_hold_input_t *in, char **json, int *max_guests);
/* The hold body. 0 and *json (new), ROAM_ENOTFOUND or ROAM_EIO. */
int store_hold_get(roam_dbconn_t *c, const char *id, char **json);
/* held or booked -> released, returning its units. HOLD_OK (*json new), HOLD_NOT_FOUND, or ROAM_E*. */
int store_hold_release(roam_dbconn_t *c, const char *id, char **json);
/* held -> booked. HOLD_OK (*json new), HOLD_IS_RELEASED (*json new), HOLD_NOT_FOUND, or ROAM_E*. */
int store_hold_confirm(roam_dbconn_t *c, const char *id, char **json);

/* ---- ratings.c: listing ratings from the review service's events ----------- */

/* Subscribes to the reviews topic (consumer group inventory.ratings). */
int inventory_ratings_init(roam_daemon_t *d, char *errbuf, size_t errlen);

#endif
