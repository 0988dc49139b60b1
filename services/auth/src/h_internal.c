/*
 * GET /internal/users/{id} (role "internal"): the account's address and name
 * for other services, such as the notification service emailing an operator.
 * Contract: docs/internal-api.md, "Notifications".
 */
#include "auth.h"

#include <roam/common.h>
#include <roam/http.h>

int h_internal_user(roam_req_t *req) {
    const char *id = roam_req_param(req, "id");
    if (!roam_uuid_valid(id)) return roam_respond_problem(req, "not_found", "No such user");
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return roam_respond_problem(req, "upstream_unavailable", "The database is unreachable; try again");
    json_t *user = NULL;
    int rc = store_user_get(c, id, &user);
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "not_found", "No such user");
    if (rc != 0) return roam_respond_problem(req, "upstream_unavailable", "The database is unreachable; try again");
    /* Only what callers need: no timestamps, nothing about credentials. */
    json_object_del(user, "created_at");
    return roam_respond_json(req, 200, user);
}
