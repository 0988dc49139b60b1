/*
 * roam-booking: bookings, their status machine, hold expiry, and booking events.
 *
 * The scaffold (libs/src/daemon.c) reads the configuration, runs this
 * service's migrations, connects its dependencies and serves the routes
 * below plus /healthz, /readyz and /metrics.
 */
#include "booking.h"

static const char *const upstreams[] = {"inventory", NULL};

static const roam_route_t routes[] = {
    /* For other services (docs/internal-api.md). The public routes arrive with the service's own issue. */
    {"GET", "/internal/bookings/{id}", "internal", 0, h_internal_booking_get},
};

static const roam_daemon_spec_t spec = {
    .name = "booking",
    .default_port = 8083,
    .needs = ROAM_NEED_DB | ROAM_NEED_KAFKA,
    .routes = routes,
    .nroutes = ROAM_ARRAY_LEN(routes),
    .upstreams = upstreams,
};

int main(int argc, char **argv) { return roam_daemon_main(&spec, argc, argv); }
