/* The process-wide metrics registry; see roam/metrics.h. */
#include <roam/common.h>
#include <roam/metrics.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLLECTORS 32
#define MAX_DEPS 32

static struct {
    roam_metrics_collector_fn fn;
    void *ctx;
} collectors[MAX_COLLECTORS];
static int ncollectors;

static struct {
    char name[48];
    atomic_ullong count;
} deps[MAX_DEPS];
static atomic_int ndeps;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void roam_buf_appendf(roam_buf_t *b, const char *fmt, ...) {
    if (b->oom) return;
    for (int attempt = 0; attempt < 2; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len <= (size_t)n) cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (nb == NULL) {
            b->oom = 1;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
}

void roam_metrics_register(roam_metrics_collector_fn fn, void *ctx) {
    pthread_mutex_lock(&lock);
    if (ncollectors < MAX_COLLECTORS) {
        collectors[ncollectors].fn = fn;
        collectors[ncollectors].ctx = ctx;
        ncollectors++;
    }
    pthread_mutex_unlock(&lock);
}

void roam_metrics_dep_error(const char *dependency) {
    int n = atomic_load(&ndeps);
    for (int i = 0; i < n; i++) {
        if (strcmp(deps[i].name, dependency) == 0) {
            atomic_fetch_add(&deps[i].count, 1);
            return;
        }
    }
    pthread_mutex_lock(&lock);
    n = atomic_load(&ndeps);
    int i;
    for (i = 0; i < n; i++)
        if (strcmp(deps[i].name, dependency) == 0) break;
    if (i == n && n < MAX_DEPS) {
        snprintf(deps[n].name, sizeof(deps[n].name), "%s", dependency);
        atomic_store(&deps[n].count, 0);
        atomic_store(&ndeps, n + 1); /* publish after the name is written */
    }
    pthread_mutex_unlock(&lock);
    if (i < MAX_DEPS) atomic_fetch_add(&deps[i].count, 1);
}

int roam_metrics_render(roam_buf_t *b) {
    memset(b, 0, sizeof(*b));
    roam_buf_appendf(b, "# HELP roam_dependency_errors_total Failed calls to a dependency.\n"
                        "# TYPE roam_dependency_errors_total counter\n");
    int n = atomic_load(&ndeps);
    for (int i = 0; i < n; i++)
        roam_buf_appendf(b, "roam_dependency_errors_total{dependency=\"%s\"} %llu\n", deps[i].name,
                         (unsigned long long)atomic_load(&deps[i].count));
    pthread_mutex_lock(&lock);
    int nc = ncollectors;
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < nc; i++) collectors[i].fn(collectors[i].ctx, b);
    if (b->oom) {
        free(b->buf);
        memset(b, 0, sizeof(*b));
        return ROAM_ENOMEM;
    }
    return 0;
}
