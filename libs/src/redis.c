/*
 * A fixed pool of blocking hiredis connections.
 *
 * Each call leases one slot for its whole duration. Every call has one
 * deadline, timeout_ms after it starts, that bounds waiting for a free slot,
 * connecting (with AUTH and SELECT) and the command itself, so no call takes
 * much longer than the timeout whatever state Redis is in.
 *
 * Slots connect lazily. A connection that fails in any way (I/O error,
 * timeout, protocol error) is freed at once and the slot reconnects on its
 * next lease. An idle connection is also checked for a peer close before it
 * is used, so after a Redis restart the next call reconnects rather than
 * failing on a socket the old server closed.
 */
#include <roam/common.h>
#include <roam/log.h>
#include <roam/metrics.h>
#include <roam/redis.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define POOL_MAX 1024

typedef struct {
    redisContext *c; /* NULL until connected, and after a failure */
    int busy;
} slot_t;

struct roam_redis {
    char *host;
    int port;
    char *user;     /* ACL user, or NULL for plain AUTH password */
    char *password; /* NULL when no AUTH is needed */
    int db;
    int timeout_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when a slot is released; waits on CLOCK_MONOTONIC */
    unsigned size;
    slot_t *slots;
    int down; /* 1 after a failure until the next success; only for logging the transitions */
};

/* One call's hold on a slot. */
typedef struct {
    unsigned slot;
    redisContext *c;
    uint64_t deadline_ns; /* on roam_now_mono_ns's clock */
} lease_t;

/* ---- url ---- */

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *errbuf, size_t errlen, const char *fmt, ...) {
    if (errbuf == NULL || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes n bytes of s. Returns new, or NULL on a bad escape or an encoded NUL. */
static char *pct_decode(const char *s, size_t n) {
    char *out = malloc(n + 1);
    size_t o = 0;
    if (out == NULL) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
        int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return NULL;
        }
        out[o++] = (char)(hi << 4 | lo);
        i += 2;
    }
    out[o] = '\0';
    return out;
}

/* Parses a decimal number in [min, max] from exactly n bytes. 0 or -1. */
static int parse_num(const char *s, size_t n, long min, long max, long *out) {
    long v = 0;
    if (n == 0 || n > 10) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* Fills r's host, port, user, password and db from url. 0 or -1 with the reason in errbuf. */
static int parse_url(roam_redis_t *r, const char *url, char *errbuf, size_t errlen) {
    static const char scheme[] = "redis://";
    if (strncasecmp(url, "rediss://", 9) == 0) {
        set_err(errbuf, errlen, "redis url: rediss:// (TLS) is not supported; use redis://");
        return -1;
    }
    if (strncasecmp(url, scheme, sizeof(scheme) - 1) != 0) {
        set_err(errbuf, errlen, "redis url: must start with redis:// (form redis://[:password@]host[:port][/db])");
        return -1;
    }
    const char *auth = url + sizeof(scheme) - 1;
    if (strpbrk(auth, "?#") != NULL) {
        set_err(errbuf, errlen, "redis url: query strings and fragments are not supported");
        return -1;
    }
    const char *path = strchr(auth, '/');
    const char *end = path != NULL ? path : auth + strlen(auth);

    /* userinfo: the text before the last '@' of the authority. */
    const char *at = NULL;
    for (const char *p = auth; p < end; p++)
        if (*p == '@') at = p;
    const char *hostp = auth;
    if (at != NULL) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon == NULL) {
            set_err(errbuf, errlen, "redis url: credentials must be :password@ or user:password@");
            return -1;
        }
        if (colon > auth) {
            r->user = pct_decode(auth, (size_t)(colon - auth));
            if (r->user == NULL) {
                set_err(errbuf, errlen, "redis url: bad percent-escape in user name");
                return -1;
            }
        }
        r->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
        if (r->password == NULL) {
            set_err(errbuf, errlen, "redis url: bad percent-escape in password");
            return -1;
        }
        if (r->password[0] == '\0') {
            set_err(errbuf, errlen, "redis url: empty password");
            return -1;
        }
        hostp = at + 1;
    }

    /* host, bracketed when it is an IPv6 address, then an optional port. */
    const char *hend, *portp = NULL;
    if (*hostp == '[') {
        const char *close = memchr(hostp, ']', (size_t)(end - hostp));
        if (close == NULL || close == hostp + 1) {
            set_err(errbuf, errlen, "redis url: unterminated or empty [IPv6] host");
            return -1;
        }
        for (const char *p = hostp + 1; p < close; p++) {
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') || *p == ':' ||
                  *p == '.')) {
                set_err(errbuf, errlen, "redis url: invalid character in [IPv6] host");
                return -1;
            }
        }
        r->host = strndup(hostp + 1, (size_t)(close - hostp - 1));
        hend = close + 1;
        if (hend < end && *hend != ':') {
            set_err(errbuf, errlen, "redis url: unexpected text after ]");
            return -1;
        }
    } else {
        hend = memchr(hostp, ':', (size_t)(end - hostp));
        if (hend == NULL) hend = end;
        if (hend == hostp) {
            set_err(errbuf, errlen, "redis url: missing host");
            return -1;
        }
        for (const char *p = hostp; p < hend; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
                  *p == '-' || *p == '_')) {
                set_err(errbuf, errlen, "redis url: invalid character in host");
                return -1;
            }
        }
        r->host = strndup(hostp, (size_t)(hend - hostp));
    }
    if (r->host == NULL) {
        set_err(errbuf, errlen, "redis url: out of memory");
        return -1;
    }
    if (hend < end) portp = hend + 1; /* *hend == ':' */
    long v = 6379;
    if (portp != NULL && parse_num(portp, (size_t)(end - portp), 1, 65535, &v) != 0) {
        set_err(errbuf, errlen, "redis url: port must be a number from 1 to 65535");
        return -1;
    }
    r->port = (int)v;

    /* "/db", where "" and "/" both mean database 0. */
    v = 0;
    if (path != NULL && path[1] != '\0' && parse_num(path + 1, strlen(path + 1), 0, INT_MAX, &v) != 0) {
        set_err(errbuf, errlen, "redis url: database must be a non-negative number (redis://host:port/N)");
        return -1;
    }
    r->db = (int)v;
    return 0;
}

/* ---- pool ---- */

roam_redis_t *roam_redis_new(const char *url, unsigned pool_size, int timeout_ms, char *errbuf, size_t errlen) {
    if (url == NULL) {
        set_err(errbuf, errlen, "redis url: missing");
        return NULL;
    }
    if (pool_size == 0 || pool_size > POOL_MAX) {
        set_err(errbuf, errlen, "redis: pool size must be from 1 to %d", POOL_MAX);
        return NULL;
    }
    if (timeout_ms <= 0) {
        set_err(errbuf, errlen, "redis: timeout must be positive");
        return NULL;
    }
    roam_redis_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        set_err(errbuf, errlen, "redis: out of memory");
        return NULL;
    }
    r->size = pool_size;
    r->timeout_ms = timeout_ms;
    r->slots = calloc(pool_size, sizeof(*r->slots));
    if (r->slots == NULL) {
        set_err(errbuf, errlen, "redis: out of memory");
        free(r);
        return NULL;
    }
    if (parse_url(r, url, errbuf, errlen) != 0) {
        free(r->host);
        free(r->user);
        free(r->password);
        free(r->slots);
        free(r);
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

/* No call may be in flight. */
void roam_redis_free(roam_redis_t *r) {
    if (r == NULL) return;
    for (unsigned i = 0; i < r->size; i++)
        if (r->slots[i].c != NULL) redisFree(r->slots[i].c);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->slots);
    free(r->host);
    free(r->user);
    free(r->password);
    free(r);
}

/* Milliseconds left before the deadline (0 when it has passed). */
static long remaining_ms(uint64_t deadline_ns) {
    uint64_t now = roam_now_mono_ns();
    return now >= deadline_ns ? 0 : (long)((deadline_ns - now + 999999) / 1000000);
}

static struct timeval ms_tv(long ms) {
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/*
 * True when an idle connection still looks usable: no error recorded and
 * nothing to read. A closed peer (a restarted server) reads as EOF; bytes
 * nobody asked for mean the stream is out of step. Neither can be reused.
 */
static int idle_conn_ok(redisContext *c) {
    if (c->err) return 0;
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* hiredis reports a socket timeout as the EAGAIN of the read or write that hit it. */
static const char *ctx_error(const redisContext *c) {
    if (c->err == REDIS_ERR_IO && strcmp(c->errstr, strerror(EAGAIN)) == 0) return "timed out";
    return c->errstr;
}

/* Notes a failure: counts it, and logs only the first of a run of failures. */
static void note_failure(roam_redis_t *r, const char *what, const char *detail) {
    roam_metrics_dep_error("redis");
    if (__atomic_exchange_n(&r->down, 1, __ATOMIC_RELAXED) == 0)
        roam_warn("redis %s:%d: %s: %s", r->host, r->port, what, detail);
}

static void note_success(roam_redis_t *r) {
    if (__atomic_load_n(&r->down, __ATOMIC_RELAXED) && __atomic_exchange_n(&r->down, 0, __ATOMIC_RELAXED))
        roam_info("redis %s:%d: reachable again", r->host, r->port);
}

/* Runs one set-up command on a fresh connection; 0 when the reply is +OK. */
static int setup_cmd(roam_redis_t *r, redisContext *c, redisReply *reply, const char *what) {
    int ok = reply != NULL && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0;
    if (!ok) {
        const char *detail = reply != NULL && reply->type == REDIS_REPLY_ERROR ? reply->str
                             : c->err                                       ? ctx_error(c)
                                                                            : "unexpected reply";
        note_failure(r, what, detail);
    }
    freeReplyObject(reply);
    return ok ? 0 : -1;
}

/* Connects, authenticates and selects the database within the deadline. Returns new, or NULL (counted). */
static redisContext *dial(roam_redis_t *r, uint64_t deadline_ns) {
    long ms = remaining_ms(deadline_ns);
    if (ms <= 0) {
        note_failure(r, "connect", "timed out waiting for a pool slot");
        return NULL;
    }
    redisContext *c = redisConnectWithTimeout(r->host, r->port, ms_tv(ms));
    if (c == NULL) {
        note_failure(r, "connect", "out of memory");
        return NULL;
    }
    if (c->err) {
        note_failure(r, "connect", ctx_error(c));
        redisFree(c);
        return NULL;
    }
    ms = remaining_ms(deadline_ns);
    if (ms <= 0 || redisSetTimeout(c, ms_tv(ms)) != REDIS_OK) {
        note_failure(r, "connect", "timed out");
        redisFree(c);
        return NULL;
    }
    if (r->password != NULL) {
        redisReply *rep = r->user != NULL ? redisCommand(c, "AUTH %s %s", r->user, r->password)
                                          : redisCommand(c, "AUTH %s", r->password);
        if (setup_cmd(r, c, rep, "AUTH") != 0) {
            redisFree(c);
            return NULL;
        }
    }
    if (r->db != 0 && setup_cmd(r, c, redisCommand(c, "SELECT %d", r->db), "SELECT") != 0) {
        redisFree(c);
        return NULL;
    }
    return c;
}

redisContext *roam_redis_connect(roam_redis_t *r, int timeout_ms) {
    return dial(r, roam_now_mono_ns() + (uint64_t)timeout_ms * 1000000u);
}

/* Returns a slot to the pool with its connection (NULL when it has none) and wakes one waiter. */
static void slot_release(roam_redis_t *r, unsigned slot, redisContext *c) {
    pthread_mutex_lock(&r->mu);
    r->slots[slot].c = c;
    r->slots[slot].busy = 0;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/*
 * Leases a slot and makes sure it holds a live connection, all before the
 * call's deadline. Returns 0, or -1 (nothing held; the failure is counted).
 */
static int lease_begin(roam_redis_t *r, lease_t *l) {
    l->deadline_ns = roam_now_mono_ns() + (uint64_t)r->timeout_ms * 1000000u;
    struct timespec until = {.tv_sec = (time_t)(l->deadline_ns / 1000000000u),
                             .tv_nsec = (long)(l->deadline_ns % 1000000000u)};
    int timed_out = 0;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        /* Prefer a slot that is already connected. */
        unsigned pick = r->size;
        for (unsigned i = 0; i < r->size; i++) {
            if (r->slots[i].busy) continue;
            if (r->slots[i].c != NULL) {
                pick = i;
                break;
            }
            if (pick == r->size) pick = i;
        }
        if (pick < r->size) {
            r->slots[pick].busy = 1;
            l->slot = pick;
            l->c = r->slots[pick].c;
            r->slots[pick].c = NULL;
            break;
        }
        if (timed_out) {
            pthread_mutex_unlock(&r->mu);
            note_failure(r, "pool", "timed out waiting for a free connection");
            return -1;
        }
        /*
         * After a timeout, look once more: a waiter that times out may have
         * consumed a release's signal, and taking that slot (to fail on the
         * deadline and release it again) passes the wake-up on.
         */
        if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT) timed_out = 1;
    }
    pthread_mutex_unlock(&r->mu);

    if (l->c != NULL && !idle_conn_ok(l->c)) {
        redisFree(l->c);
        l->c = NULL;
    }
    if (l->c == NULL) {
        l->c = dial(r, l->deadline_ns);
    } else {
        long ms = remaining_ms(l->deadline_ns);
        if (ms <= 0) { /* the wait used up the time; the connection itself is fine */
            note_failure(r, "pool", "timed out waiting for a free connection");
            slot_release(r, l->slot, l->c);
            return -1;
        }
        if (redisSetTimeout(l->c, ms_tv(ms)) != REDIS_OK) {
            note_failure(r, "command", ctx_error(l->c));
            redisFree(l->c);
            l->c = NULL;
        }
    }
    if (l->c == NULL) {
        slot_release(r, l->slot, NULL);
        return -1;
    }
    return 0;
}

/*
 * Ends a lease with the command's reply. A NULL reply or an error on the
 * context means the stream can no longer be trusted: the connection is
 * dropped and the call returns NULL.
 */
static redisReply *lease_end(roam_redis_t *r, lease_t *l, void *reply) {
    if (reply == NULL || l->c->err) {
        note_failure(r, "command", l->c->err ? ctx_error(l->c) : "no reply");
        freeReplyObject(reply);
        reply = NULL;
        redisFree(l->c);
        l->c = NULL;
    } else {
        note_success(r);
    }
    slot_release(r, l->slot, l->c);
    return reply;
}

redisReply *roam_redis_command(roam_redis_t *r, const char *fmt, ...) {
    lease_t l;
    if (r == NULL || fmt == NULL || lease_begin(r, &l) != 0) return NULL;
    va_list ap;
    va_start(ap, fmt);
    void *reply = redisvCommand(l.c, fmt, ap);
    va_end(ap);
    return lease_end(r, &l, reply);
}

redisReply *roam_redis_commandargv(roam_redis_t *r, int argc, const char **argv, const size_t *argvlen) {
    lease_t l;
    if (r == NULL || argc <= 0 || argv == NULL || lease_begin(r, &l) != 0) return NULL;
    return lease_end(r, &l, redisCommandArgv(l.c, argc, argv, argvlen));
}

int roam_redis_ping(roam_redis_t *r) {
    redisReply *reply = roam_redis_command(r, "PING");
    int ok = reply != NULL && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
    freeReplyObject(reply);
    return ok ? 0 : ROAM_EUNAVAIL;
}
