/*
 * The gateway's handlers: the proxy (rate limit, token check, forward), CORS
 * preflights, and the OpenAPI document.
 */
#include "gateway.h"

#include <roam/authn.h>
#include <roam/common.h>
#include <roam/config.h>
#include <roam/daemon.h>
#include <roam/log.h>
#include <roam/metrics.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static struct {
    gw_proxy_t *proxy;
    gw_limiter_t *limiter;
    const char *internal_secret; /* "" when unset */
    char **origins;              /* allowed CORS origins */
    size_t norigins;
} gw;

/* Request headers passed to the services; everything else (identity headers included) is dropped. */
static const char *const forwarded[] = {"Authorization", "Content-Type", "Accept", "Idempotency-Key",
                                        "Accept-Language", NULL};

static void collect(void *ctx, roam_buf_t *b) {
    (void)ctx;
    roam_buf_appendf(b, "# HELP roam_gateway_upstream_inflight Upstream calls in flight.\n"
                        "# TYPE roam_gateway_upstream_inflight gauge\nroam_gateway_upstream_inflight %u\n",
                     gw.proxy ? gw_proxy_inflight(gw.proxy) : 0);
}

int gw_init(roam_loop_hooks_t *hooks, char *errbuf, size_t errlen) {
    (void)errbuf;
    (void)errlen;
    gw_proxy_opts_t po = {
        .max_inflight = (unsigned)roam_config_int("ROAM_GATEWAY_MAX_INFLIGHT", 1024, 1, 1000000),
        .timeout_ms = roam_config_int("ROAM_UPSTREAM_TIMEOUT_MS", 10000, 10, 600000),
        .connect_timeout_ms = roam_config_int("ROAM_UPSTREAM_CONNECT_TIMEOUT_MS", 1000, 10, 60000),
    };
    long rate = roam_config_int("ROAM_RATE_LIMIT_RPS", 200, 0, 10000000);
    long burst = roam_config_int("ROAM_RATE_LIMIT_BURST", rate * 2, 0, 100000000);
    gw.internal_secret = roam_config_str("ROAM_INTERNAL_SECRET", "");

    const char *origins = roam_config_str("ROAM_CORS_ORIGINS", "");
    char *list = roam_xstrdup(origins), *save = NULL;
    for (char *o = strtok_r(list, ", ", &save); o != NULL; o = strtok_r(NULL, ", ", &save)) {
        if (strncmp(o, "http://", 7) != 0 && strncmp(o, "https://", 8) != 0)
            roam_config_fail("ROAM_CORS_ORIGINS", origins, "each origin must start with http:// or https://");
        gw.origins = roam_xrealloc(gw.origins, (gw.norigins + 1) * sizeof(char *));
        gw.origins[gw.norigins++] = roam_xstrdup(o);
    }
    free(list);

    gw.proxy = gw_proxy_new(&po, hooks);
    gw.limiter = gw_limiter_new(roam_daemon_redis(roam_daemon()), rate, burst);
    roam_metrics_register(collect, NULL);
    return 0;
}

void gw_fini(void) {
    gw_proxy_free(gw.proxy);
    gw_limiter_free(gw.limiter);
    for (size_t i = 0; i < gw.norigins; i++) free(gw.origins[i]);
    free(gw.origins);
    memset(&gw, 0, sizeof(gw));
}

/* The request's Origin if it is allowed, else NULL. */
static const char *allowed_origin(roam_req_t *req) {
    const char *origin = roam_req_header(req, "Origin");
    if (origin == NULL) return NULL;
    for (size_t i = 0; i < gw.norigins; i++)
        if (strcmp(origin, gw.origins[i]) == 0) return origin;
    return NULL;
}

static void cors_headers(roam_req_t *req) {
    const char *origin = allowed_origin(req);
    if (origin == NULL) return;
    roam_resp_header(req, "Access-Control-Allow-Origin", origin);
    roam_resp_header(req, "Vary", "Origin");
    roam_resp_header(req, "Access-Control-Expose-Headers", "X-Request-Id, Retry-After, Idempotent-Replayed");
}

int h_preflight(roam_req_t *req) {
    const char *origin = allowed_origin(req);
    if (origin == NULL || roam_req_header(req, "Access-Control-Request-Method") == NULL)
        return roam_respond_problem(req, "forbidden", "Cross-origin requests are not allowed from this origin");
    roam_resp_header(req, "Access-Control-Allow-Origin", origin);
    roam_resp_header(req, "Vary", "Origin");
    roam_resp_header(req, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
    roam_resp_header(req, "Access-Control-Allow-Headers",
                     "Authorization, Content-Type, Idempotency-Key, X-Request-Id, traceparent");
    roam_resp_header(req, "Access-Control-Max-Age", "600");
    return roam_respond_empty(req, 204);
}

/* Path parameters never carry a slash, a backslash or a control character (no smuggled paths). */
static int params_clean(roam_req_t *req) {
    static const char *const names[] = {"id", "unit_id", NULL};
    for (const char *const *n = names; *n; n++) {
        const char *v = roam_req_param(req, *n);
        if (v == NULL) continue;
        for (const unsigned char *p = (const unsigned char *)v; *p; p++)
            if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f) return 0;
        if (strcasecmp(v, "internal") == 0) return 0;
    }
    return 1;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value) {
    char line[8192];
    snprintf(line, sizeof(line), "%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(l, line);
    if (n == NULL) curl_slist_free_all(l);
    return n;
}

int h_proxy(roam_req_t *req) {
    const gw_entry_t *e = roam_req_route(req)->data;
    cors_headers(req);
    if (!params_clean(req)) return roam_respond_problem(req, "not_found", "No route for %s", roam_req_path(req));

    long wait = gw_limiter_take(gw.limiter, roam_req_client_ip(req));
    if (wait > 0) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%ld", wait);
        roam_resp_header(req, "Retry-After", ra);
        return roam_respond_problem(req, "rate_limited", "Too many requests; retry in %ld s", wait);
    }

    roam_claims_t claims;
    int logout = 0;
    if (e->auth) {
        const char *authz = roam_req_header(req, "Authorization");
        if (authz == NULL || strncasecmp(authz, "Bearer ", 7) != 0 || authz[7] == '\0')
            return roam_respond_problem(req, "unauthorized", "A bearer token is required");
        int rc = roam_authn_verify(roam_daemon_authn(roam_daemon()), authz + 7, &claims);
        if (rc == ROAM_EUNAVAIL)
            return roam_respond_problem(req, "upstream_unavailable", "Tokens cannot be checked right now");
        if (rc != 0) return roam_respond_problem(req, "unauthorized", "The bearer token is invalid, expired or revoked");
        logout = strcmp(e->path, "/auth/logout") == 0;
    }

    const char *base = roam_daemon_upstream(roam_daemon(), e->service);
    const char *path = roam_req_path(req) + strlen(GW_PREFIX); /* raw, exactly as sent */
    const char *qs = roam_req_query_string(req);
    size_t ulen = strlen(base) + strlen(path) + strlen(qs) + 2;
    char *url = malloc(ulen);
    if (url == NULL) return roam_respond_problem(req, "upstream_unavailable", "Out of memory");
    snprintf(url, ulen, "%s%s%s%s", base, path, qs[0] ? "?" : "", qs);

    struct curl_slist *h = NULL;
    h = add_header(h, "Expect", ""); /* no 100-continue round trip */
    if (h != NULL && roam_req_header(req, "Content-Type") == NULL) h = add_header(h, "Content-Type", "");
    for (const char *const *name = forwarded; h != NULL && *name; name++) {
        const char *v = roam_req_header(req, *name);
        if (v != NULL) h = add_header(h, *name, v);
    }
    if (h != NULL) h = add_header(h, "X-Request-Id", roam_req_id(req));
    if (h != NULL) h = add_header(h, "traceparent", roam_req_traceparent(req));
    if (h != NULL) h = add_header(h, "X-Forwarded-For", roam_req_client_ip(req));
    if (h != NULL && gw.internal_secret[0]) h = add_header(h, "X-Roam-Internal", gw.internal_secret);
    if (h == NULL) {
        free(url);
        return roam_respond_problem(req, "upstream_unavailable", "Out of memory");
    }
    if (gw_proxy_forward(gw.proxy, req, e->service, url, h, logout ? &claims : NULL) != 0)
        return roam_respond_problem(req, "upstream_unavailable", "Too many requests in flight; retry shortly");
    return ROAM_HTTP_SUSPENDED;
}

extern const char gw_openapi_json[];
extern const size_t gw_openapi_json_len;

int h_openapi(roam_req_t *req) {
    cors_headers(req);
    char *body = malloc(gw_openapi_json_len);
    if (body == NULL) return roam_respond_problem(req, "upstream_unavailable", "Out of memory");
    memcpy(body, gw_openapi_json, gw_openapi_json_len);
    roam_resp_header(req, "Cache-Control", "public, max-age=300");
    return roam_respond_raw(req, 200, "application/json", body, gw_openapi_json_len);
}
