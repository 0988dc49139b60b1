/* The bookings table (migrations/0001_bookings.sql). */
#include "booking.h"

#include <roam/common.h>

int store_booking_internal(roam_dbconn_t *c, const char *id, json_t **out) {
    if (!roam_uuid_valid(id)) return ROAM_ENOTFOUND;
    const char *p[] = {id};
    PGresult *r = roam_db_query(c,
                                "SELECT id, reference, user_id, guest_name, guest_email, listing_id, listing_title, "
                                "operator_id, unit_id, status, to_char(check_in, 'YYYY-MM-DD'), "
                                "to_char(check_out, 'YYYY-MM-DD') FROM bookings WHERE id = $1",
                                1, p);
    if (r == NULL) return ROAM_EIO;
    int rc = ROAM_ENOTFOUND;
    if (PQntuples(r) == 1) {
        *out = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", PQgetvalue(r, 0, 0),
                         "reference", PQgetvalue(r, 0, 1), "user_id", PQgetvalue(r, 0, 2), "guest", "name",
                         PQgetvalue(r, 0, 3), "email", PQgetvalue(r, 0, 4), "listing_id", PQgetvalue(r, 0, 5),
                         "listing_title", PQgetvalue(r, 0, 6), "operator_id", PQgetvalue(r, 0, 7), "unit_id",
                         PQgetvalue(r, 0, 8), "status", PQgetvalue(r, 0, 9), "check_in", PQgetvalue(r, 0, 10),
                         "check_out", PQgetvalue(r, 0, 11));
        rc = *out ? 0 : ROAM_ENOMEM;
    }
    PQclear(r);
    return rc;
}
