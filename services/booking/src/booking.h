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

/* ---- h_internal.c: routes for other services (role "internal") ----------- */

int h_internal_booking_get(roam_req_t *req); /* GET /internal/bookings/{id} */

/* ---- store_booking.c: the bookings table ----------------------------------- */

/*
 * The internal view of booking id (see docs/internal-api.md): {id, reference,
 * user_id, guest: {name, email}, listing_id, listing_title, operator_id,
 * unit_id, status, check_in, check_out}. 0 with *out (new), ROAM_ENOTFOUND
 * (a malformed id too), or ROAM_EIO.
 */
int store_booking_internal(roam_dbconn_t *c, const char *id, json_t **out);

#endif
