/*
 * roam-gateway: the one front door. Every /api/v1 route of the public
 * contract is an entry of the upstream table (table.c): which service
 * answers it and whether it needs a bearer token. The gateway serves on the
 * core's event loops, and the proxy (proxy.c) drives upstream calls with a
 * libcurl multi handle on each loop while the client's connection is
 * suspended, so a slow service stalls nobody else.
 */
#ifndef ROAM_GATEWAY_H
#define ROAM_GATEWAY_H

#include <roam/http.h>

#define GW_PREFIX "/api/v1"

typedef struct {
    const char *method;
    const char *path;    /* the service's path, as in the contract, without /api/v1 */
    const char *service; /* upstream name: ROAM_<SERVICE>_URL */
    int auth;            /* 1: a valid bearer token is required here (services check roles) */
} gw_entry_t;

extern const gw_entry_t gw_table[];
extern const size_t gw_table_len;

/* --- proxy.c ---------------------------------------------------------------- */

typedef struct gw_proxy gw_proxy_t;

typedef struct {
    unsigned max_inflight; /* upstream calls at once; more answer 503 */
    long timeout_ms;       /* whole upstream call; past it 504 */
    long connect_timeout_ms;
} gw_proxy_opts_t;

/*
 * Creates the proxy and fills hooks with the event-loop hooks that give each
 * HTTP loop its libcurl multi handle (hooks must outlive the server).
 */
gw_proxy_t *gw_proxy_new(const gw_proxy_opts_t *o, roam_loop_hooks_t *hooks);
/* After the HTTP server stopped (its loops have freed their own parts). */
void gw_proxy_free(gw_proxy_t *p);
/*
 * Forwards req to url (steals url, malloc'ed) with the given headers (steals
 * the list). On 0 the request has been suspended and will be answered and
 * resumed on its own loop's thread. On ROAM_EUNAVAIL (too many calls in
 * flight, or out of memory) url and headers are freed; answer 503.
 * revoke (may be NULL): a logout's token, recorded as revoked in this
 * gateway's verifier when the service answers 204, before the client hears.
 */
struct curl_slist;
int gw_proxy_forward(gw_proxy_t *p, roam_req_t *req, const char *service, char *url, struct curl_slist *headers,
                     const roam_claims_t *revoke);
unsigned gw_proxy_inflight(gw_proxy_t *p);

/* --- ratelimit.c -------------------------------------------------------------- */

typedef struct roam_redis roam_redis_t;
typedef struct gw_limiter gw_limiter_t;

/* rate 0 disables limiting. */
gw_limiter_t *gw_limiter_new(roam_redis_t *redis, long rate_per_s, long burst);
void gw_limiter_free(gw_limiter_t *l);
/*
 * Takes one token for client. Returns 0 if allowed, else the seconds to wait
 * (Retry-After). When Redis cannot be reached the request is allowed (the
 * limiter protects the services; it must not take the API down with it),
 * and so is every request for the next second without asking Redis again.
 */
long gw_limiter_take(gw_limiter_t *l, const char *client);

/* --- handlers (h_gateway.c) -------------------------------------------------- */

int h_proxy(roam_req_t *req);
int h_preflight(roam_req_t *req);
int h_openapi(roam_req_t *req);
/* Reads the gateway's settings and starts its parts (from the daemon's init); fills the loop hooks. */
int gw_init(roam_loop_hooks_t *hooks, char *errbuf, size_t errlen);
void gw_fini(void);

#endif
