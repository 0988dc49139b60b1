/*
 * The payment service's pure helpers: Luhn, brands, expiry, the card object's
 * validation (field names, spaces, Amex CVCs, two-digit years), the sandbox's
 * verdicts. The service's files are included
 * (all but main.c), and no daemon is needed.
 */
#include "../../services/payment/src/card.c"
#include "../../services/payment/src/clients.c"
#include "../../services/payment/src/h_payments.c"
#include "../../services/payment/src/processor_sandbox.c"
#include "../../services/payment/src/recovery.c"
#include "../../services/payment/src/refunds.c"
#include "../../services/payment/src/store_payment.c"

#include <roam/migrate.h>

#include "check.h"

/* The scaffold links against a daemon's embedded migrations; this test has none. */
const roam_migration_t roam_migrations[] = {{"none", ""}};
const int roam_migrations_count = 0;

/* 2026-11-24T12:00:00Z */
#define NOW 1795521600LL

static void test_luhn(void) {
    const char *good[] = {"4242424242424242", "5555555555554444", "4000000000000002", "4000000000009995",
                          "378282246310005",  "6011111111111117", "79927398713"};
    for (size_t i = 0; i < ROAM_ARRAY_LEN(good); i++)
        CHECK(card_luhn_ok(good[i]));
    const char *bad[] = {"4242424242424241", "5555555555554445", "79927398710", "", "42424242x4242424"};
    for (size_t i = 0; i < ROAM_ARRAY_LEN(bad); i++)
        CHECK(!card_luhn_ok(bad[i]));
}

static void test_brand(void) {
    CHECK_STR(card_brand("4242424242424242"), "visa");
    CHECK_STR(card_brand("5555555555554444"), "mastercard");
    CHECK_STR(card_brand("2223003122003222"), "mastercard");
    CHECK_STR(card_brand("378282246310005"), "amex");
    CHECK_STR(card_brand("371449635398431"), "amex");
    CHECK_STR(card_brand("6011111111111117"), "discover");
    CHECK_STR(card_brand("3566002020360505"), "jcb");
    CHECK_STR(card_brand("36227206271667"), "diners");
    CHECK_STR(card_brand("6200000000000005"), "unionpay");
    CHECK_STR(card_brand("9999999999999995"), "unknown");
}

static void test_expiry(void) {
    CHECK(card_expiry_ok(11, 2026, NOW)); /* this month: valid to its end */
    CHECK(card_expiry_ok(12, 2026, NOW));
    CHECK(card_expiry_ok(1, 2027, NOW));
    CHECK(!card_expiry_ok(10, 2026, NOW));
    CHECK(!card_expiry_ok(12, 2025, NOW));
    /* 2026-11-30T23:59:59Z is still November; 2026-12-01T00:00:00Z is not. */
    CHECK(card_expiry_ok(11, 2026, 1796083199LL));
    CHECK(!card_expiry_ok(11, 2026, 1796083200LL));
}

/* Parses a card given as JSON text; returns the fields of the errors joined by ',' into fields. */
static int parse(const char *text, card_t *out, char fields[256]) {
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    json_t *errors = json_array();
    int rc = card_parse(v, NOW, out, errors);
    fields[0] = '\0';
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        if (i) strcat(fields, ",");
        strcat(fields, json_string_value(json_object_get(e, "field")));
    }
    json_decref(errors);
    json_decref(v);
    return rc;
}

static void test_card_parse(void) {
    card_t c;
    char f[256];
    REQUIRE(parse("{\"number\": \"4242 4242 4242 4242\", \"exp_month\": 12, \"exp_year\": 2030, \"cvc\": \"123\"}", &c,
                  f) == 0);
    CHECK_STR(c.number, "4242424242424242");
    CHECK_STR(c.brand, "visa");
    CHECK_STR(c.last4, "4242");
    CHECK_INT(c.exp_month, 12);
    CHECK_INT(c.exp_year, 2030);
    card_wipe(&c);
    CHECK_STR(c.number, "");
    /* Two-digit years and digit strings. */
    REQUIRE(parse("{\"number\": \"5555555555554444\", \"exp_month\": \"11\", \"exp_year\": \"26\", \"cvc\": \"000\"}",
                  &c, f) == 0);
    CHECK_INT(c.exp_year, 2026);
    CHECK_STR(c.brand, "mastercard");
    /* Amex takes four digits. */
    CHECK(parse("{\"number\": \"378282246310005\", \"exp_month\": 1, \"exp_year\": 2030, \"cvc\": \"1234\"}", &c, f) ==
          0);
    CHECK(parse("{\"number\": \"378282246310005\", \"exp_month\": 1, \"exp_year\": 2030, \"cvc\": \"123\"}", &c, f) ==
          -1);
    CHECK_STR(f, "card.cvc");
    CHECK(parse("{\"number\": \"4242424242424242\", \"exp_month\": 1, \"exp_year\": 2030, \"cvc\": \"1234\"}", &c, f) ==
          -1);
    CHECK_STR(f, "card.cvc");

    struct {
        const char *json, *fields;
    } bad[] = {
        {"{\"number\": \"4242424242424241\", \"exp_month\": 1, \"exp_year\": 2030, \"cvc\": \"123\"}", "card.number"},
        {"{\"number\": \"4242-4242-4242-4242\", \"exp_month\": 1, \"exp_year\": 2030, \"cvc\": \"123\"}",
         "card.number"},
        {"{\"number\": \"42424242426\", \"exp_month\": 1, \"exp_year\": 2030, \"cvc\": \"123\"}", "card.number"},
        {"{\"number\": \"42424242424242424242\", \"exp_month\": 1, \"exp_year\": 2030, \"cvc\": \"123\"}",
         "card.number"},
        {"{\"number\": 4242424242424242, \"exp_month\": 1, \"exp_year\": 2030, \"cvc\": \"123\"}", "card.number"},
        {"{\"number\": \"4242424242424242\", \"exp_month\": 0, \"exp_year\": 2030, \"cvc\": \"123\"}",
         "card.exp_month"},
        {"{\"number\": \"4242424242424242\", \"exp_month\": 13, \"exp_year\": 2030, \"cvc\": \"123\"}",
         "card.exp_month"},
        {"{\"number\": \"4242424242424242\", \"exp_month\": 10, \"exp_year\": 2026, \"cvc\": \"123\"}",
         "card.exp_year"},
        {"{\"number\": \"4242424242424242\", \"exp_month\": 1, \"exp_year\": 203, \"cvc\": \"123\"}", "card.exp_year"},
        {"{\"number\": \"4242424242424242\", \"exp_month\": 1, \"exp_year\": 2199, \"cvc\": \"123\"}", "card.exp_year"},
        {"{\"number\": \"4242424242424242\", \"exp_month\": 1, \"exp_year\": 2030, \"cvc\": 123}", "card.cvc"},
        {"{\"number\": \"4242424242424242\", \"exp_month\": 1, \"exp_year\": 2030, \"cvc\": \"12a\"}", "card.cvc"},
        {"{}", "card.number,card.exp_month,card.exp_year,card.cvc"},
        {"\"4242424242424242\"", "card"},
    };
    for (size_t i = 0; i < ROAM_ARRAY_LEN(bad); i++) {
        CHECK(parse(bad[i].json, &c, f) == -1);
        CHECK_STR(f, bad[i].fields);
        CHECK_STR(c.number, ""); /* nothing kept after a failure */
    }
    card_t none;
    json_t *errors = json_array();
    CHECK(card_parse(NULL, NOW, &none, errors) == -1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 0), "field")), "card");
    json_decref(errors);
}

static void test_sandbox(void) {
    char code[48];
    CHECK_INT(processor_sandbox_decide("4242424242424242", code), CHARGE_SUCCEEDED);
    CHECK_STR(code, "");
    CHECK_INT(processor_sandbox_decide("5555555555554444", code), CHARGE_SUCCEEDED);
    CHECK_INT(processor_sandbox_decide("4000000000000002", code), CHARGE_DECLINED);
    CHECK_STR(code, "card_declined");
    CHECK_INT(processor_sandbox_decide("4000000000009995", code), CHARGE_DECLINED);
    CHECK_STR(code, "insufficient_funds");
    CHECK_INT(processor_sandbox_decide("378282246310005", code), CHARGE_DECLINED);
    CHECK_STR(code, "card_declined");
    payment_processor_t *p = processor_sandbox_new(NULL);
    CHECK(p->accepts_cards && !p->accepts_tokens);
    CHECK(p->charge && p->resolve && p->refund);
    charge_in_t in = {.reference = "x", .amount = 1, .currency = "EUR", .payment_method = "pm_1"};
    charge_out_t out;
    CHECK_INT(p->charge(p, &in, &out), ROAM_EINVAL); /* tokens are refused before any database work */
    free(p);
}

int main(void) {
    RUN(test_luhn);
    RUN(test_brand);
    RUN(test_expiry);
    RUN(test_card_parse);
    RUN(test_sandbox);
    CHECK_DONE();
}
