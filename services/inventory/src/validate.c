/*
 * Pure checks of client input: text, slugs, photo references, zone names,
 * dates, integers, cursors and the listing body (unit-tested in
 * tests/unit/test_inventory_helpers.c).
 */
#include "inventory.h"

#include <roam/codec.h>
#include <roam/common.h>
#include <roam/http.h>
#include <roam/money.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- text ---- */

int inv_slug_valid(const char *s, size_t len) {
    if (len < 1 || len > INV_AMENITY_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return 0;
    }
    return 1;
}

int inv_photo_valid(const char *s, size_t len) {
    if (len == 0 || len > INV_PHOTO_URL_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f) return 0; /* whitespace, controls, NUL */
    }
    if (s[0] == '/') return len == 1 || s[1] != '/'; /* "//host/x" is a URL without a scheme, not a path */
    size_t skip;
    if (len > 8 && strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else if (len > 7 && strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else
        return 0;
    /* A host: at least one character before the path, query or fragment. */
    char first = s[skip];
    return first != '/' && first != '?' && first != '#' && first != '@' && first != ':';
}

int inv_timezone_shape_ok(const char *name) {
    if (name == NULL) return 0;
    if (strcmp(name, "UTC") == 0) return 1;
    size_t len = strlen(name);
    if (len < 3 || len > 63) return 0;
    if (strncasecmp(name, "posix/", 6) == 0 || strncasecmp(name, "right/", 6) == 0) return 0;
    int slashes = 0;
    char prev = '/';
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '/') {
            if (prev == '/') return 0; /* empty part */
            slashes++;
        } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                     c == '+' || c == '-')) {
            return 0;
        }
        prev = c;
    }
    return slashes >= 1 && prev != '/';
}

/* ---- dates (proleptic Gregorian; Howard Hinnant's days_from_civil) ---- */

static inv_date_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dim[m - 1];
}

int inv_date_parse(const char *s, inv_date_t *out) {
    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1;
    int v[8], k = 0;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) continue;
        if (s[i] < '0' || s[i] > '9') return -1;
        v[k++] = s[i] - '0';
    }
    int y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
    int m = v[4] * 10 + v[5];
    int d = v[6] * 10 + v[7];
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return -1;
    *out = days_from_civil(y, m, d);
    return 0;
}

void inv_date_format(inv_date_t z, char out[11]) {
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int y = yoe + era * 400;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    int d = doy - (153 * mp + 2) / 5 + 1;
    int m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    unsigned uy = (unsigned)y % 10000u, um = (unsigned)m % 100u, ud = (unsigned)d % 100u;
    out[0] = (char)('0' + uy / 1000), out[1] = (char)('0' + uy / 100 % 10), out[2] = (char)('0' + uy / 10 % 10);
    out[3] = (char)('0' + uy % 10), out[4] = '-', out[5] = (char)('0' + um / 10), out[6] = (char)('0' + um % 10);
    out[7] = '-', out[8] = (char)('0' + ud / 10), out[9] = (char)('0' + ud % 10), out[10] = '\0';
}

inv_date_t inv_today_utc(void) {
    time_t now = time(NULL);
    return (inv_date_t)(now >= 0 ? now / 86400 : (now - 86399) / 86400);
}

/* ---- numbers and cursors ---- */

const char *inv_query(roam_req_t *req, const char *name) {
    const char *v = roam_req_query(req, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

int inv_int_parse(const char *s, long min, long max, long *out) {
    if (s == NULL || s[0] == '\0') return -1;
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    if (*p == '\0') return -1;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return -1;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno != 0 || v < min || v > max) return -1;
    *out = v;
    return 0;
}

void inv_cursor_encode(const inv_cursor_t *pos, char out[96]) {
    char raw[64];
    int n = snprintf(raw, sizeof(raw), "%lld:%s", pos->created_us, pos->id);
    roam_b64url_encode((const unsigned char *)raw, (size_t)n, out);
}

int inv_cursor_decode(const char *s, inv_cursor_t *pos) {
    if (s == NULL) return -1;
    size_t n = strlen(s);
    if (n == 0 || n > 95) return -1;
    unsigned char raw[72];
    long len = roam_b64url_decode(s, n, raw, sizeof(raw) - 1);
    if (len <= 0) return -1;
    raw[len] = '\0';
    char *colon = strchr((char *)raw, ':');
    if (colon == NULL || strlen(colon + 1) != ROAM_UUID_LEN) return -1;
    *colon = '\0';
    /* The time part: digits only (a year-9999 timestamp has 15 of them). */
    const char *t = (const char *)raw;
    if (t[0] == '\0' || strlen(t) > 16) return -1;
    for (const char *q = t; *q; q++)
        if (*q < '0' || *q > '9') return -1;
    long long us = strtoll(t, NULL, 10);
    if (!roam_uuid_valid(colon + 1)) return -1;
    pos->created_us = us;
    memcpy(pos->id, colon + 1, ROAM_UUID_LEN + 1);
    return 0;
}

/* ---- the listing body ---- */

/* A NUL-terminated copy of s[0..len) (new), or NULL when memory runs out. */
static char *copy(const char *s, size_t len) {
    char *out = roam_trymalloc(len + 1);
    if (out != NULL) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

/*
 * A trimmed text member: *out gets a copy (new) when it is valid. Adds an
 * error when it is missing (required), null (required), not a string, of
 * the wrong length or has control characters. Returns 0 or ROAM_ENOMEM.
 */
static int text_member(json_t *body, const char *name, int required, int nullable, size_t max, int multiline,
                       json_t *errors, char **out, unsigned *present, unsigned bit) {
    json_t *v = json_object_get(body, name);
    if (v == NULL) {
        if (required) roam_field_error(errors, name, "is required");
        return 0;
    }
    if (json_is_null(v) && nullable) {
        *present |= bit;
        return 0;
    }
    if (!json_is_string(v)) {
        roam_field_error(errors, name, "must be a string");
        return 0;
    }
    size_t len = json_string_length(v);
    const char *s = roam_trim(json_string_value(v), &len);
    size_t chars = roam_utf8_chars(s, len);
    if (chars < (nullable ? 0u : 1u) || chars > max) {
        if (nullable)
            roam_field_error(errors, name, "must be at most %zu characters", max);
        else
            roam_field_error(errors, name, "must be 1 to %zu characters (not only spaces)", max);
        return 0;
    }
    if (!roam_text_clean(s, len, multiline)) {
        roam_field_error(errors, name, "must not contain control characters");
        return 0;
    }
    *present |= bit;
    if (nullable && len == 0) return 0; /* an empty optional text is no text */
    *out = copy(s, len);
    return *out ? 0 : ROAM_ENOMEM;
}

/* A JSON number as a double into *out, with the member's error when it is not one. */
static int coordinate(json_t *v, const char *name, double min, double max, json_t *errors, double *out) {
    if (!json_is_number(v)) {
        roam_field_error(errors, name, "must be a number");
        return -1;
    }
    double d = json_number_value(v);
    if (!isfinite(d) || d < min || d > max) {
        roam_field_error(errors, name, "must be from %g to %g", min, max);
        return -1;
    }
    *out = d;
    return 0;
}

/* An array of strings checked by ok (amenities, photos) into *json_out (new JSON text). */
static int string_array(json_t *body, const char *name, size_t max_items, int dedupe, int (*ok)(const char *, size_t),
                        const char *what, json_t *errors, char **json_out, unsigned *present, unsigned bit) {
    json_t *v = json_object_get(body, name);
    if (v == NULL) return 0;
    *present |= bit;
    if (json_is_null(v)) {
        *json_out = copy("[]", 2);
        return *json_out ? 0 : ROAM_ENOMEM;
    }
    if (!json_is_array(v)) {
        roam_field_error(errors, name, "must be an array of strings");
        return 0;
    }
    json_t *out = json_array();
    if (out == NULL) return ROAM_ENOMEM;
    int bad = 0;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        char path[64];
        snprintf(path, sizeof(path), "%s.%zu", name, i);
        if (!json_is_string(item) || !ok(json_string_value(item), json_string_length(item))) {
            roam_field_error(errors, path, "must be %s", what);
            bad = 1;
            continue;
        }
        int seen = 0;
        if (dedupe) {
            size_t j;
            json_t *prev;
            json_array_foreach(out, j, prev) {
                if (json_equal(prev, item)) seen = 1;
            }
        }
        if (!seen) json_array_append(out, item);
    }
    if (json_array_size(v) > max_items) {
        roam_field_error(errors, name, "must have at most %zu items", max_items);
        bad = 1;
    }
    if (!bad) {
        *json_out = json_dumps(out, JSON_COMPACT);
        if (*json_out == NULL) {
            json_decref(out);
            return ROAM_ENOMEM;
        }
    }
    json_decref(out);
    return 0;
}

static int amenity_ok(const char *s, size_t len) { return strlen(s) == len && inv_slug_valid(s, len); }
static int photo_ok(const char *s, size_t len) { return strlen(s) == len && inv_photo_valid(s, len); }

/* An integer member of obj within [min, max] into *out. */
static int int_member(json_t *obj, const char *name, const char *path, long min, long max, json_t *errors, int *out) {
    json_t *v = json_object_get(obj, name);
    if (v == NULL) {
        roam_field_error(errors, path, "is required");
        return -1;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        roam_field_error(errors, path, "must be an integer from %ld to %ld", min, max);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

int inv_listing_input_parse(json_t *body, int partial, inv_listing_input_t *in, json_t *errors) {
    memset(in, 0, sizeof(*in));
    int req = !partial;
    int rc = 0;
    unsigned *p = &in->present;
    rc |= text_member(body, "title", req, 0, INV_TITLE_MAX, 0, errors, &in->title, p, INV_F_TITLE);
    rc |= text_member(body, "description", req, 0, INV_DESCRIPTION_MAX, 1, errors, &in->description, p,
                      INV_F_DESCRIPTION);
    rc |= text_member(body, "city", req, 0, INV_PLACE_MAX, 0, errors, &in->city, p, INV_F_CITY);
    rc |= text_member(body, "country", req, 0, INV_PLACE_MAX, 0, errors, &in->country, p, INV_F_COUNTRY);
    rc |= text_member(body, "address", 0, 1, INV_ADDRESS_MAX, 0, errors, &in->address, p, INV_F_ADDRESS);
    if (rc != 0) return ROAM_ENOMEM;

    json_t *v = json_object_get(body, "type");
    if (v == NULL) {
        if (req) roam_field_error(errors, "type", "is required");
    } else {
        static const char *const types[] = {"hotel", "apartment", "tour", "activity"};
        const char *t = json_string_value(v), *found = NULL;
        for (size_t i = 0; t != NULL && i < ROAM_ARRAY_LEN(types); i++)
            if (strcmp(t, types[i]) == 0) found = types[i];
        if (found == NULL) {
            roam_field_error(errors, "type", "must be \"hotel\", \"apartment\", \"tour\" or \"activity\"");
        } else {
            in->present |= INV_F_TYPE;
            if ((in->type = copy(found, strlen(found))) == NULL) return ROAM_ENOMEM;
        }
    }

    v = json_object_get(body, "timezone");
    if (v != NULL) {
        const char *tz = json_is_null(v) ? "UTC" : json_string_value(v);
        if (tz == NULL || strlen(tz) != (json_is_null(v) ? 3 : json_string_length(v)) || !inv_timezone_shape_ok(tz)) {
            roam_field_error(errors, "timezone", "must be an IANA time zone name such as \"Europe/Paris\" or \"UTC\"");
        } else {
            in->present |= INV_F_TIMEZONE;
            if ((in->timezone = copy(tz, strlen(tz))) == NULL) return ROAM_ENOMEM;
        }
    } else if (req) {
        in->present |= INV_F_TIMEZONE;
        if ((in->timezone = copy("UTC", 3)) == NULL) return ROAM_ENOMEM;
    }

    json_t *lat = json_object_get(body, "latitude"), *lon = json_object_get(body, "longitude");
    int lat_null = lat == NULL || json_is_null(lat), lon_null = lon == NULL || json_is_null(lon);
    if (lat != NULL || lon != NULL) {
        if (lat_null && lon_null) {
            in->present |= INV_F_COORDS; /* both null: no coordinates */
        } else if (lat_null) {
            roam_field_error(errors, "latitude", "is required with longitude");
        } else if (lon_null) {
            roam_field_error(errors, "longitude", "is required with latitude");
        } else {
            int bad = coordinate(lat, "latitude", -90, 90, errors, &in->latitude);
            bad |= coordinate(lon, "longitude", -180, 180, errors, &in->longitude);
            if (!bad) {
                in->present |= INV_F_COORDS;
                in->has_coords = 1;
            }
        }
    }

    rc = string_array(body, "amenities", INV_AMENITIES_MAX, 1, amenity_ok,
                      "a lower-case slug of 1 to 40 characters a-z, 0-9, _ and -", errors, &in->amenities_json, p,
                      INV_F_AMENITIES);
    if (rc != 0) return rc;
    rc = string_array(body, "photos", INV_PHOTOS_MAX, 0, photo_ok,
                      "an http(s) URL or a path starting with / of at most 2048 characters", errors, &in->photos_json,
                      p, INV_F_PHOTOS);
    if (rc != 0) return rc;
    if (req && !(in->present & INV_F_AMENITIES) && (in->amenities_json = copy("[]", 2)) == NULL) return ROAM_ENOMEM;
    if (req && !(in->present & INV_F_PHOTOS) && (in->photos_json = copy("[]", 2)) == NULL) return ROAM_ENOMEM;

    v = json_object_get(body, "currency");
    if (v == NULL) {
        if (req) roam_field_error(errors, "currency", "is required");
    } else {
        const char *cur = json_string_value(v);
        if (cur == NULL || strlen(cur) != json_string_length(v) || !roam_currency_valid(cur)) {
            roam_field_error(errors, "currency", "must be an ISO 4217 currency code in upper case (\"EUR\")");
        } else {
            in->present |= INV_F_CURRENCY;
            if ((in->currency = copy(cur, 3)) == NULL) return ROAM_ENOMEM;
        }
    }

    v = json_object_get(body, "cancellation_policy");
    if (v == NULL) {
        if (req) roam_field_error(errors, "cancellation_policy", "is required");
    } else if (!json_is_object(v)) {
        roam_field_error(errors, "cancellation_policy",
                         "must be an object {\"free_cancellation_hours\": ..., \"refund_percent_after\": ...}");
    } else {
        int bad = int_member(v, "free_cancellation_hours", "cancellation_policy.free_cancellation_hours", 0,
                             INV_POLICY_HOURS_MAX, errors, &in->free_cancellation_hours);
        bad |= int_member(v, "refund_percent_after", "cancellation_policy.refund_percent_after", 0, 100, errors,
                          &in->refund_percent_after);
        if (!bad) in->present |= INV_F_POLICY;
    }
    return 0;
}

void inv_listing_input_cleanup(inv_listing_input_t *in) {
    free(in->title);
    free(in->type);
    free(in->description);
    free(in->city);
    free(in->country);
    free(in->timezone);
    free(in->address);
    free(in->currency);
    free(in->amenities_json);
    free(in->photos_json);
    memset(in, 0, sizeof(*in));
}

/* ---- units, calendar changes and stays ---- */

int inv_unit_input_parse(json_t *body, inv_unit_input_t *in, json_t *errors) {
    memset(in, 0, sizeof(*in));
    unsigned present = 0;
    if (text_member(body, "name", 1, 0, INV_UNIT_NAME_MAX, 0, errors, &in->name, &present, 1) != 0) return ROAM_ENOMEM;
    if (text_member(body, "description", 0, 1, INV_UNIT_DESC_MAX, 1, errors, &in->description, &present, 2) != 0)
        return ROAM_ENOMEM;
    int_member(body, "max_guests", "max_guests", 1, INV_MAX_GUESTS_MAX, errors, &in->max_guests);
    int_member(body, "quantity", "quantity", 0, INV_QUANTITY_MAX, errors, &in->quantity);
    roam_money_t price;
    if (roam_money_parse(json_object_get(body, "base_price"), "base_price", NULL, &price, errors) == 0) {
        in->base_price = price.amount;
        memcpy(in->currency, price.currency, sizeof(in->currency));
    }
    return 0;
}

void inv_unit_input_cleanup(inv_unit_input_t *in) {
    free(in->name);
    free(in->description);
    memset(in, 0, sizeof(*in));
}

/* A date member into *out; adds its error. 0 or -1. */
static int date_member(json_t *body, const char *name, json_t *errors, inv_date_t *out) {
    json_t *v = json_object_get(body, name);
    if (v == NULL) {
        roam_field_error(errors, name, "is required");
        return -1;
    }
    if (!json_is_string(v) || inv_date_parse(json_string_value(v), out) != 0) {
        roam_field_error(errors, name, "must be a date (YYYY-MM-DD) that exists");
        return -1;
    }
    return 0;
}

void inv_calendar_change_parse(json_t *body, inv_calendar_change_t *ch, json_t *errors) {
    memset(ch, 0, sizeof(*ch));
    ch->quantity = -1;
    ch->price = -1;
    ch->closed = -1;
    int dates_ok = date_member(body, "from", errors, &ch->from) == 0;
    dates_ok &= date_member(body, "to", errors, &ch->to) == 0;
    if (dates_ok && ch->to <= ch->from)
        roam_field_error(errors, "to", "must be after from (the range is [from, to))");
    else if (dates_ok && ch->to - ch->from > INV_CALENDAR_DAYS_MAX)
        roam_field_error(errors, "to", "must be at most %d days after from", INV_CALENDAR_DAYS_MAX);

    json_t *q = json_object_get(body, "quantity"), *p = json_object_get(body, "price"),
           *c = json_object_get(body, "closed");
    if (q != NULL) {
        int v;
        if (int_member(body, "quantity", "quantity", 0, INV_QUANTITY_MAX, errors, &v) == 0) ch->quantity = v;
    }
    if (p != NULL) {
        roam_money_t m;
        if (roam_money_parse(p, "price", NULL, &m, errors) == 0) {
            ch->price = m.amount;
            memcpy(ch->price_currency, m.currency, sizeof(ch->price_currency));
        }
    }
    if (c != NULL) {
        if (!json_is_boolean(c))
            roam_field_error(errors, "closed", "must be true or false");
        else
            ch->closed = json_is_true(c);
    }
    if (q == NULL && p == NULL && c == NULL)
        roam_field_error(errors, "", "at least one of quantity, price and closed is required");
}

void inv_stay_check(const inv_stay_t *stay, int dates_ok, json_t *errors) {
    if (!dates_ok)
        ; /* the dates have their errors already */
    else if (stay->check_out <= stay->check_in)
        roam_field_error(errors, "check_out", "must be after check_in");
    else if (stay->check_out - stay->check_in > INV_STAY_NIGHTS_MAX)
        roam_field_error(errors, "check_out", "must be at most %d nights after check_in", INV_STAY_NIGHTS_MAX);
    if (stay->guests < 1 || stay->guests > INV_MAX_GUESTS_MAX * INV_QUANTITY_MAX)
        roam_field_error(errors, "guests", "must be an integer from 1 to %d", INV_MAX_GUESTS_MAX * INV_QUANTITY_MAX);
    if (stay->quantity < 1 || stay->quantity > INV_QUANTITY_MAX)
        roam_field_error(errors, "quantity", "must be an integer from 1 to %d", INV_QUANTITY_MAX);
}
