/*
 * Calls to other services: inventory's internal holds API
 * (docs/internal-api.md) with the internal secret, and auth's GET /auth/me
 * with the traveller's own token. roam/httpc.h adds X-Request-Id and
 * traceparent.
 */
#include "booking.h"

#include <roam/config.h>
#include <roam/httpc.h>
#include <roam/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *inventory_url, *auth_url; /* borrowed from the scaffold */
static const char *internal_header;          /* "X-Roam-Internal: <secret>" */
static roam_httpc_opts_t call_opts;

int booking_clients_init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    inventory_url = roam_daemon_upstream(d, "inventory");
    auth_url = roam_daemon_upstream(d, "auth");
    if (inventory_url == NULL || auth_url == NULL) {
        snprintf(errbuf, errlen, "%s is not configured", inventory_url ? "ROAM_AUTH_URL" : "ROAM_INVENTORY_URL");
        return -1;
    }
    internal_header = roam_httpc_internal_header();
    roam_httpc_opts_init(&call_opts);
    call_opts.timeout_ms = (int)roam_config_int("ROAM_INVENTORY_TIMEOUT_MS", 5000, 100, 60000);
    /* Every holds call is idempotent (the hold id is the booking id), so retries are safe. */
    call_opts.idempotent = 1;
    return 0;
}

int booking_inventory_hold(json_t *body, long *status, json_t **doc) {
    char url[512];
    snprintf(url, sizeof(url), "%s/internal/holds", inventory_url);
    const char *headers[] = {internal_header, "Accept: application/json", NULL};
    return roam_httpc_call("POST", url, headers, body, &call_opts, status, doc);
}

int booking_inventory_hold_action(const char *hold_id, const char *action, long *status, json_t **doc) {
    char url[512];
    snprintf(url, sizeof(url), "%s/internal/holds/%s/%s", inventory_url, hold_id, action);
    const char *headers[] = {internal_header, "Accept: application/json", NULL};
    return roam_httpc_call("POST", url, headers, NULL, &call_opts, status, doc);
}

int booking_auth_me(const char *authorization, json_t **user) {
    *user = NULL;
    if (authorization == NULL || strlen(authorization) > 8192) return ROAM_EDENIED;
    char url[512];
    snprintf(url, sizeof(url), "%s/auth/me", auth_url);
    char *hdr = malloc(strlen(authorization) + 32);
    if (hdr == NULL) return ROAM_ENOMEM;
    sprintf(hdr, "Authorization: %s", authorization);
    const char *headers[] = {hdr, "Accept: application/json", NULL};
    long status;
    json_t *doc;
    int rc = roam_httpc_call("GET", url, headers, NULL, &call_opts, &status, &doc);
    free(hdr);
    if (rc != 0) return ROAM_EUNAVAIL;
    if (status == 401) {
        json_decref(doc);
        return ROAM_EDENIED;
    }
    if (status != 200 || !json_is_string(json_object_get(doc, "name")) ||
        !json_is_string(json_object_get(doc, "email"))) {
        roam_error("auth /auth/me answered %ld without a user", status);
        json_decref(doc);
        return ROAM_EUNAVAIL;
    }
    *user = doc;
    return 0;
}
