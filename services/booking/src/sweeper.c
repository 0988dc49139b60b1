/*
 * The sweeper (a roam/task.h task): every ROAM_BOOKING_SWEEP_INTERVAL_MS it
 *   - expires unpaid bookings whose hold ran out (booking.expired),
 *   - completes confirmed bookings the day after check-out, listing time
 *     (booking.completed),
 *   - gives back to inventory the units of expired and cancelled bookings
 *     whose release is not yet confirmed (retried until inventory answers),
 *   - and, about once a minute, prunes expired idempotency keys.
 * Rows are claimed with FOR UPDATE SKIP LOCKED in batches, so several
 * replicas share the work without waiting on each other.
 */
#include "booking.h"

#include <roam/common.h>
#include <roam/config.h>
#include <roam/httpc.h>
#include <roam/idempotency.h>
#include <roam/log.h>
#include <roam/task.h>

#include <stdio.h>
#include <string.h>

#define SWEEP_BATCH "100"

static roam_db_t *db;
static long hold_ttl_s;
static uint64_t pruned_at_ns;
static roam_task_t *task;

long booking_hold_ttl_s(void) { return hold_ttl_s; }

/*
 * Moves up to a batch of bookings chosen by select_sql (ids, locked) to `to`
 * and adds event type for each, in one transaction. Returns the number moved.
 */
static int sweep_transition(roam_dbconn_t *c, const char *select_sql, const char *to, const char *type) {
    if (roam_db_begin(c) != 0) return 0;
    const char *p[] = {booking_status_from(to)};
    PGresult *r = roam_db_query(c, select_sql, 1, p);
    if (r == NULL) goto fail;
    int n = PQntuples(r), moved = 0;
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(r, i, 0);
        int rc = store_booking_transition(c, id, to);
        if (rc < 0 || (rc == 1 && store_booking_event(c, id, type, NULL) != 0)) {
            PQclear(r);
            goto fail;
        }
        moved += rc;
    }
    PQclear(r);
    if (roam_db_commit(c) != 0) goto fail;
    if (moved) roam_info("%d bookings %s", moved, to);
    return moved;
fail:
    roam_warn("sweeper: %s failed: %s", to, roam_db_errmsg(c));
    if (roam_db_in_tx(c)) roam_db_rollback(c);
    return 0;
}

static void release_pending(roam_dbconn_t *c) {
    PGresult *r = roam_db_query(c,
                                "SELECT id FROM bookings WHERE hold_released_at IS NULL "
                                "AND status IN ('expired', 'cancelled') ORDER BY updated_at LIMIT " SWEEP_BATCH,
                                0, NULL);
    if (r == NULL) return;
    for (int i = 0; i < PQntuples(r); i++)
        booking_release_hold(c, PQgetvalue(r, i, 0));
    PQclear(r);
}

static void sweep_once(roam_dbconn_t *c, int prune) {
    sweep_transition(c,
                     "SELECT id FROM bookings WHERE status = ANY($1::text[]) AND hold_expires_at <= now() "
                     "ORDER BY hold_expires_at LIMIT " SWEEP_BATCH " FOR UPDATE SKIP LOCKED",
                     "expired", "booking.expired");
    /* "The day after check-out", in the listing's time zone: check_out is before today there. */
    sweep_transition(c,
                     "SELECT id FROM bookings WHERE status = 'confirmed' AND status = ANY($1::text[]) "
                     "AND check_out < (now() AT TIME ZONE timezone)::date "
                     "ORDER BY check_out LIMIT " SWEEP_BATCH " FOR UPDATE SKIP LOCKED",
                     "completed", "booking.completed");
    release_pending(c);
    if (prune && roam_idem_prune(c, 1000) < 0) roam_warn("sweeper: idempotency keys not pruned");
}

static long sweep_turn(void *ctx) {
    (void)ctx;
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) return -1;
    uint64_t now = roam_now_mono_ns();
    int prune = pruned_at_ns == 0 || now - pruned_at_ns > 60ull * 1000000000ull;
    if (prune) pruned_at_ns = now;
    sweep_once(c, prune);
    roam_db_release(db, c);
    return -1;
}

int booking_sweeper_start(roam_daemon_t *d, char *errbuf, size_t errlen) {
    db = roam_daemon_db(d);
    long interval_ms = roam_config_int("ROAM_BOOKING_SWEEP_INTERVAL_MS", 1000, 10, 3600000);
    hold_ttl_s = roam_config_int("ROAM_BOOKING_HOLD_TTL_S", 900, 1, 86400);
    task = roam_task_start("sweeper", interval_ms, sweep_turn, NULL, errbuf, errlen);
    return task != NULL ? 0 : -1;
}

void booking_sweeper_stop(void) {
    roam_task_stop(task);
    task = NULL;
}
