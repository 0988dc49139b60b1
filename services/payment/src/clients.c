/*
 * The booking service's internal lookup (docs/internal-api.md,
 * GET /internal/bookings/{id}), with the internal secret. roam/httpc.h adds
 * X-Request-Id and traceparent.
 */
#include "payment.h"

#include <roam/common.h>
#include <roam/config.h>
#include <roam/httpc.h>
#include <roam/log.h>

#include <stdio.h>
#include <string.h>

static const char *booking_url; /* borrowed from the scaffold */
static const char *internal_header; /* "X-Roam-Internal: <secret>" */
static roam_httpc_opts_t call_opts;

int payment_clients_init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    booking_url = roam_daemon_upstream(d, "booking");
    if (booking_url == NULL) {
        snprintf(errbuf, errlen, "ROAM_BOOKING_URL is not configured");
        return -1;
    }
    internal_header = roam_httpc_internal_header();
    roam_httpc_opts_init(&call_opts);
    call_opts.timeout_ms = (int)roam_config_int("ROAM_BOOKING_TIMEOUT_MS", 2000, 100, 60000);
    call_opts.retries = 1;
    return 0;
}

int payment_booking_lookup(const char *booking_id, json_t **doc) {
    *doc = NULL;
    if (!roam_uuid_valid(booking_id)) return ROAM_ENOTFOUND;
    char url[512];
    snprintf(url, sizeof(url), "%s/internal/bookings/%s", booking_url, booking_id);
    const char *headers[] = {internal_header, NULL};
    long status;
    json_t *body;
    int rc = roam_httpc_call("GET", url, headers, NULL, &call_opts, &status, &body);
    if (rc != 0) return rc == ROAM_ETIMEDOUT ? rc : ROAM_EUNAVAIL;
    if (status == 404) {
        json_decref(body);
        return ROAM_ENOTFOUND;
    }
    if (status != 200 || !json_is_object(body)) {
        roam_error("booking answered %ld to a booking lookup", status);
        json_decref(body);
        return ROAM_EUNAVAIL;
    }
    *doc = body;
    return 0;
}
