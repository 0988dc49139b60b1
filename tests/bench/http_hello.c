/*
 * roam-bench-http: the HTTP core alone (router, request context, JSON
 * response, request id, access log, metrics) serving GET /hello, for
 * tests/bench/http_core.sh to compare with nginx.
 *
 * Usage: roam-bench-http PORT THREADS
 */
#include <roam/common.h>
#include <roam/config.h>
#include <roam/http.h>
#include <roam/log.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static int h_hello(roam_req_t *req) {
    return roam_respond_json(req, 200, json_pack("{s:s}", "message", "hello"));
}

static const roam_route_t routes[] = {
    {"GET", "/hello", NULL, 0, h_hello},
};

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT THREADS\n", argv[0]);
        return 2;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    roam_log_init("bench", ROAM_LOG_INFO);
    roam_http_opts_t o;
    roam_http_opts_init(&o);
    o.port = (uint16_t)atoi(argv[1]);
    o.threads = (unsigned)atoi(argv[2]);
    o.access_log = roam_config_bool("ROAM_ACCESS_LOG", 1);
    char err[256];
    roam_http_server_t *s = roam_http_server_new(&o, routes, ROAM_ARRAY_LEN(routes), err, sizeof(err));
    if (s == NULL || roam_http_server_start(s) != 0) {
        fprintf(stderr, "cannot start: %s\n", err);
        return 1;
    }
    int sig;
    sigwait(&sigs, &sig);
    roam_http_server_free(s);
    return 0;
}
