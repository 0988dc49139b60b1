/*
 * The booking service's private interfaces: one section per source file.
 * Handlers are h_<resource>_<verb> in h_<resource>.c; SQL lives in
 * store_booking.c. Paths in comments are the service's own (the gateway adds
 * /api/v1 to public ones and never forwards /internal).
 */
#ifndef ROAM_BOOKING_H
#define ROAM_BOOKING_H

#include <jansson.h>
#include <roam/daemon.h>
#include <roam/db.h>
#include <roam/http.h>
#include <roam/kafka.h>

#define BOOKING_TOPIC      "bookings"
#define BOOKING_NOTE_MAX   1000 /* characters */
#define BOOKING_REASON_MAX 500  /* characters */
#define BOOKING_MAX_NIGHTS 30
#define BOOKING_DAYS_AHEAD 365

/* ---- h_bookings.c: the public routes ------------------------------------- */

int h_bookings_create(roam_req_t *req);   /* POST /bookings */
int h_bookings_list(roam_req_t *req);     /* GET /bookings */
int h_bookings_get(roam_req_t *req);      /* GET /bookings/{id} */
int h_bookings_cancel(roam_req_t *req);   /* POST /bookings/{id}/cancel */
int h_bookings_complete(roam_req_t *req); /* POST /bookings/{id}/complete */
int h_operator_bookings(roam_req_t *req); /* GET /operator/bookings */

/* ---- h_internal.c: routes for other services (role "internal") ----------- */

int h_internal_booking_get(roam_req_t *req); /* GET /internal/bookings/{id} */

/* ---- status.c: the status machine, the only place that knows it --------- */

/*
 * The states a booking may move to `to` from, as a PostgreSQL text[] literal
 * ("{pending_payment,payment_failed}") for "WHERE status = ANY($n::text[])",
 * or NULL when no state leads there. Every writer of bookings.status uses it.
 */
const char *booking_status_from(const char *to);
/* 1 if s is one of the contract's booking states. */
int booking_status_valid(const char *s);

/* ---- clients.c: inventory's holds API and auth's /auth/me ---------------- */

int booking_clients_init(roam_daemon_t *d, char *errbuf, size_t errlen);
/*
 * POST /internal/holds with body (borrowed). Returns 0 with the answer's HTTP
 * status in *status and its JSON body (new, may be NULL) in *doc, or
 * ROAM_EUNAVAIL / ROAM_ETIMEDOUT when no answer arrived.
 */
int booking_inventory_hold(json_t *body, long *status, json_t **doc);
/* POST /internal/holds/{id}/<action> ("release" or "confirm"): like booking_inventory_hold. */
int booking_inventory_hold_action(const char *hold_id, const char *action, long *status, json_t **doc);
/*
 * The caller's {name, email} from GET /auth/me with its own Authorization
 * header. 0 with *user (new), ROAM_EDENIED (auth refused the token), or
 * ROAM_EUNAVAIL.
 */
int booking_auth_me(const char *authorization, json_t **user);

/* ---- store_booking.c: the bookings table --------------------------------- */

/* The public booking object of id (0 with *out new, ROAM_ENOTFOUND, ROAM_EIO). */
int store_booking_public(roam_dbconn_t *c, const char *id, json_t **out);
/*
 * The snapshot carried by events and GET /internal/bookings/{id}: the public
 * object plus booking_id, operator_id, timezone, note, refund, cancelled_by,
 * cancel_reason, payment_id (0 with *out new, ROAM_ENOTFOUND, ROAM_EIO).
 */
int store_booking_snapshot(roam_dbconn_t *c, const char *id, json_t **out);
/*
 * Adds event type for booking id to the outbox (c inside a transaction that
 * holds the booking's row lock): data = the snapshot, merged with extra
 * (borrowed, may be NULL). 0 or a ROAM_E* code.
 */
int store_booking_event(roam_dbconn_t *c, const char *id, const char *type, json_t *extra);
/*
 * Moves booking id to status `to` if its current state allows it (per
 * status.c), setting the columns that go with it. Returns 1 if it moved, 0 if
 * not (absent or in another state), ROAM_EIO.
 */
int store_booking_transition(roam_dbconn_t *c, const char *id, const char *to);
/*
 * Cancels booking id on behalf of by ("traveller" or "operator") with the
 * refund the contract gives; c inside a transaction holding the row lock.
 * 1 if cancelled, 0 if its state does not allow it, ROAM_EIO.
 */
int store_booking_cancel(roam_dbconn_t *c, const char *id, const char *by, const char *reason);
/*
 * A page of bookings, newest first: params are owner (user or operator id),
 * cursor microseconds and id (both NULL for the first page), limit, and for
 * operator_view the listing and status filters (NULL for none). Returns a
 * new result (columns: document, created_at in microseconds, id) or NULL.
 */
PGresult *store_booking_list(roam_dbconn_t *c, int operator_view, const char *const params[6]);
/* Marks the booking's hold released in inventory. 0 or ROAM_EIO. */
int store_booking_hold_released(roam_dbconn_t *c, const char *id);
/*
 * Releases the hold of booking id in inventory and records it; on any failure
 * the sweeper retries later. c outside a transaction.
 */
void booking_release_hold(roam_dbconn_t *c, const char *id);

/* ---- sweeper.c: expiry, automatic completion, hold releases ------------- */

int booking_sweeper_start(roam_daemon_t *d, char *errbuf, size_t errlen);
void booking_sweeper_stop(void);
/* ROAM_BOOKING_HOLD_TTL_S. */
long booking_hold_ttl_s(void);

/* ---- payments.c: the consumer of topic "payments" ----------------------- */

int booking_payments_handle(const roam_event_t *ev, void *ctx);

#endif
