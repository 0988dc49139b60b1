/*
 * roam-booking: bookings, their status machine, hold expiry, and booking events.
 *
 * The scaffold (libs/src/daemon.c) reads the configuration, runs this
 * service's migrations, connects its dependencies and serves the routes
 * below plus /healthz, /readyz and /metrics.
 *
 * Settings of its own: ROAM_INVENTORY_URL and ROAM_AUTH_URL (required),
 * ROAM_INTERNAL_SECRET (required), ROAM_BOOKING_HOLD_TTL_S (default 900),
 * ROAM_BOOKING_SWEEP_INTERVAL_MS (default 1000), ROAM_INVENTORY_TIMEOUT_MS
 * (default 5000, per attempt of a holds call).
 */
#include "booking.h"

#include <stdio.h>

static const char *const upstreams[] = {"inventory", "auth", NULL};
static const char *const payment_topics[] = {"payments", NULL};

static int init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    if (booking_clients_init(d, errbuf, errlen) != 0) return -1;
    if (roam_daemon_add_consumer(d, "booking.payments", payment_topics, booking_payments_handle, NULL) != 0) {
        snprintf(errbuf, errlen, "cannot create the payments consumer");
        return -1;
    }
    return booking_sweeper_start(d, errbuf, errlen);
}

static void fini(roam_daemon_t *d) {
    (void)d;
    booking_sweeper_stop();
}

static const roam_route_t routes[] = {
    {"POST", "/bookings", "traveller", 0, h_bookings_create},
    {"GET", "/bookings", "any", 0, h_bookings_list},
    {"GET", "/bookings/{id}", "any", 0, h_bookings_get},
    {"POST", "/bookings/{id}/cancel", "any", 0, h_bookings_cancel},
    {"POST", "/bookings/{id}/complete", "operator", 0, h_bookings_complete},
    {"GET", "/operator/bookings", "operator", 0, h_operator_bookings},
    /* For other services (docs/internal-api.md). */
    {"GET", "/internal/bookings/{id}", "internal", 0, h_internal_booking_get},
};

static const roam_daemon_spec_t spec = {
    .name = "booking",
    .default_port = 8083,
    .needs = ROAM_NEED_DB | ROAM_NEED_KAFKA,
    .routes = routes,
    .nroutes = ROAM_ARRAY_LEN(routes),
    .upstreams = upstreams,
    .init = init,
    .fini = fini,
};

int main(int argc, char **argv) { return roam_daemon_main(&spec, argc, argv); }
