/*
 * roam/httpc.h against a small libmicrohttpd server run inside the test (on
 * an ephemeral port): methods and bodies, trace headers, retries (which
 * calls, how many, on what), timeouts, refused connections, the body cap and
 * connection reuse.
 */
#include <roam/common.h>
#include <roam/httpc.h>
#include <roam/log.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static struct MHD_Daemon *daemon_;
static char base[64];
static int flaky_hits;  /* requests /flaky has seen */
static int slow_hits;   /* requests /slow has seen */
static int conn_starts; /* TCP connections the server accepted */
static char *big_body;

#define BIG_LEN (9u * 1024 * 1024) /* over httpc's 8 MiB cap */

static double elapsed_s(uint64_t t0) { return (double)(roam_now_mono_ns() - t0) / 1e9; }

/* ---- the server ---- */

typedef struct {
    char *body;
    size_t len;
} req_t;

typedef struct {
    const char *name;
    int count;
    const char *first;
} header_count;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    header_count *h = cls;
    if (strcasecmp(key, h->name) == 0) {
        if (h->count++ == 0) h->first = value;
    }
    return MHD_YES;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, char *body, size_t len, const char *ctype) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (ctype != NULL) MHD_add_response_header(resp, "Content-Type", ctype);
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result echo(struct MHD_Connection *c, const char *method, req_t *r) {
    header_count rid = {"X-Request-Id", 0, NULL}, tp = {"traceparent", 0, NULL};
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &rid);
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &tp);
    json_t *o = json_pack("{s:s, s:s#, s:s?, s:i, s:s?, s:i, s:s?, s:s?}", "method", method, "body",
                          r->body ? r->body : "", (int)r->len, "x_request_id", rid.first, "x_request_id_count",
                          rid.count, "traceparent", tp.first, "traceparent_count", tp.count, "content_type",
                          MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"), "content_length",
                          MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length"));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return respond(c, 200, text, strlen(text), "application/json");
}

/*
 * Endpoints: /echo; /flaky?fail=N&code=C answers C (default 503) to the
 * first N requests since the test reset flaky_hits, then 200; /slow sleeps
 * 1.2 s; /big sends BIG_LEN bytes.
 */
static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **req_cls) {
    req_t *r = *req_cls;
    /* Respond only once the whole body is in (MHD would otherwise close the connection). */
    if (r == NULL) {
        *req_cls = calloc(1, sizeof(req_t));
        return MHD_YES;
    }
    if (*upload_size > 0) {
        r->body = realloc(r->body, r->len + *upload_size + 1);
        memcpy(r->body + r->len, upload, *upload_size);
        r->len += *upload_size;
        r->body[r->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/echo") == 0) return echo(c, method, r);
    if (strcmp(url, "/flaky") == 0) {
        const char *fail = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fail");
        const char *code = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "code");
        int hit = __atomic_add_fetch(&flaky_hits, 1, __ATOMIC_SEQ_CST);
        unsigned status = hit <= (fail ? atoi(fail) : 0) ? (code ? (unsigned)atoi(code) : 503) : 200;
        char *body = NULL;
        int n = asprintf(&body, "attempt %d", hit);
        return respond(c, status, body, (size_t)n, "text/plain");
    }
    if (strcmp(url, "/slow") == 0) {
        __atomic_add_fetch(&slow_hits, 1, __ATOMIC_SEQ_CST);
        struct timespec ts = {.tv_sec = 1, .tv_nsec = 200000000};
        nanosleep(&ts, NULL);
        return respond(c, 200, strdup("late"), 4, "text/plain");
    }
    if (strcmp(url, "/big") == 0) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(BIG_LEN, big_body, MHD_RESPMEM_PERSISTENT);
        enum MHD_Result rc = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    return respond(c, 404, strdup("no"), 2, "text/plain");
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe) {
    req_t *r = *req_cls;
    if (r != NULL) {
        free(r->body);
        free(r);
    }
    *req_cls = NULL;
}

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_ctx, enum MHD_ConnectionNotificationCode code) {
    if (code == MHD_CONNECTION_NOTIFY_STARTED) __atomic_add_fetch(&conn_starts, 1, __ATOMIC_SEQ_CST);
}

static int server_start(void) {
    big_body = malloc(BIG_LEN);
    memset(big_body, 'x', BIG_LEN);
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
                               NULL, NULL, handler, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                               MHD_OPTION_NOTIFY_CONNECTION, conn_notify, NULL, MHD_OPTION_SOCK_ADDR,
                               &(struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
                               MHD_OPTION_END);
    if (daemon_ == NULL) return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", (unsigned)info->port);
    return 0;
}

/* ---- helpers ---- */

static roam_httpc_opts_t opts_with(int timeout_ms, int retries) {
    roam_httpc_opts_t o;
    roam_httpc_opts_init(&o);
    o.timeout_ms = timeout_ms;
    o.retries = retries;
    return o;
}

static const char *url_of(const char *path) {
    static char buf[256];
    snprintf(buf, sizeof(buf), "%s%s", base, path);
    return buf;
}

static const char *jstr(json_t *o, const char *name) { return json_string_value(json_object_get(o, name)); }

/* ---- tests ---- */

static void test_methods_and_bodies(void) {
    roam_httpc_resp_t out;
    roam_httpc_opts_t o = opts_with(2000, 0);
    CHECK_INT(roam_httpc_do("GET", url_of("/echo"), NULL, NULL, 0, &o, &out), 0);
    CHECK_INT(out.status, 200);
    CHECK_STR(out.content_type, "application/json");
    json_t *j = roam_httpc_resp_json(&out);
    CHECK_STR(jstr(j, "method"), "GET");
    CHECK_STR(jstr(j, "body"), "");
    json_decref(j);
    roam_httpc_resp_cleanup(&out);

    static const char *const methods[] = {"POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < ROAM_ARRAY_LEN(methods); i++) {
        const char *hdrs[] = {"Content-Type: text/plain", NULL};
        CHECK_INT(roam_httpc_do(methods[i], url_of("/echo"), hdrs, "payload\0x", 9, &o, &out), 0);
        j = json_loadb(out.body, out.len, JSON_ALLOW_NUL, NULL); /* the echoed body holds a NUL */
        CHECK_STR(jstr(j, "method"), methods[i]);
        CHECK_INT(json_string_length(json_object_get(j, "body")), 9);
        CHECK_STR(jstr(j, "content_type"), "text/plain");
        json_decref(j);
        roam_httpc_resp_cleanup(&out);
    }
    /* POST and PUT without a body still say Content-Length: 0. */
    CHECK_INT(roam_httpc_do("PUT", url_of("/echo"), NULL, NULL, 0, &o, &out), 0);
    j = roam_httpc_resp_json(&out);
    CHECK_STR(jstr(j, "content_length"), "0");
    json_decref(j);
    roam_httpc_resp_cleanup(&out);

    CHECK_INT(roam_httpc_do("HEAD", url_of("/echo"), NULL, NULL, 0, &o, &out), 0);
    CHECK_INT(out.status, 200);
    CHECK_INT(out.len, 0);
    roam_httpc_resp_cleanup(&out);

    /* JSON convenience. */
    json_t *body = json_pack("{s:i, s:s}", "a", 1, "b", "two");
    CHECK_INT(roam_httpc_json("POST", url_of("/echo"), NULL, body, &o, &out), 0);
    j = roam_httpc_resp_json(&out);
    CHECK_STR(jstr(j, "body"), "{\"a\":1,\"b\":\"two\"}");
    CHECK_STR(jstr(j, "content_type"), "application/json");
    json_decref(j);
    json_decref(body);
    roam_httpc_resp_cleanup(&out);

    CHECK_INT(roam_httpc_do("GET", url_of("/nowhere"), NULL, NULL, 0, &o, &out), 0);
    CHECK_INT(out.status, 404);
    CHECK_STR(out.body, "no");
    roam_httpc_resp_cleanup(&out);

    /* Bad input. */
    CHECK_INT(roam_httpc_do("G ET", url_of("/echo"), NULL, NULL, 0, &o, &out), ROAM_EINVAL);
    CHECK_INT(roam_httpc_do("get", url_of("/echo"), NULL, NULL, 0, &o, &out), ROAM_EINVAL);
    const char *evil[] = {"X-A: 1\r\nX-B: 2", NULL};
    CHECK_INT(roam_httpc_do("GET", url_of("/echo"), evil, NULL, 0, &o, &out), ROAM_EINVAL);
    CHECK_INT(roam_httpc_do("GET", "ftp://127.0.0.1/x", NULL, NULL, 0, &o, &out), ROAM_EINVAL);
    CHECK(out.body == NULL && out.status == 0);
    roam_httpc_resp_cleanup(&out);
}

static void test_trace_headers(void) {
    roam_httpc_resp_t out;
    roam_httpc_opts_t o = opts_with(2000, 0);
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    roam_log_set_context("req-123", tp);
    CHECK_INT(roam_httpc_do("GET", url_of("/echo"), NULL, NULL, 0, &o, &out), 0);
    json_t *j = roam_httpc_resp_json(&out);
    CHECK_STR(jstr(j, "x_request_id"), "req-123");
    CHECK_STR(jstr(j, "traceparent"), tp);
    CHECK_INT(json_integer_value(json_object_get(j, "x_request_id_count")), 1);
    json_decref(j);
    roam_httpc_resp_cleanup(&out);

    /* The caller's own X-Request-Id wins and is not doubled. */
    const char *hdrs[] = {"x-request-id: mine", NULL};
    CHECK_INT(roam_httpc_do("GET", url_of("/echo"), hdrs, NULL, 0, &o, &out), 0);
    j = roam_httpc_resp_json(&out);
    CHECK_STR(jstr(j, "x_request_id"), "mine");
    CHECK_INT(json_integer_value(json_object_get(j, "x_request_id_count")), 1);
    CHECK_STR(jstr(j, "traceparent"), tp);
    json_decref(j);
    roam_httpc_resp_cleanup(&out);

    /* A context value that would inject a header is dropped. */
    roam_log_set_context("evil\r\nX-Injected: 1", NULL);
    CHECK_INT(roam_httpc_do("GET", url_of("/echo"), NULL, NULL, 0, &o, &out), 0);
    j = roam_httpc_resp_json(&out);
    CHECK_INT(json_integer_value(json_object_get(j, "x_request_id_count")), 0);
    CHECK_INT(json_integer_value(json_object_get(j, "traceparent_count")), 0);
    json_decref(j);
    roam_httpc_resp_cleanup(&out);

    roam_log_set_context(NULL, NULL);
    CHECK_INT(roam_httpc_do("GET", url_of("/echo"), NULL, NULL, 0, &o, &out), 0);
    j = roam_httpc_resp_json(&out);
    CHECK(json_is_null(json_object_get(j, "x_request_id")));
    json_decref(j);
    roam_httpc_resp_cleanup(&out);
}

/* Runs method on /flaky?fail=fail&code=code; returns the status and sets *hits to the server's count. */
static long flaky(const char *method, int fail, int code, int retries, int idempotent, int *hits) {
    char path[64];
    snprintf(path, sizeof(path), "/flaky?fail=%d&code=%d", fail, code);
    roam_httpc_opts_t o = opts_with(2000, retries);
    o.idempotent = idempotent;
    roam_httpc_resp_t out;
    __atomic_store_n(&flaky_hits, 0, __ATOMIC_SEQ_CST);
    int rc = roam_httpc_do(method, url_of(path), NULL, "x", 1, &o, &out);
    long status = rc == 0 ? out.status : rc;
    roam_httpc_resp_cleanup(&out);
    *hits = __atomic_load_n(&flaky_hits, __ATOMIC_SEQ_CST);
    return status;
}

static void test_retries(void) {
    int hits;
    uint64_t t0 = roam_now_mono_ns();
    CHECK_INT(flaky("GET", 2, 503, 2, 0, &hits), 200); /* retried twice, then succeeds */
    CHECK_INT(hits, 3);
    double backoff = elapsed_s(t0);
    CHECK(backoff >= 0.19 && backoff < 1.0); /* 50 ms + 150 ms */
    CHECK_INT(flaky("GET", 5, 503, 2, 0, &hits), 503); /* gives up after 1 + 2 attempts */
    CHECK_INT(hits, 3);
    CHECK_INT(flaky("GET", 1, 502, 2, 0, &hits), 200);
    CHECK_INT(hits, 2);
    CHECK_INT(flaky("GET", 1, 504, 2, 0, &hits), 200);
    CHECK_INT(hits, 2);
    CHECK_INT(flaky("GET", 1, 500, 2, 0, &hits), 500); /* a 500 is an answer, not an outage */
    CHECK_INT(hits, 1);
    CHECK_INT(flaky("GET", 1, 503, 0, 0, &hits), 503); /* retries = 0 */
    CHECK_INT(hits, 1);
    CHECK_INT(flaky("PUT", 1, 503, 2, 0, &hits), 200);
    CHECK_INT(hits, 2);
    CHECK_INT(flaky("DELETE", 1, 503, 2, 0, &hits), 200);
    CHECK_INT(hits, 2);
    CHECK_INT(flaky("POST", 1, 503, 2, 0, &hits), 503); /* never retried */
    CHECK_INT(hits, 1);
    CHECK_INT(flaky("PATCH", 1, 503, 2, 0, &hits), 503);
    CHECK_INT(hits, 1);
    CHECK_INT(flaky("POST", 1, 503, 2, 1, &hits), 200); /* flagged idempotent */
    CHECK_INT(hits, 2);
}

static void test_timeouts(void) {
    roam_httpc_resp_t out;
    roam_httpc_opts_t o = opts_with(300, 0);
    __atomic_store_n(&slow_hits, 0, __ATOMIC_SEQ_CST);
    uint64_t t0 = roam_now_mono_ns();
    CHECK_INT(roam_httpc_do("GET", url_of("/slow"), NULL, NULL, 0, &o, &out), ROAM_ETIMEDOUT);
    double took = elapsed_s(t0);
    CHECK(took >= 0.29 && took < 0.8);
    CHECK(out.body == NULL && out.status == 0);
    roam_httpc_resp_cleanup(&out);
    fprintf(stderr, "   timeout 300 ms: call returned after %.3f s\n", took);

    /* A GET is retried after a timeout; a POST is not. */
    o.retries = 1;
    CHECK_INT(roam_httpc_do("GET", url_of("/slow"), NULL, NULL, 0, &o, &out), ROAM_ETIMEDOUT);
    roam_httpc_resp_cleanup(&out);
    CHECK_INT(roam_httpc_do("POST", url_of("/slow"), NULL, "x", 1, &o, &out), ROAM_ETIMEDOUT);
    roam_httpc_resp_cleanup(&out);
    CHECK_INT(__atomic_load_n(&slow_hits, __ATOMIC_SEQ_CST), 1 + 2 + 1);
}

static void test_refused(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd); /* bound, never listened: nothing accepts on this port */
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", (unsigned)ntohs(a.sin_port));

    roam_httpc_resp_t out;
    roam_httpc_opts_t o = opts_with(2000, 0);
    uint64_t t0 = roam_now_mono_ns();
    CHECK_INT(roam_httpc_do("GET", url, NULL, NULL, 0, &o, &out), ROAM_EUNAVAIL);
    double once = elapsed_s(t0);
    CHECK(once < 0.2);
    roam_httpc_resp_cleanup(&out);
    o.retries = 2;
    t0 = roam_now_mono_ns();
    CHECK_INT(roam_httpc_do("GET", url, NULL, NULL, 0, &o, &out), ROAM_EUNAVAIL);
    double retried = elapsed_s(t0);
    CHECK(retried >= 0.19 && retried < 1.0); /* two backoffs */
    roam_httpc_resp_cleanup(&out);
    fprintf(stderr, "   refused: %.3f s without retries, %.3f s with 2\n", once, retried);
}

static void test_body_cap(void) {
    roam_httpc_resp_t out;
    roam_httpc_opts_t o = opts_with(5000, 2);
    CHECK_INT(roam_httpc_do("GET", url_of("/big"), NULL, NULL, 0, &o, &out), ROAM_EIO);
    CHECK(out.body == NULL && out.status == 0);
    roam_httpc_resp_cleanup(&out);
}

static void test_connection_reuse(void) {
    roam_httpc_thread_cleanup(); /* start from a fresh handle and connection cache */
    roam_httpc_opts_t o = opts_with(2000, 0);
    int before = __atomic_load_n(&conn_starts, __ATOMIC_SEQ_CST);
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        roam_httpc_resp_t out;
        if (roam_httpc_do("GET", url_of("/echo"), NULL, NULL, 0, &o, &out) == 0 && out.status == 200) ok++;
        roam_httpc_resp_cleanup(&out);
    }
    CHECK_INT(ok, 20);
    CHECK_INT(__atomic_load_n(&conn_starts, __ATOMIC_SEQ_CST) - before, 1);
}

/* A thread that never calls roam_httpc_thread_cleanup: its handle is freed at exit (the leak checker sees). */
static void *other_thread(void *arg) {
    roam_httpc_resp_t out;
    int rc = roam_httpc_do("GET", url_of("/echo"), NULL, NULL, 0, NULL, &out);
    roam_httpc_resp_cleanup(&out);
    return (void *)(intptr_t)(rc == 0);
}

static void test_threads(void) {
    pthread_t th[4];
    void *ok[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, other_thread, NULL);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], &ok[i]);
        CHECK(ok[i] != NULL);
    }
}

static void bench_calls(void) {
    roam_httpc_opts_t o = opts_with(2000, 0);
    uint64_t t0 = roam_now_mono_ns();
    int n = 0;
    while (roam_now_mono_ns() - t0 < 300000000u) {
        roam_httpc_resp_t out;
        if (roam_httpc_do("GET", url_of("/echo"), NULL, NULL, 0, &o, &out) == 0) n++;
        roam_httpc_resp_cleanup(&out);
    }
    fprintf(stderr, "   %.0f sequential GETs per second on one kept-alive connection\n", n / elapsed_s(t0));
}

int main(void) {
    if (server_start() != 0) {
        fprintf(stderr, "cannot start the test server\n");
        return 1;
    }
    RUN(test_methods_and_bodies);
    RUN(test_trace_headers);
    RUN(test_retries);
    RUN(test_timeouts);
    RUN(test_refused);
    RUN(test_body_cap);
    RUN(test_connection_reuse);
    RUN(test_threads);
    RUN(bench_calls);
    roam_httpc_thread_cleanup();
    MHD_stop_daemon(daemon_);
    free(big_body);
    CHECK_DONE();
}
