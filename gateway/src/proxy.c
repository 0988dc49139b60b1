/*
 * The non-blocking proxy: each loop thread owns a libcurl multi handle (its
 * own connection cache, so connections to the services are reused), an
 * epoll set that libcurl's socket API keeps up to date (only sockets with
 * events are looked at, not every transfer on every wake-up), and a queue of
 * new transfers signalled through an eventfd. An HTTP worker suspends the client's connection,
 * queues the transfer and returns at once; the loop answers and resumes it
 * when the service replies, fails or times out. No worker ever waits on a
 * service, so one stuck service cannot stall requests to the others.
 */
#include "gateway.h"

#include <roam/authn.h>
#include <roam/common.h>
#include <roam/daemon.h>
#include <roam/log.h>
#include <roam/metrics.h>

#include <curl/curl.h>
#include <pthread.h>
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

typedef struct xfer {
    struct xfer *next;
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

typedef struct {
    struct gw_proxy *proxy;
    CURLM *multi;
    int epfd;      /* the sockets libcurl asked us to watch, and wake_fd */
    int wake_fd;   /* eventfd: new transfers queued, or stop */
    int64_t timer_at_ns; /* when libcurl wants CURL_SOCKET_TIMEOUT (monotonic); -1 for never */
    pthread_t thread;
    pthread_mutex_t lock;
    xfer_t *queue; /* new transfers, newest first */
    int stop;
    CURL *idle[64]; /* finished easy handles, reset and ready for the next call (loop thread only) */
    int nidle;
    int active; /* transfers in this loop's multi handle (loop thread only) */
} loop_t;

static int gw_loop_idle(const loop_t *l) { return l->active == 0; }

struct gw_proxy {
    gw_proxy_opts_t o;
    loop_t *loops;
    atomic_uint next_loop;
    atomic_uint inflight;
};

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

/* Answers the client from a finished transfer and resumes its connection. */
static void finish(loop_t *l, xfer_t *x, CURLcode rc) {
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
    curl_multi_remove_handle(l->multi, x->easy);
    l->active--;
    if (l->nidle < (int)(sizeof(l->idle) / sizeof(l->idle[0]))) {
        curl_easy_reset(x->easy); /* keeps its buffers; connections live in the multi handle's cache */
        l->idle[l->nidle++] = x->easy;
    } else {
        curl_easy_cleanup(x->easy);
    }
    xfer_free(x);
    atomic_fetch_sub(&l->proxy->inflight, 1);
    roam_req_resume(req);
}

static void start(loop_t *l, xfer_t *x) {
    gw_proxy_t *p = l->proxy;
    CURL *e = l->nidle > 0 ? l->idle[--l->nidle] : curl_easy_init();
    if (e == NULL) {
        x->easy = NULL;
        roam_respond_problem(x->req, "upstream_unavailable", "Out of memory");
        roam_req_t *req = x->req;
        xfer_free(x);
        atomic_fetch_sub(&p->inflight, 1);
        roam_req_resume(req);
        return;
    }
    x->easy = e;
    const char *method = roam_req_method(x->req);
    size_t blen = 0;
    const char *body = roam_req_body(x->req, &blen);
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
    if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        if (body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
            strcmp(method, "PATCH") == 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)blen);
        }
    }
    curl_multi_add_handle(l->multi, e); /* libcurl arms its timer; the loop kicks it off */
    l->active++;
}

/* libcurl tells us which sockets to watch for what. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp) {
    loop_t *l = ud;
    (void)e;
    (void)sockp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) != 0) epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *ud) {
    (void)m;
    loop_t *l = ud;
    l->timer_at_ns = timeout_ms < 0 ? -1 : (int64_t)roam_now_mono_ns() + (int64_t)timeout_ms * 1000000;
    return 0;
}

/* epoll_wait's timeout for libcurl's timer (at most a second, so stop is noticed). */
static int wait_ms(const loop_t *l) {
    if (l->timer_at_ns < 0) return 1000;
    int64_t left = (l->timer_at_ns - (int64_t)roam_now_mono_ns()) / 1000000;
    return left <= 0 ? 0 : left > 1000 ? 1000 : (int)left;
}

static void reap(loop_t *l) {
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(l->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) continue;
        xfer_t *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        finish(l, x, msg->data.result);
    }
}

static void *loop_main(void *arg) {
    loop_t *l = arg;
    struct epoll_event evs[64];
    int running = 0;
    for (;;) {
        int n = epoll_wait(l->epfd, evs, 64, wait_ms(l));
        int woken = 0;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == l->wake_fd) {
                woken = 1;
                continue;
            }
            int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                        (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                        (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(l->multi, evs[i].data.fd, flags, &running);
        }
        /* Even while sockets keep it busy, an expired timer (a transfer's timeout) must run. */
        if (l->timer_at_ns >= 0 && (int64_t)roam_now_mono_ns() >= l->timer_at_ns) {
            l->timer_at_ns = -1;
            curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        int stop = 0;
        if (woken) {
            uint64_t v;
            ssize_t r = read(l->wake_fd, &v, sizeof(v));
            (void)r;
            pthread_mutex_lock(&l->lock);
            xfer_t *q = l->queue;
            l->queue = NULL;
            pthread_mutex_unlock(&l->lock);
            /* The queue is newest first: reverse it so calls start in arrival order. */
            xfer_t *rev = NULL;
            while (q != NULL) {
                xfer_t *next = q->next;
                q->next = rev;
                rev = q;
                q = next;
            }
            for (xfer_t *x = rev, *next; x != NULL; x = next) {
                next = x->next;
                start(l, x);
            }
        }
        reap(l);
        pthread_mutex_lock(&l->lock);
        stop = l->stop;
        pthread_mutex_unlock(&l->lock);
        if (stop && l->queue == NULL && gw_loop_idle(l)) break;
    }
    return NULL;
}

static void wake(loop_t *l) {
    uint64_t one = 1;
    ssize_t r = write(l->wake_fd, &one, sizeof(one));
    (void)r;
}

gw_proxy_t *gw_proxy_new(const gw_proxy_opts_t *o, char *errbuf, size_t errlen) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gw_proxy_t *p = roam_xcalloc(1, sizeof(*p));
    p->o = *o;
    if (p->o.loops == 0) p->o.loops = 1;
    p->loops = roam_xcalloc(p->o.loops, sizeof(loop_t));
    for (unsigned i = 0; i < p->o.loops; i++) {
        loop_t *l = &p->loops[i];
        l->proxy = p;
        l->multi = curl_multi_init();
        /* Keep enough idle connections to each service for the load one loop carries. */
        curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, 256L);
        curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
        curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
        l->timer_at_ns = -1;
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = l->wake_fd};
        if (l->epfd < 0 || l->wake_fd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev) != 0) {
            snprintf(errbuf, errlen, "cannot create the proxy loop's epoll set");
            return NULL;
        }
        pthread_mutex_init(&l->lock, NULL);
        if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
            snprintf(errbuf, errlen, "cannot start proxy loop %u", i);
            return NULL;
        }
    }
    return p;
}

void gw_proxy_free(gw_proxy_t *p) {
    if (p == NULL) return;
    for (unsigned i = 0; i < p->o.loops; i++) {
        loop_t *l = &p->loops[i];
        pthread_mutex_lock(&l->lock);
        l->stop = 1;
        pthread_mutex_unlock(&l->lock);
        wake(l);
        pthread_join(l->thread, NULL); /* finishes the calls in flight (bounded by the timeout) */
        for (int k = 0; k < l->nidle; k++) curl_easy_cleanup(l->idle[k]);
        curl_multi_cleanup(l->multi);
        close(l->epfd);
        close(l->wake_fd);
        pthread_mutex_destroy(&l->lock);
    }
    free(p->loops);
    free(p);
}

unsigned gw_proxy_inflight(gw_proxy_t *p) { return atomic_load(&p->inflight); }

int gw_proxy_forward(gw_proxy_t *p, roam_req_t *req, const char *service, char *url, struct curl_slist *headers,
                     const roam_claims_t *revoke) {
    if (atomic_fetch_add(&p->inflight, 1) >= p->o.max_inflight) {
        atomic_fetch_sub(&p->inflight, 1);
        free(url);
        curl_slist_free_all(headers);
        return ROAM_EUNAVAIL;
    }
    xfer_t *x = roam_trycalloc(1, sizeof(*x));
    if (x == NULL) {
        atomic_fetch_sub(&p->inflight, 1);
        free(url);
        curl_slist_free_all(headers);
        return ROAM_EUNAVAIL;
    }
    x->req = req;
    x->service = service;
    x->url = url;
    x->headers = headers;
    if (revoke != NULL) {
        snprintf(x->revoke_jti, sizeof(x->revoke_jti), "%s", revoke->jti);
        x->revoke_exp = revoke->exp;
    }
    loop_t *l = &p->loops[atomic_fetch_add(&p->next_loop, 1) % p->o.loops];
    roam_req_suspend(req); /* before the loop can see it, so its resume always finds it suspended */
    pthread_mutex_lock(&l->lock);
    x->next = l->queue;
    l->queue = x;
    pthread_mutex_unlock(&l->lock);
    wake(l);
    return 0;
}
