/*
 * Outbound HTTP over libcurl's easy interface.
 *
 * Each thread owns one easy handle (a __thread pointer, also registered with
 * a pthread key so it is freed when the thread exits). curl_easy_reset
 * between calls clears the options but keeps the handle's connection cache,
 * so consecutive calls to one host reuse a single connection.
 *
 * Retries: only a call that is safe to repeat (GET, HEAD, PUT, DELETE,
 * OPTIONS, or flagged idempotent) is tried again, and only when no answer
 * came back (connect failure, timeout, connection lost) or the answer was
 * 502, 503 or 504. Backoff is 50 ms, 150 ms, 450 ms, then 1 s per attempt.
 */
#include <roam/common.h>
#include <roam/config.h>
#include <roam/httpc.h>
#include <roam/log.h>
#include <roam/metrics.h>

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BODY_MAX (8u * 1024 * 1024) /* a larger response body fails the call */
#define BACKOFF_FIRST_MS 50
#define BACKOFF_MAX_MS 1000
#define RETRIES_MAX 5

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_ok;
static pthread_key_t handle_key; /* its destructor frees a thread's handle at thread exit */
static __thread CURL *tls_handle;

static void handle_destroy(void *h) { curl_easy_cleanup(h); }

static void global_init(void) {
    init_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK && pthread_key_create(&handle_key, handle_destroy) == 0;
}

/* Returns this thread's handle, creating it on first use; NULL when curl cannot start. */
static CURL *thread_handle(void) {
    pthread_once(&init_once, global_init);
    if (!init_ok) return NULL;
    if (tls_handle == NULL) {
        tls_handle = curl_easy_init();
        if (tls_handle != NULL) pthread_setspecific(handle_key, tls_handle);
    }
    return tls_handle;
}

void roam_httpc_thread_cleanup(void) {
    if (tls_handle == NULL) return;
    pthread_setspecific(handle_key, NULL);
    curl_easy_cleanup(tls_handle);
    tls_handle = NULL;
}

void roam_httpc_opts_init(roam_httpc_opts_t *opts) {
    opts->timeout_ms = 5000;
    opts->connect_timeout_ms = 1000;
    opts->retries = 2;
    opts->idempotent = 0;
}

void roam_httpc_resp_cleanup(roam_httpc_resp_t *r) {
    if (r == NULL) return;
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

json_t *roam_httpc_resp_json(const roam_httpc_resp_t *r) {
    if (r == NULL || r->body == NULL) return NULL;
    return json_loadb(r->body, r->len, 0, NULL);
}

/* The response body as it arrives. */
typedef struct {
    char *buf;
    size_t len, cap;
    int too_big, oom;
} sink_t;

static size_t sink_write(char *data, size_t size, size_t nmemb, void *ud) {
    sink_t *s = ud;
    size_t n = size * nmemb;
    if (n > BODY_MAX - s->len) {
        s->too_big = 1;
        return 0; /* anything but n aborts the transfer */
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1) cap *= 2;
        char *p = realloc(s->buf, cap);
        if (p == NULL) {
            s->oom = 1;
            return 0;
        }
        s->buf = p;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

/* A method is sent verbatim on the request line, so it must be a plain token. */
static int method_ok(const char *m) {
    if (m[0] == '\0' || strlen(m) > 16) return 0;
    for (const char *p = m; *p; p++)
        if (*p < 'A' || *p > 'Z') return 0;
    return 1;
}

static int method_idempotent(const char *m) {
    static const char *const safe[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < ROAM_ARRAY_LEN(safe); i++)
        if (strcmp(m, safe[i]) == 0) return 1;
    return 0;
}

/* True unless s holds a control character (CR and LF above all) that could split a header line. */
static int text_ok(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t') return 0;
    return 1;
}

/* True when the caller's headers already carry name (case-insensitive). */
static int has_header(const char *const *headers, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':') return 1;
    return 0;
}

/*
 * Builds the header list: the caller's, then the thread's trace context
 * unless the caller set it, and "Expect:" so a large body is not held back
 * waiting for a 100 Continue. Returns 0, ROAM_EINVAL (a header with a line
 * break) or ROAM_ENOMEM; *out is new (curl_slist_free_all) on success.
 */
static int build_headers(const char *const *headers, struct curl_slist **out) {
    struct curl_slist *list = NULL, *next;
    char line[512];
    *out = NULL;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        if (!text_ok(headers[i]) || strchr(headers[i], ':') == NULL) {
            curl_slist_free_all(list);
            return ROAM_EINVAL;
        }
        if ((next = curl_slist_append(list, headers[i])) == NULL) goto oom;
        list = next;
    }
    /* The context comes from an inbound request: drop a value that could inject a header. */
    const char *rid = roam_log_request_id();
    if (rid != NULL && rid[0] != '\0' && text_ok(rid) && !has_header(headers, "X-Request-Id")) {
        snprintf(line, sizeof(line), "X-Request-Id: %s", rid);
        if ((next = curl_slist_append(list, line)) == NULL) goto oom;
        list = next;
    }
    const char *tp = roam_log_traceparent();
    if (tp != NULL && tp[0] != '\0' && text_ok(tp) && !has_header(headers, "traceparent")) {
        snprintf(line, sizeof(line), "traceparent: %s", tp);
        if ((next = curl_slist_append(list, line)) == NULL) goto oom;
        list = next;
    }
    if (!has_header(headers, "Expect")) {
        if ((next = curl_slist_append(list, "Expect:")) == NULL) goto oom;
        list = next;
    }
    *out = list;
    return 0;
oom:
    curl_slist_free_all(list);
    return ROAM_ENOMEM;
}

static void sleep_ms(long ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Maps a transfer error to a ROAM_E* code; *retryable says whether another attempt may help. */
static int map_curl_error(CURLcode cc, const sink_t *sink, int *retryable) {
    *retryable = 0;
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        *retryable = 1;
        return ROAM_ETIMEDOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
        *retryable = 1;
        return ROAM_EUNAVAIL;
    case CURLE_WRITE_ERROR:
        return sink->oom ? ROAM_ENOMEM : ROAM_EIO; /* body over BODY_MAX */
    case CURLE_OUT_OF_MEMORY:
        return ROAM_ENOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return ROAM_EINVAL;
    default:
        return ROAM_EIO;
    }
}

/* Sets up h for one attempt. Returns 0 or -1 (curl refused an option). */
static int prepare(CURL *h, const char *method, const char *url, struct curl_slist *hdrs, const void *body, size_t len,
                   const roam_httpc_opts_t *o, sink_t *sink, char *errbuf) {
    curl_easy_reset(h);
    int bad = 0;
    bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, sink) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK;
    if (strcmp(method, "GET") == 0) {
        bad |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;
    } else if (strcmp(method, "HEAD") == 0) {
        bad |= curl_easy_setopt(h, CURLOPT_NOBODY, 1L) != CURLE_OK;
    } else {
        if (strcmp(method, "POST") != 0) bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK;
        /* A body is sent when given; POST, PUT and PATCH always send one (maybe empty, Content-Length: 0). */
        if (body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
            bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "") != CURLE_OK;
            bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body != NULL ? len : 0)) != CURLE_OK;
        }
    }
    return bad ? -1 : 0;
}

int roam_httpc_do(const char *method, const char *url, const char *const *headers, const void *body, size_t len,
                  const roam_httpc_opts_t *opts, roam_httpc_resp_t *out) {
    if (out == NULL) return ROAM_EINVAL;
    memset(out, 0, sizeof(*out));
    if (method == NULL || url == NULL || !method_ok(method)) return ROAM_EINVAL;
    roam_httpc_opts_t o;
    roam_httpc_opts_init(&o);
    if (opts != NULL) o = *opts;
    if (o.timeout_ms <= 0) o.timeout_ms = 5000;
    if (o.connect_timeout_ms <= 0) o.connect_timeout_ms = 1000;
    if (o.retries < 0) o.retries = 0;
    if (o.retries > RETRIES_MAX) o.retries = RETRIES_MAX;
    int may_retry = method_idempotent(method) || o.idempotent;

    CURL *h = thread_handle();
    if (h == NULL) return ROAM_ENOMEM;
    struct curl_slist *hdrs;
    int rc = build_headers(headers, &hdrs);
    if (rc != 0) return rc;

    char errbuf[CURL_ERROR_SIZE];
    long backoff = BACKOFF_FIRST_MS;
    for (int attempt = 0;; attempt++) {
        sink_t sink = {0};
        int retryable = 0;
        errbuf[0] = '\0';
        if (prepare(h, method, url, hdrs, body, len, &o, &sink, errbuf) != 0) {
            rc = ROAM_EINVAL;
        } else {
            CURLcode cc = curl_easy_perform(h);
            if (cc == CURLE_OK) {
                long status = 0;
                char *ctype = NULL;
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
                curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
                roam_httpc_resp_cleanup(out);
                out->status = status;
                out->body = sink.buf; /* steals */
                out->len = sink.len;
                sink.buf = NULL;
                snprintf(out->content_type, sizeof(out->content_type), "%s", ctype != NULL ? ctype : "");
                rc = 0;
                retryable = status == 502 || status == 503 || status == 504;
            } else {
                rc = map_curl_error(cc, &sink, &retryable);
                roam_debug("httpc %s %s: %s", method, url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
            }
        }
        free(sink.buf);
        if (!(retryable && may_retry && attempt < o.retries)) break;
        sleep_ms(backoff);
        backoff = backoff * 3 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 3;
    }
    curl_slist_free_all(hdrs);
    /* The options point at the caller's url and body and our header list: leave nothing dangling. */
    curl_easy_reset(h);
    if (rc != 0 || out->status >= 500) roam_metrics_dep_error("upstream");
    if (rc != 0) {
        /* The last attempt got no answer, whatever earlier ones got. */
        roam_httpc_resp_cleanup(out);
        out->status = 0;
        out->content_type[0] = '\0';
    }
    return rc;
}

int roam_httpc_json(const char *method, const char *url, const char *const *headers, json_t *body,
                    const roam_httpc_opts_t *opts, roam_httpc_resp_t *out) {
    if (out == NULL) return ROAM_EINVAL;
    memset(out, 0, sizeof(*out));
    size_t n = 0;
    while (headers != NULL && headers[n] != NULL) n++;
    const char **all = calloc(n + 3, sizeof(*all));
    char *text = NULL;
    if (all == NULL) return ROAM_ENOMEM;
    if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
        free(all);
        return ROAM_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) all[k++] = headers[i];
    if (text != NULL && !has_header(headers, "Content-Type")) all[k++] = "Content-Type: application/json";
    if (!has_header(headers, "Accept")) all[k++] = "Accept: application/json";
    int rc = roam_httpc_do(method, url, all, text, text != NULL ? strlen(text) : 0, opts, out);
    free(text);
    free(all);
    return rc;
}

int roam_httpc_call(const char *method, const char *url, const char *const *headers, json_t *body,
                    const roam_httpc_opts_t *opts, long *status, json_t **doc) {
    roam_httpc_resp_t resp;
    *status = 0;
    *doc = NULL;
    int rc = roam_httpc_json(method, url, headers, body, opts, &resp);
    if (rc != 0) {
        roam_httpc_resp_cleanup(&resp);
        roam_warn("%s %s failed: %s", method, url, roam_strerror(rc));
        return rc == ROAM_ETIMEDOUT || rc == ROAM_ENOMEM ? rc : ROAM_EUNAVAIL;
    }
    *status = resp.status;
    *doc = roam_httpc_resp_json(&resp);
    roam_httpc_resp_cleanup(&resp);
    return 0;
}

static pthread_once_t internal_once = PTHREAD_ONCE_INIT;
static char *internal_header;

static void internal_header_init(void) {
    const char *secret = roam_config_str("ROAM_INTERNAL_SECRET", NULL);
    if (strlen(secret) < 16) roam_config_fail("ROAM_INTERNAL_SECRET", "(hidden)", "must be at least 16 characters");
    size_t n = strlen("X-Roam-Internal: ") + strlen(secret) + 1;
    internal_header = roam_xmalloc(n);
    snprintf(internal_header, n, "X-Roam-Internal: %s", secret);
}

const char *roam_httpc_internal_header(void) {
    pthread_once(&internal_once, internal_header_init);
    return internal_header;
}
