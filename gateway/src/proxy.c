/*
 * The non-blocking proxy. The gateway serves on the core's event loops
 * (roam/http.h), and each loop owns a libcurl multi handle (its own
 * connection cache, so connections to the services are reused) whose
 * sockets and timer that loop watches. A handler suspends the client's
 * connection and adds the upstream call to its own loop's multi handle; the
 * same thread answers and resumes the request when the service replies,
 * fails or times out. No request ever crosses to another thread, and no
 * loop ever waits on a service, so one stuck service stalls nobody else.
 */
#include "gateway.h"

#include <roam/authn.h>
#include <roam/common.h>
#include <roam/daemon.h>
#include <roam/log.h>
#include <roam/metrics.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESP_MAX (8u << 20) /* a larger upstream answer is refused (502-class, answered 503) */
#define MAX_FWD_HEADERS 8

typedef struct gw_loop gw_loop_t;

typedef struct xfer {
    struct xfer *prev, *next; /* the loop's calls in flight */
    gw_loop_t *loop;
    roam_req_t *req;
    const char *service;
    char *url;
    struct curl_slist *headers;
    CURL *easy;
    char *body; /* the response, malloc'ed */
    size_t len, cap;
    int too_big;
    char content_type[128];
    char fwd[MAX_FWD_HEADERS][2][256]; /* response headers passed to the client */
    int nfwd;
    char revoke_jti[64]; /* a logout's token: revoked here once the service confirms */
    long long revoke_exp;
} xfer_t;

struct gw_proxy {
    gw_proxy_opts_t o;
    atomic_uint inflight;
};

/* One per HTTP event loop, used only on that loop's thread. */
struct gw_loop {
    gw_proxy_t *proxy;
    roam_loop_t *loop;
    CURLM *multi;
    xfer_t *active;  /* calls in flight */
    CURL *idle[64];  /* finished easy handles, reset and ready for the next call */
    int nidle;
    uint8_t *fds;    /* per descriptor: FD_* flags and the ROAM_LOOP_* events registered */
    int nfds;
};

/*
 * libcurl asks to stop watching a connection's socket after every call and
 * to watch it again at the next, which would cost three epoll_ctl calls per
 * proxied request. For the sockets libcurl opens and closes through our
 * callbacks (its connections, not its resolver's pipe) the registration is
 * kept while the connection idles in the cache: an event on an idle socket
 * (the service closed it) removes it then, and libcurl finds the connection
 * dead before reusing it. The close callback forgets the descriptor before
 * its number can be reused.
 */
#define FD_OURS 0x10u   /* opened through on_open, closed through on_close */
#define FD_WANTED 0x20u /* libcurl currently wants events on it */
#define FD_EVENTS 0x0fu

/* Response headers a client needs to see; everything else stays between gateway and service. */
static const char *const passed_headers[] = {"Retry-After", "Idempotent-Replayed", "Allow", "WWW-Authenticate",
                                             "Location", "Cache-Control", NULL};

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
    xfer_t *x = ud;
    size_t len = size * n;
    if (x->len + len > RESP_MAX) {
        x->too_big = 1;
        return 0; /* aborts the transfer */
    }
    if (x->len + len + 1 > x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 1024;
        while (cap < x->len + len + 1) cap *= 2;
        char *nb = realloc(x->body, cap);
        if (nb == NULL) return 0;
        x->body = nb;
        x->cap = cap;
    }
    memcpy(x->body + x->len, data, len);
    x->len += len;
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud) {
    xfer_t *x = ud;
    size_t len = size * n;
    const char *colon = memchr(data, ':', len);
    if (colon == NULL) return len;
    size_t nlen = (size_t)(colon - data);
    const char *v = colon + 1;
    while (v < data + len && (*v == ' ' || *v == '\t')) v++;
    size_t vlen = (size_t)(data + len - v);
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ')) vlen--;
    if (nlen == 12 && strncasecmp(data, "Content-Type", 12) == 0) {
        if (vlen < sizeof(x->content_type)) {
            memcpy(x->content_type, v, vlen);
            x->content_type[vlen] = '\0';
        }
        return len;
    }
    for (const char *const *h = passed_headers; *h; h++) {
        if (strlen(*h) == nlen && strncasecmp(data, *h, nlen) == 0 && x->nfwd < MAX_FWD_HEADERS && vlen < 256) {
            memcpy(x->fwd[x->nfwd][0], *h, nlen + 1);
            memcpy(x->fwd[x->nfwd][1], v, vlen);
            x->fwd[x->nfwd][1][vlen] = '\0';
            x->nfwd++;
        }
    }
    return len;
}

static void xfer_free(xfer_t *x) {
    free(x->url);
    curl_slist_free_all(x->headers);
    free(x->body);
    free(x);
}

/* Takes a finished call out of its loop and frees it; returns its request for the answer. */
static roam_req_t *xfer_done(xfer_t *x) {
    gw_loop_t *l = x->loop;
    roam_req_t *req = x->req;
    if (x->prev != NULL) x->prev->next = x->next;
    else l->active = x->next;
    if (x->next != NULL) x->next->prev = x->prev;
    curl_multi_remove_handle(l->multi, x->easy);
    if (l->nidle < (int)(sizeof(l->idle) / sizeof(l->idle[0]))) {
        curl_easy_reset(x->easy); /* keeps its buffers; connections live in the multi handle's cache */
        l->idle[l->nidle++] = x->easy;
    } else {
        curl_easy_cleanup(x->easy);
    }
    xfer_free(x);
    atomic_fetch_sub(&l->proxy->inflight, 1);
    return req;
}

/* Answers the client from a finished call and resumes its connection. */
static void finish(xfer_t *x, CURLcode rc) {
    roam_req_t *req = x->req;
    /* Log lines written while answering carry the client's request id. */
    roam_log_set_context(roam_req_id(req), NULL);
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK && status == 204 && x->revoke_jti[0] != '\0')
        roam_authn_revoke(roam_daemon_authn(roam_daemon()), x->revoke_jti, x->revoke_exp);
    if (rc == CURLE_OK && status >= 100) {
        for (int i = 0; i < x->nfwd; i++) roam_resp_header(req, x->fwd[i][0], x->fwd[i][1]);
        const char *ct = x->content_type[0] ? roam_req_strdup(req, x->content_type) : NULL;
        roam_respond_raw(req, (int)status, ct, x->body, x->len);
        x->body = NULL; /* the response owns it now */
    } else {
        roam_metrics_dep_error(x->service);
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            roam_warn("upstream %s timed out", x->service);
            roam_respond_problem(req, "upstream_timeout", "The %s service did not answer in time", x->service);
        } else {
            roam_warn("upstream %s failed: %s", x->service, x->too_big ? "answer too large" : curl_easy_strerror(rc));
            roam_respond_problem(req, "upstream_unavailable", "The %s service is unavailable", x->service);
        }
    }
    roam_log_set_context(NULL, NULL);
    xfer_done(x);
    roam_req_resume(req);
}

static void reap(gw_loop_t *l) {
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(l->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) continue;
        xfer_t *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        finish(x, msg->data.result);
    }
}

static uint8_t *fd_slot(gw_loop_t *l, curl_socket_t fd) {
    if (fd < 0) return NULL;
    if (fd >= l->nfds) {
        int n = l->nfds ? l->nfds : 256;
        while (n <= fd) n *= 2;
        uint8_t *t = realloc(l->fds, (size_t)n);
        if (t == NULL) return NULL;
        memset(t + l->nfds, 0, (size_t)(n - l->nfds));
        l->fds = t;
        l->nfds = n;
    }
    return &l->fds[fd];
}

static curl_socket_t on_open(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
    gw_loop_t *l = ud;
    (void)purpose;
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    uint8_t *st = fd_slot(l, fd);
    if (st != NULL) *st = FD_OURS;
    return fd;
}

static int on_close(void *ud, curl_socket_t fd) {
    gw_loop_t *l = ud;
    uint8_t *st = fd >= 0 && fd < l->nfds ? &l->fds[fd] : NULL;
    if (st != NULL) {
        if (*st & FD_EVENTS) roam_loop_watch(l->loop, fd, 0);
        *st = 0;
    }
    return close(fd);
}

/* libcurl tells us which sockets to watch for what. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp) {
    gw_loop_t *l = ud;
    (void)e;
    (void)sockp;
    unsigned ev = what == CURL_POLL_REMOVE ? 0
                                           : ((what & CURL_POLL_IN) ? ROAM_LOOP_IN : 0) |
                                                 ((what & CURL_POLL_OUT) ? ROAM_LOOP_OUT : 0);
    uint8_t *st = fd >= 0 && fd < l->nfds && (l->fds[fd] & FD_OURS) ? &l->fds[fd] : NULL;
    if (st != NULL && ev == 0) {
        *st &= (uint8_t)~FD_WANTED; /* stays registered while the connection idles */
        return 0;
    }
    if (st != NULL && (*st & FD_EVENTS) == ev) {
        *st |= FD_WANTED;
        return 0;
    }
    if (roam_loop_watch(l->loop, fd, ev) != 0) {
        roam_warn("cannot watch an upstream socket");
        return 0;
    }
    if (st != NULL) *st = (uint8_t)(FD_OURS | FD_WANTED | ev);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *ud) {
    (void)m;
    gw_loop_t *l = ud;
    roam_loop_set_timer(l->loop, timeout_ms < 0 ? -1 : (int64_t)roam_now_mono_ns() + (int64_t)timeout_ms * 1000000);
    return 0;
}

/* --- The loop hooks --------------------------------------------------------- */

static void *loop_start(roam_loop_t *loop, void *ctx) {
    gw_loop_t *l = roam_trycalloc(1, sizeof(*l));
    if (l == NULL) return NULL;
    l->proxy = ctx;
    l->loop = loop;
    l->multi = curl_multi_init();
    if (l->multi == NULL) {
        free(l);
        return NULL;
    }
    /* Keep enough idle connections to each service for the load one loop carries. */
    curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, 256L);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    return l;
}

static void loop_io(void *data, int fd, unsigned events) {
    gw_loop_t *l = data;
    int running = 0;
    uint8_t *st = fd >= 0 && fd < l->nfds ? &l->fds[fd] : NULL;
    if (st != NULL && (*st & FD_OURS) && !(*st & FD_WANTED)) {
        /* An idle connection spoke (the service closed it): stop watching it; libcurl checks it before reuse. */
        roam_loop_watch(l->loop, fd, 0);
        *st = FD_OURS;
        return;
    }
    int flags = (events & ROAM_LOOP_IN ? CURL_CSELECT_IN : 0) | (events & ROAM_LOOP_OUT ? CURL_CSELECT_OUT : 0) |
                (events & ROAM_LOOP_ERR ? CURL_CSELECT_ERR : 0);
    curl_multi_socket_action(l->multi, fd, flags, &running);
    reap(l);
}

static void loop_timer(void *data) {
    gw_loop_t *l = data;
    int running = 0;
    curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    reap(l);
}

/* The shutdown grace period is over: calls still in flight are cut off with an answer. */
static void loop_stop(void *data) {
    gw_loop_t *l = data;
    while (l->active != NULL) {
        xfer_t *x = l->active;
        roam_req_t *req = x->req;
        roam_respond_problem(req, "upstream_unavailable", "The gateway is shutting down");
        xfer_done(x);
        roam_req_resume(req);
    }
    for (int k = 0; k < l->nidle; k++) curl_easy_cleanup(l->idle[k]);
    curl_multi_cleanup(l->multi); /* closes the cached connections through on_close */
    free(l->fds);
    free(l);
}

gw_proxy_t *gw_proxy_new(const gw_proxy_opts_t *o, roam_loop_hooks_t *hooks) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gw_proxy_t *p = roam_xcalloc(1, sizeof(*p));
    p->o = *o;
    *hooks = (roam_loop_hooks_t){loop_start, loop_io, loop_timer, loop_stop, p};
    return p;
}

void gw_proxy_free(gw_proxy_t *p) { free(p); }

unsigned gw_proxy_inflight(gw_proxy_t *p) { return atomic_load(&p->inflight); }

int gw_proxy_forward(gw_proxy_t *p, roam_req_t *req, const char *service, char *url, struct curl_slist *headers,
                     const roam_claims_t *revoke) {
    roam_loop_t *loop = roam_req_loop(req);
    gw_loop_t *l = loop ? roam_loop_data(loop) : NULL;
    xfer_t *x = NULL;
    CURL *e = NULL;
    if (l == NULL || atomic_fetch_add(&p->inflight, 1) >= p->o.max_inflight) {
        if (l != NULL) atomic_fetch_sub(&p->inflight, 1);
        goto refuse;
    }
    x = roam_trycalloc(1, sizeof(*x));
    e = x == NULL ? NULL : l->nidle > 0 ? l->idle[--l->nidle] : curl_easy_init();
    if (e == NULL) {
        atomic_fetch_sub(&p->inflight, 1);
        goto refuse;
    }
    x->loop = l;
    x->req = req;
    x->service = service;
    x->url = url;
    x->headers = headers;
    x->easy = e;
    if (revoke != NULL) {
        snprintf(x->revoke_jti, sizeof(x->revoke_jti), "%s", revoke->jti);
        x->revoke_exp = revoke->exp;
    }

    const char *method = roam_req_method(req);
    size_t blen = 0;
    const char *body = roam_req_body(req, &blen);
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->o.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L); /* forward the path exactly as the client sent it */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* services are reached directly: no proxy variables read per call */
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, l);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, l);
    if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        if (body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
            strcmp(method, "PATCH") == 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)blen);
        }
    }
    if (curl_multi_add_handle(l->multi, e) != CURLM_OK) { /* libcurl arms the loop's timer: the call starts this turn */
        x->url = NULL;
        x->headers = NULL;
        xfer_free(x);
        curl_easy_cleanup(e);
        atomic_fetch_sub(&p->inflight, 1);
        goto refuse_freed;
    }
    x->next = l->active;
    if (l->active != NULL) l->active->prev = x;
    l->active = x;
    roam_req_suspend(req);
    return 0;

refuse:
    free(x);
    if (e != NULL) curl_easy_cleanup(e);
refuse_freed:
    free(url);
    curl_slist_free_all(headers);
    return ROAM_EUNAVAIL;
}
