/*
 * roam-inventory: listings, units, calendars, search, and holds for bookings.
 *
 * The scaffold (libs/src/daemon.c) reads the configuration, runs this
 * service's migrations, connects its dependencies and serves the routes
 * below plus /healthz, /readyz and /metrics.
 */
#include "inventory.h"

static int init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    if (inventory_ratings_init(d, errbuf, errlen) != 0) return -1;
    return inventory_hold_expiry_start(d, errbuf, errlen);
}

static void fini(roam_daemon_t *d) {
    (void)d;
    inventory_hold_expiry_stop();
}

static const roam_route_t routes[] = {
    {"GET", "/listings", NULL, 0, h_search_listings},
    {"POST", "/listings", "operator", 0, h_listings_create},
    {"GET", "/listings/suggest", NULL, 0, h_search_suggest},
    {"GET", "/listings/{id}", NULL, 0, h_listings_get},
    {"PATCH", "/listings/{id}", "operator", 0, h_listings_update},
    {"DELETE", "/listings/{id}", "operator", 0, h_listings_archive},
    {"GET", "/listings/{id}/availability", NULL, 0, h_calendar_availability},
    {"GET", "/listings/{id}/quote", NULL, 0, h_calendar_quote},
    {"POST", "/listings/{id}/units", "operator", 0, h_units_create},
    {"PUT", "/listings/{id}/units/{unit_id}/calendar", "operator", 0, h_calendar_update},
    {"GET", "/operator/listings", "operator", 0, h_listings_mine},

    {"POST", "/internal/holds", "internal", 0, h_holds_create},
    {"GET", "/internal/holds/{id}", "internal", 0, h_holds_get},
    {"POST", "/internal/holds/{id}/release", "internal", 0, h_holds_release},
    {"POST", "/internal/holds/{id}/confirm", "internal", 0, h_holds_confirm},
    {"GET", "/internal/listings/{id}", "internal", 0, h_listings_internal},
};

static const roam_daemon_spec_t spec = {
    .name = "inventory",
    .default_port = 8082,
    .needs = ROAM_NEED_DB | ROAM_NEED_KAFKA,
    .routes = routes,
    .nroutes = ROAM_ARRAY_LEN(routes),
    .upstreams = NULL,
    .init = init,
    .fini = fini,
};

int main(int argc, char **argv) { return roam_daemon_main(&spec, argc, argv); }
