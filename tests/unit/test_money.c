/*
 * roam/money.h: the currency table, Money parsing with field errors, and
 * rounding-down percentages.
 */
#include <roam/money.h>

#include "check.h"

#include <stdint.h>

static void test_currency_table(void) {
    CHECK(roam_currency_valid("EUR"));
    CHECK(roam_currency_valid("USD"));
    CHECK(roam_currency_valid("AED")); /* the first entry */
    CHECK(roam_currency_valid("ZWG")); /* the last entry */
    CHECK(!roam_currency_valid("eur"));
    CHECK(!roam_currency_valid("Eur"));
    CHECK(!roam_currency_valid("EU"));
    CHECK(!roam_currency_valid("EURO"));
    CHECK(!roam_currency_valid(""));
    CHECK(!roam_currency_valid(NULL));
    CHECK(!roam_currency_valid("XXX")); /* no currency */
    CHECK(!roam_currency_valid("XTS")); /* testing */
    CHECK(!roam_currency_valid("XAU")); /* gold */
    CHECK(!roam_currency_valid("CLF")); /* a fund code */
    CHECK(!roam_currency_valid("HRK")); /* withdrawn in 2023 */
    CHECK(!roam_currency_valid("ABC"));

    CHECK_INT(roam_currency_exponent("EUR"), 2);
    CHECK_INT(roam_currency_exponent("GBP"), 2);
    CHECK_INT(roam_currency_exponent("JPY"), 0);
    CHECK_INT(roam_currency_exponent("KRW"), 0);
    CHECK_INT(roam_currency_exponent("ISK"), 0);
    CHECK_INT(roam_currency_exponent("VND"), 0);
    CHECK_INT(roam_currency_exponent("XOF"), 0);
    CHECK_INT(roam_currency_exponent("KWD"), 3);
    CHECK_INT(roam_currency_exponent("BHD"), 3);
    CHECK_INT(roam_currency_exponent("TND"), 3);
    CHECK_INT(roam_currency_exponent("usd"), -1);
    CHECK_INT(roam_currency_exponent("XXX"), -1);
}

/* The fields named in errors, comma-separated, into out. */
static const char *fields(json_t *errors, char *out, size_t n) {
    out[0] = '\0';
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        if (i > 0) strncat(out, ",", n - strlen(out) - 1);
        strncat(out, json_string_value(json_object_get(e, "field")), n - strlen(out) - 1);
    }
    return out;
}

/* Parses text as JSON and then as Money; returns the parse result and the error fields. */
static int parse(const char *text, const char *must, roam_money_t *m, char *errs, size_t n) {
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
    json_t *errors = json_array();
    int rc = roam_money_parse(v, "base_price", must, m, errors);
    fields(errors, errs, n);
    CHECK_INT(rc == 0, json_array_size(errors) == 0); /* failure always explains itself */
    json_decref(errors);
    json_decref(v);
    return rc;
}

static void test_parse(void) {
    roam_money_t m;
    char errs[256];
    REQUIRE(parse("{\"amount\": 12950, \"currency\": \"EUR\"}", NULL, &m, errs, sizeof(errs)) == 0);
    CHECK_INT(m.amount, 12950);
    CHECK_STR(m.currency, "EUR");
    CHECK(parse("{\"amount\": 0, \"currency\": \"JPY\", \"extra\": 1}", NULL, &m, errs, sizeof(errs)) == 0);
    CHECK(parse("{\"amount\": 100000000000, \"currency\": \"EUR\"}", "EUR", &m, errs, sizeof(errs)) == 0);
    CHECK_INT(m.amount, ROAM_MONEY_AMOUNT_MAX);

    CHECK(parse(NULL, NULL, &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price");
    CHECK(parse("12950", NULL, &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price");
    CHECK(parse("null", NULL, &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price");
    CHECK(parse("{}", NULL, &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price.amount,base_price.currency");
    CHECK(parse("{\"amount\": 129.5, \"currency\": \"EUR\"}", NULL, &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price.amount");
    CHECK(parse("{\"amount\": 100.0, \"currency\": \"EUR\"}", NULL, &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price.amount");
    CHECK(parse("{\"amount\": \"100\", \"currency\": \"EUR\"}", NULL, &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price.amount");
    CHECK(parse("{\"amount\": true, \"currency\": \"EUR\"}", NULL, &m, errs, sizeof(errs)) != 0);
    CHECK(parse("{\"amount\": -1, \"currency\": \"EUR\"}", NULL, &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price.amount");
    CHECK(parse("{\"amount\": 100000000001, \"currency\": \"EUR\"}", NULL, &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price.amount");
    CHECK(parse("{\"amount\": 100, \"currency\": \"eur\"}", NULL, &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price.currency");
    CHECK(parse("{\"amount\": 100, \"currency\": \"EUR\\u0000X\"}", NULL, &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price.currency");
    CHECK(parse("{\"amount\": 100, \"currency\": 978}", NULL, &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price.currency");
    CHECK(parse("{\"amount\": 100, \"currency\": \"USD\"}", "EUR", &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price.currency");
    CHECK(parse("{\"amount\": 1.5, \"currency\": \"USD\"}", "EUR", &m, errs, sizeof(errs)) != 0);
    CHECK_STR(errs, "base_price.amount,base_price.currency");
}

static void test_json(void) {
    json_t *j = roam_money_json(12950, "EUR");
    REQUIRE(j != NULL);
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK_STR(s, "{\"amount\":12950,\"currency\":\"EUR\"}");
    free(s);
    json_decref(j);
}

static void test_percent(void) {
    CHECK_INT(roam_money_percent(10000, 50), 5000);
    CHECK_INT(roam_money_percent(999, 50), 499); /* 499.5 rounds down */
    CHECK_INT(roam_money_percent(1, 99), 0);
    CHECK_INT(roam_money_percent(12345, 0), 0);
    CHECK_INT(roam_money_percent(12345, 100), 12345);
    CHECK_INT(roam_money_percent(0, 30), 0);
    CHECK_INT(roam_money_percent(333, 33), 109); /* 109.89 */
    /* No overflow near the top of int64. */
    CHECK_INT(roam_money_percent(INT64_MAX, 100), INT64_MAX);
    CHECK_INT(roam_money_percent(INT64_MAX, 50), INT64_MAX / 2);
    CHECK_INT(roam_money_percent(INT64_MAX, 99), (int64_t)((__int128)INT64_MAX * 99 / 100));
    /* Exhaustive against the obvious formula for small amounts. */
    int bad = 0;
    for (int64_t a = 0; a < 2000; a++)
        for (int p = 0; p <= 100; p++)
            if (roam_money_percent(a, p) != a * p / 100) bad++;
    CHECK_INT(bad, 0);
}

int main(void) {
    RUN(test_currency_table);
    RUN(test_parse);
    RUN(test_json);
    RUN(test_percent);
    CHECK_DONE();
}
