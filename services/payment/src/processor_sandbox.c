/*
 * The built-in sandbox processor, with Stripe's test numbers (API contract,
 * "Payments"): 4242424242424242 and 5555555555554444 succeed;
 * 4000000000000002 is declined card_declined; 4000000000009995 is declined
 * insufficient_funds; any other valid number is declined card_declined.
 *
 * It keeps its own books in sandbox_charges and sandbox_refunds, keyed by
 * our reference, and commits them on its own connection, as a remote
 * processor would: a second call with the same reference returns the first
 * outcome and charges nothing more. No card data is stored, only the outcome.
 *
 * Also the processor selection (ROAM_PAYMENT_PROCESSOR).
 */
#include "processor.h"

#include <roam/common.h>
#include <roam/config.h>
#include <roam/log.h>

#include <stdio.h>
#include <string.h>

charge_outcome_t processor_sandbox_decide(const char *digits, char code[48]) {
    code[0] = '\0';
    if (strcmp(digits, "4242424242424242") == 0 || strcmp(digits, "5555555555554444") == 0) return CHARGE_SUCCEEDED;
    snprintf(code, 48, "%s", strcmp(digits, "4000000000009995") == 0 ? "insufficient_funds" : "card_declined");
    return CHARGE_DECLINED;
}

static int read_outcome(roam_dbconn_t *c, const char *reference, charge_out_t *out) {
    const char *p[] = {reference};
    PGresult *r =
        roam_db_query(c, "SELECT outcome, coalesce(failure_code, '') FROM sandbox_charges WHERE reference = $1", 1, p);
    if (r == NULL) return ROAM_EIO;
    memset(out, 0, sizeof(*out));
    if (PQntuples(r) == 0) {
        out->outcome = 0; /* not seen */
    } else {
        out->outcome = strcmp(PQgetvalue(r, 0, 0), "succeeded") == 0 ? CHARGE_SUCCEEDED : CHARGE_DECLINED;
        snprintf(out->failure_code, sizeof(out->failure_code), "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return 0;
}

static int sandbox_charge(payment_processor_t *p, const charge_in_t *in, charge_out_t *out) {
    if (in->card == NULL) return ROAM_EINVAL; /* cards only */
    char code[48];
    charge_outcome_t o = processor_sandbox_decide(in->card->number, code);
    roam_db_t *db = p->ctx;
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) return ROAM_EUNAVAIL;
    char amount[24];
    snprintf(amount, sizeof(amount), "%lld", (long long)in->amount);
    const char *params[] = {in->reference, amount, in->currency, o == CHARGE_SUCCEEDED ? "succeeded" : "declined",
                            o == CHARGE_SUCCEEDED ? NULL : code};
    /* Idempotent by reference: a repeat keeps the first outcome. */
    long rc = roam_db_exec(c,
                           "INSERT INTO sandbox_charges (reference, amount, currency, outcome, failure_code) "
                           "VALUES ($1, $2::bigint, $3, $4, $5) ON CONFLICT (reference) DO NOTHING",
                           5, params);
    int st = rc < 0 ? ROAM_EIO : read_outcome(c, in->reference, out);
    roam_db_release(db, c);
    if (st == 0 && out->outcome == 0) st = ROAM_EIO;
    return st;
}

static int sandbox_resolve(payment_processor_t *p, const char *reference, charge_out_t *out) {
    roam_db_t *db = p->ctx;
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) return ROAM_EUNAVAIL;
    const char *params[] = {reference};
    /* Closes a reference never charged; a charge that got there first keeps its outcome. */
    long rc = roam_db_exec(c,
                           "INSERT INTO sandbox_charges (reference, amount, currency, outcome, failure_code) "
                           "VALUES ($1, 0, 'XXX', 'declined', 'processing_error') ON CONFLICT (reference) DO NOTHING",
                           1, params);
    int st = rc < 0 ? ROAM_EIO : read_outcome(c, reference, out);
    if (st == 0 && out->outcome == 0) st = ROAM_EIO;
    roam_db_release(db, c);
    return st;
}

static int sandbox_refund(payment_processor_t *p, const char *charge_reference, const char *refund_reference,
                          int64_t amount) {
    roam_db_t *db = p->ctx;
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) return ROAM_EUNAVAIL;
    char a[24];
    snprintf(a, sizeof(a), "%lld", (long long)amount);
    const char *params[] = {refund_reference, charge_reference, a};
    /* Refunds only what the charge captured and has not refunded yet; a repeat is a no-op. */
    long rc = roam_db_exec(c,
                           "INSERT INTO sandbox_refunds (reference, charge_reference, amount) "
                           "SELECT $1, c.reference, $3::bigint FROM sandbox_charges c "
                           "WHERE c.reference = $2 AND c.outcome = 'succeeded' AND c.amount >= $3::bigint + "
                           "  (SELECT coalesce(sum(amount), 0) FROM sandbox_refunds WHERE charge_reference = $2) "
                           "ON CONFLICT (reference) DO NOTHING",
                           3, params);
    int st = 0;
    if (rc < 0) {
        st = ROAM_EIO;
    } else if (rc == 0) {
        /* Either a repeat (fine) or nothing to refund (an error to report). */
        const char *q[] = {refund_reference};
        PGresult *r = roam_db_query(c, "SELECT 1 FROM sandbox_refunds WHERE reference = $1", 1, q);
        if (r == NULL)
            st = ROAM_EIO;
        else
            st = PQntuples(r) == 1 ? 0 : ROAM_ECONFLICT;
        PQclear(r);
    }
    roam_db_release(db, c);
    return st;
}

payment_processor_t *processor_sandbox_new(roam_db_t *db) {
    payment_processor_t *p = roam_xcalloc(1, sizeof(*p));
    p->name = "sandbox";
    p->accepts_cards = 1;
    p->accepts_tokens = 0;
    p->charge = sandbox_charge;
    p->resolve = sandbox_resolve;
    p->refund = sandbox_refund;
    p->ctx = db;
    return p;
}

static payment_processor_t *current;

payment_processor_t *payment_processor(void) { return current; }

int payment_processor_choose(void) {
    static const char *const names[] = {"sandbox", NULL};
    return roam_config_enum("ROAM_PAYMENT_PROCESSOR", "sandbox", names);
}

int payment_processor_init(roam_daemon_t *d, int which, char *errbuf, size_t errlen) {
    (void)errbuf;
    (void)errlen;
    (void)which; /* only the sandbox so far */
    current = processor_sandbox_new(roam_daemon_db(d));
    roam_info("payment processor: %s", current->name);
    return 0;
}
