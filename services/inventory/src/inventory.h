/*
 * The inventory service's private interfaces: one section per source file.
 * Handlers are h_<resource>_<verb> in h_<resource>.c; SQL lives in
 * store_<aggregate>.c. Paths in comments are the service's own (the gateway
 * adds /api/v1).
 */
#ifndef ROAM_INVENTORY_H
#define ROAM_INVENTORY_H

#include <jansson.h>
#include <roam/daemon.h>
#include <roam/db.h>
#include <roam/http.h>

/* ---- h_listings.c: listings of operators ---------------------------------- */

int h_listings_create(roam_req_t *req);  /* POST   /listings (operator) */
int h_listings_get(roam_req_t *req);     /* GET    /listings/{id} */
int h_listings_update(roam_req_t *req);  /* PATCH  /listings/{id} (its operator) */
int h_listings_archive(roam_req_t *req); /* DELETE /listings/{id} (its operator) */
int h_listings_mine(roam_req_t *req);    /* GET    /operator/listings (operator) */

/* ---- h_units.c: units and their calendars ---------------------------------- */

int h_units_create(roam_req_t *req);          /* POST /listings/{id}/units (its operator) */
int h_calendar_update(roam_req_t *req);       /* PUT  /listings/{id}/units/{unit_id}/calendar (its operator) */
int h_calendar_availability(roam_req_t *req); /* GET  /listings/{id}/availability */
int h_calendar_quote(roam_req_t *req);        /* GET  /listings/{id}/quote */

/* ---- h_search.c: search and destination suggestions ------------------------ */

int h_search_listings(roam_req_t *req); /* GET /listings */
int h_search_suggest(roam_req_t *req);  /* GET /listings/suggest */

/* ---- h_holds.c: holds for the booking service (internal) ------------------- */

int h_holds_create(roam_req_t *req);  /* POST /internal/holds */
int h_holds_get(roam_req_t *req);     /* GET  /internal/holds/{id} */
int h_holds_release(roam_req_t *req); /* POST /internal/holds/{id}/release */
int h_holds_confirm(roam_req_t *req); /* POST /internal/holds/{id}/confirm */
int h_listings_internal(roam_req_t *req); /* GET /internal/listings/{id} */

/* ---- ratings.c: listing ratings from the review service's events ----------- */

/* Subscribes to the reviews topic (consumer group inventory.ratings). */
int inventory_ratings_init(roam_daemon_t *d, char *errbuf, size_t errlen);

#endif
