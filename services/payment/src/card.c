/*
 * Card checks: digits, Luhn, brand, expiry and CVC. The number and the CVC
 * are never logged or copied anywhere but the caller's card_t (and the CVC
 * not even there: the sandbox does not need it, and a real processor would
 * take a token from the client instead).
 */
#include "payment.h"

#include <roam/http.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

int card_luhn_ok(const char *digits) {
    size_t n = strlen(digits);
    if (n == 0) return 0;
    int sum = 0, dbl = 0;
    for (size_t i = n; i-- > 0;) {
        if (digits[i] < '0' || digits[i] > '9') return 0;
        int d = digits[i] - '0';
        if (dbl) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
        dbl = !dbl;
    }
    return sum % 10 == 0;
}

/* The number formed by the first n digits of s (s has at least n digits). */
static int prefix(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

const char *card_brand(const char *d) {
    size_t n = strlen(d);
    if (n < 4) return "unknown";
    int p1 = prefix(d, 1), p2 = prefix(d, 2), p3 = prefix(d, 3), p4 = prefix(d, 4);
    if (p2 == 34 || p2 == 37) return "amex";
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return "mastercard";
    if (p1 == 4) return "visa";
    if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649)) return "discover";
    if (p4 >= 3528 && p4 <= 3589) return "jcb";
    if (p2 == 36 || p2 == 38 || p2 == 39 || (p3 >= 300 && p3 <= 305)) return "diners";
    if (p2 == 62) return "unionpay";
    return "unknown";
}

int card_expiry_ok(int month, int year, int64_t now) {
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    int cy = tm.tm_year + 1900, cm = tm.tm_mon + 1;
    /* Valid through the last instant of the expiry month, UTC. */
    return year > cy || (year == cy && month >= cm);
}

/* An integer member given as a JSON integer or a string of 1..4 digits; -1 when neither. */
static long small_int(json_t *v, int *digits) {
    *digits = 0;
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0 || x > 9999) return -1;
        *digits = x >= 1000 ? 4 : x >= 100 ? 3 : x >= 10 ? 2 : 1;
        return (long)x;
    }
    if (!json_is_string(v)) return -1;
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n == 0 || n > 4) return -1;
    long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        x = x * 10 + (s[i] - '0');
    }
    *digits = (int)n;
    return x;
}

int card_parse(json_t *v, int64_t now, card_t *out, json_t *errors) {
    memset(out, 0, sizeof(*out));
    if (v == NULL) {
        roam_field_error(errors, "card", "is required");
        return -1;
    }
    if (!json_is_object(v)) {
        roam_field_error(errors, "card", "must be an object");
        return -1;
    }
    size_t before = json_array_size(errors);

    /* number: digits, spaces allowed and stripped, 12..19 digits, Luhn. */
    json_t *num = json_object_get(v, "number");
    int number_ok = 0;
    if (num == NULL) {
        roam_field_error(errors, "card.number", "is required");
    } else if (!json_is_string(num)) {
        roam_field_error(errors, "card.number", "must be a string of digits");
    } else {
        const char *s = json_string_value(num);
        size_t n = 0;
        int bad = 0;
        for (; *s; s++) {
            if (*s == ' ') continue;
            if (*s < '0' || *s > '9' || n >= sizeof(out->number) - 1) {
                bad = 1;
                break;
            }
            out->number[n++] = *s;
        }
        out->number[n] = '\0';
        if (bad && n < sizeof(out->number) - 1)
            roam_field_error(errors, "card.number", "must contain digits only (spaces are allowed)");
        else if (bad || n < 12 || n > 19)
            roam_field_error(errors, "card.number", "must have 12 to 19 digits");
        else if (!card_luhn_ok(out->number))
            roam_field_error(errors, "card.number", "is not a valid card number (check digit)");
        else
            number_ok = 1;
    }
    if (number_ok) {
        size_t n = strlen(out->number);
        snprintf(out->brand, sizeof(out->brand), "%s", card_brand(out->number));
        memcpy(out->last4, out->number + n - 4, 5);
    }

    int digits;
    json_t *m = json_object_get(v, "exp_month");
    long month = m ? small_int(m, &digits) : -1;
    if (m == NULL)
        roam_field_error(errors, "card.exp_month", "is required");
    else if (month < 1 || month > 12 || digits > 2)
        roam_field_error(errors, "card.exp_month", "must be an integer from 1 to 12");
    json_t *y = json_object_get(v, "exp_year");
    long year = y ? small_int(y, &digits) : -1;
    if (y == NULL) {
        roam_field_error(errors, "card.exp_year", "is required");
    } else if (year < 0 || (digits != 4 && digits != 2 && !(json_is_integer(y) && year < 100))) {
        roam_field_error(errors, "card.exp_year", "must be a year of four digits (or two)");
        year = -1;
    } else if (year < 100) {
        year += 2000; /* two digits, as printed on the card */
    }
    if (month >= 1 && month <= 12 && year >= 1000) {
        time_t t = (time_t)now;
        struct tm tm;
        gmtime_r(&t, &tm);
        if (!card_expiry_ok((int)month, (int)year, now))
            roam_field_error(errors, "card.exp_year", "the card has expired");
        else if (year > tm.tm_year + 1900 + 50)
            roam_field_error(errors, "card.exp_year", "is too far in the future");
        else
            out->exp_month = (int)month, out->exp_year = (int)year;
    }

    /* cvc: a string of 3 digits, 4 for American Express. Not kept. */
    json_t *cvc = json_object_get(v, "cvc");
    if (cvc == NULL) {
        roam_field_error(errors, "card.cvc", "is required");
    } else {
        const char *s = json_is_string(cvc) ? json_string_value(cvc) : NULL;
        size_t n = s ? strlen(s) : 0;
        int ok = s != NULL;
        for (size_t i = 0; ok && i < n; i++)
            ok = s[i] >= '0' && s[i] <= '9';
        size_t want = number_ok && strcmp(out->brand, "amex") == 0 ? 4 : 3;
        if (!ok || n != want) roam_field_error(errors, "card.cvc", "must be a string of %zu digits", want);
    }

    if (json_array_size(errors) > before) {
        card_wipe(out);
        return -1;
    }
    return 0;
}

void card_wipe(card_t *card) {
    volatile char *p = card->number;
    for (size_t i = 0; i < sizeof(card->number); i++)
        p[i] = 0;
}
