/*
 * /internal/bookings: what other services may learn about a booking. The
 * review service asks here whether a traveller may review a stay; the
 * contract of these routes is in docs/internal-api.md.
 */
#include "booking.h"

#include <roam/common.h>
#include <roam/http.h>

int h_internal_booking_get(roam_req_t *req) {
    const char *id = roam_req_param(req, "id");
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return roam_respond_problem(req, "upstream_unavailable", "The database is unreachable");
    json_t *booking = NULL;
    int rc = store_booking_snapshot(c, id, &booking);
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "not_found", "No such booking");
    if (rc == ROAM_ENOMEM) return roam_respond_problem(req, "upstream_unavailable", "Out of memory");
    if (rc != 0) return roam_respond_problem(req, "upstream_unavailable", "The database failed to answer");
    return roam_respond_json(req, 200, booking);
}
