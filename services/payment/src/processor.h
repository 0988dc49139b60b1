/*
 * The payment processor interface. The service talks to whatever charges
 * cards only through this struct, chosen at start-up by
 * ROAM_PAYMENT_PROCESSOR (default "sandbox"; the built-in sandbox is the only
 * one today).
 *
 * Every call carries a reference chosen by us (the payment id for a charge,
 * the refund id for a refund) that the processor uses as its idempotency key:
 * calling again with the same reference never charges or refunds twice and
 * returns the first outcome. That is what makes recovery after a crash safe:
 * resolve() asks what happened to a reference.
 *
 * A processor with client-side tokenisation sets accepts_tokens and takes
 * charge_in.payment_method (an opaque token from the client) instead of a
 * card; the sandbox accepts cards only.
 */
#ifndef ROAM_PAYMENT_PROCESSOR_H
#define ROAM_PAYMENT_PROCESSOR_H

#include <stdint.h>

#include <roam/db.h>

#include "payment.h"

typedef enum {
    CHARGE_SUCCEEDED = 1,
    CHARGE_DECLINED = 2,
} charge_outcome_t;

typedef struct {
    const char *reference; /* our payment id: the processor's idempotency key */
    int64_t amount;        /* minor units */
    const char *currency;
    const card_t *card;         /* borrowed; NULL when payment_method is used */
    const char *payment_method; /* a client-side token, or NULL */
} charge_in_t;

typedef struct {
    charge_outcome_t outcome;
    char failure_code[48]; /* set when declined: "card_declined", "insufficient_funds", ... */
} charge_out_t;

typedef struct payment_processor {
    const char *name;
    int accepts_cards;
    int accepts_tokens;
    /*
     * Charges in->amount. Returns 0 with *out filled (succeeded or declined),
     * or a negative ROAM_E* code when the outcome is not known (unreachable,
     * timeout): the attempt then stays processing for the recovery pass.
     */
    int (*charge)(struct payment_processor *p, const charge_in_t *in, charge_out_t *out);
    /*
     * The final outcome of a charge reference, for the recovery pass: 0 with
     * *out, or a ROAM_E* code (ask again later). A reference the processor
     * never saw is closed (a later charge with it is refused) and reported
     * declined with "processing_error", so a charge still in flight can never
     * succeed after recovery recorded a failure.
     */
    int (*resolve)(struct payment_processor *p, const char *reference, charge_out_t *out);
    /*
     * Refunds amount of the charge charge_reference, idempotent by
     * refund_reference. 0, or a negative ROAM_E* code (retry later).
     */
    int (*refund)(struct payment_processor *p, const char *charge_reference, const char *refund_reference,
                  int64_t amount);
    void *ctx;
} payment_processor_t;

/* The configured processor (borrowed; set up by payment_processor_init). */
payment_processor_t *payment_processor(void);
/*
 * Reads ROAM_PAYMENT_PROCESSOR (before the daemon starts): an unknown name
 * exits 2 naming the variable. Returns the choice for payment_processor_init.
 */
int payment_processor_choose(void);
/* Sets up the chosen processor (from the daemon's init). 0 or -1 with errbuf. */
int payment_processor_init(roam_daemon_t *d, int which, char *errbuf, size_t errlen);

/* The sandbox (processor_sandbox.c), keeping its books in db's schema. */
payment_processor_t *processor_sandbox_new(roam_db_t *db);
/* The sandbox's verdict for a card number (digits): CHARGE_SUCCEEDED, or CHARGE_DECLINED with code. */
charge_outcome_t processor_sandbox_decide(const char *digits, char code[48]);

#endif
