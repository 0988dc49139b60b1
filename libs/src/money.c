/* Currencies and Money objects; see roam/money.h. */
#include <roam/http.h>
#include <roam/money.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char code[4];
    signed char exponent;
} currency_t;

/*
 * ISO 4217, list one: the circulating currencies and their minor units,
 * sorted by code for bsearch. Withdrawn codes (HRK, SLL, ZWL, CUC) are gone;
 * XCG and ZWG are the newest.
 */
static const currency_t currencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2}, {"AWG", 2},
    {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2},
    {"CHF", 2}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0},
    {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2},
    {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2},
    {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0},
    {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0},
    {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3},
    {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2},
    {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2},
    {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2},
    {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2},
    {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2},
    {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2},
    {"TTD", 2}, {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"UYU", 2}, {"UZS", 2}, {"VED", 2},
    {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0},
    {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

static int compare_code(const void *key, const void *elem) {
    return strcmp((const char *)key, ((const currency_t *)elem)->code);
}

static const currency_t *lookup(const char *code) {
    if (code == NULL || strlen(code) != 3) return NULL;
    return bsearch(code, currencies, sizeof(currencies) / sizeof(currencies[0]), sizeof(currencies[0]), compare_code);
}

int roam_currency_valid(const char *code) { return lookup(code) != NULL; }

int roam_currency_exponent(const char *code) {
    const currency_t *c = lookup(code);
    return c ? c->exponent : -1;
}

int roam_money_parse(const json_t *v, const char *field, const char *currency_must, roam_money_t *out, json_t *errors) {
    memset(out, 0, sizeof(*out));
    if (v == NULL) {
        roam_field_error(errors, field, "is required");
        return -1;
    }
    if (!json_is_object(v)) {
        roam_field_error(errors, field, "must be an object {\"amount\": <integer minor units>, \"currency\": \"EUR\"}");
        return -1;
    }
    char path[128];
    int bad = 0;

    const json_t *amount = json_object_get(v, "amount");
    snprintf(path, sizeof(path), "%s.amount", field);
    if (amount == NULL) {
        roam_field_error(errors, path, "is required");
        bad = 1;
    } else if (!json_is_integer(amount)) {
        roam_field_error(errors, path, "must be an integer number of minor units (cents), not a decimal");
        bad = 1;
    } else if (json_integer_value(amount) < 0 || json_integer_value(amount) > ROAM_MONEY_AMOUNT_MAX) {
        roam_field_error(errors, path, "must be from 0 to %lld", ROAM_MONEY_AMOUNT_MAX);
        bad = 1;
    } else {
        out->amount = (int64_t)json_integer_value(amount);
    }

    const json_t *currency = json_object_get(v, "currency");
    snprintf(path, sizeof(path), "%s.currency", field);
    const char *code = json_string_value(currency);
    if (currency == NULL) {
        roam_field_error(errors, path, "is required");
        bad = 1;
    } else if (code == NULL || strlen(code) != json_string_length(currency) || !roam_currency_valid(code)) {
        roam_field_error(errors, path, "must be an ISO 4217 currency code in upper case (\"EUR\")");
        bad = 1;
    } else if (currency_must != NULL && strcmp(code, currency_must) != 0) {
        roam_field_error(errors, path, "must be %s, the listing's currency", currency_must);
        bad = 1;
    } else {
        memcpy(out->currency, code, 4);
    }
    return bad ? -1 : 0;
}

json_t *roam_money_json(int64_t amount, const char *currency) {
    return json_pack("{s:I, s:s}", "amount", (json_int_t)amount, "currency", currency);
}

int64_t roam_money_percent(int64_t amount, int percent) {
    if (amount <= 0 || percent <= 0) return 0;
    if (percent >= 100) return amount;
    /* (amount / 100) * p + (amount % 100) * p / 100: no intermediate exceeds amount. */
    return amount / 100 * percent + amount % 100 * percent / 100;
}
