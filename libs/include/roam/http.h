/*
 * roam/http.h: the HTTP server (libmicrohttpd), its route table and the
 * request/response API that handlers use.
 *
 * A daemon declares its routes in one table. The table drives dispatch,
 * 404, 405 with Allow, the role check, the per-route body limit and the
 * per-route metrics. Handlers run on the server's worker threads (a thread
 * pool, or event loops that must never block: see roam_loop_hooks_t).
 *
 * Memory: one roam_req_t per request, created when the request line arrives
 * and freed in libmicrohttpd's completion callback. Anything a handler
 * allocates with roam_req_alloc()/roam_req_strdup() or registers with
 * roam_req_defer() is released then, so error paths cannot leak.
 */
#ifndef ROAM_HTTP_H
#define ROAM_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <roam/jwt.h>

#define ROAM_HTTP_BODY_LIMIT (1024 * 1024) /* default request body limit, bytes */
#define ROAM_REQUEST_ID_MAX 128

typedef struct roam_req roam_req_t;
typedef struct roam_http_server roam_http_server_t;
typedef struct roam_db roam_db_t;
typedef struct roam_dbconn roam_dbconn_t;

/*
 * A handler answers the request with one of the roam_respond_*() calls and
 * returns what that call returned (the status). Returning without having
 * responded is a bug; the core answers 500 internal_error.
 */
typedef int (*roam_handler_fn)(roam_req_t *req);

typedef struct roam_route {
    const char *method;  /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *pattern; /* "/listings/{id}/units/{unit_id}"; literal segments beat {params} */
    /*
     * Who may call it: NULL for anyone; "any" for any valid bearer token;
     * "internal" for other services (header X-Roam-Internal equal to the
     * server's internal secret); otherwise a '|'-separated list of roles
     * ("operator|admin").
     */
    const char *role;
    size_t body_limit; /* 0 means ROAM_HTTP_BODY_LIMIT */
    roam_handler_fn handler;
    const void *data; /* the handler's own per-route data (the gateway: its upstream entry); may be omitted */
} roam_route_t;

/*
 * Verifies a bearer token for a route that requires one. Returns 0 and fills
 * claims, or a negative ROAM_E* code (any failure answers 401).
 */
typedef int (*roam_http_auth_fn)(void *ctx, const char *token, roam_claims_t *claims);

/*
 * Event loops (the gateway). Instead of libmicrohttpd's thread pool, a server
 * may run opts.event_loops threads that each own a libmicrohttpd daemon on one
 * shared listening socket and an epoll set. A handler on such a server must
 * never block; it may suspend its request and have its loop watch file
 * descriptors and a timer on its behalf, and then answer and resume the
 * request from those callbacks, on the same thread, with no hand-off to
 * another thread. The hooks belong to the daemon (one set per server) and
 * are called on each loop's own thread.
 */
typedef struct roam_loop roam_loop_t;

#define ROAM_LOOP_IN 1u
#define ROAM_LOOP_OUT 2u
#define ROAM_LOOP_ERR 4u

typedef struct {
    /* Before the loop serves: returns the loop's own state (roam_loop_data), or NULL on failure (start fails). */
    void *(*start)(roam_loop_t *loop, void *ctx);
    /* A watched descriptor is ready (events: ROAM_LOOP_*). */
    void (*io)(void *data, int fd, unsigned events);
    /* The loop's timer expired (it is cleared before the call). */
    void (*timer)(void *data);
    /*
     * The server is stopping and the shutdown grace period is over: answer
     * and resume every request still suspended on this loop, then free data.
     */
    void (*stop)(void *data);
    void *ctx;
} roam_loop_hooks_t;

typedef struct {
    const char *service;   /* for logs and metrics */
    const char *bind_addr; /* IPv4 address to listen on */
    uint16_t port;         /* 0 picks a free port (see roam_http_server_port) */
    unsigned threads;      /* worker threads in the pool */
    unsigned max_connections;
    size_t connection_memory; /* per-connection buffer for the request line and headers (more: 431) */
    unsigned idle_timeout_s;
    unsigned shutdown_timeout_ms; /* how long shutdown waits for in-flight requests */
    int access_log;               /* one log line per request */
    roam_db_t *db;                /* pool behind roam_req_db(); may be NULL */
    roam_http_auth_fn auth;       /* may be NULL: routes with a role then answer 401 */
    void *auth_ctx;
    /*
     * The shared secret of service-to-service calls (may be NULL: "internal"
     * routes then answer 404). A request that carries it is also trusted for
     * X-Forwarded-For (the gateway's record of the client address).
     */
    const char *internal_secret;
    /*
     * 0: libmicrohttpd's thread pool of `threads` workers (handlers may block).
     * Otherwise this many event loops (see roam_loop_hooks_t) and `threads`
     * is ignored.
     */
    unsigned event_loops;
    const roam_loop_hooks_t *loop_hooks; /* borrowed; may be NULL */
} roam_http_opts_t;

/*
 * Fills opts with the defaults (threads = online CPUs, 1024 connections,
 * 8 KiB per connection, 60 s idle, 10 s shutdown).
 */
void roam_http_opts_init(roam_http_opts_t *opts);

/*
 * Creates a server for the given routes (borrowed; they must outlive the
 * server). Returns NULL on a bad pattern or duplicate route, with the reason
 * in errbuf.
 */
roam_http_server_t *roam_http_server_new(const roam_http_opts_t *opts, const roam_route_t *routes,
                                         size_t nroutes, char *errbuf, size_t errlen);
/* Binds and starts serving. Returns 0 or ROAM_EIO (reason logged). */
int roam_http_server_start(roam_http_server_t *s);
/* The bound port (useful when opts.port was 0). */
uint16_t roam_http_server_port(const roam_http_server_t *s);
/*
 * Graceful stop: stops accepting connections, lets in-flight requests finish
 * for up to opts.shutdown_timeout_ms, then closes everything. Idempotent.
 */
void roam_http_server_shutdown(roam_http_server_t *s);
void roam_http_server_free(roam_http_server_t *s);
/* Requests currently being handled (for tests and metrics). */
unsigned roam_http_server_inflight(const roam_http_server_t *s);

/* --- The request ---------------------------------------------------------- */

const char *roam_req_method(const roam_req_t *req);
/* The path as the client sent it, percent-encoded, without the query string. */
const char *roam_req_path(const roam_req_t *req);
/* The request target exactly as the client sent it (path and query). */
const char *roam_req_raw_uri(const roam_req_t *req);
/* The raw query string without '?', or "" (borrowed). */
const char *roam_req_query_string(const roam_req_t *req);
/* A path parameter, percent-decoded (borrowed), or NULL. */
const char *roam_req_param(const roam_req_t *req, const char *name);
/* A query argument, decoded (borrowed), or NULL. */
const char *roam_req_query(roam_req_t *req, const char *name);
/* A request header (case-insensitive name; borrowed), or NULL. */
const char *roam_req_header(roam_req_t *req, const char *name);
/* The raw body and its length; NULL and 0 when there is none. */
const char *roam_req_body(const roam_req_t *req, size_t *len);
/* The parsed JSON body (borrowed), or NULL when the request had no body. */
json_t *roam_req_json(const roam_req_t *req);
/* The request id (the client's valid X-Request-Id, or a new one). */
const char *roam_req_id(const roam_req_t *req);
/* The W3C traceparent of this request (the client's if valid, else a new one). */
const char *roam_req_traceparent(const roam_req_t *req);
/* The verified claims, or NULL on a public route. */
const roam_claims_t *roam_req_claims(const roam_req_t *req);
/* The route that matched (borrowed). */
const roam_route_t *roam_req_route(const roam_req_t *req);
/*
 * The client's IP address as text (borrowed): the peer's, or, on a request
 * that carries the internal secret, the first X-Forwarded-For entry.
 */
const char *roam_req_client_ip(roam_req_t *req);

/* Request-lifetime memory. Returns NULL when memory runs out (answer 503). */
void *roam_req_alloc(roam_req_t *req, size_t n);
char *roam_req_strdup(roam_req_t *req, const char *s);
char *roam_req_printf(roam_req_t *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs fn(arg) when the request is freed, in reverse order of registration. Returns 0 or ROAM_ENOMEM. */
int roam_req_defer(roam_req_t *req, void (*fn)(void *), void *arg);

/*
 * A database connection for this request, taken from the server's pool on
 * first use and returned when the request is freed (a transaction left open
 * is rolled back). Returns borrowed, or NULL when the database is unreachable
 * (answer 503 upstream_unavailable).
 */
roam_dbconn_t *roam_req_db(roam_req_t *req);

/*
 * Asynchronous handlers (the gateway's proxy). A handler that will answer
 * later calls roam_req_suspend() (before handing the request to another
 * thread), returns ROAM_HTTP_SUSPENDED, and the other thread later answers
 * with a roam_respond_*() call followed by roam_req_resume(). Nothing else
 * may touch the request between the two; everything the handler could read
 * (parameters, headers, body) stays valid until then. A client that disconnects while
 * suspended still gets its request freed only after roam_req_resume().
 * On an event-loop server the request is best resumed on its own loop's
 * thread (no wake-up needed); any other thread also works.
 */
#define ROAM_HTTP_SUSPENDED (-1000)
void roam_req_suspend(roam_req_t *req);
void roam_req_resume(roam_req_t *req);

/* --- Event loops (servers with opts.event_loops) ----------------------------- */

/* The loop the request runs on, or NULL on a thread-pool server. */
roam_loop_t *roam_req_loop(const roam_req_t *req);
/* The loop's state returned by hooks->start (borrowed). */
void *roam_loop_data(const roam_loop_t *loop);
/*
 * Watches fd for events (ROAM_LOOP_IN | ROAM_LOOP_OUT; errors are always
 * reported) and reports them to hooks->io; 0 stops watching. Level-triggered.
 * Loop thread only. Returns 0 or ROAM_EIO.
 */
int roam_loop_watch(roam_loop_t *loop, int fd, unsigned events);
/*
 * Sets the loop's one timer to fire hooks->timer at deadline_ns on the
 * roam_now_mono_ns() clock (now or earlier: at the end of this turn of the
 * loop), or clears it with -1. Loop thread only.
 */
void roam_loop_set_timer(roam_loop_t *loop, int64_t deadline_ns);

/* --- The response ---------------------------------------------------------- */

/* Adds a response header (both strings copied). Returns 0 or ROAM_ENOMEM. */
int roam_resp_header(roam_req_t *req, const char *name, const char *value);

/*
 * The answer given so far (roam/idempotency.h stores it): its status, or 0
 * before any roam_respond_*() call. *body (borrowed, may be NULL), *len and
 * *content_type (borrowed, may be NULL) describe it; any pointer argument may
 * be NULL. Valid until the next roam_respond_*() call.
 */
int roam_resp_get(const roam_req_t *req, const char **body, size_t *len, const char **content_type);

/* Answers with a JSON body. Steals body. Returns status. */
int roam_respond_json(roam_req_t *req, int status, json_t *body);
/* Answers with no body (204, or any status). Returns status. */
int roam_respond_empty(roam_req_t *req, int status);
/* Answers with the given bytes. Steals body (malloc'ed). Returns status. */
int roam_respond_raw(roam_req_t *req, int status, const char *content_type, char *body, size_t len);

/*
 * Answers with an RFC 9457 problem document for a stable code from the API
 * contract ("not_found", "sold_out", ...). The status and title come from
 * the code; detail is printf-formatted. 401 adds WWW-Authenticate: Bearer.
 * Returns the status.
 */
int roam_respond_problem(roam_req_t *req, const char *code, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Answers 422 validation_failed with the given errors array of
 * {"field", "message"} (stolen). Returns 422.
 */
int roam_respond_invalid(roam_req_t *req, json_t *errors);
/* Appends {"field": field, "message": ...} to errors. */
void roam_field_error(json_t *errors, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The HTTP status of a stable problem code, or 500 if unknown. */
int roam_problem_status(const char *code);
/*
 * Builds a problem document (returns new). For code paths that answer on
 * behalf of another component (the gateway).
 */
json_t *roam_problem_new(const char *code, const char *detail);

/* Sets *out to 1 if s is a valid request id (1..128 printable ASCII). */
int roam_request_id_valid(const char *s);

#endif
