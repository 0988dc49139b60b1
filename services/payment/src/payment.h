/*
 * The payment service's private interfaces: one section per source file.
 * Handlers are h_<resource>_<verb> in h_payments.c; SQL lives in
 * store_payment.c; the processor interface is processor.h.
 */
#ifndef ROAM_PAYMENT_H
#define ROAM_PAYMENT_H

#include <stdint.h>

#include <jansson.h>
#include <roam/daemon.h>
#include <roam/db.h>
#include <roam/http.h>
#include <roam/kafka.h>

#define PAYMENT_TOPIC "payments"

/* ---- card.c: card checks (pure; no card data leaves these functions) ---- */

/* A card as validated: the digits stay in this struct only for the charge; wipe it with card_wipe(). */
typedef struct {
    char number[20]; /* digits only, NUL-terminated */
    char brand[16];  /* "visa", "mastercard", "amex", ..., or "unknown" */
    char last4[5];
    int exp_month; /* 1..12 */
    int exp_year;  /* four digits */
} card_t;

/* 1 if the digits pass the Luhn check. */
int card_luhn_ok(const char *digits);
/* The brand of a card number (digits only): a static string, "unknown" when none matches. */
const char *card_brand(const char *digits);
/*
 * 1 if a card expiring at the end of (month, year) is still valid at the UTC
 * instant now (seconds since the epoch).
 */
int card_expiry_ok(int month, int year, int64_t now);
/*
 * Validates the body's card object v (borrowed; NULL when absent) into out,
 * appending {field, message} errors with fields "card", "card.number",
 * "card.exp_month", "card.exp_year" and "card.cvc". now is the UTC time for
 * the expiry check. Returns 0, or -1 with errors. Never copies the CVC.
 */
int card_parse(json_t *v, int64_t now, card_t *out, json_t *errors);
/* Overwrites the card number (call as soon as the charge is made). */
void card_wipe(card_t *card);

/* ---- clients.c: the booking service's internal lookup ------------------- */

int payment_clients_init(roam_daemon_t *d, char *errbuf, size_t errlen);
/*
 * GET /internal/bookings/{id}: 0 with the snapshot in *doc (new), ROAM_ENOTFOUND,
 * ROAM_ETIMEDOUT or ROAM_EUNAVAIL.
 */
int payment_booking_lookup(const char *booking_id, json_t **doc);

/* ---- store_payment.c: the payments and refunds tables ------------------ */

/*
 * The public payment object of id with its refunds (0 with *out new,
 * ROAM_ENOTFOUND, ROAM_EIO). When user_id and operator_id are not NULL they
 * receive the booking's traveller and the listing's operator ("" if unknown).
 */
int store_payment_public(roam_dbconn_t *c, const char *id, json_t **out, char user_id[64], char operator_id[64]);
/*
 * Records the end of attempt id (still processing): succeeded, or failed with
 * failure_code, and the event payment.succeeded / payment.failed in the
 * outbox; c inside a transaction. Returns 1 if recorded, 0 if the attempt was
 * no longer processing (someone else recorded it), or ROAM_EIO.
 */
int store_payment_finish(roam_dbconn_t *c, const char *id, int succeeded, const char *failure_code);
/*
 * A page of booking_id's payments, newest first: cursor microseconds and id
 * (NULL for the first page) and limit+1. Returns a new result (columns:
 * document, created_at in microseconds, id) or NULL.
 */
PGresult *store_payment_list(roam_dbconn_t *c, const char *booking_id, const char *cursor_us, const char *cursor_id,
                             const char *limit);

/* ---- refunds.c: the consumer of topic "bookings" ------------------------ */

int payment_bookings_handle(const roam_event_t *ev, void *ctx);

/* ---- recovery.c: attempts left processing by a crash -------------------- */

int payment_recovery_start(roam_daemon_t *d, char *errbuf, size_t errlen);
void payment_recovery_stop(void);
/* Resolves processing attempts older than age_s seconds. Returns how many, or ROAM_EIO. */
int payment_recover(roam_db_t *db, long age_s);

/* ---- h_payments.c: the public routes ----------------------------------- */

/* ROAM_PAYMENT_TEST_CRASH_AFTER_CHARGE, read by main.c at start-up (tests only). */
extern int payment_crash_after_charge;
/* ROAM_PAYMENT_TEST_CHARGE_DELAY_MS, likewise: a pause before each charge. */
extern long payment_charge_delay_ms;

int h_payments_create(roam_req_t *req);       /* POST /payments */
int h_payments_get(roam_req_t *req);          /* GET /payments/{id} */
int h_booking_payments_list(roam_req_t *req); /* GET /bookings/{id}/payments */

#endif
