/*
 * roam/idempotency.h: the Idempotency-Key header of POST /bookings and
 * POST /payments (API contract, "Idempotency"; the IETF draft and Stripe).
 *
 * A key is scoped per user and endpoint. The request's fingerprint is the
 * SHA-256 of its method, path and JSON body serialised canonically (sorted
 * keys, no whitespace), so key order and spacing do not matter. The first
 * answer with a status below 500 is stored for 24 hours and replayed to a
 * repeat with the same fingerprint, with header Idempotent-Replayed: true;
 * a 5xx is forgotten, so a retry runs again.
 *
 * The service's schema needs this table (the booking service's migration
 * 0002 has it; copy it into another service's migration):
 *
 *   CREATE TABLE idempotency_keys (
 *       user_id text NOT NULL, endpoint text NOT NULL, key text NOT NULL,
 *       fingerprint text NOT NULL,
 *       state text NOT NULL CHECK (state IN ('in_progress', 'done')),
 *       status integer, response text,
 *       created_at timestamptz NOT NULL DEFAULT now(),
 *       locked_until timestamptz NOT NULL, expires_at timestamptz NOT NULL,
 *       PRIMARY KEY (user_id, endpoint, key));
 *
 * Use in a handler:
 *
 *   roam_idem_t idem;
 *   int st = roam_idem_begin(req, "POST /bookings", &idem);
 *   if (st != 0) return st;              // answered: missing, reused, replay, in progress
 *   ... do the work, answer with roam_respond_*() ...
 *   roam_idem_finish(req, &idem, c);     // inside the work's transaction when there is one
 *
 * Races: the first request inserts the record in state in_progress (INSERT
 * ... ON CONFLICT DO NOTHING decides between concurrent ones); the others
 * see it and answer 409 idempotency_request_in_progress. A record still in
 * progress after its lease (ROAM_IDEM_LEASE_S) belongs to a request that
 * died, and a repeat with the same fingerprint takes it over.
 */
#ifndef ROAM_IDEMPOTENCY_H
#define ROAM_IDEMPOTENCY_H

#include <roam/http.h>

#define ROAM_IDEM_KEY_MAX 255
#define ROAM_IDEM_LEASE_S 60
#define ROAM_IDEM_TTL_S   (24 * 3600)

typedef struct {
    const char *user_id;  /* borrowed from the request */
    const char *endpoint; /* borrowed */
    const char *key;      /* borrowed */
    int active;           /* 1 while this request owns the record */
} roam_idem_t;

/*
 * 1 if key is a valid Idempotency-Key: 1 to 255 printable ASCII characters
 * (space included).
 */
int roam_idem_key_valid(const char *key);

/*
 * Writes the request fingerprint (SHA-256 hex of method, path and the
 * canonical form of body; NULL counts as {}) into out. Returns 0 or
 * ROAM_ENOMEM.
 */
int roam_idem_fingerprint(const char *method, const char *path, json_t *body, char out[65]);

/*
 * Starts idempotent handling of req for the caller (its verified claims'
 * subject) on endpoint (a static string such as "POST /bookings"). Returns 0
 * when the handler should run (idem then owns the record), or the status of
 * the answer already given: 400 idempotency_key_missing (no key, or one that
 * is not 1 to 255 printable ASCII characters), 422 idempotency_key_reused, 409 idempotency_request_in_progress, the
 * stored answer (with Idempotent-Replayed: true), or 503 when the database fails.
 */
int roam_idem_begin(roam_req_t *req, const char *endpoint, roam_idem_t *idem);

/*
 * Records the answer req carries (status and body, see roam_resp_get) on c.
 * Call it inside the transaction of the request's effect when there is one,
 * so the effect and its stored answer commit together; with no transaction
 * open it commits by itself. A status of 500 or above deletes the record
 * instead. Returns 0, or ROAM_EIO (the caller should then roll back and
 * answer 503, and call roam_idem_abandon).
 */
int roam_idem_finish(roam_req_t *req, roam_idem_t *idem, roam_dbconn_t *c);

/*
 * Forgets the record of a request that failed (a 5xx), on c outside any
 * transaction, so a retry runs again. Safe to call twice or after finish.
 */
void roam_idem_abandon(roam_idem_t *idem, roam_dbconn_t *c);

/*
 * The whole idempotent handler: begins on endpoint, runs fn with the
 * request's connection (may be NULL: fn answers 503 then) and the record,
 * and for an answer fn did not record itself (a validation error, a
 * conflict, a failure) rolls back what fn left open, stores a 4xx and
 * forgets a 5xx. fn records its success itself with roam_idem_finish inside
 * its own transaction. Returns the status answered.
 */
int roam_idem_run(roam_req_t *req, const char *endpoint,
                  int (*fn)(roam_req_t *req, roam_dbconn_t *c, roam_idem_t *idem));

/* Deletes expired records (at most limit). Returns the number deleted or ROAM_EIO. */
long roam_idem_prune(roam_dbconn_t *c, int limit);

#endif
