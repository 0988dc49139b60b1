/*
 * The recovery pass: attempts left 'processing' by a crash (or a processor
 * that did not answer) for longer than ROAM_PAYMENT_RECOVERY_AGE_S are
 * resolved by asking the processor what became of their reference, then
 * recorded with their event exactly as POST /payments would have. It runs at
 * start-up and every ROAM_PAYMENT_RECOVERY_INTERVAL_MS, and prunes expired
 * idempotency keys. Several replicas may run it: each row is taken with
 * FOR UPDATE SKIP LOCKED.
 */
#include "payment.h"
#include "processor.h"

#include <roam/common.h>
#include <roam/config.h>
#include <roam/idempotency.h>
#include <roam/log.h>
#include <roam/task.h>

#include <stdio.h>
#include <string.h>

static roam_task_t *task;
static long age_s;
static int64_t pruned_at_ms;
static roam_db_t *pool;

/* Resolves one attempt. 1 if recorded, 0 if someone else had it, or a ROAM_E* code. */
static int resolve_one(roam_dbconn_t *c, const char *id) {
    payment_processor_t *proc = payment_processor();
    charge_out_t out;
    int rc = proc->resolve(proc, id, &out);
    if (rc != 0) return rc;
    if (roam_db_begin(c) != 0) return ROAM_EIO;
    const char *p[] = {id};
    PGresult *r =
        roam_db_query(c, "SELECT 1 FROM payments WHERE id = $1 AND status = 'processing' FOR UPDATE SKIP LOCKED", 1, p);
    if (r == NULL || PQntuples(r) == 0) {
        if (r) PQclear(r);
        roam_db_rollback(c);
        return r ? 0 : ROAM_EIO;
    }
    PQclear(r);
    rc = store_payment_finish(c, id, out.outcome == CHARGE_SUCCEEDED, out.failure_code);
    if (rc < 0 || roam_db_commit(c) != 0) {
        if (roam_db_in_tx(c)) roam_db_rollback(c);
        return ROAM_EIO;
    }
    roam_warn("recovery: payment %s was left processing; recorded as %s%s%s", id,
              out.outcome == CHARGE_SUCCEEDED ? "succeeded" : "failed", out.outcome == CHARGE_SUCCEEDED ? "" : " ",
              out.failure_code);
    return rc;
}

int payment_recover(roam_db_t *db, long age) {
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) return ROAM_EUNAVAIL;
    char a[24];
    snprintf(a, sizeof(a), "%ld", age);
    const char *p[] = {a};
    PGresult *r = roam_db_query(c,
                                "SELECT id FROM payments WHERE status = 'processing' "
                                "AND created_at < now() - $1::int * interval '1 second' ORDER BY created_at LIMIT 100",
                                1, p);
    int done = 0;
    if (r == NULL) {
        roam_db_release(db, c);
        return ROAM_EIO;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        int rc = resolve_one(c, PQgetvalue(r, i, 0));
        if (rc > 0) done++;
        if (rc < 0) roam_warn("recovery: payment %s not resolved yet: %s", PQgetvalue(r, i, 0), roam_strerror(rc));
    }
    PQclear(r);
    roam_db_release(db, c);
    return done;
}

static long recovery_turn(void *ctx) {
    (void)ctx;
    payment_recover(pool, age_s);
    if (pruned_at_ms == 0 || roam_now_ms() - pruned_at_ms > 60000) {
        roam_dbconn_t *c = roam_db_acquire(pool);
        if (c != NULL) {
            if (roam_idem_prune(c, 1000) < 0) roam_warn("recovery: idempotency keys not pruned");
            roam_db_release(pool, c);
        }
        pruned_at_ms = roam_now_ms();
    }
    return -1;
}

int payment_recovery_start(roam_daemon_t *d, char *errbuf, size_t errlen) {
    age_s = roam_config_int("ROAM_PAYMENT_RECOVERY_AGE_S", 60, 1, 86400);
    long interval_ms = roam_config_int("ROAM_PAYMENT_RECOVERY_INTERVAL_MS", 5000, 50, 3600000);
    pool = roam_daemon_db(d);
    task = roam_task_start("payment recovery", interval_ms, recovery_turn, NULL, errbuf, errlen);
    return task != NULL ? 0 : -1;
}

void payment_recovery_stop(void) {
    roam_task_stop(task);
    task = NULL;
}
