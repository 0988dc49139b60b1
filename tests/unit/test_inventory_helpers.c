/*
 * The inventory service's pure helpers: text checks, slugs, photo
 * references, zone-name shapes, date arithmetic, integers, cursors and the
 * body readers. validate.c is included directly (h2o's way), so no daemon or
 * database is needed.
 */
#include "../../services/inventory/src/validate.c"

#include "check.h"

static int slug(const char *s) { return inv_slug_valid(s, strlen(s)); }
static int photo(const char *s) { return inv_photo_valid(s, strlen(s)); }

static void test_text(void) {
    CHECK_INT(roam_utf8_chars("h\xc3\xb4tel", 6), 5);
    CHECK_INT(roam_utf8_chars("\xf0\x9f\x8f\xa8", 4), 1); /* one emoji */
    size_t n = 8;
    const char *t = roam_trim(" \t ab c\n", &n);
    CHECK_INT(n, 4);
    CHECK(strncmp(t, "ab c", 4) == 0);
    n = 3;
    roam_trim("   ", &n);
    CHECK_INT(n, 0);
    CHECK(roam_text_clean("Hotel du Lac", 12, 0));
    CHECK(!roam_text_clean("a\nb", 3, 0));
    CHECK(roam_text_clean("a\nb\tc\r\n", 7, 1));
    CHECK(!roam_text_clean("a\x07", 2, 1));
    CHECK(!roam_text_clean("a\x7f", 2, 1));
    CHECK(!roam_text_clean("a\0b", 3, 1));
}

static void test_slugs_and_photos(void) {
    CHECK(slug("wifi"));
    CHECK(slug("air-conditioning_24h"));
    CHECK(slug("0"));
    CHECK(!slug(""));
    CHECK(!slug("Wifi"));
    CHECK(!slug("sea view"));
    CHECK(!slug("caf\xc3\xa9"));
    char long_slug[42];
    memset(long_slug, 'a', 41);
    long_slug[41] = '\0';
    CHECK(!slug(long_slug));
    long_slug[40] = '\0';
    CHECK(slug(long_slug));

    CHECK(photo("https://img.example.com/a.jpg"));
    CHECK(photo("http://img.example.com/a.jpg?w=300#x"));
    CHECK(photo("HTTPS://IMG.EXAMPLE.COM/A.JPG"));
    CHECK(photo("/photos/a.jpg"));
    CHECK(photo("/"));
    CHECK(!photo(""));
    CHECK(!photo("//evil.example.com/a.jpg"));
    CHECK(!photo("https://"));
    CHECK(!photo("https:///a.jpg"));
    CHECK(!photo("https://@host/a.jpg"));
    CHECK(!photo("ftp://img.example.com/a.jpg"));
    CHECK(!photo("javascript:alert(1)"));
    CHECK(!photo("data:image/png;base64,AAAA"));
    CHECK(!photo("photos/a.jpg"));
    CHECK(!photo("https://img.example.com/a b.jpg"));
    CHECK(!photo("/a\tb"));
    static char big[INV_PHOTO_URL_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[0] = '/';
    CHECK(!photo(big));
    big[INV_PHOTO_URL_MAX] = '\0';
    CHECK(photo(big));
}

static void test_timezone_shapes(void) {
    CHECK(inv_timezone_shape_ok("UTC"));
    CHECK(inv_timezone_shape_ok("Europe/Paris"));
    CHECK(inv_timezone_shape_ok("America/Argentina/Buenos_Aires"));
    CHECK(inv_timezone_shape_ok("America/Port-au-Prince"));
    CHECK(inv_timezone_shape_ok("Etc/GMT+3"));
    CHECK(inv_timezone_shape_ok("Pacific/Kiritimati"));
    CHECK(!inv_timezone_shape_ok("EST"));
    CHECK(!inv_timezone_shape_ok("CET"));
    CHECK(!inv_timezone_shape_ok("GMT"));
    CHECK(!inv_timezone_shape_ok("UTC+3"));
    CHECK(!inv_timezone_shape_ok("EST5EDT"));
    CHECK(!inv_timezone_shape_ok("<+03>-3"));
    CHECK(!inv_timezone_shape_ok("posix/Europe/Paris"));
    CHECK(!inv_timezone_shape_ok("right/Europe/Paris"));
    CHECK(!inv_timezone_shape_ok("Europe//Paris"));
    CHECK(!inv_timezone_shape_ok("/Europe/Paris"));
    CHECK(!inv_timezone_shape_ok("Europe/"));
    CHECK(!inv_timezone_shape_ok("Europe/Par is"));
    CHECK(!inv_timezone_shape_ok("../etc/passwd"));
    CHECK(!inv_timezone_shape_ok(""));
    CHECK(!inv_timezone_shape_ok(NULL));
}

static inv_date_t date_of(const char *s) {
    inv_date_t d = -999999;
    CHECK(inv_date_parse(s, &d) == 0);
    return d;
}

static void test_dates(void) {
    CHECK_INT(date_of("1970-01-01"), 0);
    CHECK_INT(date_of("1970-01-02"), 1);
    CHECK_INT(date_of("1969-12-31"), -1);
    CHECK_INT(date_of("2000-03-01"), 11017);
    CHECK_INT(date_of("2026-05-01"), 20574);
    CHECK_INT(date_of("2024-03-01") - date_of("2024-02-28"), 2); /* a leap year */
    CHECK_INT(date_of("2023-03-01") - date_of("2023-02-28"), 1);
    CHECK_INT(date_of("2000-02-29") + 1, date_of("2000-03-01"));
    inv_date_t d;
    CHECK(inv_date_parse("2023-02-29", &d) != 0);
    CHECK(inv_date_parse("1900-02-29", &d) != 0); /* not a leap year */
    CHECK(inv_date_parse("2026-04-31", &d) != 0);
    CHECK(inv_date_parse("2026-13-01", &d) != 0);
    CHECK(inv_date_parse("2026-00-10", &d) != 0);
    CHECK(inv_date_parse("2026-01-00", &d) != 0);
    CHECK(inv_date_parse("0000-01-01", &d) != 0);
    CHECK(inv_date_parse("2026-1-01", &d) != 0);
    CHECK(inv_date_parse("2026-01-01T00:00:00Z", &d) != 0);
    CHECK(inv_date_parse("2026/01/01", &d) != 0);
    CHECK(inv_date_parse("+026-01-01", &d) != 0);
    CHECK(inv_date_parse("", &d) != 0);
    CHECK(inv_date_parse(NULL, &d) != 0);

    /* Every day from 0001-01-01 to 9999-12-31: format and parse agree, and days are consecutive. */
    inv_date_t first = date_of("0001-01-01"), last = date_of("9999-12-31");
    int bad = 0;
    char buf[11];
    for (inv_date_t z = first; z <= last; z++) {
        inv_date_format(z, buf);
        inv_date_t back;
        if (inv_date_parse(buf, &back) != 0 || back != z) bad++;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(last - first + 1, 3652059); /* days in 9999 Gregorian years */
    CHECK_INT(last, INV_DATE_MAX);
    inv_date_format(0, buf);
    CHECK_STR(buf, "1970-01-01");
    inv_date_format(date_of("2024-02-29"), buf);
    CHECK_STR(buf, "2024-02-29");

    inv_date_t today = inv_today_utc();
    CHECK_INT(today, (inv_date_t)(time(NULL) / 86400));
}

static void test_integers(void) {
    long v = -1;
    CHECK(inv_int_parse("20", 1, 100, &v) == 0 && v == 20);
    CHECK(inv_int_parse("+7", 1, 100, &v) == 0 && v == 7);
    CHECK(inv_int_parse("100", 1, 100, &v) == 0);
    CHECK(inv_int_parse("101", 1, 100, &v) != 0);
    CHECK(inv_int_parse("0", 1, 100, &v) != 0);
    CHECK(inv_int_parse("-1", -5, 5, &v) == 0 && v == -1);
    CHECK(inv_int_parse("", 1, 100, &v) != 0);
    CHECK(inv_int_parse("-", 1, 100, &v) != 0);
    CHECK(inv_int_parse("1.0", 1, 100, &v) != 0);
    CHECK(inv_int_parse(" 1", 1, 100, &v) != 0);
    CHECK(inv_int_parse("1e2", 1, 1000, &v) != 0);
    CHECK(inv_int_parse("99999999999999999999999", 1, 100, &v) != 0);
    CHECK(inv_int_parse(NULL, 1, 100, &v) != 0);
}

static void test_cursors(void) {
    inv_cursor_t pos = {.created_us = 1795000000123456LL}, back;
    strcpy(pos.id, "0b8e8f5a-3c1d-4e7b-9a2f-6d5c4b3a2910");
    char text[96];
    inv_cursor_encode(&pos, text);
    for (const char *p = text; *p; p++)
        CHECK(roam_b64url_char((unsigned char)*p));
    REQUIRE(inv_cursor_decode(text, &back) == 0);
    CHECK_INT(back.created_us, pos.created_us);
    CHECK_STR(back.id, pos.id);
    CHECK(inv_cursor_decode("", &back) != 0);
    CHECK(inv_cursor_decode("not a cursor", &back) != 0);
    CHECK(inv_cursor_decode("MTIzOmFiYw", &back) != 0); /* "123:abc" */
    char raw[96];
    roam_b64url_encode((const unsigned char *)"x1:0b8e8f5a-3c1d-4e7b-9a2f-6d5c4b3a2910", 39, raw);
    CHECK(inv_cursor_decode(raw, &back) != 0);
    roam_b64url_encode((const unsigned char *)":0b8e8f5a-3c1d-4e7b-9a2f-6d5c4b3a2910", 37, raw);
    CHECK(inv_cursor_decode(raw, &back) != 0);
    CHECK(inv_cursor_decode(NULL, &back) != 0);
}

/* The fields named in errors, comma-separated. */
static const char *fields(json_t *errors) {
    static char out[512];
    out[0] = '\0';
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        if (i > 0) strncat(out, ",", sizeof(out) - strlen(out) - 1);
        strncat(out, json_string_value(json_object_get(e, "field")), sizeof(out) - strlen(out) - 1);
    }
    return out;
}

static void test_listing_input(void) {
    json_t *body =
        json_loads("{\"title\": \" Inn \", \"type\": \"hotel\", \"description\": \"d\", \"city\": \"c\", "
                   "\"country\": \"k\", \"currency\": \"EUR\", \"amenities\": [\"wifi\", \"spa\", \"wifi\"],"
                   "\"cancellation_policy\": {\"free_cancellation_hours\": 0, \"refund_percent_after\": 100}}",
                   0, NULL);
    json_t *errors = json_array();
    inv_listing_input_t in;
    REQUIRE(inv_listing_input_parse(body, 0, &in, errors) == 0);
    CHECK_INT(json_array_size(errors), 0);
    CHECK_STR(in.title, "Inn");
    CHECK_STR(in.timezone, "UTC");
    CHECK_STR(in.amenities_json, "[\"wifi\",\"spa\"]");
    CHECK_STR(in.photos_json, "[]");
    CHECK(in.address == NULL);
    CHECK(!(in.present & INV_F_COORDS));
    CHECK_INT(in.refund_percent_after, 100);
    inv_listing_input_cleanup(&in);

    /* A PATCH of nothing changes nothing and needs nothing. */
    json_t *empty = json_object();
    REQUIRE(inv_listing_input_parse(empty, 1, &in, errors) == 0);
    CHECK_INT(json_array_size(errors), 0);
    CHECK_INT(in.present, 0);
    CHECK(in.timezone == NULL && in.amenities_json == NULL);
    inv_listing_input_cleanup(&in);

    /* PATCH with nulls: defaults for the optional members, errors for the required ones. */
    json_t *nulls = json_loads("{\"address\": null, \"latitude\": null, \"longitude\": null, \"photos\": null, "
                               "\"timezone\": null, \"title\": null}",
                               0, NULL);
    REQUIRE(inv_listing_input_parse(nulls, 1, &in, errors) == 0);
    CHECK_STR(fields(errors), "title");
    CHECK(in.present & INV_F_ADDRESS && in.address == NULL);
    CHECK(in.present & INV_F_COORDS && !in.has_coords);
    CHECK_STR(in.photos_json, "[]");
    CHECK_STR(in.timezone, "UTC");
    inv_listing_input_cleanup(&in);
    json_array_clear(errors);

    /* Every required member missing at once, in one answer. */
    REQUIRE(inv_listing_input_parse(empty, 0, &in, errors) == 0);
    CHECK_STR(fields(errors), "title,description,city,country,type,currency,cancellation_policy");
    inv_listing_input_cleanup(&in);
    json_decref(nulls);
    json_decref(empty);
    json_decref(body);
    json_decref(errors);
}

static void test_calendar_and_stays(void) {
    json_t *errors = json_array();
    inv_calendar_change_t ch;
    json_t *b = json_loads("{\"from\": \"2026-05-01\", \"to\": \"2026-05-03\", \"closed\": true}", 0, NULL);
    inv_calendar_change_parse(b, &ch, errors);
    CHECK_INT(json_array_size(errors), 0);
    CHECK_INT(ch.to - ch.from, 2);
    CHECK_INT(ch.closed, 1);
    CHECK_INT(ch.quantity, -1);
    CHECK_INT(ch.price, -1);
    json_decref(b);

    b = json_loads("{\"from\": \"2026-05-01\", \"to\": \"2027-05-03\", \"price\": {\"amount\": 5, \"currency\": "
                   "\"JPY\"}, \"quantity\": 2}",
                   0, NULL);
    inv_calendar_change_parse(b, &ch, errors);
    CHECK_STR(fields(errors), "to"); /* 367 days */
    CHECK_INT(ch.price, 5);
    CHECK_STR(ch.price_currency, "JPY");
    CHECK_INT(ch.quantity, 2);
    json_decref(b);
    json_array_clear(errors);

    b = json_loads("{\"from\": \"2026-05-01\", \"to\": \"2026-05-01\"}", 0, NULL);
    inv_calendar_change_parse(b, &ch, errors);
    CHECK_STR(fields(errors), "to,");
    json_decref(b);
    json_array_clear(errors);

    inv_stay_t stay = {.check_in = 100, .check_out = 130, .guests = 1, .quantity = 1};
    inv_stay_check(&stay, 1, errors);
    CHECK_INT(json_array_size(errors), 0);
    stay.check_out = 131;
    stay.guests = 0;
    stay.quantity = 1001;
    inv_stay_check(&stay, 1, errors);
    CHECK_STR(fields(errors), "check_out,guests,quantity");
    json_array_clear(errors);
    stay.check_out = 100;
    inv_stay_check(&stay, 0, errors); /* the dates reported their own errors */
    CHECK_STR(fields(errors), "guests,quantity");
    json_decref(errors);
}

int main(void) {
    RUN(test_text);
    RUN(test_slugs_and_photos);
    RUN(test_timezone_shapes);
    RUN(test_dates);
    RUN(test_integers);
    RUN(test_cursors);
    RUN(test_listing_input);
    RUN(test_calendar_and_stays);
    CHECK_DONE();
}
