/*
 * What each booking event says: the in-app title and body, and the email's
 * subject, plain text and HTML. Pure functions of the booking snapshot, so
 * a retried email sends the same words.
 */
#include "notification.h"

#include <roam/common.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading the snapshot ------------------------------------------------ */

static const char *str_member(json_t *o, const char *name) {
    const char *s = json_string_value(json_object_get(o, name));
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static long count_member(json_t *o, const char *name) {
    json_t *v = json_object_get(o, name);
    return json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 1000000
               ? (long)json_integer_value(v)
               : 0;
}

/* A Money member: 1 and *out when it is {amount >= 0 integer, currency valid}, else 0. */
static int money_member(json_t *o, const char *name, roam_money_t *out) {
    json_t *m = json_object_get(o, name);
    json_t *amount = json_object_get(m, "amount");
    const char *cur = json_string_value(json_object_get(m, "currency"));
    if (!json_is_integer(amount) || json_integer_value(amount) < 0 || !roam_currency_valid(cur)) return 0;
    out->amount = (int64_t)json_integer_value(amount);
    memcpy(out->currency, cur, 4);
    return 1;
}

static int date_valid(const char *s) {
    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
    return 1;
}

int notif_booking_parse(json_t *data, notif_booking_t *out, const char **why) {
    memset(out, 0, sizeof(*out));
    if (!json_is_object(data)) {
        *why = "data is not an object";
        return ROAM_EINVAL;
    }
    out->id = str_member(data, "id");
    out->reference = str_member(data, "reference");
    out->user_id = str_member(data, "user_id");
    out->operator_id = str_member(data, "operator_id");
    out->listing_title = str_member(data, "listing_title");
    out->check_in = str_member(data, "check_in");
    out->check_out = str_member(data, "check_out");
    out->cancelled_by = str_member(data, "cancelled_by");
    json_t *guest = json_object_get(data, "guest");
    out->guest_name = str_member(guest, "name");
    out->guest_email = str_member(guest, "email");
    if (out->guest_email != NULL && !notif_address_valid(out->guest_email)) out->guest_email = NULL;
    out->nights = count_member(data, "nights");
    out->guests = count_member(data, "guests");
    out->quantity = count_member(data, "quantity");
    out->has_total = money_member(data, "total", &out->total);
    out->has_refund = money_member(data, "refund", &out->refund);

    if (out->id == NULL || !roam_uuid_valid(out->id))
        *why = "id is not a UUID";
    else if (out->user_id == NULL || !roam_uuid_valid(out->user_id))
        *why = "user_id is not a UUID";
    else if (out->operator_id != NULL && !roam_uuid_valid(out->operator_id))
        *why = "operator_id is not a UUID";
    else if (out->reference == NULL)
        *why = "reference is missing";
    else if (out->listing_title == NULL)
        *why = "listing_title is missing";
    else if (!date_valid(out->check_in) || !date_valid(out->check_out))
        *why = "check_in or check_out is not a date";
    else
        return 0;
    return ROAM_EINVAL;
}

/* ---- formatting ------------------------------------------------------------ */

void notif_money_format(int64_t amount, const char *currency, char *out, size_t outlen) {
    int exp = roam_currency_exponent(currency);
    if (exp <= 0) {
        snprintf(out, outlen, "%s %lld", currency, (long long)amount);
        return;
    }
    if (exp > 4) exp = 4; /* no currency has more; keeps the width bounded */
    int64_t scale = 1;
    for (int i = 0; i < exp; i++)
        scale *= 10;
    char frac[24];
    snprintf(frac, sizeof(frac), "%04lld", (long long)(amount % scale));
    snprintf(out, outlen, "%s %lld.%s", currency, (long long)(amount / scale), frac + (4 - exp));
}

void notif_date_format(const char *iso, char *out, size_t outlen) {
    static const char *const months[] = {"January", "February", "March",     "April",   "May",      "June",
                                         "July",    "August",   "September", "October", "November", "December"};
    int month = date_valid(iso) ? (iso[5] - '0') * 10 + (iso[6] - '0') : 0;
    if (month < 1 || month > 12) {
        snprintf(out, outlen, "%s", iso ? iso : "");
        return;
    }
    int day = (iso[8] - '0') * 10 + (iso[9] - '0');
    snprintf(out, outlen, "%d %s %.4s", day, months[month - 1], iso);
}

void notif_html_escape(roam_buf_t *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': roam_buf_appendf(b, "&amp;"); break;
        case '<': roam_buf_appendf(b, "&lt;"); break;
        case '>': roam_buf_appendf(b, "&gt;"); break;
        case '"': roam_buf_appendf(b, "&quot;"); break;
        case '\'': roam_buf_appendf(b, "&#39;"); break;
        default: roam_buf_appendf(b, "%c", *s);
        }
    }
}

/* ---- the messages ------------------------------------------------------------ */

typedef enum { TO_TRAVELLER, TO_OPERATOR } audience_t;

/* Returns a new string, or NULL when memory runs out. */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

static const char *plural(long n, const char *one, const char *many) { return n == 1 ? one : many; }

/* The facts every email lists: label and value pairs, value NULL to skip. */
typedef struct {
    const char *label;
    char value[160];
} fact_t;

static int booking_facts(const notif_booking_t *b, int with_refund, fact_t facts[8]) {
    int n = 0;
    char in[40], outd[40];
    notif_date_format(b->check_in, in, sizeof(in));
    notif_date_format(b->check_out, outd, sizeof(outd));
    facts[n].label = "Booking reference";
    snprintf(facts[n++].value, sizeof(facts[0].value), "%s", b->reference);
    facts[n].label = "Listing";
    snprintf(facts[n++].value, sizeof(facts[0].value), "%s", b->listing_title);
    facts[n].label = "Check-in";
    snprintf(facts[n++].value, sizeof(facts[0].value), "%s", in);
    facts[n].label = "Check-out";
    if (b->nights > 0)
        snprintf(facts[n++].value, sizeof(facts[0].value), "%s (%ld %s)", outd, b->nights,
                 plural(b->nights, "night", "nights"));
    else
        snprintf(facts[n++].value, sizeof(facts[0].value), "%s", outd);
    if (b->guests > 0) {
        facts[n].label = "Guests";
        snprintf(facts[n++].value, sizeof(facts[0].value), "%ld", b->guests);
    }
    if (b->quantity > 0) {
        facts[n].label = "Rooms";
        snprintf(facts[n++].value, sizeof(facts[0].value), "%ld", b->quantity);
    }
    if (b->has_total) {
        facts[n].label = "Total";
        notif_money_format(b->total.amount, b->total.currency, facts[n++].value, sizeof(facts[0].value));
    }
    if (with_refund) {
        facts[n].label = "Refund";
        if (b->has_refund)
            notif_money_format(b->refund.amount, b->refund.currency, facts[n++].value, sizeof(facts[0].value));
        else
            snprintf(facts[n++].value, sizeof(facts[0].value), "none");
    }
    return n;
}

/* The refund sentence of a cancellation, in words and figures. */
static void refund_sentence(const notif_booking_t *b, audience_t who, char *out, size_t outlen) {
    char money[48];
    if (!b->has_refund || b->refund.amount == 0) {
        snprintf(out, outlen, "%s",
                 who == TO_TRAVELLER ? "No refund is due under the cancellation policy."
                                     : "No refund is due to the guest.");
        return;
    }
    notif_money_format(b->refund.amount, b->refund.currency, money, sizeof(money));
    if (who == TO_TRAVELLER)
        snprintf(out, outlen, "A refund of %s is on its way to your original payment method.", money);
    else
        snprintf(out, outlen, "The guest is refunded %s.", money);
}

/* Builds the email bodies of m from its greeting, lead paragraph and the booking's facts. */
static int render_email(notif_message_t *m, const notif_booking_t *b, const char *greeting_name, const char *lead,
                        int with_refund) {
    fact_t facts[8];
    int n = booking_facts(b, with_refund, facts);
    roam_buf_t t = {0}, h = {0};

    if (greeting_name != NULL)
        roam_buf_appendf(&t, "Hello %s,\n\n", greeting_name);
    else
        roam_buf_appendf(&t, "Hello,\n\n");
    roam_buf_appendf(&t, "%s\n\n", lead);
    for (int i = 0; i < n; i++)
        roam_buf_appendf(&t, "%-18s %s\n", facts[i].label, facts[i].value);
    roam_buf_appendf(&t, "\nYou can see this booking in your Roam account.\n\n-- \nRoam\n");

    roam_buf_appendf(&h, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    notif_html_escape(&h, m->subject);
    roam_buf_appendf(&h, "</title></head>\n<body style=\"font-family: sans-serif\">\n<p>Hello");
    if (greeting_name != NULL) {
        roam_buf_appendf(&h, " ");
        notif_html_escape(&h, greeting_name);
    }
    roam_buf_appendf(&h, ",</p>\n<p>");
    notif_html_escape(&h, lead);
    roam_buf_appendf(&h, "</p>\n<table>\n");
    for (int i = 0; i < n; i++) {
        roam_buf_appendf(&h, "<tr><th align=\"left\">");
        notif_html_escape(&h, facts[i].label);
        roam_buf_appendf(&h, "</th><td>");
        notif_html_escape(&h, facts[i].value);
        roam_buf_appendf(&h, "</td></tr>\n");
    }
    roam_buf_appendf(&h,
                     "</table>\n<p>You can see this booking in your Roam account.</p>\n<p>Roam</p>\n</body></html>\n");

    if (t.oom || h.oom || t.buf == NULL || h.buf == NULL) {
        free(t.buf);
        free(h.buf);
        return ROAM_ENOMEM;
    }
    m->text = t.buf;
    m->html = h.buf;
    return 0;
}

static int message(notif_message_t *m, const notif_booking_t *b, const char *type) {
    char in[40], out[40], stay[200], refund[160];
    notif_date_format(b->check_in, in, sizeof(in));
    notif_date_format(b->check_out, out, sizeof(out));
    snprintf(stay, sizeof(stay), "%s to %s", in, out);
    const char *guest = b->guest_name ? b->guest_name : "The guest";
    char total[48] = "";
    if (b->has_total) notif_money_format(b->total.amount, b->total.currency, total, sizeof(total));
    audience_t who = TO_TRAVELLER;
    int with_refund = 0;

    memset(m, 0, sizeof(*m));
    m->type = type;
    if (strcmp(type, "booking_confirmed") == 0) {
        m->title = fmt("Booking %s confirmed", b->reference);
        m->body = fmt("Your stay at %s from %s is confirmed.%s%s%s", b->listing_title, stay,
                      b->has_total ? " Total paid: " : "", total, b->has_total ? "." : "");
        m->subject = fmt("Your booking %s at %s is confirmed", b->reference, b->listing_title);
    } else if (strcmp(type, "payment_failed") == 0) {
        m->title = fmt("Payment failed for booking %s", b->reference);
        m->body = fmt("We could not take the payment for your stay at %s from %s, so the booking is not confirmed. "
                      "You can book again with another card.",
                      b->listing_title, stay);
        m->subject = fmt("Payment failed for your booking %s", b->reference);
    } else if (strcmp(type, "booking_expired") == 0) {
        m->title = fmt("Booking %s expired", b->reference);
        m->body = fmt("Your hold on %s from %s ran out before the payment was completed, so the rooms were released.",
                      b->listing_title, stay);
        m->subject = fmt("Your booking %s has expired", b->reference);
    } else if (strcmp(type, "booking_cancelled") == 0) {
        const char *by = b->cancelled_by == NULL                     ? ""
                         : strcmp(b->cancelled_by, "traveller") == 0 ? " at your request"
                         : strcmp(b->cancelled_by, "operator") == 0  ? " by the host"
                                                                     : " by Roam";
        refund_sentence(b, TO_TRAVELLER, refund, sizeof(refund));
        m->title = fmt("Booking %s cancelled", b->reference);
        m->body = fmt("Your booking at %s from %s was cancelled%s. %s", b->listing_title, stay, by, refund);
        m->subject = fmt("Your booking %s is cancelled", b->reference);
        with_refund = 1;
    } else if (strcmp(type, "new_booking") == 0) {
        who = TO_OPERATOR;
        char g[40] = "";
        if (b->guests > 0) snprintf(g, sizeof(g), " for %ld %s", b->guests, plural(b->guests, "guest", "guests"));
        m->title = fmt("New booking %s", b->reference);
        m->body = fmt("%s booked %s from %s%s.%s%s%s", guest, b->listing_title, stay, g, b->has_total ? " Total: " : "",
                      total, b->has_total ? "." : "");
        m->subject = fmt("New booking %s for %s", b->reference, b->listing_title);
    } else if (strcmp(type, "booking_cancelled_by_guest") == 0) {
        who = TO_OPERATOR;
        refund_sentence(b, TO_OPERATOR, refund, sizeof(refund));
        m->title = fmt("Booking %s cancelled by the guest", b->reference);
        m->body = fmt("%s cancelled the booking of %s from %s; the nights are available again. %s", guest,
                      b->listing_title, stay, refund);
        m->subject = fmt("Booking %s was cancelled by the guest", b->reference);
        with_refund = 1;
    } else {
        return ROAM_EINVAL;
    }

    if (who == TO_TRAVELLER) {
        m->recipient_id = b->user_id;
        m->to_address = b->guest_email;
        m->to_name = b->guest_name;
    } else {
        m->recipient_id = b->operator_id;
    }
    if (m->title == NULL || m->body == NULL || m->subject == NULL ||
        render_email(m, b, who == TO_TRAVELLER ? b->guest_name : NULL, m->body, with_refund) != 0) {
        notif_message_cleanup(m);
        return ROAM_ENOMEM;
    }
    return 0;
}

void notif_message_cleanup(notif_message_t *m) {
    free(m->title);
    free(m->body);
    free(m->subject);
    free(m->text);
    free(m->html);
    m->title = m->body = m->subject = m->text = m->html = NULL;
}

int notif_messages(const char *event_type, const notif_booking_t *b, notif_message_t out[2]) {
    const char *types[2] = {NULL, NULL};
    if (strcmp(event_type, "booking.confirmed") == 0) {
        types[0] = "booking_confirmed";
        types[1] = "new_booking";
    } else if (strcmp(event_type, "booking.payment_failed") == 0) {
        types[0] = "payment_failed";
    } else if (strcmp(event_type, "booking.expired") == 0) {
        types[0] = "booking_expired";
    } else if (strcmp(event_type, "booking.cancelled") == 0) {
        types[0] = "booking_cancelled";
        if (b->cancelled_by != NULL && strcmp(b->cancelled_by, "traveller") == 0)
            types[1] = "booking_cancelled_by_guest";
    } else {
        return 0;
    }
    if (types[1] != NULL && b->operator_id == NULL) types[1] = NULL; /* nobody to tell: the traveller still is */
    int n = 0;
    for (int i = 0; i < 2 && types[i] != NULL; i++) {
        if (message(&out[n], b, types[i]) != 0) {
            while (n > 0)
                notif_message_cleanup(&out[--n]);
            return ROAM_ENOMEM;
        }
        n++;
    }
    return n;
}
