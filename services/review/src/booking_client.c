/*
 * The booking service's GET /internal/bookings/{id} (docs/internal-api.md),
 * asked at submission whether a traveller may review a stay. The call
 * carries the internal secret; roam/httpc.h adds the request's X-Request-Id
 * and traceparent.
 */
#include "review.h"

#include <roam/config.h>
#include <roam/httpc.h>
#include <roam/log.h>

#include <stdio.h>
#include <string.h>

static const char *booking_url;     /* ROAM_BOOKING_URL, borrowed from the scaffold */
static const char *internal_header; /* "X-Roam-Internal: <secret>" */
static roam_httpc_opts_t call_opts; /* per attempt: ROAM_BOOKING_TIMEOUT_MS */

int review_booking_client_init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    booking_url = roam_daemon_upstream(d, "booking");
    if (booking_url == NULL) {
        snprintf(errbuf, errlen, "ROAM_BOOKING_URL is not configured");
        return -1;
    }
    internal_header = roam_httpc_internal_header();

    roam_httpc_opts_init(&call_opts);
    call_opts.timeout_ms = (int)roam_config_int("ROAM_BOOKING_TIMEOUT_MS", 2000, 100, 60000);
    call_opts.connect_timeout_ms = call_opts.timeout_ms < 1000 ? call_opts.timeout_ms : 1000;
    /* One retry: a booking service restarting is covered, and a stuck one costs at most two timeouts. */
    call_opts.retries = 1;
    return 0;
}

/* Copies the string member name of o into out (outlen bytes). 0, or -1 when missing, not a string or too long. */
static int copy_member(json_t *o, const char *name, char *out, size_t outlen) {
    const char *s = json_string_value(json_object_get(o, name));
    if (s == NULL || strlen(s) >= outlen) return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int review_booking_get(roam_req_t *req, const char *booking_id, review_booking_t *out) {
    char *url = roam_req_printf(req, "%s/internal/bookings/%s", booking_url, booking_id);
    if (url == NULL) return ROAM_ENOMEM;
    const char *headers[] = {internal_header, "Accept: application/json", NULL};
    roam_httpc_resp_t resp;
    int rc = roam_httpc_do("GET", url, headers, NULL, 0, &call_opts, &resp);
    if (rc != 0) {
        roam_httpc_resp_cleanup(&resp);
        roam_warn("booking lookup failed: %s", roam_strerror(rc));
        return rc == ROAM_ETIMEDOUT || rc == ROAM_ENOMEM ? rc : ROAM_EUNAVAIL;
    }
    if (resp.status == 404) {
        roam_httpc_resp_cleanup(&resp);
        return ROAM_ENOTFOUND;
    }
    json_t *doc = resp.status == 200 ? roam_httpc_resp_json(&resp) : NULL;
    long status = resp.status;
    roam_httpc_resp_cleanup(&resp);
    rc = ROAM_EUNAVAIL;
    json_t *guest = json_object_get(doc, "guest");
    const char *name = json_string_value(json_object_get(guest, "name"));
    if (doc != NULL && name != NULL && copy_member(doc, "user_id", out->user_id, sizeof(out->user_id)) == 0 &&
        copy_member(doc, "listing_id", out->listing_id, sizeof(out->listing_id)) == 0 &&
        copy_member(doc, "operator_id", out->operator_id, sizeof(out->operator_id)) == 0 &&
        copy_member(doc, "status", out->status, sizeof(out->status)) == 0) {
        out->guest_name = roam_req_strdup(req, name);
        rc = out->guest_name ? 0 : ROAM_ENOMEM;
    } else {
        roam_error("booking lookup answered %ld without the expected booking document", status);
    }
    json_decref(doc);
    return rc;
}
