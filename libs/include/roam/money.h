/*
 * roam/money.h: currencies (ISO 4217) and Money objects.
 *
 * Money is {"amount": <integer minor units>, "currency": "EUR"} everywhere in
 * the API, never a float. The currency table holds the codes of the
 * circulating currencies with their minor-unit exponents (EUR 2, JPY 0,
 * KWD 3); fund codes (BOV, CLF, USN, ...), precious metals and the testing
 * codes (XAU, XDR, XTS, XXX, ...) are not prices anyone pays, so they are
 * not in it.
 */
#ifndef ROAM_MONEY_H
#define ROAM_MONEY_H

#include <stdint.h>
#include <jansson.h>

/*
 * The largest amount a client may send, in minor units (10^11). A total of
 * 1000 units for 30 nights at this price stays below 2^53, so every amount
 * Roam computes is exact in a JavaScript client too.
 */
#define ROAM_MONEY_AMOUNT_MAX 100000000000LL

typedef struct {
    int64_t amount;   /* minor units, 0..ROAM_MONEY_AMOUNT_MAX */
    char currency[4]; /* ISO 4217 code, NUL-terminated */
} roam_money_t;

/* 1 if code is exactly the upper-case ISO 4217 code of a circulating currency ("EUR"), else 0. NULL gives 0. */
int roam_currency_valid(const char *code);

/* The number of minor-unit digits of a currency (EUR 2, JPY 0, KWD 3), or -1 when code is not valid. */
int roam_currency_exponent(const char *code);

/*
 * Reads a Money object from v (borrowed) into out. field is the member's
 * dotted path for error messages ("base_price", "price"): errors name
 * "<field>.amount" and "<field>.currency", or field itself when v is missing
 * (NULL) or not an object. When currency_must is not NULL, only that
 * currency is accepted (the listing's). Returns 0, or -1 with at least one
 * {field, message} appended to errors.
 */
int roam_money_parse(const json_t *v, const char *field, const char *currency_must, roam_money_t *out, json_t *errors);

/* {"amount": amount, "currency": currency}. Returns new, or NULL when memory runs out. */
json_t *roam_money_json(int64_t amount, const char *currency);

/*
 * percent (0..100) of amount (>= 0), rounded down to the minor unit, as the
 * contract wants for computed amounts (refunds). Exact for every amount up
 * to INT64_MAX.
 */
int64_t roam_money_percent(int64_t amount, int percent);

#endif
