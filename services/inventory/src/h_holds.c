/* Placeholder: answers 404 until implemented. */
#include "inventory.h"

int h_holds_create(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
int h_holds_get(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
int h_holds_release(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
int h_holds_confirm(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
int h_listings_internal(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
