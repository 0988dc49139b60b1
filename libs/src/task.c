/* Background tasks; see roam/task.h. */
#include <roam/common.h>
#include <roam/httpc.h>
#include <roam/log.h>
#include <roam/task.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct roam_task {
    const char *name;
    long interval_ms;
    roam_task_fn fn;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC: a clock change does not stretch a sleep */
    int woken;           /* under lock */
    atomic_int stopping;
};

/* Sleeps up to ms, or until a wake or a stop. */
static void task_sleep(roam_task_t *t, long ms) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->lock);
    while (!t->woken && !atomic_load(&t->stopping))
        if (pthread_cond_timedwait(&t->cond, &t->lock, &until) == ETIMEDOUT) break;
    t->woken = 0;
    pthread_mutex_unlock(&t->lock);
}

static void *task_main(void *arg) {
    roam_task_t *t = arg;
    while (!atomic_load(&t->stopping)) {
        pthread_mutex_lock(&t->lock);
        t->woken = 0; /* a wake before this turn is served by it */
        pthread_mutex_unlock(&t->lock);
        long wait = t->fn(t->ctx);
        if (wait < 0) wait = t->interval_ms;
        if (wait > 0) task_sleep(t, wait);
    }
    roam_httpc_thread_cleanup();
    return NULL;
}

roam_task_t *roam_task_start(const char *name, long interval_ms, roam_task_fn fn, void *ctx, char *errbuf,
                             size_t errlen) {
    roam_task_t *t = roam_xcalloc(1, sizeof(*t));
    t->name = name;
    t->interval_ms = interval_ms > 0 ? interval_ms : 1;
    t->fn = fn;
    t->ctx = ctx;
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&t->thread, NULL, task_main, t);
    if (rc != 0) {
        snprintf(errbuf, errlen, "cannot start the %s thread: %s", name, strerror(rc));
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return NULL;
    }
    roam_debug("%s: started (every %ld ms)", name, t->interval_ms);
    return t;
}

void roam_task_wake(roam_task_t *t) {
    if (t == NULL) return;
    pthread_mutex_lock(&t->lock);
    t->woken = 1;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

int roam_task_stopping(roam_task_t *t) { return t != NULL && atomic_load(&t->stopping); }

void roam_task_stop(roam_task_t *t) {
    if (t == NULL) return;
    pthread_mutex_lock(&t->lock);
    atomic_store(&t->stopping, 1);
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
}
