/*
 * roam-gateway: the one front door: routes /api/v1 to the services, verifies
 * tokens, applies rate limits and CORS, and serves the OpenAPI document.
 *
 * The route table is built at start-up from the upstream table (table.c):
 * one proxy route per entry, one CORS preflight route per path, and the
 * OpenAPI document. The scaffold adds /healthz, /readyz and /metrics.
 */
#include "gateway.h"

#include <roam/common.h>
#include <roam/daemon.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const upstreams[] = {"auth", "inventory", "booking", "payment", "review", "notification", NULL};

/* Filled in by gw_init: each HTTP event loop's libcurl multi handle. */
static roam_loop_hooks_t loop_hooks;

static int init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    (void)d;
    return gw_init(&loop_hooks, errbuf, errlen);
}

static void fini(roam_daemon_t *d) {
    (void)d;
    gw_fini();
}

static char *prefixed(const char *path) {
    size_t n = strlen(GW_PREFIX) + strlen(path) + 1;
    char *p = roam_xmalloc(n);
    snprintf(p, n, "%s%s", GW_PREFIX, path);
    return p;
}

int main(int argc, char **argv) {
    /* Lives until the daemon has stopped. */
    roam_route_t *routes = roam_xcalloc(2 * gw_table_len + 1, sizeof(roam_route_t));
    size_t n = 0;
    for (size_t i = 0; i < gw_table_len; i++) {
        routes[n++] = (roam_route_t){gw_table[i].method, prefixed(gw_table[i].path), NULL, 0, h_proxy, &gw_table[i]};
        int seen = 0;
        for (size_t j = 0; j < i; j++) seen |= strcmp(gw_table[j].path, gw_table[i].path) == 0;
        if (!seen) routes[n++] = (roam_route_t){"OPTIONS", prefixed(gw_table[i].path), NULL, 0, h_preflight, NULL};
    }
    routes[n++] = (roam_route_t){"GET", GW_PREFIX "/openapi.json", NULL, 0, h_openapi, NULL};

    roam_daemon_spec_t spec = {
        .name = "gateway",
        .default_port = 8080,
        .needs = ROAM_NEED_REDIS | ROAM_NEED_AUTHN,
        .routes = routes,
        .nroutes = n,
        .upstreams = upstreams,
        .init = init,
        .fini = fini,
        .loop_hooks = &loop_hooks,
    };
    int status = roam_daemon_main(&spec, argc, argv);
    for (size_t i = 0; i + 1 < n; i++) free((char *)routes[i].pattern); /* the last is a literal */
    free(routes);
    return status;
}
