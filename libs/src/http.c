/*
 * The HTTP server on libmicrohttpd; see roam/http.h.
 *
 * Life of a request:
 *  1. uri_log_cb (MHD_OPTION_URI_LOG_CALLBACK) sees the raw request target
 *     first and creates the roam_req_t that MHD then hands us as *req_cls.
 *  2. The first access_cb call routes the request and checks Content-Length
 *     against the route's limit (an early 413 makes MHD close the
 *     connection, which is right for a body we refuse to read). It returns
 *     without queuing anything: queuing on the first call would make MHD
 *     answer "Connection: close" and lose keep-alive.
 *  3. Later calls accumulate the body up to the limit.
 *  4. The last call validates, authenticates, runs the handler and queues
 *     the response the handler left in the request.
 *  5. completed_cb logs the access line, records metrics and frees the
 *     request with everything that hangs off it.
 */
#include "router.h"

#include <roam/codec.h>
#include <roam/common.h>
#include <roam/db.h>
#include <roam/http.h>
#include <roam/log.h>
#include <roam/metrics.h>

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define ARENA_BLOCK 4096
#define MAX_RESP_HEADERS 16

/* Latency buckets in seconds, shared by every route's histogram. */
static const double latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof(latency_buckets) / sizeof(latency_buckets[0]))

typedef struct {
    atomic_ullong by_status[600];
    atomic_ullong buckets[NBUCKETS + 1];
    atomic_ullong sum_us;
    atomic_ullong count;
} route_stats_t;

/* What a loop thread is asked to do next (roam_loop_t.cmd). */
enum { LOOP_SERVE, LOOP_QUIESCE, LOOP_STOP };

/* A connection accepted by one loop for another. */
typedef struct {
    int fd;
    socklen_t addrlen;
    struct sockaddr_storage addr;
} handoff_t;

struct roam_loop {
    roam_http_server_t *server;
    struct MHD_Daemon *mhd; /* external-event-loop mode; the loops accept and add its connections */
    int epfd;               /* this loop's epoll set: mhd_fd, wake_fd, the listening socket, the hooks' descriptors */
    int mhd_fd;             /* libmicrohttpd's own epoll set, nested in epfd */
    int wake_fd;            /* eventfd: a command, a handed-off connection, or a request resumed elsewhere */
    pthread_t thread;
    int thread_started;
    void *data;          /* hooks->start's result */
    int64_t timer_at_ns; /* -1: no timer */
    int64_t mhd_at_ns;   /* when MHD wants to run even without events (timeouts, pending data); -1: never */
    int run_mhd;         /* a request was resumed on this thread: MHD has work */
    int listen_fd;       /* the server's listening socket (shared) */
    int listening;       /* listen_fd is in epfd */
    int64_t accept_at_ns; /* out of descriptors: accepting pauses until then (-1: not paused) */
    pthread_mutex_t handoff_lock;
    handoff_t *handoff; /* connections other loops accepted for this one */
    size_t nhandoff, caphandoff;
    atomic_int cmd;
    atomic_int quiesced; /* stopped accepting connections */
    atomic_int started;  /* 1 serving, -1 hooks->start failed */
};

struct roam_http_server {
    roam_http_opts_t opts;
    const roam_route_t *routes;
    size_t nroutes;
    roam_router_t *router;
    route_stats_t *stats; /* nroutes + 1: the last is for requests no route matched */
    struct MHD_Daemon *mhd; /* the thread pool's daemon, or NULL with event loops */
    roam_loop_t *loops;     /* opts.event_loops of them, or NULL */
    int listen_fd;          /* the loops' shared listening socket */
    atomic_uint next_loop;  /* round robin of accepted connections over the loops */
    int has_secret;         /* opts.internal_secret is set */
    unsigned char secret_hash[32]; /* its SHA-256, made once */
    atomic_uint connections; /* open on the loops' daemons (opts.max_connections bounds them all) */
    uint16_t port;
    atomic_uint inflight;
    atomic_int stopping;
    int stopped;
};

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block_t;

typedef struct deferred {
    struct deferred *next;
    void (*fn)(void *);
    void *arg;
} deferred_t;

struct roam_req {
    roam_http_server_t *server;
    struct MHD_Connection *conn;
    uint64_t start_ns;
    int started;

    char *raw_uri; /* malloc'ed */
    char *path;    /* arena: raw_uri up to '?' */
    const char *query_string;
    const char *method;

    int route_index; /* -1: no route */
    size_t body_limit;

    char *body;
    size_t body_len, body_cap;
    int body_too_large;
    int headers_too_large;
    json_t *json;

    char request_id[ROAM_REQUEST_ID_MAX + 1];
    char traceparent[56];
    char client_ip[INET6_ADDRSTRLEN];
    roam_claims_t claims;
    int authenticated;
    int internal_checked, internal_ok; /* X-Roam-Internal, checked once */
    int suspended;
    roam_loop_t *loop; /* NULL on a thread-pool server */

    roam_dbconn_t *db;

    /* The response the handler left. */
    int status;
    char *resp_body;
    size_t resp_len;
    const char *resp_type;
    const char *resp_headers[MAX_RESP_HEADERS][2];
    int nresp_headers;
    int responded;

    arena_block_t *arena;
    deferred_t *deferred;

    /*
     * Not zeroed at creation (the router fills it before anything reads it):
     * clearing a kilobyte per request showed up in the benchmark's profile.
     */
    roam_route_match_t match;
};

/* --- Per-request memory --------------------------------------------------- */

void *roam_req_alloc(roam_req_t *req, size_t n) {
    n = (n + 15) & ~(size_t)15;
    arena_block_t *b = req->arena;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        arena_block_t *nb = roam_trymalloc(sizeof(*nb) + cap);
        if (nb == NULL) return NULL;
        nb->used = 0;
        nb->cap = cap;
        nb->next = req->arena;
        req->arena = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

char *roam_req_strdup(roam_req_t *req, const char *s) {
    size_t n = strlen(s) + 1;
    char *p = roam_req_alloc(req, n);
    if (p != NULL) memcpy(p, s, n);
    return p;
}

char *roam_req_printf(roam_req_t *req, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *p = roam_req_alloc(req, (size_t)n + 1);
    if (p == NULL) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int roam_req_defer(roam_req_t *req, void (*fn)(void *), void *arg) {
    deferred_t *d = roam_req_alloc(req, sizeof(*d));
    if (d == NULL) return ROAM_ENOMEM;
    d->fn = fn;
    d->arg = arg;
    d->next = req->deferred;
    req->deferred = d;
    return 0;
}

static void req_free(roam_req_t *req) {
    for (deferred_t *d = req->deferred; d != NULL; d = d->next) d->fn(d->arg);
    if (req->db != NULL) roam_db_release(req->server->opts.db, req->db);
    json_decref(req->json);
    free(req->body);
    free(req->resp_body);
    free(req->raw_uri);
    arena_block_t *b = req->arena;
    while (b != NULL) {
        arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    free(req);
}

/* --- Request accessors ---------------------------------------------------- */

const char *roam_req_method(const roam_req_t *req) { return req->method; }
const char *roam_req_path(const roam_req_t *req) { return req->path; }
const char *roam_req_raw_uri(const roam_req_t *req) { return req->raw_uri; }
const char *roam_req_query_string(const roam_req_t *req) { return req->query_string; }
const char *roam_req_id(const roam_req_t *req) { return req->request_id; }
const char *roam_req_traceparent(const roam_req_t *req) { return req->traceparent; }
json_t *roam_req_json(const roam_req_t *req) { return req->json; }
const roam_claims_t *roam_req_claims(const roam_req_t *req) { return req->authenticated ? &req->claims : NULL; }
const roam_route_t *roam_req_route(const roam_req_t *req) {
    return req->route_index >= 0 ? &req->server->routes[req->route_index] : NULL;
}

const char *roam_req_param(const roam_req_t *req, const char *name) {
    for (size_t i = 0; i < req->match.params.n; i++)
        if (strcmp(req->match.params.names[i], name) == 0) return req->match.params.values[i];
    return NULL;
}

const char *roam_req_query(roam_req_t *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *roam_req_header(roam_req_t *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *roam_req_body(const roam_req_t *req, size_t *len) {
    if (len != NULL) *len = req->body_len;
    return req->body_len ? req->body : NULL;
}

/* 1 if the request carries the internal secret (another service, or the gateway). */
static int req_internal(roam_req_t *req) {
    if (!req->internal_checked) {
        req->internal_checked = 1;
        const char *given = roam_req_header(req, "X-Roam-Internal");
        roam_http_server_t *s = req->server;
        if (given != NULL && s->has_secret) {
            /* Compared in constant time whatever the lengths: the hashes are compared, the secret's made once. */
            unsigned char h[32];
            roam_sha256(given, strlen(given), h);
            req->internal_ok = CRYPTO_memcmp(h, s->secret_hash, sizeof(h)) == 0;
        }
    }
    return req->internal_ok;
}

const char *roam_req_client_ip(roam_req_t *req) {
    if (req->client_ip[0] == '\0' && req_internal(req)) {
        /* The gateway records the client's address; only a caller with the secret is believed. */
        const char *xff = roam_req_header(req, "X-Forwarded-For");
        if (xff != NULL) {
            size_t n = strcspn(xff, ", ");
            if (n > 0 && n < sizeof(req->client_ip)) {
                memcpy(req->client_ip, xff, n);
                req->client_ip[n] = '\0';
            }
        }
    }
    if (req->client_ip[0] == '\0') {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci != NULL && ci->client_addr != NULL) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET) {
                /* inet_ntop goes through sprintf: measurable at every request's access line. */
                const unsigned char *a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
                char *o = req->client_ip;
                for (int i = 0; i < 4; i++) {
                    unsigned v = a[i];
                    if (v >= 100) *o++ = (char)('0' + v / 100);
                    if (v >= 10) *o++ = (char)('0' + v / 10 % 10);
                    *o++ = (char)('0' + v % 10);
                    *o++ = i < 3 ? '.' : '\0';
                }
            } else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, req->client_ip,
                          sizeof(req->client_ip));
        }
        if (req->client_ip[0] == '\0') snprintf(req->client_ip, sizeof(req->client_ip), "unknown");
    }
    return req->client_ip;
}

roam_dbconn_t *roam_req_db(roam_req_t *req) {
    if (req->db == NULL && req->server->opts.db != NULL) req->db = roam_db_acquire(req->server->opts.db);
    return req->db;
}

/* --- Suspended requests --------------------------------------------------- */

/* The event loop running on this thread, if any. */
static __thread roam_loop_t *tls_loop;

void roam_req_suspend(roam_req_t *req) {
    req->suspended = 1;
    MHD_suspend_connection(req->conn);
}

void roam_req_resume(roam_req_t *req) {
    roam_loop_t *l = req->loop;
    MHD_resume_connection(req->conn);
    if (l == NULL) return; /* the thread pool's daemon wakes itself (its inter-thread channel) */
    if (l == tls_loop) {
        l->run_mhd = 1; /* this loop runs MHD before it waits again */
    } else {
        uint64_t one = 1;
        ssize_t r = write(l->wake_fd, &one, sizeof(one));
        (void)r;
    }
}

/* --- Event loops ---------------------------------------------------------- */

roam_loop_t *roam_req_loop(const roam_req_t *req) { return req->loop; }
void *roam_loop_data(const roam_loop_t *loop) { return loop->data; }

int roam_loop_watch(roam_loop_t *loop, int fd, unsigned events) {
    if (events == 0) {
        if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) != 0 && errno != ENOENT && errno != EBADF)
            return ROAM_EIO;
        return 0;
    }
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    if (events & ROAM_LOOP_IN) ev.events |= EPOLLIN;
    if (events & ROAM_LOOP_OUT) ev.events |= EPOLLOUT;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
    if (errno == ENOENT && epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) return 0;
    return ROAM_EIO;
}

void roam_loop_set_timer(roam_loop_t *loop, int64_t deadline_ns) { loop->timer_at_ns = deadline_ns < 0 ? -1 : deadline_ns; }

/* --- Responses ------------------------------------------------------------ */

int roam_resp_header(roam_req_t *req, const char *name, const char *value) {
    if (req->nresp_headers == MAX_RESP_HEADERS) return ROAM_ENOMEM;
    char *n = roam_req_strdup(req, name), *v = roam_req_strdup(req, value);
    if (n == NULL || v == NULL) return ROAM_ENOMEM;
    req->resp_headers[req->nresp_headers][0] = n;
    req->resp_headers[req->nresp_headers][1] = v;
    req->nresp_headers++;
    return 0;
}

int roam_respond_raw(roam_req_t *req, int status, const char *content_type, char *body, size_t len) {
    free(req->resp_body); /* a second answer replaces the first */
    req->status = status;
    req->resp_body = body;
    req->resp_len = body ? len : 0;
    req->resp_type = content_type;
    req->responded = 1;
    return status;
}

int roam_resp_get(const roam_req_t *req, const char **body, size_t *len, const char **content_type) {
    if (body) *body = req->responded ? req->resp_body : NULL;
    if (len) *len = req->responded ? req->resp_len : 0;
    if (content_type) *content_type = req->responded ? req->resp_type : NULL;
    return req->responded ? req->status : 0;
}

/* Serialises and answers; on out-of-memory answers a fixed 503. */
static int respond_doc(roam_req_t *req, int status, const char *type, json_t *doc) {
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(doc);
    if (text == NULL) {
        static const char oom[] = "{\"type\":\"urn:roam:problem:upstream_unavailable\",\"title\":\"Service "
                                  "unavailable\",\"status\":503,\"detail\":\"out of memory\",\"code\":"
                                  "\"upstream_unavailable\"}";
        char *copy = strdup(oom);
        return roam_respond_raw(req, 503, "application/problem+json", copy, copy ? strlen(copy) : 0);
    }
    return roam_respond_raw(req, status, type, text, strlen(text));
}

int roam_respond_json(roam_req_t *req, int status, json_t *body) {
    return respond_doc(req, status, "application/json", body);
}

int roam_respond_empty(roam_req_t *req, int status) { return roam_respond_raw(req, status, NULL, NULL, 0); }

int roam_respond_problem(roam_req_t *req, const char *code, const char *detail_fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof(detail), detail_fmt, ap);
    va_end(ap);
    int status = roam_problem_status(code);
    if (status == 401) roam_resp_header(req, "WWW-Authenticate", "Bearer");
    return respond_doc(req, status, "application/problem+json", roam_problem_new(code, detail));
}

int roam_respond_invalid(roam_req_t *req, json_t *errors) {
    json_t *doc = roam_problem_new("validation_failed", "The request has invalid fields.");
    if (doc != NULL) json_object_set_new(doc, "errors", errors ? errors : json_array());
    else json_decref(errors);
    return respond_doc(req, 422, "application/problem+json", doc);
}

void roam_field_error(json_t *errors, const char *field, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "message", msg));
}

/* --- Request ids and trace context ---------------------------------------- */

int roam_request_id_valid(const char *s) {
    if (s == NULL) return 0;
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c < 0x20 || c > 0x7e || n == ROAM_REQUEST_ID_MAX) return 0;
    }
    return n > 0;
}

static int is_hex(const char *s, size_t n, int *all_zero) {
    *all_zero = 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
        if (c != '0') *all_zero = 0;
    }
    return 1;
}

static void hex_random(char *out, size_t nbytes) {
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    roam_random_bytes(b, nbytes);
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
}

/*
 * Continues the client's trace when its traceparent is valid (version 00,
 * non-zero ids), with a new span id for this hop; otherwise starts a trace.
 */
static void trace_init(roam_req_t *req, const char *in) {
    char *t = req->traceparent;
    int z1, z2;
    if (in != NULL && strlen(in) == 55 && strncmp(in, "00-", 3) == 0 && in[35] == '-' && in[52] == '-' &&
        is_hex(in + 3, 32, &z1) && !z1 && is_hex(in + 36, 16, &z2) && !z2 && is_hex(in + 53, 2, &z2)) {
        memcpy(t, in, 56);
    } else {
        memcpy(t, "00-", 3);
        hex_random(t + 3, 16);
        t[35] = '-';
        memcpy(t + 53, "01", 3);
        t[52] = '-';
    }
    hex_random(t + 36, 8); /* this hop's span id */
}

/* --- MHD callbacks -------------------------------------------------------- */

static void *uri_log_cb(void *cls, const char *uri, struct MHD_Connection *conn) {
    roam_http_server_t *s = cls;
    roam_req_t *req = roam_trymalloc(sizeof(*req));
    if (req == NULL) return NULL;
    memset(req, 0, offsetof(roam_req_t, match));
    req->match.params.n = 0;
    req->raw_uri = roam_trystrdup(uri ? uri : "/");
    if (req->raw_uri == NULL) {
        free(req);
        return NULL;
    }
    req->server = s;
    req->loop = tls_loop;
    req->conn = conn;
    req->route_index = -1;
    req->start_ns = roam_now_mono_ns();
    atomic_fetch_add(&s->inflight, 1);
    return req;
}

static int body_method(const char *method) {
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
}

static int json_content_type(const char *ct) {
    if (ct == NULL) return 0;
    size_t n = strlen("application/json");
    if (strncasecmp(ct, "application/json", n) != 0) return 0;
    const char *rest = ct + n;
    while (*rest == ' ') rest++;
    if (*rest == '\0') return 1;
    if (*rest != ';') return 0;
    /* Parameters: only charset=utf-8 is meaningful, and other charsets are refused. */
    const char *cs = strcasestr(rest, "charset=");
    if (cs == NULL) return 1;
    cs += strlen("charset=");
    if (*cs == '"') cs++;
    return strncasecmp(cs, "utf-8", 5) == 0;
}

static int role_allowed(const char *spec, const char *role) {
    if (strcmp(spec, "any") == 0) return 1;
    size_t rl = strlen(role);
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, '|');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == rl && strncmp(p, role, n) == 0) return 1;
        if (end == NULL) break;
        p = end + 1;
    }
    return 0;
}

/* Validation common to every route, then the handler. Leaves a response in req. */
static void dispatch(roam_req_t *req) {
    roam_http_server_t *s = req->server;
    if (req->route_index < 0) {
        if (req->match.path_matched) {
            roam_resp_header(req, "Allow", req->match.allow);
            roam_respond_problem(req, "method_not_allowed", "%s is not allowed here; allowed: %s", req->method,
                                 req->match.allow);
        } else {
            roam_respond_problem(req, "not_found", "No route for %s %s", req->method, req->path);
        }
        return;
    }
    const roam_route_t *route = &s->routes[req->route_index];
    if (req->body_too_large) {
        roam_respond_problem(req, "payload_too_large", "The request body exceeds %zu bytes", req->body_limit);
        return;
    }

    if (route->role != NULL && strcmp(route->role, "internal") == 0) {
        /* Service-to-service only: without the secret the route does not exist. */
        if (!req_internal(req)) {
            roam_respond_problem(req, "not_found", "No route for %s %s", req->method, req->path);
            return;
        }
    } else if (route->role != NULL) {
        const char *authz = roam_req_header(req, "Authorization");
        if (authz == NULL || strncasecmp(authz, "Bearer ", 7) != 0 || authz[7] == '\0') {
            roam_respond_problem(req, "unauthorized", "A bearer token is required");
            return;
        }
        int rc = s->opts.auth ? s->opts.auth(s->opts.auth_ctx, authz + 7, &req->claims) : ROAM_EDENIED;
        if (rc == ROAM_EUNAVAIL) {
            roam_respond_problem(req, "upstream_unavailable", "Tokens cannot be checked right now");
            return;
        }
        if (rc != 0) {
            roam_respond_problem(req, "unauthorized", "The bearer token is invalid, expired or revoked");
            return;
        }
        req->authenticated = 1;
        if (!role_allowed(route->role, req->claims.role)) {
            roam_respond_problem(req, "forbidden", "This operation needs the %s role", route->role);
            return;
        }
    }

    if (body_method(req->method)) {
        if (req->body_len > 0) {
            if (!json_content_type(roam_req_header(req, "Content-Type"))) {
                roam_respond_problem(req, "unsupported_media_type", "Send the body as application/json");
                return;
            }
            json_error_t err;
            req->json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
            if (req->json == NULL) {
                roam_respond_problem(req, "malformed_json", "Malformed JSON at line %d, column %d: %s", err.line,
                                     err.column, err.text);
                return;
            }
            if (!json_is_object(req->json)) {
                json_t *errors = json_array();
                roam_field_error(errors, "", "The body must be a JSON object");
                roam_respond_invalid(req, errors);
                return;
            }
        } else {
            /* No body: handlers see an empty object and report the missing fields. */
            req->json = json_object();
        }
    }

    int status = route->handler(req);
    if (status == ROAM_HTTP_SUSPENDED && req->suspended) return; /* another thread answers; req is not ours now */
    if (!req->responded) {
        roam_error("handler for %s %s returned %d without responding", route->method, route->pattern, status);
        roam_respond_problem(req, "internal_error", "The server failed to answer");
    }
}

static enum MHD_Result queue_response(roam_req_t *req) {
    roam_http_server_t *s = req->server;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(req->resp_len, req->resp_body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) return MHD_NO;
    req->resp_body = NULL; /* MHD owns it now */
    if (req->resp_type != NULL) MHD_add_response_header(r, "Content-Type", req->resp_type);
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    for (int i = 0; i < req->nresp_headers; i++)
        MHD_add_response_header(r, req->resp_headers[i][0], req->resp_headers[i][1]);
    if (atomic_load(&s->stopping) || req->body_too_large || req->headers_too_large)
        MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result ret = MHD_queue_response(req->conn, (unsigned)req->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void start_request(roam_req_t *req, const char *method) {
    roam_http_server_t *s = req->server;
    req->method = method;

    const char *rid = roam_req_header(req, "X-Request-Id");
    if (roam_request_id_valid(rid)) {
        memcpy(req->request_id, rid, strlen(rid) + 1);
    } else {
        roam_uuid_v4(req->request_id);
    }
    trace_init(req, roam_req_header(req, "traceparent"));

    char *q = strchr(req->raw_uri, '?');
    size_t plen = q ? (size_t)(q - req->raw_uri) : strlen(req->raw_uri);
    req->path = roam_req_alloc(req, plen + 1);
    if (req->path != NULL) {
        memcpy(req->path, req->raw_uri, plen);
        req->path[plen] = '\0';
    }
    req->query_string = q ? q + 1 : "";
    req->route_index = req->path ? roam_router_match(s->router, method, req->path, &req->match) : -1;
    req->body_limit = ROAM_HTTP_BODY_LIMIT;
    if (req->route_index >= 0 && s->routes[req->route_index].body_limit != 0)
        req->body_limit = s->routes[req->route_index].body_limit;
}

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4; /* "key: value\r\n" */
    return MHD_YES;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **req_cls) {
    roam_req_t *req = *req_cls;
    if (req == NULL) return MHD_NO; /* out of memory in uri_log_cb: drop the connection */

    if (!req->started) {
        req->started = 1;
        start_request(req, method);
        size_t head = strlen(method) + strlen(req->raw_uri) + strlen(version) + 4;
        MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header_size, &head);
        if (head > req->server->opts.connection_memory) {
            /* Checked here so the answer is problem+json; MHD's own limit (larger) answers in HTML. */
            req->headers_too_large = 1;
            roam_log_set_context(req->request_id, req->traceparent);
            roam_respond_problem(req, "headers_too_large", "The request line and headers exceed %zu bytes",
                                 req->server->opts.connection_memory);
            roam_log_set_context(NULL, NULL);
            return queue_response(req);
        }
        const char *cl = roam_req_header(req, "Content-Length");
        if (cl != NULL && strtoull(cl, NULL, 10) > req->body_limit) {
            /* Refuse before reading: MHD closes the connection after this answer. */
            req->body_too_large = 1;
            roam_log_set_context(req->request_id, req->traceparent);
            roam_respond_problem(req, "payload_too_large", "The request body exceeds %zu bytes", req->body_limit);
            roam_log_set_context(NULL, NULL);
            return queue_response(req);
        }
        return MHD_YES;
    }

    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->responded) return MHD_YES;
        if (req->body_too_large) return MHD_YES; /* discarding the rest */
        if (req->body_len + n > req->body_limit) {
            /*
             * A chunked body went past the limit. MHD cannot answer in the
             * middle of an upload, so the rest is read and dropped (memory
             * stays bounded; the idle timeout bounds the time) and the last
             * call answers 413 with Connection: close.
             */
            req->body_too_large = 1;
            free(req->body);
            req->body = NULL;
            req->body_len = req->body_cap = 0;
            return MHD_YES;
        }
        if (req->body_len + n > req->body_cap) {
            size_t cap = req->body_cap ? req->body_cap : 1024;
            while (cap < req->body_len + n) cap *= 2;
            if (cap > req->body_limit) cap = req->body_limit;
            char *nb = realloc(req->body, cap + 1);
            if (nb == NULL) return MHD_NO; /* out of memory: drop the connection */
            req->body = nb;
            req->body_cap = cap;
        }
        memcpy(req->body + req->body_len, upload_data, n);
        req->body_len += n;
        return MHD_YES;
    }

    if (req->suspended) {
        /* Resumed: the thread that suspended the request has left its answer. */
        req->suspended = 0;
        if (!req->responded) roam_respond_problem(req, "internal_error", "The server failed to answer");
        return queue_response(req);
    }
    if (req->responded) return MHD_YES; /* answered early (413); MHD is closing */
    roam_log_set_context(req->request_id, req->traceparent);
    dispatch(req);
    roam_log_set_context(NULL, NULL);
    if (req->suspended) return MHD_YES;
    return queue_response(req);
}

static void record(roam_http_server_t *s, roam_req_t *req, int status, uint64_t dur_ns) {
    size_t idx = req->route_index >= 0 ? (size_t)req->route_index : s->nroutes;
    route_stats_t *st = &s->stats[idx];
    if (status >= 100 && status < 600) atomic_fetch_add(&st->by_status[status], 1);
    double secs = (double)dur_ns / 1e9;
    size_t b = 0;
    while (b < NBUCKETS && secs > latency_buckets[b]) b++;
    atomic_fetch_add(&st->buckets[b], 1);
    atomic_fetch_add(&st->sum_us, dur_ns / 1000);
    atomic_fetch_add(&st->count, 1);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
    roam_http_server_t *s = cls;
    roam_req_t *req = *req_cls;
    if (req == NULL) return;
    *req_cls = NULL;
    uint64_t dur = roam_now_mono_ns() - req->start_ns;
    int status = req->responded ? req->status : 0; /* 0: the client went away before an answer */
    if (req->started) {
        record(s, req, status, dur);
        if (s->opts.access_log) {
            roam_log_set_context(req->request_id, NULL);
            roam_log_buf_t f;
            f.len = 0;
            roam_log_member_str(&f, "method", req->method);
            /* The path only: query strings may carry personal data. */
            roam_log_member_str(&f, "path", req->path);
            roam_log_member_str(&f, "route",
                                req->route_index >= 0 ? s->routes[req->route_index].pattern : "(unmatched)");
            roam_log_member_int(&f, "status", status);
            roam_log_member_num(&f, "duration_ms", (double)dur / 1e6, 3);
            roam_log_member_int(&f, "bytes_in", (long long)req->body_len);
            roam_log_member_str(&f, "client", roam_req_client_ip(req));
            if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) roam_log_member_int(&f, "terminated", toe);
            roam_log_members_buffered(ROAM_LOG_INFO, "request", &f);
            roam_log_set_context(NULL, NULL);
        }
    }
    req_free(req);
    atomic_fetch_sub(&s->inflight, 1);
}

static void mhd_log_cb(void *cls, const char *fmt, va_list ap) {
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    roam_warn("libmicrohttpd: %s", buf);
}

/* --- Metrics -------------------------------------------------------------- */

static void collect(void *ctx, roam_buf_t *b) {
    roam_http_server_t *s = ctx;
    roam_buf_appendf(b, "# HELP roam_http_requests_total HTTP requests by route, method and status.\n"
                        "# TYPE roam_http_requests_total counter\n");
    for (size_t i = 0; i <= s->nroutes; i++) {
        const char *route = i < s->nroutes ? s->routes[i].pattern : "(unmatched)";
        const char *method = i < s->nroutes ? s->routes[i].method : "";
        for (int st = 100; st < 600; st++) {
            unsigned long long n = atomic_load(&s->stats[i].by_status[st]);
            if (n)
                roam_buf_appendf(b, "roam_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
                                 route, method, st, n);
        }
    }
    roam_buf_appendf(b, "# HELP roam_http_request_duration_seconds Time from request line to response.\n"
                        "# TYPE roam_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= s->nroutes; i++) {
        route_stats_t *st = &s->stats[i];
        unsigned long long count = atomic_load(&st->count);
        if (count == 0) continue;
        const char *route = i < s->nroutes ? s->routes[i].pattern : "(unmatched)";
        const char *method = i < s->nroutes ? s->routes[i].method : "";
        unsigned long long cum = 0;
        for (size_t k = 0; k <= NBUCKETS; k++) {
            cum += atomic_load(&st->buckets[k]);
            if (k < NBUCKETS)
                roam_buf_appendf(b,
                                 "roam_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"%g\"} %llu\n",
                                 route, method, latency_buckets[k], cum);
            else
                roam_buf_appendf(b,
                                 "roam_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"+Inf\"} %llu\n",
                                 route, method, cum);
        }
        roam_buf_appendf(b, "roam_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n", route, method,
                         (double)atomic_load(&st->sum_us) / 1e6);
        roam_buf_appendf(b, "roam_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n", route,
                         method, count);
    }
    roam_buf_appendf(b, "# HELP roam_http_inflight_requests Requests being handled.\n"
                        "# TYPE roam_http_inflight_requests gauge\nroam_http_inflight_requests %u\n",
                     atomic_load(&s->inflight));
}

/* --- Server --------------------------------------------------------------- */

void roam_http_opts_init(roam_http_opts_t *o) {
    memset(o, 0, sizeof(*o));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->service = "roam";
    o->bind_addr = "127.0.0.1";
    o->threads = (unsigned)(cpus > 0 ? cpus : 2);
    o->max_connections = 1024;
    /*
     * libmicrohttpd zeroes a connection's pool after every request: 8 KiB
     * instead of its default 32 KiB was worth 10 to 30 percent of the
     * benchmark's throughput, and still admits about 7.5 KB of headers.
     */
    o->connection_memory = 8192;
    o->idle_timeout_s = 60;
    o->shutdown_timeout_ms = 10000;
    o->access_log = 1;
}

roam_http_server_t *roam_http_server_new(const roam_http_opts_t *opts, const roam_route_t *routes, size_t nroutes,
                                         char *errbuf, size_t errlen) {
    roam_router_t *router = roam_router_new(routes, nroutes, errbuf, errlen);
    if (router == NULL) return NULL;
    roam_http_server_t *s = roam_xcalloc(1, sizeof(*s));
    s->opts = *opts;
    s->routes = routes;
    s->nroutes = nroutes;
    s->router = router;
    s->stats = roam_xcalloc(nroutes + 1, sizeof(route_stats_t));
    s->listen_fd = -1;
    if (opts->internal_secret != NULL && opts->internal_secret[0] != '\0') {
        s->has_secret = 1;
        roam_sha256(opts->internal_secret, strlen(opts->internal_secret), s->secret_hash);
    }
    roam_metrics_register(collect, s);
    return s;
}

/* The thread pool: libmicrohttpd's own threads accept and serve. */
/*
 * MHD's buffer per connection: room for the headers we accept, the answer's
 * headers and the reads of a body, with slack so that headers somewhat over
 * our limit reach access_cb and get a problem+json 431 (past this buffer MHD
 * answers 431 itself, in HTML).
 */
static size_t mhd_memory(const roam_http_opts_t *o) {
    size_t m = o->connection_memory * 4;
    return m < 32768 ? 32768 : m;
}

static int start_pool(roam_http_server_t *s, const struct sockaddr_in *addr) {
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    s->mhd = MHD_start_daemon(flags, s->opts.port, NULL, NULL, access_cb, s,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, s,
                              MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)addr,
                              MHD_OPTION_THREAD_POOL_SIZE, s->opts.threads,
                              MHD_OPTION_CONNECTION_LIMIT, s->opts.max_connections,
                              MHD_OPTION_CONNECTION_TIMEOUT, s->opts.idle_timeout_s,
                              MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb, s,
                              MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
                              MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, mhd_memory(&s->opts),
                              MHD_OPTION_END);
    if (s->mhd == NULL) {
        roam_error("cannot listen on %s:%u (port in use or not permitted)", s->opts.bind_addr, s->opts.port);
        return ROAM_EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_in bound;
    socklen_t blen = sizeof(bound);
    if (di != NULL && getsockname(di->listen_fd, (struct sockaddr *)&bound, &blen) == 0)
        s->port = ntohs(bound.sin_port);
    else
        s->port = s->opts.port;
    return 0;
}

/* How long the loop may sleep: until its timer, MHD's next connection timeout, accepting again, or a second. */
static int loop_wait_ms(roam_loop_t *l, int64_t now) {
    int64_t ms = 1000;
    if (l->run_mhd) return 0;
    if (l->timer_at_ns >= 0) {
        int64_t left = (l->timer_at_ns - now + 999999) / 1000000;
        if (left < ms) ms = left;
    }
    if (l->accept_at_ns >= 0) {
        int64_t left = (l->accept_at_ns - now + 999999) / 1000000;
        if (left < ms) ms = left;
    }
    MHD_UNSIGNED_LONG_LONG mt;
    l->mhd_at_ns = -1;
    if (MHD_get_timeout(l->mhd, &mt) == MHD_YES) {
        if ((int64_t)mt < ms) ms = (int64_t)mt;
        l->mhd_at_ns = now + (int64_t)(mt > 3600000 ? 3600000 : mt) * 1000000;
    }
    return ms < 0 ? 0 : (int)ms;
}

/* Starts or stops watching the listening socket (woken alone: EPOLLEXCLUSIVE). */
static void loop_listen(roam_loop_t *l, int on) {
    if (on == l->listening) return;
    if (on) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = l->listen_fd};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->listen_fd, &ev) != 0) return;
    } else {
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->listen_fd, NULL);
    }
    l->listening = on;
}

/* Counts the loops' connections (MHD_OPTION_NOTIFY_CONNECTION), for the limit on all of them. */
static void count_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode toe) {
    roam_http_server_t *s = cls;
    (void)conn;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) atomic_fetch_add(&s->connections, 1);
    else atomic_fetch_sub(&s->connections, 1);
}

static void loop_add_connection(roam_loop_t *l, int fd, const struct sockaddr *addr, socklen_t addrlen) {
    /* MHD closes the socket itself when it cannot take it (connection limit, memory). */
    MHD_add_connection(l->mhd, fd, addr, addrlen);
    l->run_mhd = 1;
}

/* Takes the connections other loops accepted for this one. */
static void loop_take_handoffs(roam_loop_t *l) {
    pthread_mutex_lock(&l->handoff_lock);
    handoff_t *h = l->handoff;
    size_t n = l->nhandoff;
    l->handoff = NULL;
    l->nhandoff = l->caphandoff = 0;
    pthread_mutex_unlock(&l->handoff_lock);
    for (size_t i = 0; i < n; i++) loop_add_connection(l, h[i].fd, (struct sockaddr *)&h[i].addr, h[i].addrlen);
    free(h);
}

static void loop_wake(roam_loop_t *l) {
    uint64_t one = 1;
    ssize_t r = write(l->wake_fd, &one, sizeof(one));
    (void)r;
}

/*
 * Accepts what is waiting and deals the connections out round robin, so that
 * every loop serves its share of the keep-alive connections however the
 * wake-ups fell (the loop that happens to be awake would otherwise take a
 * whole burst of new connections, and keep them).
 */
static void loop_accept(roam_loop_t *l) {
    roam_http_server_t *s = l->server;
    for (int i = 0; i < 32; i++) {
        if (atomic_load(&s->connections) >= s->opts.max_connections) {
            /* At the limit: new connections wait in the backlog, as on the thread pool; look again soon. */
            loop_listen(l, 0);
            l->accept_at_ns = (int64_t)roam_now_mono_ns() + 10 * 1000000LL;
            return;
        }
        handoff_t h;
        h.addrlen = sizeof(h.addr);
        h.fd = accept4(l->listen_fd, (struct sockaddr *)&h.addr, &h.addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (h.fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors or memory: pause accepting for a moment instead of spinning. */
                roam_warn("cannot accept connections: %s; pausing for 100 ms", strerror(errno));
                loop_listen(l, 0);
                l->accept_at_ns = (int64_t)roam_now_mono_ns() + 100 * 1000000LL;
            }
            return;
        }
        roam_loop_t *t = &s->loops[atomic_fetch_add(&s->next_loop, 1) % s->opts.event_loops];
        if (t == l) {
            loop_add_connection(l, h.fd, (struct sockaddr *)&h.addr, h.addrlen);
            continue;
        }
        pthread_mutex_lock(&t->handoff_lock);
        if (t->nhandoff == t->caphandoff) {
            size_t cap = t->caphandoff ? t->caphandoff * 2 : 64;
            handoff_t *nh = realloc(t->handoff, cap * sizeof(*nh));
            if (nh == NULL) {
                pthread_mutex_unlock(&t->handoff_lock);
                close(h.fd);
                continue;
            }
            t->handoff = nh;
            t->caphandoff = cap;
        }
        t->handoff[t->nhandoff++] = h;
        pthread_mutex_unlock(&t->handoff_lock);
        loop_wake(t);
    }
}

static void *loop_main(void *arg) {
    roam_loop_t *l = arg;
    roam_http_server_t *s = l->server;
    const roam_loop_hooks_t *h = s->opts.loop_hooks;
    tls_loop = l;
    if (h != NULL && h->start != NULL) {
        l->data = h->start(l, h->ctx);
        if (l->data == NULL) {
            atomic_store(&l->started, -1);
            return NULL;
        }
    }
    loop_listen(l, 1);
    atomic_store(&l->started, 1);
    struct epoll_event evs[64];
    for (;;) {
        int cmd = atomic_load(&l->cmd);
        if (cmd == LOOP_STOP) break;
        if (cmd == LOOP_QUIESCE && !atomic_load(&l->quiesced)) {
            /* The listening socket is shared: the server closes it once every loop has let go. */
            loop_listen(l, 0);
            l->accept_at_ns = -1;
            atomic_store(&l->quiesced, 1);
        }
        int64_t now = (int64_t)roam_now_mono_ns();
        if (l->accept_at_ns >= 0 && now >= l->accept_at_ns) {
            l->accept_at_ns = -1;
            loop_listen(l, 1);
        }
        int n = epoll_wait(l->epfd, evs, 64, loop_wait_ms(l, now));
        /* MHD runs when its set has events, a request was resumed, or a connection may have timed out. */
        int run_mhd = l->run_mhd || (l->mhd_at_ns >= 0 && (int64_t)roam_now_mono_ns() >= l->mhd_at_ns);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l->mhd_fd) {
                run_mhd = 1;
            } else if (fd == l->listen_fd && l->listening) {
                loop_accept(l);
            } else if (fd == l->wake_fd) {
                uint64_t v;
                ssize_t r = read(l->wake_fd, &v, sizeof(v));
                (void)r;
                loop_take_handoffs(l);
                run_mhd = 1; /* a resume from another thread, or a command */
            } else if (h != NULL && h->io != NULL) {
                unsigned e = (evs[i].events & EPOLLIN ? ROAM_LOOP_IN : 0) |
                             (evs[i].events & EPOLLOUT ? ROAM_LOOP_OUT : 0) |
                             (evs[i].events & (EPOLLERR | EPOLLHUP) ? ROAM_LOOP_ERR : 0);
                h->io(l->data, fd, e);
            }
        }
        /*
         * One piece of work leads to the next within the same turn: an
         * upstream answer resumes a request (MHD sends it), a new request
         * starts a call (due on the timer at once). Bounded, so sockets are
         * polled again soon under constant load.
         */
        for (int round = 0; round < 4; round++) {
            int did = 0;
            if (l->timer_at_ns >= 0 && (int64_t)roam_now_mono_ns() >= l->timer_at_ns) {
                l->timer_at_ns = -1;
                if (h != NULL && h->timer != NULL) h->timer(l->data);
                did = 1;
            }
            if (run_mhd || l->run_mhd) {
                run_mhd = l->run_mhd = 0;
                MHD_run(l->mhd);
                did = 1;
            }
            if (!did) break;
        }
    }
    /* Shutdown's grace period is over: the hooks answer what they still hold, MHD sends what it can. */
    loop_listen(l, 0);
    loop_take_handoffs(l);
    if (h != NULL && h->stop != NULL) h->stop(l->data);
    l->data = NULL;
    MHD_run(l->mhd);
    return NULL;
}

static void loop_command(roam_loop_t *l, int cmd) {
    atomic_store(&l->cmd, cmd);
    loop_wake(l);
}

/*
 * Event loops: one listening socket; whichever loop is woken for it accepts
 * and deals the connections out over all loops.
 */
static int start_loops(roam_http_server_t *s, const struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0 || listen(fd, 1024) != 0) {
        roam_error("cannot listen on %s:%u (port in use or not permitted)", s->opts.bind_addr, s->opts.port);
        if (fd >= 0) close(fd);
        return ROAM_EIO;
    }
    struct sockaddr_in bound;
    socklen_t blen = sizeof(bound);
    s->port = getsockname(fd, (struct sockaddr *)&bound, &blen) == 0 ? ntohs(bound.sin_port) : s->opts.port;
    s->listen_fd = fd;

    unsigned n = s->opts.event_loops;
    s->loops = roam_xcalloc(n, sizeof(roam_loop_t));
    for (unsigned i = 0; i < n; i++) {
        roam_loop_t *l = &s->loops[i];
        l->server = s;
        l->listen_fd = fd;
        l->timer_at_ns = l->mhd_at_ns = l->accept_at_ns = -1;
        l->epfd = l->wake_fd = -1;
        pthread_mutex_init(&l->handoff_lock, NULL);
        l->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG |
                                      MHD_ALLOW_SUSPEND_RESUME,
                                  0, NULL, NULL, access_cb, s,
                                  MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, s,
                                  MHD_OPTION_CONNECTION_LIMIT, s->opts.max_connections,
                                  MHD_OPTION_NOTIFY_CONNECTION, count_connection, s,
                                  MHD_OPTION_CONNECTION_TIMEOUT, s->opts.idle_timeout_s,
                                  MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb, s,
                                  MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, mhd_memory(&s->opts),
                                  MHD_OPTION_END);
        const union MHD_DaemonInfo *di = l->mhd ? MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
        l->mhd_fd = di ? di->epoll_fd : -1;
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        struct epoll_event mev = {.events = EPOLLIN, .data.fd = l->mhd_fd};
        struct epoll_event wev = {.events = EPOLLIN, .data.fd = l->wake_fd};
        if (l->mhd == NULL || l->mhd_fd < 0 || l->epfd < 0 || l->wake_fd < 0 ||
            epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->mhd_fd, &mev) != 0 ||
            epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &wev) != 0) {
            roam_error("cannot set up HTTP event loop %u", i);
            return ROAM_EIO;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        roam_loop_t *l = &s->loops[i];
        if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
            roam_error("cannot start HTTP event loop %u", i);
            return ROAM_EIO;
        }
        l->thread_started = 1;
        while (atomic_load(&l->started) == 0) usleep(1000);
        if (atomic_load(&l->started) < 0) {
            roam_error("HTTP event loop %u failed to start", i);
            return ROAM_EIO;
        }
    }
    return 0;
}

/* Stops and frees whatever start_loops set up (after a failed start, or at shutdown). */
static void stop_loops(roam_http_server_t *s) {
    if (s->loops == NULL) return;
    for (unsigned i = 0; i < s->opts.event_loops; i++) {
        roam_loop_t *l = &s->loops[i];
        if (l->thread_started) {
            loop_command(l, LOOP_STOP);
            pthread_join(l->thread, NULL);
        }
    }
    for (unsigned i = 0; i < s->opts.event_loops; i++) {
        roam_loop_t *l = &s->loops[i];
        /* A loop stopped before another handed it a connection: nobody serves it now. */
        for (size_t k = 0; k < l->nhandoff; k++) close(l->handoff[k].fd);
        free(l->handoff);
        pthread_mutex_destroy(&l->handoff_lock);
        if (l->mhd != NULL) MHD_stop_daemon(l->mhd);
        if (l->epfd >= 0) close(l->epfd);
        if (l->wake_fd >= 0) close(l->wake_fd);
    }
    free(s->loops);
    s->loops = NULL;
    if (s->listen_fd >= 0) close(s->listen_fd);
    s->listen_fd = -1;
}

int roam_http_server_start(roam_http_server_t *s) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(s->opts.port);
    if (inet_pton(AF_INET, s->opts.bind_addr, &addr.sin_addr) != 1) {
        roam_error("bad listen address %s", s->opts.bind_addr);
        return ROAM_EINVAL;
    }
    if (s->opts.event_loops == 0) return start_pool(s, &addr);
    int rc = start_loops(s, &addr);
    if (rc != 0) stop_loops(s);
    return rc;
}

uint16_t roam_http_server_port(const roam_http_server_t *s) { return s->port; }
unsigned roam_http_server_inflight(const roam_http_server_t *s) { return atomic_load(&s->inflight); }

void roam_http_server_shutdown(roam_http_server_t *s) {
    if ((s->mhd == NULL && s->loops == NULL) || s->stopped) return;
    s->stopped = 1;
    atomic_store(&s->stopping, 1);
    /* Stop accepting: new connections are refused from here on. */
    if (s->mhd != NULL) {
        MHD_socket lfd = MHD_quiesce_daemon(s->mhd);
        if (lfd != MHD_INVALID_SOCKET) close(lfd);
    } else {
        for (unsigned i = 0; i < s->opts.event_loops; i++) loop_command(&s->loops[i], LOOP_QUIESCE);
        for (unsigned i = 0; i < s->opts.event_loops; i++)
            while (!atomic_load(&s->loops[i].quiesced)) usleep(1000);
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    uint64_t deadline = roam_now_mono_ns() + (uint64_t)s->opts.shutdown_timeout_ms * 1000000u;
    while (atomic_load(&s->inflight) > 0 && roam_now_mono_ns() < deadline) usleep(10000);
    unsigned left = atomic_load(&s->inflight);
    if (left > 0) roam_warn("shutdown timeout: %u requests still in flight are cut off", left);
    if (s->mhd != NULL) {
        MHD_stop_daemon(s->mhd);
        s->mhd = NULL;
    } else {
        stop_loops(s);
    }
}

void roam_http_server_free(roam_http_server_t *s) {
    if (s == NULL) return;
    roam_http_server_shutdown(s);
    roam_router_free(s->router);
    /* stats stay registered with the metrics collector for the life of the process */
}
