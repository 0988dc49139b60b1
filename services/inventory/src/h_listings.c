/* Placeholder: answers 404 until implemented. */
#include "inventory.h"

int h_listings_create(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
int h_listings_get(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
int h_listings_update(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
int h_listings_archive(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
int h_listings_mine(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
