/*
 * Search's pure pieces: UTF-8, dates, numbers, cursor keys, and the shape
 * of the eight statements. h_search.c and store_search.c are included
 * directly (h2o's way) to reach their statics; no daemon or database runs.
 */
#include "../../services/inventory/src/h_search.c"
#include "../../services/inventory/src/store_search.c"

#include "check.h"

static long date_days(const char *s) {
    long d = -999999;
    return parse_date(s, &d) == 0 ? d : -999999;
}

static void test_utf8(void) {
    CHECK(utf8_valid("Z\xc3\xbcrich"));
    CHECK(utf8_valid("\xe6\x9d\xb1\xe4\xba\xac")); /* 東京 */
    CHECK(utf8_valid("\xf0\x9f\x8f\xa8"));         /* an emoji, four bytes */
    CHECK(!utf8_valid("\xc3\x28"));                /* a lead byte without its continuation */
    CHECK(!utf8_valid("\xc0\xaf"));                /* overlong "/" */
    CHECK(!utf8_valid("\xed\xa0\x80"));            /* a UTF-16 surrogate */
    CHECK(!utf8_valid("\xf4\x90\x80\x80"));        /* above U+10FFFF */
    CHECK(!utf8_valid("\xff"));
    CHECK(!utf8_valid("abc\x80"));
    CHECK_INT(roam_utf8_chars("S\xc3\xa3o Paulo", 10), 9);
    CHECK_INT(roam_utf8_chars("", 0), 0);
}

static void test_dates(void) {
    CHECK_INT(date_days("1970-01-01"), 0);
    CHECK_INT(date_days("2000-03-01"), 11017);
    CHECK_INT(date_days("2026-11-24"), 20781);
    CHECK_INT(date_days("2028-02-29") - date_days("2028-02-28"), 1); /* a leap year */
    CHECK_INT(date_days("2000-02-29") - date_days("2000-02-28"), 1); /* divisible by 400 */
    CHECK_INT(date_days("2027-02-29"), -999999);
    CHECK_INT(date_days("2100-02-29"), -999999); /* divisible by 100 */
    CHECK_INT(date_days("2026-04-31"), -999999);
    CHECK_INT(date_days("2026-13-01"), -999999);
    CHECK_INT(date_days("2026-00-10"), -999999);
    CHECK_INT(date_days("2026-01-00"), -999999);
    CHECK_INT(date_days("2026-1-01"), -999999);
    CHECK_INT(date_days("2026-01-011"), -999999);
    CHECK_INT(date_days("2026/01/01"), -999999);
    CHECK_INT(date_days("+026-01-01"), -999999);
    CHECK_INT(date_days(""), -999999);
}

static void test_numbers(void) {
    long long n = -1;
    CHECK(parse_digits("0", &n) == 0 && n == 0);
    CHECK(parse_digits("007", &n) == 0 && n == 7);
    CHECK(parse_digits("999999999999999999", &n) == 0 && n == 999999999999999999LL);
    CHECK(parse_digits("1000000000000000000", &n) != 0); /* 19 digits: could overflow */
    CHECK(parse_digits("", &n) != 0);
    CHECK(parse_digits("-1", &n) != 0);
    CHECK(parse_digits("+1", &n) != 0);
    CHECK(parse_digits("1.0", &n) != 0);
    CHECK(parse_digits(" 1", &n) != 0);
    double d = 0;
    CHECK(parse_number("-122.4194", &d) == 0 && d == -122.4194);
    CHECK(parse_number("1e2", &d) == 0 && d == 100);
    CHECK(parse_number("nan", &d) != 0);
    CHECK(parse_number("inf", &d) != 0);
    CHECK(parse_number("1e999", &d) != 0); /* not finite */
    CHECK(parse_number("0x10", &d) != 0);
    CHECK(parse_number(" 1", &d) != 0);
    CHECK(parse_number("1,5", &d) != 0);
    CHECK(parse_number("", &d) != 0);
}

static void test_cursor_keys(void) {
    CHECK(key_valid(SEARCH_SORT_PRICE_ASC, 0, "EUR"));
    CHECK(!key_valid(SEARCH_SORT_PRICE_ASC, 0, "eur"));
    CHECK(!key_valid(SEARCH_SORT_PRICE_ASC, 0, "EU"));
    CHECK(key_valid(SEARCH_SORT_PRICE_DESC, 1, "12000"));
    CHECK(!key_valid(SEARCH_SORT_PRICE_DESC, 1, "12000; DROP TABLE listings"));
    CHECK(!key_valid(SEARCH_SORT_PRICE_DESC, 1, "-5"));
    CHECK(key_valid(SEARCH_SORT_RATING, 0, "4.5"));
    CHECK(!key_valid(SEARCH_SORT_RATING, 0, "4.55"));
    CHECK(!key_valid(SEARCH_SORT_RATING, 0, "x.5"));
    CHECK(key_valid(SEARCH_SORT_RELEVANCE, 0, "0.1"));
    CHECK(key_valid(SEARCH_SORT_RELEVANCE, 0, "1.2e-05"));
    CHECK(!key_valid(SEARCH_SORT_RELEVANCE, 0, "NaN"));
    CHECK(!key_valid(SEARCH_SORT_RELEVANCE, 0, "1e-50")); /* a double, but no float4: PostgreSQL would refuse it */
    CHECK(!key_valid(SEARCH_SORT_RELEVANCE, 0, "1e39"));
    CHECK(!key_valid(SEARCH_SORT_RELEVANCE, 0, "-0.5"));
    CHECK(key_valid(SEARCH_SORT_RELEVANCE, 0, "0"));
}

/* Every statement names each of the twenty parameters (libpq sends them untyped) and no others. */
static void test_statements(void) {
    for (int dates = 0; dates < 2; dates++)
        for (int sort = 0; sort < 4; sort++) {
            const char *sql = store_search_sql(dates, (search_sort_t)sort);
            REQUIRE(sql != NULL);
            for (int n = 1; n <= SEARCH_NPARAMS + 1; n++) {
                char p[8];
                int found = 0;
                snprintf(p, sizeof(p), "$%d", n);
                for (const char *at = strstr(sql, p); at != NULL && !found; at = strstr(at + 1, p))
                    found = !isdigit((unsigned char)at[strlen(p)]);
                if (found != (n <= SEARCH_NPARAMS))
                    fprintf(stderr, "statement [%d][%d]: $%d %s\n", dates, sort, n, found ? "unexpected" : "missing");
                CHECK(found == (n <= SEARCH_NPARAMS));
            }
            CHECK(strchr(sql, ';') == NULL);
            CHECK(strchr(sql, '\n') == NULL); /* one line, so the benchmark can take it from the server log */
        }
}

int main(void) {
    RUN(test_utf8);
    RUN(test_dates);
    RUN(test_numbers);
    RUN(test_cursor_keys);
    RUN(test_statements);
    CHECK_DONE();
}
