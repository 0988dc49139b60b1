/*
 * The orphan-hold safety net. The booking service holds units before it
 * records the booking; if it dies in between, the hold has no booking and
 * nobody would ever release it. Each hold carries the booking's hold expiry
 * (expires_at); this task (roam/task.h) releases holds still 'held' a grace period after
 * it. The booking service itself expires and releases its bookings at
 * expires_at, and never confirms a hold after it, so the grace period only
 * has to cover clock skew and its retries.
 */
#include "inventory.h"

#include <roam/common.h>
#include <roam/config.h>
#include <roam/log.h>
#include <roam/task.h>

#include <stdio.h>
#include <stdlib.h>

static roam_db_t *db;
static long grace_s;
static roam_task_t *task;

static void sweep(roam_dbconn_t *c) {
    char grace[24];
    snprintf(grace, sizeof(grace), "%ld", grace_s);
    const char *p[] = {grace};
    PGresult *r = roam_db_query(c,
                                "SELECT id FROM holds WHERE status = 'held' AND expires_at IS NOT NULL "
                                "AND expires_at <= now() - $1::int * interval '1 second' "
                                "ORDER BY expires_at LIMIT 100",
                                1, p);
    if (r == NULL) {
        roam_warn("hold expiry: %s", roam_db_errmsg(c));
        return;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        char *json = NULL;
        /* The same release as POST /internal/holds/{id}/release: it locks and re-checks the hold. */
        int rc = store_hold_release(c, PQgetvalue(r, i, 0), &json);
        free(json);
        if (rc < 0)
            roam_warn("hold expiry: hold %s not released (%s)", PQgetvalue(r, i, 0), roam_strerror(rc));
        else
            roam_info("hold %s expired without a booking: released", PQgetvalue(r, i, 0));
    }
    PQclear(r);
}

static long sweep_turn(void *ctx) {
    (void)ctx;
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c != NULL) {
        sweep(c);
        roam_db_release(db, c);
    }
    return -1;
}

int inventory_hold_expiry_start(roam_daemon_t *d, char *errbuf, size_t errlen) {
    db = roam_daemon_db(d);
    long interval_ms = roam_config_int("ROAM_HOLD_SWEEP_INTERVAL_MS", 10000, 10, 3600000);
    grace_s = roam_config_int("ROAM_HOLD_EXPIRY_GRACE_S", 600, 0, 86400);
    task = roam_task_start("hold expiry", interval_ms, sweep_turn, NULL, errbuf, errlen);
    return task != NULL ? 0 : -1;
}

void inventory_hold_expiry_stop(void) {
    roam_task_stop(task);
    task = NULL;
}
