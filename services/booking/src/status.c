/*
 * The booking status machine (API contract, "Status machine"): the one table
 * every writer of bookings.status consults. Writers enforce it in SQL with
 * "UPDATE ... WHERE status = ANY(<from>)", so a concurrent change can never
 * be overwritten by a transition that was allowed only before it.
 *
 *   pending_payment, payment_failed -> confirmed | payment_failed | expired | cancelled
 *   confirmed                       -> cancelled | completed
 *   expired, cancelled, completed   final
 */
#include "booking.h"

#include <string.h>

static const struct {
    const char *to;
    const char *from; /* PostgreSQL text[] literal */
} transitions[] = {
    {"confirmed", "{pending_payment,payment_failed}"},
    {"payment_failed", "{pending_payment,payment_failed}"},
    {"expired", "{pending_payment,payment_failed}"},
    {"cancelled", "{pending_payment,payment_failed,confirmed}"},
    {"completed", "{confirmed}"},
};

static const char *const states[] = {"pending_payment", "payment_failed", "confirmed",
                                     "expired",         "cancelled",      "completed"};

const char *booking_status_from(const char *to) {
    for (size_t i = 0; i < ROAM_ARRAY_LEN(transitions); i++)
        if (strcmp(transitions[i].to, to) == 0) return transitions[i].from;
    return NULL;
}

int booking_status_valid(const char *s) {
    for (size_t i = 0; i < ROAM_ARRAY_LEN(states); i++)
        if (strcmp(states[i], s) == 0) return 1;
    return 0;
}
