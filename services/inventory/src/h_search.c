/* Placeholder: answers 404 until implemented. */
#include "inventory.h"

int h_search_listings(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
int h_search_suggest(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
