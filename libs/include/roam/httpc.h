/*
 * roam/httpc.h: outbound HTTP over libcurl, for calls between services.
 *
 * Each thread keeps one curl handle, so connections to the same host are
 * reused across calls. Every call carries the thread's X-Request-Id and
 * traceparent. Idempotent requests (GET, HEAD, PUT, DELETE, or any request
 * flagged idempotent, such as a POST with an idempotency key) are retried a
 * bounded number of times on connection failures, timeouts and 502/503/504,
 * with a short backoff.
 */
#ifndef ROAM_HTTPC_H
#define ROAM_HTTPC_H

#include <stddef.h>
#include <jansson.h>

typedef struct {
    int timeout_ms;         /* whole call, per attempt; default 5000 */
    int connect_timeout_ms; /* default 1000 */
    int retries;            /* extra attempts for idempotent calls; default 2 */
    int idempotent;         /* treat a POST/PATCH as safe to retry */
} roam_httpc_opts_t;

typedef struct {
    long status; /* 0 when no response arrived */
    char *body;  /* NUL-terminated, owned; may be NULL */
    size_t len;
    char content_type[128];
} roam_httpc_resp_t;

/* Fills opts with the defaults. */
void roam_httpc_opts_init(roam_httpc_opts_t *opts);

/*
 * Performs one call. headers is a NULL-terminated list of "Name: value"
 * (may be NULL); body may be NULL. On return out holds the response (free it
 * with roam_httpc_resp_cleanup, also on failure). Returns 0 when a response
 * arrived (any status), ROAM_ETIMEDOUT on a timeout, ROAM_EUNAVAIL when the
 * host could not be reached, ROAM_ENOMEM, ROAM_EINVAL for a bad method, url
 * or header, ROAM_EIO for any other failure (such as a body over 8 MiB).
 */
int roam_httpc_do(const char *method, const char *url, const char *const *headers, const void *body,
                  size_t len, const roam_httpc_opts_t *opts, roam_httpc_resp_t *out);
/* Convenience: a JSON request body (borrowed; may be NULL) and JSON content type. */
int roam_httpc_json(const char *method, const char *url, const char *const *headers, json_t *body,
                    const roam_httpc_opts_t *opts, roam_httpc_resp_t *out);
/* Parses the response body as JSON. Returns new, or NULL. */
json_t *roam_httpc_resp_json(const roam_httpc_resp_t *r);
void roam_httpc_resp_cleanup(roam_httpc_resp_t *r);

/*
 * A JSON call to another Roam service: roam_httpc_json plus the parsing and
 * the failure log line every caller wants. Returns 0 when an answer arrived,
 * with *status set and *doc the parsed body (new; NULL when the body is not
 * JSON); ROAM_ETIMEDOUT when the service did not answer in time; ROAM_ENOMEM;
 * or ROAM_EUNAVAIL for everything else (unreachable, malformed exchange).
 */
int roam_httpc_call(const char *method, const char *url, const char *const *headers, json_t *body,
                    const roam_httpc_opts_t *opts, long *status, json_t **doc);

/*
 * "X-Roam-Internal: <ROAM_INTERNAL_SECRET>", the header of calls to other
 * services' /internal routes (borrowed; built on first use, then constant).
 * Exits with the configuration message when the secret is missing or
 * shorter than 16 characters.
 */
const char *roam_httpc_internal_header(void);

/* Releases this thread's curl handle (call before a thread exits; optional). */
void roam_httpc_thread_cleanup(void);

#endif
