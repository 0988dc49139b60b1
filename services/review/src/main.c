/*
 * roam-review: reviews of completed stays, replies, moderation, review events.
 *
 * The scaffold (libs/src/daemon.c) reads the configuration, runs this
 * service's migrations, connects its dependencies and serves the routes
 * below plus /healthz, /readyz and /metrics.
 */
#include <roam/daemon.h>

static const char *const upstreams[] = {"booking", NULL};

static const roam_daemon_spec_t spec = {
    .name = "review",
    .default_port = 8085,
    .needs = ROAM_NEED_DB | ROAM_NEED_KAFKA,
    /* Domain routes arrive with the service's own issue. */
    .routes = NULL,
    .nroutes = 0,
    .upstreams = upstreams,
};

int main(int argc, char **argv) { return roam_daemon_main(&spec, argc, argv); }
