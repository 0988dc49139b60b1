/*
 * HTTP core: a real server on a free loopback port, driven with libcurl.
 * Covers dispatch, problem documents, body limits, content types, request
 * ids, keep-alive, auth hooks, metrics and graceful shutdown, once on the
 * thread pool and once on event loops; then what only event loops do
 * (descriptors and timers watched for handlers, connections dealt out over
 * the loops, held requests answered at shutdown).
 */
#include "check.h"

#include <roam/common.h>
#include <roam/http.h>
#include <roam/log.h>
#include <roam/metrics.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static int h_hello(roam_req_t *req) { return roam_respond_json(req, 200, json_pack("{s:s}", "message", "hello")); }
static int h_echo(roam_req_t *req) { return roam_respond_json(req, 200, json_incref(roam_req_json(req))); }
static int h_item(roam_req_t *req) {
    return roam_respond_json(req, 200, json_pack("{s:s, s:s?, s:s}", "id", roam_req_param(req, "id"), "q",
                                                 roam_req_query(req, "q"), "raw", roam_req_query_string(req)));
}
static int h_slow(roam_req_t *req) {
    usleep(500 * 1000);
    return roam_respond_json(req, 200, json_pack("{s:b}", "slow", 1));
}
static int h_forgets(roam_req_t *req) { (void)req; return 200; }
static int h_whoami(roam_req_t *req) {
    return roam_respond_json(req, 200, json_pack("{s:s, s:s}", "sub", roam_req_claims(req)->sub, "role",
                                                 roam_req_claims(req)->role));
}
static int h_small(roam_req_t *req) { return roam_respond_empty(req, 204); }
static int h_internal(roam_req_t *req) {
    return roam_respond_json(req, 200, json_pack("{s:s}", "client", roam_req_client_ip(req)));
}

/* Answers from another thread 200 ms later, as the gateway's proxy does. */
static void *answer_later(void *arg) {
    roam_req_t *req = arg;
    usleep(200 * 1000);
    roam_respond_json(req, 200, json_pack("{s:b}", "async", 1));
    roam_req_resume(req);
    return NULL;
}
static int h_async(roam_req_t *req) {
    roam_req_suspend(req);
    pthread_t t;
    pthread_create(&t, NULL, answer_later, req);
    pthread_detach(t);
    return ROAM_HTTP_SUSPENDED;
}

/*
 * Loop hooks as a handler that waits on something would use them: /later
 * answers from the loop's timer 100 ms on, /wake when another thread writes
 * to a pipe the loop watches, /never only at shutdown. Every answer names
 * the loop (its number in start order).
 */
typedef struct {
    roam_loop_t *loop;
    int id;
    int pipe[2];
    roam_req_t *later[64], *woken[64], *never[64];
    int nlater, nwoken, nnever;
} test_loop_t;

static atomic_int loops_started, loops_stopped;

static void *t_start(roam_loop_t *loop, void *ctx) {
    (void)ctx;
    test_loop_t *t = calloc(1, sizeof(*t));
    t->loop = loop;
    t->id = atomic_fetch_add(&loops_started, 1);
    if (pipe(t->pipe) != 0 || roam_loop_watch(loop, t->pipe[0], ROAM_LOOP_IN) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

static void t_answer(test_loop_t *t, roam_req_t **reqs, int *n, const char *how) {
    for (int i = 0; i < *n; i++) {
        roam_respond_json(reqs[i], 200, json_pack("{s:s, s:i}", "how", how, "loop", t->id));
        roam_req_resume(reqs[i]);
    }
    *n = 0;
}

static void t_io(void *data, int fd, unsigned events) {
    test_loop_t *t = data;
    char c;
    if ((events & ROAM_LOOP_IN) && read(fd, &c, 1) == 1) t_answer(t, t->woken, &t->nwoken, "pipe");
}

static void t_timer(void *data) {
    test_loop_t *t = data;
    t_answer(t, t->later, &t->nlater, "timer");
}

static void t_stop(void *data) {
    test_loop_t *t = data;
    t_answer(t, t->later, &t->nlater, "timer");
    t_answer(t, t->woken, &t->nwoken, "pipe");
    for (int i = 0; i < t->nnever; i++) {
        roam_respond_problem(t->never[i], "upstream_unavailable", "Shutting down");
        roam_req_resume(t->never[i]);
    }
    close(t->pipe[0]);
    close(t->pipe[1]);
    free(t);
    atomic_fetch_add(&loops_stopped, 1);
}

static const roam_loop_hooks_t test_hooks = {t_start, t_io, t_timer, t_stop, NULL};

static test_loop_t *loop_of(roam_req_t *req) {
    roam_loop_t *l = roam_req_loop(req);
    return l ? roam_loop_data(l) : NULL;
}

static int h_later(roam_req_t *req) {
    test_loop_t *t = loop_of(req);
    if (t == NULL) return roam_respond_empty(req, 501);
    roam_req_suspend(req);
    t->later[t->nlater++] = req;
    roam_loop_set_timer(t->loop, (int64_t)roam_now_mono_ns() + 100 * 1000000LL);
    return ROAM_HTTP_SUSPENDED;
}

static void *write_pipe_later(void *arg) {
    usleep(50 * 1000);
    char c = 'x';
    ssize_t n = write(*(int *)arg, &c, 1);
    (void)n;
    return NULL;
}

static int h_wake(roam_req_t *req) {
    test_loop_t *t = loop_of(req);
    if (t == NULL) return roam_respond_empty(req, 501);
    roam_req_suspend(req);
    t->woken[t->nwoken++] = req;
    pthread_t th;
    pthread_create(&th, NULL, write_pipe_later, &t->pipe[1]);
    pthread_detach(th);
    return ROAM_HTTP_SUSPENDED;
}

static int h_never(roam_req_t *req) {
    test_loop_t *t = loop_of(req);
    if (t == NULL) return roam_respond_empty(req, 501);
    roam_req_suspend(req);
    t->never[t->nnever++] = req;
    return ROAM_HTTP_SUSPENDED;
}

/* Accepts the token "good-<role>" as user u1 with that role. */
static int fake_auth(void *ctx, const char *token, roam_claims_t *claims) {
    (void)ctx;
    if (strncmp(token, "good-", 5) != 0) return ROAM_EDENIED;
    snprintf(claims->sub, sizeof(claims->sub), "u1");
    snprintf(claims->role, sizeof(claims->role), "%s", token + 5);
    return 0;
}

static const roam_route_t routes[] = {
    {"GET", "/hello", NULL, 0, h_hello},
    {"POST", "/echo", NULL, 0, h_echo},
    {"GET", "/items/{id}", NULL, 0, h_item},
    {"DELETE", "/items/{id}", NULL, 0, h_item},
    {"GET", "/slow", NULL, 0, h_slow},
    {"GET", "/forgets", NULL, 0, h_forgets},
    {"GET", "/me", "any", 0, h_whoami},
    {"GET", "/ops", "operator|admin", 0, h_whoami},
    {"POST", "/small", NULL, 16, h_small},
    {"GET", "/internal/x", "internal", 0, h_internal},
    {"GET", "/client", NULL, 0, h_internal},
    {"GET", "/async", NULL, 0, h_async},
    {"GET", "/later", NULL, 0, h_later},
    {"GET", "/wake", NULL, 0, h_wake},
    {"GET", "/never", NULL, 0, h_never},
};

static roam_http_server_t *server;
static char base[64];

typedef struct {
    long status;
    char body[8192];
    size_t len;
    char headers[8192];
    size_t hlen;
    long connects;
} resp_t;

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
    resp_t *r = ud;
    size_t len = sz * n;
    if (r->len + len < sizeof(r->body)) {
        memcpy(r->body + r->len, p, len);
        r->len += len;
        r->body[r->len] = '\0';
    }
    return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
    resp_t *r = ud;
    size_t len = sz * n;
    if (r->hlen + len < sizeof(r->headers)) {
        memcpy(r->headers + r->hlen, p, len);
        r->hlen += len;
        r->headers[r->hlen] = '\0';
    }
    return len;
}

/* One request on handle h (reused across calls for keep-alive checks). */
static void request(CURL *h, const char *method, const char *path, const char *body, long body_len,
                    const char *const *headers, resp_t *r) {
    char url[512];
    snprintf(url, sizeof(url), "%s%s", base, path);
    memset(r, 0, sizeof(*r));
    struct curl_slist *hl = NULL;
    for (const char *const *p = headers; p && *p; p++) hl = curl_slist_append(hl, *p);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, body_len >= 0 ? body_len : (long)strlen(body));
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->connects);
    }
    curl_slist_free_all(hl);
}

static void get(const char *path, resp_t *r) {
    CURL *h = curl_easy_init();
    request(h, "GET", path, NULL, 0, NULL, r);
    curl_easy_cleanup(h);
}

static void post(const char *path, const char *body, const char *ctype, resp_t *r) {
    CURL *h = curl_easy_init();
    char ct[128];
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
    const char *hdrs[] = {ct, NULL};
    request(h, "POST", path, body, -1, hdrs, r);
    curl_easy_cleanup(h);
}

static json_t *parse(const resp_t *r) { return json_loads(r->body, 0, NULL); }

static const char *code_of(json_t *doc) { return json_string_value(json_object_get(doc, "code")); }

static int has_header(const resp_t *r, const char *needle) { return strcasestr(r->headers, needle) != NULL; }

static void test_hello_and_request_ids(void) {
    resp_t r;
    get("/hello", &r);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"message\":\"hello\"") != NULL);
    CHECK(has_header(&r, "Content-Type: application/json"));
    CHECK(has_header(&r, "X-Request-Id: "));

    CURL *h = curl_easy_init();
    const char *mine[] = {"X-Request-Id: my-trace 42", NULL};
    request(h, "GET", "/hello", NULL, 0, mine, &r);
    CHECK(has_header(&r, "X-Request-Id: my-trace 42\r\n"));
    char longid[200 + 20] = "X-Request-Id: ";
    memset(longid + 14, 'a', 200);
    longid[214] = '\0';
    const char *toolong[] = {longid, NULL};
    request(h, "GET", "/hello", NULL, 0, toolong, &r);
    CHECK_INT(r.status, 200);
    CHECK(!has_header(&r, "X-Request-Id: aaaa"));
    CHECK(has_header(&r, "X-Request-Id: "));
    curl_easy_cleanup(h);
}

static void test_keep_alive(void) {
    CURL *h = curl_easy_init();
    resp_t r;
    request(h, "GET", "/hello", NULL, 0, NULL, &r);
    CHECK_INT(r.connects, 1);
    for (int i = 0; i < 5; i++) {
        request(h, "GET", "/hello", NULL, 0, NULL, &r);
        CHECK_INT(r.status, 200);
        CHECK_INT(r.connects, 0); /* the connection was reused */
        CHECK(!has_header(&r, "Connection: close"));
    }
    /* Keep-alive survives a 404 and a POST with a body too. */
    request(h, "GET", "/missing", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 404);
    const char *ct[] = {"Content-Type: application/json", NULL};
    request(h, "POST", "/echo", "{\"a\":1}", -1, ct, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.connects, 0);
    curl_easy_cleanup(h);
}

static void test_not_found_and_method(void) {
    resp_t r;
    get("/nope", &r);
    CHECK_INT(r.status, 404);
    CHECK(has_header(&r, "Content-Type: application/problem+json"));
    json_t *doc = parse(&r);
    CHECK_STR(code_of(doc), "not_found");
    CHECK_INT(json_integer_value(json_object_get(doc, "status")), 404);
    CHECK_STR(json_string_value(json_object_get(doc, "type")), "urn:roam:problem:not_found");
    CHECK(json_is_string(json_object_get(doc, "title")));
    CHECK(json_is_string(json_object_get(doc, "detail")));
    json_decref(doc);

    post("/hello", "{}", "application/json", &r);
    CHECK_INT(r.status, 405);
    CHECK(has_header(&r, "Allow: GET\r\n"));
    doc = parse(&r);
    CHECK_STR(code_of(doc), "method_not_allowed");
    json_decref(doc);

    CURL *h = curl_easy_init();
    request(h, "PUT", "/items/1", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 405);
    CHECK(has_header(&r, "Allow: GET, DELETE\r\n"));
    curl_easy_cleanup(h);
}

static void test_params_and_query(void) {
    resp_t r;
    get("/items/caf%C3%A9%2Fx?q=a+b%26c&z=1", &r);
    CHECK_INT(r.status, 200);
    json_t *doc = parse(&r);
    CHECK_STR(json_string_value(json_object_get(doc, "id")), "caf\xc3\xa9/x");
    CHECK_STR(json_string_value(json_object_get(doc, "q")), "a b&c");
    CHECK_STR(json_string_value(json_object_get(doc, "raw")), "q=a+b%26c&z=1");
    json_decref(doc);
    get("/items/a/../hello", &r);
    CHECK_INT(r.status, 404);
    get("/items//x", &r);
    CHECK_INT(r.status, 404);
}

static void test_bodies(void) {
    resp_t r;
    post("/echo", "{\"b\": [1, 2], \"s\": \"\xc3\xa9\"}", "application/json; charset=utf-8", &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "{\"b\":[1,2],\"s\":\"\xc3\xa9\"}");

    post("/echo", "{\"a\":", "application/json", &r);
    CHECK_INT(r.status, 400);
    json_t *doc = parse(&r);
    CHECK_STR(code_of(doc), "malformed_json");
    json_decref(doc);

    post("/echo", "{\"a\":\"\xff\xfe\"}", "application/json", &r);
    CHECK_INT(r.status, 400);
    doc = parse(&r);
    CHECK_STR(code_of(doc), "malformed_json");
    json_decref(doc);

    post("/echo", "{\"a\":1,\"a\":2}", "application/json", &r);
    CHECK_INT(r.status, 400);

    post("/echo", "[1,2]", "application/json", &r);
    CHECK_INT(r.status, 422);
    doc = parse(&r);
    CHECK_STR(code_of(doc), "validation_failed");
    CHECK(json_is_array(json_object_get(doc, "errors")));
    json_decref(doc);

    post("/echo", "{\"a\":1}", "text/plain", &r);
    CHECK_INT(r.status, 415);
    doc = parse(&r);
    CHECK_STR(code_of(doc), "unsupported_media_type");
    json_decref(doc);
    post("/echo", "{\"a\":1}", "application/json; charset=latin1", &r);
    CHECK_INT(r.status, 415);

    /* No body: handlers see an empty object. */
    CURL *h = curl_easy_init();
    request(h, "POST", "/echo", "", 0, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "{}");
    curl_easy_cleanup(h);
}

static void test_body_limits(void) {
    resp_t r;
    size_t big = ROAM_HTTP_BODY_LIMIT + 10;
    char *body = malloc(big + 1);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    body[big] = '\0';
    post("/echo", body, "application/json", &r);
    CHECK_INT(r.status, 413);
    json_t *doc = parse(&r);
    CHECK_STR(code_of(doc), "payload_too_large");
    json_decref(doc);

    /* Exactly at the limit is accepted. */
    body[ROAM_HTTP_BODY_LIMIT - 1] = '}';
    body[ROAM_HTTP_BODY_LIMIT] = '\0';
    post("/echo", body, "application/json", &r);
    CHECK_INT(r.status, 200);
    free(body);

    /* A per-route limit, and a chunked body (no Content-Length) past it. */
    post("/small", "{\"aaaaaaaaaaaaaaaaaaaa\":1}", "application/json", &r);
    CHECK_INT(r.status, 413);
    CURL *h = curl_easy_init();
    const char *chunked[] = {"Content-Type: application/json", "Transfer-Encoding: chunked", NULL};
    request(h, "POST", "/small", "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}", -1, chunked, &r);
    CHECK_INT(r.status, 413);
    request(h, "POST", "/small", "{}", -1, chunked, &r);
    CHECK_INT(r.status, 204);
    curl_easy_cleanup(h);

    /* The server is still fine. */
    get("/hello", &r);
    CHECK_INT(r.status, 200);
}

static void test_auth(void) {
    resp_t r;
    get("/me", &r);
    CHECK_INT(r.status, 401);
    CHECK(has_header(&r, "WWW-Authenticate: Bearer"));
    json_t *doc = parse(&r);
    CHECK_STR(code_of(doc), "unauthorized");
    json_decref(doc);

    CURL *h = curl_easy_init();
    const char *bad[] = {"Authorization: Bearer nope", NULL};
    request(h, "GET", "/me", NULL, 0, bad, &r);
    CHECK_INT(r.status, 401);
    const char *trav[] = {"Authorization: Bearer good-traveller", NULL};
    request(h, "GET", "/me", NULL, 0, trav, &r);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"role\":\"traveller\"") != NULL);
    request(h, "GET", "/ops", NULL, 0, trav, &r);
    CHECK_INT(r.status, 403);
    doc = parse(&r);
    CHECK_STR(code_of(doc), "forbidden");
    json_decref(doc);
    const char *adm[] = {"Authorization: Bearer good-admin", NULL};
    request(h, "GET", "/ops", NULL, 0, adm, &r);
    CHECK_INT(r.status, 200);
    curl_easy_cleanup(h);
}

static void test_handler_without_response(void) {
    resp_t r;
    get("/forgets", &r);
    CHECK_INT(r.status, 500);
    json_t *doc = parse(&r);
    CHECK_STR(code_of(doc), "internal_error");
    json_decref(doc);
}

static void test_internal_routes(void) {
    resp_t r;
    get("/internal/x", &r);
    CHECK_INT(r.status, 404); /* without the secret the route does not exist */
    CURL *h = curl_easy_init();
    const char *wrong[] = {"X-Roam-Internal: not-the-secret-at-all", NULL};
    request(h, "GET", "/internal/x", NULL, 0, wrong, &r);
    CHECK_INT(r.status, 404);
    const char *right[] = {"X-Roam-Internal: s3cret-s3cret-s3cret", "X-Forwarded-For: 203.0.113.7, 10.0.0.1", NULL};
    request(h, "GET", "/internal/x", NULL, 0, right, &r);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"client\":\"203.0.113.7\"") != NULL);
    /* X-Forwarded-For from anyone without the secret is ignored. */
    const char *spoof[] = {"X-Forwarded-For: 203.0.113.7", NULL};
    request(h, "GET", "/client", NULL, 0, spoof, &r);
    CHECK(strstr(r.body, "\"client\":\"127.0.0.1\"") != NULL);
    curl_easy_cleanup(h);
}

/* Suspended requests tie up no worker thread: 12 of them at once, with 2 threads, all finish in about 200 ms. */
static void test_suspended_requests(void) {
    CURLM *m = curl_multi_init();
    enum { N = 12 };
    CURL *hs[N];
    resp_t rs[N];
    char url[128];
    snprintf(url, sizeof(url), "%s/async", base);
    for (int i = 0; i < N; i++) {
        memset(&rs[i], 0, sizeof(rs[i]));
        hs[i] = curl_easy_init();
        curl_easy_setopt(hs[i], CURLOPT_URL, url);
        curl_easy_setopt(hs[i], CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(hs[i], CURLOPT_WRITEDATA, &rs[i]);
        curl_multi_add_handle(m, hs[i]);
    }
    uint64_t t0 = roam_now_mono_ns();
    resp_t quick;
    int running = 1, quick_done = 0;
    while (running) {
        curl_multi_perform(m, &running);
        if (!quick_done && roam_now_mono_ns() - t0 > 50 * 1000000ull) {
            /* While they wait, an ordinary request is answered at once. */
            uint64_t q0 = roam_now_mono_ns();
            get("/hello", &quick);
            CHECK_INT(quick.status, 200);
            CHECK((roam_now_mono_ns() - q0) / 1000000 < 100);
            quick_done = 1;
        }
        curl_multi_poll(m, NULL, 0, 50, NULL);
    }
    uint64_t took_ms = (roam_now_mono_ns() - t0) / 1000000;
    CHECK(took_ms < 1000);
    for (int i = 0; i < N; i++) {
        long st = 0;
        curl_easy_getinfo(hs[i], CURLINFO_RESPONSE_CODE, &st);
        CHECK_INT(st, 200);
        CHECK(strstr(rs[i].body, "\"async\":true") != NULL);
        curl_multi_remove_handle(m, hs[i]);
        curl_easy_cleanup(hs[i]);
    }
    curl_multi_cleanup(m);
}

static void test_metrics(void) {
    roam_buf_t b;
    REQUIRE(roam_metrics_render(&b) == 0);
    CHECK(strstr(b.buf, "roam_http_requests_total{route=\"/hello\",method=\"GET\",status=\"200\"}") != NULL);
    CHECK(strstr(b.buf, "roam_http_requests_total{route=\"(unmatched)\",method=\"\",status=\"404\"}") != NULL);
    CHECK(strstr(b.buf, "roam_http_request_duration_seconds_bucket{route=\"/hello\",method=\"GET\",le=\"+Inf\"}") != NULL);
    free(b.buf);
}

static void *slow_client(void *arg) {
    resp_t *r = arg;
    get("/slow", r);
    return NULL;
}

static void test_graceful_shutdown(void) {
    resp_t slow;
    pthread_t t;
    pthread_create(&t, NULL, slow_client, &slow);
    usleep(150 * 1000);
    CHECK_INT(roam_http_server_inflight(server), 1);
    uint64_t t0 = roam_now_mono_ns();
    roam_http_server_shutdown(server);
    uint64_t took_ms = (roam_now_mono_ns() - t0) / 1000000;
    pthread_join(t, NULL);
    CHECK_INT(slow.status, 200); /* the in-flight request finished */
    CHECK(took_ms < 2000);
    resp_t r;
    get("/hello", &r);
    CHECK_INT(r.status, 0); /* no longer accepting */
}

/* --- Event loops only -------------------------------------------------------- */

static int loop_id(const resp_t *r) {
    json_t *doc = json_loads(r->body, 0, NULL);
    int id = (int)json_integer_value(json_object_get(doc, "loop"));
    json_decref(doc);
    return doc ? id : -1;
}

/* The loop's timer and a watched descriptor answer suspended requests, on the loop's own thread. */
static void test_loop_timer_and_io(void) {
    resp_t r;
    uint64_t t0 = roam_now_mono_ns();
    get("/later", &r);
    uint64_t ms = (roam_now_mono_ns() - t0) / 1000000;
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"how\":\"timer\"") != NULL);
    CHECK(ms >= 90 && ms < 1000);
    t0 = roam_now_mono_ns();
    get("/wake", &r);
    ms = (roam_now_mono_ns() - t0) / 1000000;
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"how\":\"pipe\"") != NULL);
    CHECK(ms >= 40 && ms < 1000);
}

/* New connections are dealt out over the loops, whichever loop accepted them. */
static void test_connections_dealt_out(void) {
    enum { N = 8 };
    CURL *hs[N];
    int seen[4] = {0};
    resp_t r;
    for (int i = 0; i < N; i++) {
        hs[i] = curl_easy_init();
        request(hs[i], "GET", "/later", NULL, 0, NULL, &r);
        CHECK_INT(r.status, 200);
        int id = loop_id(&r);
        if (id >= 0 && id < 4) seen[id]++;
    }
    CHECK_INT(seen[0], N / 2);
    CHECK_INT(seen[1], N / 2);
    /* A kept-alive connection stays on its loop. */
    int first = -1;
    for (int k = 0; k < 3; k++) {
        request(hs[0], "GET", "/later", NULL, 0, NULL, &r);
        CHECK_INT(r.connects, 0);
        if (first < 0) first = loop_id(&r);
        CHECK_INT(loop_id(&r), first);
    }
    for (int i = 0; i < N; i++) curl_easy_cleanup(hs[i]);
}

static void *never_client(void *arg) {
    get("/never", arg);
    return NULL;
}

/* A request still held when the grace period ends is answered by the loop's stop hook, not dropped. */
static void test_shutdown_answers_held_requests(void) {
    resp_t held;
    pthread_t t;
    pthread_create(&t, NULL, never_client, &held);
    usleep(150 * 1000);
    CHECK_INT(roam_http_server_inflight(server), 1);
    uint64_t t0 = roam_now_mono_ns();
    roam_http_server_shutdown(server);
    uint64_t took_ms = (roam_now_mono_ns() - t0) / 1000000;
    pthread_join(t, NULL);
    CHECK_INT(held.status, 503);
    CHECK(took_ms >= 250 && took_ms < 2000); /* the grace period (300 ms), then the answer */
    CHECK_INT(atomic_load(&loops_stopped), 2);
    CHECK_INT(roam_http_server_inflight(server), 0);
}

static unsigned max_connections = 1024;

static int start_server(unsigned loops, unsigned shutdown_ms) {
    roam_http_opts_t o;
    roam_http_opts_init(&o);
    o.port = 0;
    o.max_connections = max_connections;
    o.threads = 2;
    o.access_log = 0;
    o.auth = fake_auth;
    o.shutdown_timeout_ms = shutdown_ms;
    o.internal_secret = "s3cret-s3cret-s3cret";
    o.event_loops = loops;
    o.loop_hooks = loops ? &test_hooks : NULL;
    char err[256];
    server = roam_http_server_new(&o, routes, ROAM_ARRAY_LEN(routes), err, sizeof(err));
    if (server == NULL || roam_http_server_start(server) != 0) {
        fprintf(stderr, "cannot start server: %s\n", server ? "see log" : err);
        return -1;
    }
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", roam_http_server_port(server));
    return 0;
}

/* At the connection limit, new connections wait (in the listen backlog) until one closes. */
static void test_connection_limit(void) {
    CURL *hs[3];
    resp_t r;
    for (int i = 0; i < 3; i++) {
        hs[i] = curl_easy_init();
        request(hs[i], "GET", "/hello", NULL, 0, NULL, &r);
        CHECK_INT(r.status, 200);
    }
    CURL *extra = curl_easy_init();
    curl_easy_setopt(extra, CURLOPT_TIMEOUT_MS, 400L);
    char url[128];
    snprintf(url, sizeof(url), "%s/hello", base);
    curl_easy_setopt(extra, CURLOPT_URL, url);
    curl_easy_setopt(extra, CURLOPT_WRITEFUNCTION, on_body);
    memset(&r, 0, sizeof(r));
    curl_easy_setopt(extra, CURLOPT_WRITEDATA, &r);
    CHECK(curl_easy_perform(extra) == CURLE_OPERATION_TIMEDOUT); /* held back, not refused */
    curl_easy_cleanup(hs[0]);                                   /* one closes ... */
    curl_easy_setopt(extra, CURLOPT_TIMEOUT_MS, 2000L);
    memset(&r, 0, sizeof(r));
    CHECK(curl_easy_perform(extra) == CURLE_OK); /* ... and the waiting one is served */
    long st = 0;
    curl_easy_getinfo(extra, CURLINFO_RESPONSE_CODE, &st);
    CHECK_INT(st, 200);
    curl_easy_cleanup(extra);
    for (int i = 1; i < 3; i++) curl_easy_cleanup(hs[i]);
}

/* Everything a daemon relies on, whichever way the server runs. */
static int run_common(unsigned loops) {
    fprintf(stderr, "== %s\n", loops ? "event loops" : "thread pool");
    if (start_server(loops, 3000) != 0) return -1;
    RUN(test_hello_and_request_ids);
    RUN(test_keep_alive);
    RUN(test_not_found_and_method);
    RUN(test_params_and_query);
    RUN(test_bodies);
    RUN(test_body_limits);
    RUN(test_auth);
    RUN(test_handler_without_response);
    RUN(test_internal_routes);
    RUN(test_suspended_requests);
    RUN(test_metrics);
    RUN(test_graceful_shutdown);
    roam_http_server_free(server);
    return 0;
}

int main(void) {
    roam_log_init("test", ROAM_LOG_WARN);
    curl_global_init(CURL_GLOBAL_ALL);
    if (run_common(0) != 0 || run_common(2) != 0) return 1;
    fprintf(stderr, "== event loops only\n");
    atomic_store(&loops_started, 0);
    atomic_store(&loops_stopped, 0);
    if (start_server(2, 300) != 0) return 1;
    RUN(test_loop_timer_and_io);
    RUN(test_connections_dealt_out);
    RUN(test_shutdown_answers_held_requests);
    roam_http_server_free(server);
    max_connections = 3;
    if (start_server(2, 300) != 0) return 1;
    RUN(test_connection_limit);
    roam_http_server_free(server);
    curl_global_cleanup();
    CHECK_DONE();
}
