/*
 * GET /listings (search) and GET /listings/suggest.
 *
 * Every query argument is checked here, all of them before answering, so a
 * 422 lists every mistake at once; the store then runs one statement whose
 * rows already carry each item's JSON (store_search.c).
 *
 * Pagination is keyset: the cursor is base64url of a small JSON object,
 * {"v":1, "s": sort, "f": fingerprint of the filters, "k": [sort keys of the
 * last row], "i": its id}. The next page starts strictly after that row in
 * the sort order, so rows inserted or changed meanwhile are neither repeated
 * nor skipped (a row whose own sort key changes moves, as it should). A
 * cursor is only good for the filters and sort that made it; anything else
 * is 422 at field "cursor". It is opaque, not secret: every value it carries
 * is checked before it reaches SQL.
 */
#include "inventory.h"

#include <roam/codec.h>
#include <roam/common.h>

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEARCH_Q_MAX         200 /* characters of q */
#define SEARCH_PLACE_MAX     200 /* characters of city and country */
#define SEARCH_AMENITY_MAX   50  /* characters of one amenity */
#define SEARCH_AMENITIES_MAX 20  /* amenities in one search */
#define SEARCH_GUESTS_MAX    100
#define SEARCH_LIMIT_DEFAULT 20
#define SEARCH_LIMIT_MAX     100
#define SEARCH_NIGHTS_MAX    30
#define SEARCH_LAST_NIGHT    366  /* the last night a stay may reach, from today (UTC), as in quotes */
#define SEARCH_CURSOR_MAX    1024 /* characters of a cursor */
#define SUGGEST_Q_MAX        100

/* ---- small pure helpers ---- */

/* 1 if s is well-formed UTF-8 (no overlong forms, surrogates or values above U+10FFFF). */
static int utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int n;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80) return 0;
            c = (c << 6) | (p[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
        p += n + 1;
    }
    return 1;
}

/* A trimmed copy of s in request memory; NULL when s is NULL, blank, or memory ran out (*oom set). */
static const char *trimmed(roam_req_t *req, const char *s, int *oom) {
    if (s == NULL) return NULL;
    size_t n = strlen(s);
    s = roam_trim(s, &n);
    if (n == 0) return NULL;
    char *out = roam_req_alloc(req, n + 1);
    if (out == NULL) {
        *oom = 1;
        return NULL;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* Parses 1 to 18 decimal digits (nothing else) into *out. Returns 0 or -1. */
static int parse_digits(const char *s, long long *out) {
    size_t n = strlen(s);
    if (n == 0 || n > 18) return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Parses a finite decimal number (digits, sign, point, exponent; no spaces, hex, inf or nan). */
static int parse_number(const char *s, double *out) {
    if (*s == '\0' || strlen(s) > 32) return -1;
    for (const char *p = s; *p; p++)
        if (!(isdigit((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.' || *p == 'e' || *p == 'E')) return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long days_from_civil(long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

/* Parses an existing date written YYYY-MM-DD into days since the epoch. Returns 0 or -1. */
static int parse_date(const char *s, long *days) {
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) return -1;
    long y = strtol(s, NULL, 10);
    unsigned m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    unsigned d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1) return -1;
    unsigned max = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    if (d > max) return -1;
    *days = days_from_civil(y, m, d);
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static const char *const sort_names[] = {
    [SEARCH_SORT_RELEVANCE] = "relevance",
    [SEARCH_SORT_PRICE_ASC] = "price_asc",
    [SEARCH_SORT_PRICE_DESC] = "price_desc",
    [SEARCH_SORT_RATING] = "rating",
};

/* ---- the query arguments ---- */

/*
 * The amenities argument ("wifi, pool,wifi") as a sorted, de-duplicated,
 * comma-separated list in request memory ("pool,wifi"); NULL when it names
 * none. Adds a field error for a bad one.
 */
static const char *parse_amenities(roam_req_t *req, const char *raw, json_t *errors, int *oom) {
    if (raw == NULL) return NULL;
    char *copy = roam_req_strdup(req, raw);
    const char **items = roam_req_alloc(req, sizeof(char *) * (SEARCH_AMENITIES_MAX + 1));
    if (copy == NULL || items == NULL) {
        *oom = 1;
        return NULL;
    }
    size_t n = 0, total = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        size_t len = strlen(tok);
        tok = (char *)roam_trim(tok, &len); /* points into copy, which is ours to change */
        tok[len] = '\0';
        if (len == 0) continue;
        for (char *c = tok; *c; c++) /* amenities are stored as lower-case slugs ("wifi") */
            *c = (char)tolower((unsigned char)*c);
        if (roam_utf8_chars(tok, len) > SEARCH_AMENITY_MAX) {
            roam_field_error(errors, "amenities", "each amenity must be at most %d characters", SEARCH_AMENITY_MAX);
            return NULL;
        }
        if (n == SEARCH_AMENITIES_MAX) {
            roam_field_error(errors, "amenities", "must name at most %d amenities", SEARCH_AMENITIES_MAX);
            return NULL;
        }
        items[n++] = tok;
        total += len + 1;
    }
    if (n == 0) return NULL;
    qsort(items, n, sizeof(char *), cmp_str);
    char *out = roam_req_alloc(req, total + 1);
    if (out == NULL) {
        *oom = 1;
        return NULL;
    }
    char *w = out;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(items[i], items[i - 1]) == 0) continue;
        if (w != out) *w++ = ',';
        size_t len = strlen(items[i]);
        memcpy(w, items[i], len);
        w += len;
    }
    *w = '\0';
    return out;
}

/* bbox=minLon,minLat,maxLon,maxLat into q->bbox (request memory). Adds a field error when it is not that. */
static void parse_bbox(roam_req_t *req, const char *raw, search_query_t *q, json_t *errors, int *oom) {
    if (raw == NULL) return;
    char *copy = roam_req_strdup(req, raw);
    if (copy == NULL) {
        *oom = 1;
        return;
    }
    double v[4];
    int n = 0;
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (n == 4 || parse_number(p, &v[n]) != 0) {
            n = -1;
            break;
        }
        n++;
        if (!comma) break;
        p = comma + 1;
    }
    if (n != 4) {
        roam_field_error(errors, "bbox", "must be four numbers: minLon,minLat,maxLon,maxLat");
        return;
    }
    if (v[0] < -180 || v[0] > 180 || v[2] < -180 || v[2] > 180)
        roam_field_error(errors, "bbox", "longitudes must be from -180 to 180");
    else if (v[1] < -90 || v[1] > 90 || v[3] < -90 || v[3] > 90)
        roam_field_error(errors, "bbox", "latitudes must be from -90 to 90");
    else if (v[0] > v[2] || v[1] > v[3])
        roam_field_error(errors, "bbox", "minLon must not exceed maxLon, nor minLat maxLat");
    else
        for (int i = 0; i < 4; i++)
            if ((q->bbox[i] = roam_req_printf(req, "%.17g", v[i])) == NULL) *oom = 1;
}

/* The dates, guests and their rules. */
static void parse_stay(roam_req_t *req, search_query_t *q, json_t *errors) {
    const char *ci = roam_req_query(req, "check_in"), *co = roam_req_query(req, "check_out");
    if (ci != NULL && *ci == '\0') ci = NULL;
    if (co != NULL && *co == '\0') co = NULL;
    long din = 0, dout = 0;
    int ok_in = ci != NULL && parse_date(ci, &din) == 0;
    int ok_out = co != NULL && parse_date(co, &dout) == 0;
    if (ci != NULL && !ok_in) roam_field_error(errors, "check_in", "must be an existing date written YYYY-MM-DD");
    if (co != NULL && !ok_out) roam_field_error(errors, "check_out", "must be an existing date written YYYY-MM-DD");
    if (ci == NULL && co != NULL) roam_field_error(errors, "check_in", "is required with check_out");
    if (co == NULL && ci != NULL) roam_field_error(errors, "check_out", "is required with check_in");
    if (ok_in && ok_out) {
        long today = (long)(time(NULL) / 86400); /* UTC */
        if (din < today - 1) roam_field_error(errors, "check_in", "must not be before yesterday (UTC)");
        if (dout <= din)
            roam_field_error(errors, "check_out", "must be after check_in");
        else if (dout - din > SEARCH_NIGHTS_MAX)
            roam_field_error(errors, "check_out", "a stay may last at most %d nights", SEARCH_NIGHTS_MAX);
        else if (dout - 1 > today + SEARCH_LAST_NIGHT)
            roam_field_error(errors, "check_out",
                             "must be at most %d days ahead (dates are bookable up to 365 days ahead)",
                             SEARCH_LAST_NIGHT + 1);
        q->check_in = ci;
        q->check_out = co;
    }

    const char *g = roam_req_query(req, "guests");
    long long guests = 1;
    if (g != NULL && *g != '\0' && (parse_digits(g, &guests) != 0 || guests < 1 || guests > SEARCH_GUESTS_MAX))
        roam_field_error(errors, "guests", "must be an integer from 1 to %d", SEARCH_GUESTS_MAX);
    q->guests = roam_req_printf(req, "%lld", guests);
}

/* A text argument: trimmed, valid UTF-8, at most max characters; NULL when absent or blank. */
static const char *text_arg(roam_req_t *req, const char *name, size_t max, json_t *errors, int *oom) {
    const char *v = trimmed(req, roam_req_query(req, name), oom);
    if (v == NULL) return NULL;
    if (!utf8_valid(v)) {
        roam_field_error(errors, name, "must be valid UTF-8");
        return NULL;
    }
    if (roam_utf8_chars(v, strlen(v)) > max) {
        roam_field_error(errors, name, "must be at most %zu characters", max);
        return NULL;
    }
    return v;
}

/*
 * The fingerprint of everything that decides which rows a search returns
 * and in which order (not the limit): 16 hex digits of a SHA-256 over the
 * normalised values, each length-prefixed so no two searches collide by
 * concatenation.
 */
static int fingerprint(roam_req_t *req, const search_query_t *q, char out[17]) {
    const char *v[] = {q->q,       q->city,      q->country,   q->type,     q->check_in,        q->check_out,
                       q->guests,  q->min_price, q->max_price, q->currency, q->amenities,       q->free_cancellation,
                       q->bbox[0], q->bbox[1],   q->bbox[2],   q->bbox[3],  sort_names[q->sort]};
    char *text = roam_req_strdup(req, "search/1");
    for (size_t i = 0; text != NULL && i < ROAM_ARRAY_LEN(v); i++)
        text = v[i] ? roam_req_printf(req, "%s|%zu:%s", text, strlen(v[i]), v[i]) : roam_req_printf(req, "%s|-", text);
    if (text == NULL) return ROAM_ENOMEM;
    char hex[65];
    roam_sha256_hex(text, strlen(text), hex);
    memcpy(out, hex, 16);
    out[16] = '\0';
    return 0;
}

/* 1 if s has the form of key k of sort (as store_search_listings produces it). */
static int key_valid(search_sort_t sort, int k, const char *s) {
    long long n;
    double d;
    switch (sort) {
    case SEARCH_SORT_PRICE_ASC:
    case SEARCH_SORT_PRICE_DESC:
        if (k == 1) return parse_digits(s, &n) == 0;
        return strlen(s) == 3 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]) &&
               isupper((unsigned char)s[2]);
    case SEARCH_SORT_RATING: /* "4.5" */
        return strlen(s) == 3 && isdigit((unsigned char)s[0]) && s[1] == '.' && isdigit((unsigned char)s[2]);
    case SEARCH_SORT_RELEVANCE: /* a rank: a float4 PostgreSQL can read back, never negative */
        return parse_number(s, &d) == 0 && d >= 0 && (d == 0 || (d >= FLT_MIN && d <= FLT_MAX));
    }
    return 0;
}

/*
 * Reads the cursor argument into q->after_*. Adds a field error when it is
 * malformed or was made for other filters or another sort.
 */
static void parse_cursor(roam_req_t *req, const char *raw, const char *fp, search_query_t *q, json_t *errors) {
    size_t n = strlen(raw);
    unsigned char buf[SEARCH_CURSOR_MAX];
    long len = n <= SEARCH_CURSOR_MAX ? roam_b64url_decode(raw, n, buf, sizeof(buf)) : -1;
    json_t *doc = len > 0 ? json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *keys = json_object_get(doc, "k");
    const char *s = json_string_value(json_object_get(doc, "s"));
    const char *f = json_string_value(json_object_get(doc, "f"));
    const char *id = json_string_value(json_object_get(doc, "i"));
    int ok = json_is_object(doc) && json_integer_value(json_object_get(doc, "v")) == 1 && json_is_array(keys) &&
             json_array_size(keys) == 2 && s != NULL && f != NULL && id != NULL && roam_uuid_valid(id);
    if (ok && (strcmp(s, sort_names[q->sort]) != 0 || strcmp(f, fp) != 0)) {
        roam_field_error(errors, "cursor", "belongs to another search: repeat the same filters and sort");
        json_decref(doc);
        return;
    }
    /* Price sorts carry (currency, amount); rating (average or null, null); relevance (rank, null). */
    int price = q->sort == SEARCH_SORT_PRICE_ASC || q->sort == SEARCH_SORT_PRICE_DESC;
    const char *k[2] = {NULL, NULL};
    for (int i = 0; ok && i < 2; i++) {
        json_t *e = json_array_get(keys, (size_t)i);
        if (json_is_null(e))
            ok = i == 1 ? !price : q->sort == SEARCH_SORT_RATING;
        else if (json_is_string(e) && (i == 0 || price) && key_valid(q->sort, i, json_string_value(e)))
            ok = (k[i] = roam_req_strdup(req, json_string_value(e))) != NULL;
        else
            ok = 0;
    }
    if (ok) {
        q->after_key[0] = k[0];
        q->after_key[1] = k[1];
        q->after_id = roam_req_strdup(req, id);
        ok = q->after_id != NULL;
    }
    if (!ok) roam_field_error(errors, "cursor", "is not a cursor of this API");
    json_decref(doc);
}

/* The cursor after row i of r (columns item, k1, k2, id). Returns new (malloc'ed) or NULL. */
static char *make_cursor(PGresult *r, int i, search_sort_t sort, const char *fp) {
    json_t *k1 = PQgetisnull(r, i, 1) ? json_null() : json_string(PQgetvalue(r, i, 1));
    json_t *k2 = PQgetisnull(r, i, 2) ? json_null() : json_string(PQgetvalue(r, i, 2));
    json_t *doc = json_pack("{s:i, s:s, s:s, s:[o,o], s:s}", "v", 1, "s", sort_names[sort], "f", fp, "k", k1, k2, "i",
                            PQgetvalue(r, i, 3));
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (text == NULL) return NULL;
    size_t n = strlen(text);
    char *out = roam_trymalloc(ROAM_B64URL_LEN(n));
    if (out != NULL) roam_b64url_encode((const unsigned char *)text, n, out);
    free(text);
    return out;
}

static int unavailable(roam_req_t *req, const char *what) {
    return roam_respond_problem(req, "upstream_unavailable", "%s is unreachable; try again", what);
}

/* {"items": [rows 0..page), "next_cursor": cursor | null}, cursor stolen (may be NULL). */
static int respond_page(roam_req_t *req, PGresult *r, int page, char *cursor) {
    size_t total = 64 + (cursor ? strlen(cursor) : 0);
    for (int i = 0; i < page; i++)
        total += (size_t)PQgetlength(r, i, 0) + 1;
    char *body = roam_trymalloc(total);
    if (body == NULL) {
        free(cursor);
        return unavailable(req, "Memory");
    }
    size_t w = 0;
    memcpy(body, "{\"items\":[", 10);
    w = 10;
    for (int i = 0; i < page; i++) {
        if (i > 0) body[w++] = ',';
        size_t len = (size_t)PQgetlength(r, i, 0);
        memcpy(body + w, PQgetvalue(r, i, 0), len);
        w += len;
    }
    if (cursor != NULL)
        w += (size_t)snprintf(body + w, total - w, "],\"next_cursor\":\"%s\"}", cursor);
    else
        w += (size_t)snprintf(body + w, total - w, "],\"next_cursor\":null}");
    free(cursor);
    return roam_respond_raw(req, 200, "application/json", body, w);
}

/* ---- routes ---- */

int h_search_listings(roam_req_t *req) {
    search_query_t q;
    memset(&q, 0, sizeof(q));
    json_t *errors = json_array();
    int oom = 0;

    q.q = text_arg(req, "q", SEARCH_Q_MAX, errors, &oom);
    q.city = text_arg(req, "city", SEARCH_PLACE_MAX, errors, &oom);
    q.country = text_arg(req, "country", SEARCH_PLACE_MAX, errors, &oom);

    const char *type = roam_req_query(req, "type");
    if (type != NULL && *type != '\0') {
        if (strcmp(type, "hotel") == 0 || strcmp(type, "apartment") == 0 || strcmp(type, "tour") == 0 ||
            strcmp(type, "activity") == 0)
            q.type = type;
        else
            roam_field_error(errors, "type", "must be one of hotel, apartment, tour, activity");
    }

    parse_stay(req, &q, errors);

    const char *cur = roam_req_query(req, "currency");
    if (cur != NULL && *cur != '\0') {
        if (strlen(cur) == 3 && isalpha((unsigned char)cur[0]) && isalpha((unsigned char)cur[1]) &&
            isalpha((unsigned char)cur[2])) {
            char *up = roam_req_strdup(req, cur);
            if (up == NULL) oom = 1;
            for (int i = 0; up && i < 3; i++)
                up[i] = (char)toupper((unsigned char)up[i]);
            q.currency = up;
        } else {
            roam_field_error(errors, "currency", "must be an ISO 4217 code such as EUR");
        }
    }
    long long lo = -1, hi = -1;
    const char *pmin = roam_req_query(req, "min_price"), *pmax = roam_req_query(req, "max_price");
    if (pmin != NULL && *pmin != '\0') {
        if (parse_digits(pmin, &lo) == 0)
            q.min_price = roam_req_printf(req, "%lld", lo);
        else
            roam_field_error(errors, "min_price", "must be a whole amount in minor units, 0 or more");
    }
    if (pmax != NULL && *pmax != '\0') {
        if (parse_digits(pmax, &hi) == 0)
            q.max_price = roam_req_printf(req, "%lld", hi);
        else
            roam_field_error(errors, "max_price", "must be a whole amount in minor units, 0 or more");
    }
    if (lo >= 0 && hi >= 0 && lo > hi) roam_field_error(errors, "max_price", "must not be below min_price");
    if ((q.min_price != NULL || q.max_price != NULL) && q.currency == NULL && (cur == NULL || *cur == '\0'))
        roam_field_error(errors, "currency", "is required with min_price or max_price (prices are compared in it)");

    q.amenities = parse_amenities(req, roam_req_query(req, "amenities"), errors, &oom);
    if (q.amenities != NULL && !utf8_valid(q.amenities)) {
        roam_field_error(errors, "amenities", "must be valid UTF-8");
        q.amenities = NULL;
    }

    const char *fc = roam_req_query(req, "free_cancellation");
    if (fc != NULL && *fc != '\0') {
        if (strcmp(fc, "true") == 0 || strcmp(fc, "false") == 0)
            q.free_cancellation = fc;
        else
            roam_field_error(errors, "free_cancellation", "must be true or false");
    }

    const char *bbox = roam_req_query(req, "bbox");
    parse_bbox(req, bbox != NULL && *bbox != '\0' ? bbox : NULL, &q, errors, &oom);

    const char *sort = roam_req_query(req, "sort");
    q.sort = q.q != NULL ? SEARCH_SORT_RELEVANCE : SEARCH_SORT_PRICE_ASC;
    int sort_ok = 1;
    if (sort != NULL && *sort != '\0') {
        sort_ok = 0;
        for (size_t i = 0; i < ROAM_ARRAY_LEN(sort_names); i++)
            if (strcmp(sort, sort_names[i]) == 0) q.sort = (search_sort_t)i, sort_ok = 1;
        if (!sort_ok)
            roam_field_error(errors, "sort", "must be one of relevance, price_asc, price_desc, rating");
        else if (q.sort == SEARCH_SORT_RELEVANCE && q.q == NULL)
            roam_field_error(errors, "sort", "relevance needs a search text (q)"), sort_ok = 0;
    }

    const char *limit = roam_req_query(req, "limit");
    long long lim = SEARCH_LIMIT_DEFAULT;
    if (limit != NULL && *limit != '\0' && (parse_digits(limit, &lim) != 0 || lim < 1 || lim > SEARCH_LIMIT_MAX))
        roam_field_error(errors, "limit", "must be an integer from 1 to %d", SEARCH_LIMIT_MAX);
    q.limit = (int)lim;

    if (oom || q.guests == NULL) {
        json_decref(errors);
        return unavailable(req, "Memory");
    }
    char fp[17];
    const char *cursor = roam_req_query(req, "cursor");
    if (cursor != NULL && *cursor != '\0' && sort_ok) {
        if (fingerprint(req, &q, fp) != 0) {
            json_decref(errors);
            return unavailable(req, "Memory");
        }
        parse_cursor(req, cursor, fp, &q, errors);
    }
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);
    if (fingerprint(req, &q, fp) != 0) return unavailable(req, "Memory");

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    PGresult *r = NULL;
    if (store_search_listings(c, &q, &r) != 0) return unavailable(req, "The database");
    int n = PQntuples(r);
    int page = n > q.limit ? q.limit : n;
    char *next = NULL;
    if (n > q.limit && (next = make_cursor(r, page - 1, q.sort, fp)) == NULL) {
        PQclear(r);
        return unavailable(req, "Memory");
    }
    int status = respond_page(req, r, page, next);
    PQclear(r);
    return status;
}

int h_search_suggest(roam_req_t *req) {
    int oom = 0;
    const char *raw = roam_req_query(req, "q");
    json_t *errors = json_array();
    const char *q = trimmed(req, raw, &oom);
    if (oom) {
        json_decref(errors);
        return unavailable(req, "Memory");
    }
    if (q == NULL)
        roam_field_error(errors, "q", "is required (1 to %d characters)", SUGGEST_Q_MAX);
    else if (!utf8_valid(q))
        roam_field_error(errors, "q", "must be valid UTF-8");
    else if (roam_utf8_chars(q, strlen(q)) > SUGGEST_Q_MAX)
        roam_field_error(errors, "q", "must be 1 to %d characters", SUGGEST_Q_MAX);
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    char *body = NULL;
    int rc = store_search_suggest(c, q, &body);
    if (rc == ROAM_ENOMEM) return unavailable(req, "Memory");
    if (rc != 0) return unavailable(req, "The database");
    return roam_respond_raw(req, 200, "application/json", body, strlen(body));
}
