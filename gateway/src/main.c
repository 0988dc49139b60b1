/*
 * roam-gateway: the one front door: routes /api/v1 to the services, verifies tokens, applies rate limits.
 *
 * The scaffold (libs/src/daemon.c) reads the configuration, runs this
 * service's migrations, connects its dependencies and serves the routes
 * below plus /healthz, /readyz and /metrics.
 */
#include <roam/daemon.h>

static const char *const upstreams[] = {"auth", "inventory", "booking", "payment", "review", "notification", NULL};

static const roam_daemon_spec_t spec = {
    .name = "gateway",
    .default_port = 8080,
    .needs = ROAM_NEED_REDIS,
    /* Domain routes arrive with the service's own issue. */
    .routes = NULL,
    .nroutes = 0,
    .upstreams = upstreams,
};

int main(int argc, char **argv) { return roam_daemon_main(&spec, argc, argv); }
