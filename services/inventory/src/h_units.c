/* Placeholder: answers 404 until implemented. */
#include "inventory.h"

int h_units_create(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
int h_calendar_update(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
int h_calendar_availability(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
int h_calendar_quote(roam_req_t *req) { return roam_respond_problem(req, "not_found", "Not implemented yet"); }
