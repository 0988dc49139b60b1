/*
 * roam-review: reviews of completed stays, replies, moderation, review events.
 *
 * The scaffold (libs/src/daemon.c) reads the configuration, runs this
 * service's migrations, connects its dependencies and serves the routes
 * below plus /healthz, /readyz and /metrics.
 *
 * Settings of its own (see booking_client.c): ROAM_BOOKING_URL (required),
 * ROAM_INTERNAL_SECRET (required: the booking lookup is an internal call),
 * ROAM_BOOKING_TIMEOUT_MS (default 2000: per attempt of the lookup; one retry).
 */
#include "review.h"

static const char *const upstreams[] = {"booking", NULL};

static int init(roam_daemon_t *d, char *errbuf, size_t errlen) { return review_booking_client_init(d, errbuf, errlen); }

static const roam_route_t routes[] = {
    {"GET", "/listings/{id}/reviews", NULL, 0, h_reviews_list},
    {"POST", "/listings/{id}/reviews", "traveller", 0, h_reviews_create},
    {"POST", "/reviews/{id}/reply", "operator", 0, h_reviews_reply},
    {"POST", "/reviews/{id}/hide", "admin", 0, h_reviews_hide},
};

static const roam_daemon_spec_t spec = {
    .name = "review",
    .default_port = 8085,
    .needs = ROAM_NEED_DB | ROAM_NEED_KAFKA,
    .routes = routes,
    .nroutes = ROAM_ARRAY_LEN(routes),
    .upstreams = upstreams,
    .init = init,
};

int main(int argc, char **argv) { return roam_daemon_main(&spec, argc, argv); }
