/*
 * Structured logs: one JSON object per line, written with a single write(2)
 * so lines from different threads never interleave.
 */
#include <roam/common.h>
#include <roam/log.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static const char *service_name = "roam";
static roam_log_level_t min_level = ROAM_LOG_INFO;
static __thread const char *tls_request_id;
static __thread const char *tls_traceparent;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void roam_log_init(const char *service, roam_log_level_t level) {
    service_name = service;
    min_level = level;
}

int roam_log_level_parse(const char *s) {
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) return i;
    return -1;
}

int roam_log_enabled(roam_log_level_t level) { return level >= min_level; }

void roam_log_set_context(const char *request_id, const char *traceparent) {
    tls_request_id = request_id;
    tls_traceparent = traceparent;
}

const char *roam_log_request_id(void) { return tls_request_id; }
const char *roam_log_traceparent(void) { return tls_traceparent; }
const char *roam_log_service(void) { return service_name; }

/* A line under construction: fixed capacity, truncated (never overrun) when full. */
typedef struct {
    char *p;
    size_t len, cap;
} line_t;

static void put(line_t *l, const char *s, size_t n) {
    if (n > l->cap - l->len) n = l->cap - l->len;
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s) {
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) return 1;
    if ((c & 0xe0) == 0xc0) n = 2, min = 0x80, c &= 0x1f;
    else if ((c & 0xf0) == 0xe0) n = 3, min = 0x800, c &= 0x0f;
    else if ((c & 0xf8) == 0xf0) n = 4, min = 0x10000, c &= 0x07;
    else return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    return n;
}

/* Appends s as a JSON string; invalid UTF-8 becomes U+FFFD so the line stays valid JSON. */
static void put_str(line_t *l, const char *s) {
    static const char hex[] = "0123456789abcdef";
    put(l, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        unsigned char c = *u;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(l, e, 2);
            u++;
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(l, e, 6);
            u++;
        } else if (c < 0x80) {
            /* A run of characters that need no escaping goes in one copy. */
            const unsigned char *run = u;
            while (*u >= 0x20 && *u < 0x80 && *u != '"' && *u != '\\') u++;
            put(l, (const char *)run, (size_t)(u - run));
        } else {
            size_t n = utf8_seq(u);
            if (n == 0) {
                put(l, "\\ufffd", 6);
                u++;
            } else {
                put(l, (const char *)u, n);
                u += n;
            }
        }
    }
    put(l, "\"", 1);
}

/*
 * Writes one line: the standard members, msg, then members (a rendered
 * fragment such as "\"status\":200", may be NULL), with a single write(2)
 * so lines from different threads never interleave.
 */
static size_t format_line(char *buf, size_t cap, roam_log_level_t level, const char *msg, const char *members,
                          size_t mlen) {
    line_t l = {buf, 0, cap - 2};
    char ts[32];
    roam_now_rfc3339(ts);
    put(&l, "{\"ts\":\"", 7);
    put(&l, ts, strlen(ts));
    put(&l, "\",\"level\":\"", 11);
    put(&l, level_names[level], strlen(level_names[level]));
    put(&l, "\",\"service\":", 12);
    put_str(&l, service_name);
    if (tls_request_id != NULL) {
        put(&l, ",\"request_id\":", 14);
        put_str(&l, tls_request_id);
    }
    put(&l, ",\"msg\":", 7);
    put_str(&l, msg);
    if (members != NULL && mlen > 0) {
        put(&l, ",", 1);
        put(&l, members, mlen);
    }
    /* The two bytes held back by cap close the record even when it was cut short. */
    buf[l.len++] = '}';
    buf[l.len++] = '\n';
    return l.len;
}

static void write_all(const char *buf, size_t len) {
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, buf, len);
        if (w <= 0) return; /* nowhere to report a failing stderr */
        buf += w;
        len -= (size_t)w;
    }
}

static void emit(roam_log_level_t level, const char *msg, const char *members, size_t mlen) {
    char buf[4096];
    write_all(buf, format_line(buf, sizeof(buf), level, msg, members, mlen));
}

/*
 * Buffered lines (the access log). Each thread appends whole lines to its own
 * buffer; a buffer is written out when it fills, and a flusher thread writes
 * every buffer at least every FLUSH_MS, as nginx's "access_log buffer= flush="
 * does. One write(2) per request was a tenth of the HTTP core's time. Lines
 * stay whole; only the order between threads' lines is by flush, and each
 * line carries its own timestamp. roam_log_flush() empties everything.
 */
#define TBUF_SIZE 16384
#define FLUSH_MS 200

typedef struct tbuf {
    struct tbuf *next;
    pthread_mutex_t lock;
    size_t len;
    char data[TBUF_SIZE];
} tbuf_t;

static tbuf_t *tbufs; /* every thread's buffer; never freed (threads are few and long-lived) */
static pthread_mutex_t tbufs_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread tbuf_t *my_tbuf;
static pthread_once_t flusher_once = PTHREAD_ONCE_INIT;
static pthread_key_t tbuf_key;

static void tbuf_flush_locked(tbuf_t *b) {
    write_all(b->data, b->len);
    b->len = 0;
}

void roam_log_flush(void) {
    pthread_mutex_lock(&tbufs_lock);
    for (tbuf_t *b = tbufs; b != NULL; b = b->next) {
        pthread_mutex_lock(&b->lock);
        tbuf_flush_locked(b);
        pthread_mutex_unlock(&b->lock);
    }
    pthread_mutex_unlock(&tbufs_lock);
}

static void *flusher_main(void *arg) {
    (void)arg;
    for (;;) {
        usleep(FLUSH_MS * 1000);
        roam_log_flush();
    }
    return NULL;
}

/* A thread that exits writes what it buffered. */
static void tbuf_thread_exit(void *arg) {
    tbuf_t *b = arg;
    pthread_mutex_lock(&b->lock);
    tbuf_flush_locked(b);
    pthread_mutex_unlock(&b->lock);
}

static void flusher_start(void) {
    pthread_key_create(&tbuf_key, tbuf_thread_exit);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, flusher_main, NULL) != 0) roam_warn("cannot start the log flusher");
    pthread_attr_destroy(&attr);
    atexit(roam_log_flush);
}

static tbuf_t *tbuf_get(void) {
    if (my_tbuf != NULL) return my_tbuf;
    pthread_once(&flusher_once, flusher_start);
    tbuf_t *b = calloc(1, sizeof(*b));
    if (b == NULL) return NULL;
    pthread_mutex_init(&b->lock, NULL);
    pthread_mutex_lock(&tbufs_lock);
    b->next = tbufs;
    tbufs = b;
    pthread_mutex_unlock(&tbufs_lock);
    pthread_setspecific(tbuf_key, b);
    my_tbuf = b;
    return b;
}

void roam_log_members_buffered(roam_log_level_t level, const char *msg, const roam_log_buf_t *m) {
    if (level < min_level) return;
    char line[4096];
    size_t n = format_line(line, sizeof(line), level, msg, m->buf, m->len);
    tbuf_t *b = tbuf_get();
    if (b == NULL) {
        write_all(line, n);
        return;
    }
    pthread_mutex_lock(&b->lock);
    if (b->len + n > TBUF_SIZE) tbuf_flush_locked(b);
    memcpy(b->data + b->len, line, n);
    b->len += n;
    pthread_mutex_unlock(&b->lock);
}

void roam_log_member_str(roam_log_buf_t *b, const char *name, const char *value) {
    /* Long values (a 30 KB path) are cut to keep the line whole; a cut sequence becomes U+FFFD. */
    char cut[256];
    if (value == NULL) value = "";
    if (strlen(value) >= sizeof(cut)) {
        memcpy(cut, value, sizeof(cut) - 1);
        cut[sizeof(cut) - 1] = '\0';
        value = cut;
    }
    line_t l = {b->buf, b->len, sizeof(b->buf)};
    if (l.len + strlen(name) + 6 * strlen(value) + 8 > l.cap) return; /* no room: drop the member whole */
    if (l.len) put(&l, ",", 1);
    put_str(&l, name);
    put(&l, ":", 1);
    put_str(&l, value);
    b->len = l.len;
}

/* Formats v in decimal at the end of buf[0..24); returns the start. */
static char *fmt_int(char buf[24], long long v) {
    char *p = buf + 24;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    return p;
}

void roam_log_member_int(roam_log_buf_t *b, const char *name, long long value) {
    line_t l = {b->buf, b->len, sizeof(b->buf)};
    char num[24];
    char *p = fmt_int(num, value);
    size_t n = (size_t)(num + 24 - p);
    if (l.len + strlen(name) + n + 8 > l.cap) return;
    if (l.len) put(&l, ",", 1);
    put_str(&l, name);
    put(&l, ":", 1);
    put(&l, p, n);
    b->len = l.len;
}

void roam_log_member_num(roam_log_buf_t *b, const char *name, double value, int decimals) {
    line_t l = {b->buf, b->len, sizeof(b->buf)};
    char num[48];
    int n;
    if (decimals == 3 && value >= 0 && value < 1e12) {
        /* The access log's durations: integer arithmetic, no printf. */
        long long milli = (long long)(value * 1000 + 0.5);
        char ib[24];
        char *p = fmt_int(ib, milli / 1000);
        n = (int)(ib + 24 - p);
        memcpy(num, p, (size_t)n);
        num[n++] = '.';
        num[n++] = (char)('0' + milli / 100 % 10);
        num[n++] = (char)('0' + milli / 10 % 10);
        num[n++] = (char)('0' + milli % 10);
    } else {
        n = snprintf(num, sizeof(num), "%.*f", decimals, value);
    }
    if (l.len + strlen(name) + (size_t)n + 8 > l.cap) return;
    if (l.len) put(&l, ",", 1);
    put_str(&l, name);
    put(&l, ":", 1);
    put(&l, num, (size_t)n);
    b->len = l.len;
}

void roam_log_members(roam_log_level_t level, const char *msg, const roam_log_buf_t *b) {
    if (level < min_level) return;
    emit(level, msg, b->buf, b->len);
}

void roam_log(roam_log_level_t level, const char *fmt, ...) {
    if (level < min_level) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    emit(level, buf, NULL, 0);
}

void roam_log_fields(roam_log_level_t level, const char *msg, json_t *fields) {
    if (level < min_level) {
        json_decref(fields);
        return;
    }
    char *text = fields ? json_dumps(fields, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(fields);
    /* Splice the object's members: drop its braces. */
    size_t n = text ? strlen(text) : 0;
    emit(level, msg, n > 2 ? text + 1 : NULL, n > 2 ? n - 2 : 0);
    free(text);
}
