/* The stable problem codes of the API contract and their statuses. */
#include <roam/http.h>

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *code;
    int status;
    const char *title;
} problem_t;

/*
 * The contract's codes, plus internal_error for 500. A client mistake must
 * never map to 5xx; the 5xx codes here name what the client may retry.
 */
static const problem_t problems[] = {
    {"malformed_json", 400, "Malformed JSON"},
    {"idempotency_key_missing", 400, "Idempotency-Key header required"},
    {"unauthorized", 401, "Unauthorized"},
    {"invalid_credentials", 401, "Invalid credentials"},
    {"forbidden", 403, "Forbidden"},
    {"not_eligible", 403, "Not eligible"},
    {"not_found", 404, "Not found"},
    {"method_not_allowed", 405, "Method not allowed"},
    {"email_taken", 409, "Email already registered"},
    {"sold_out", 409, "Sold out"},
    {"calendar_conflict", 409, "Calendar conflict"},
    {"booking_not_payable", 409, "Booking not payable"},
    {"booking_not_cancellable", 409, "Booking not cancellable"},
    {"booking_not_completable", 409, "Booking not completable"},
    {"already_reviewed", 409, "Already reviewed"},
    {"already_replied", 409, "Already replied"},
    {"idempotency_request_in_progress", 409, "Request with this Idempotency-Key in progress"},
    /* Internal (docs/internal-api.md): the holds the booking service takes in inventory. */
    {"hold_mismatch", 409, "Hold id reused with different parameters"},
    {"hold_released", 409, "Hold released"},
    {"payload_too_large", 413, "Payload too large"},
    {"unsupported_media_type", 415, "Unsupported media type"},
    /* Not in the contract's list (docs/conventions.md): the request line and headers are over the limit. */
    {"headers_too_large", 431, "Request header fields too large"},
    {"validation_failed", 422, "Validation failed"},
    {"idempotency_key_reused", 422, "Idempotency-Key reused with a different request"},
    {"rate_limited", 429, "Too many requests"},
    {"internal_error", 500, "Internal error"},
    {"upstream_unavailable", 503, "Service unavailable"},
    {"upstream_timeout", 504, "Upstream timeout"},
};

static const problem_t *lookup(const char *code) {
    for (size_t i = 0; i < sizeof(problems) / sizeof(problems[0]); i++)
        if (strcmp(problems[i].code, code) == 0) return &problems[i];
    return NULL;
}

int roam_problem_status(const char *code) {
    const problem_t *p = lookup(code);
    return p ? p->status : 500;
}

json_t *roam_problem_new(const char *code, const char *detail) {
    const problem_t *p = lookup(code);
    if (p == NULL) p = lookup("internal_error");
    json_t *doc = json_object();
    if (doc == NULL) return NULL;
    /* A URN rather than a URL: stable, and it does not pretend to be dereferenceable. */
    char type[96];
    snprintf(type, sizeof(type), "urn:roam:problem:%s", p->code);
    json_object_set_new(doc, "type", json_string(type));
    json_object_set_new(doc, "title", json_string(p->title));
    json_object_set_new(doc, "status", json_integer(p->status));
    json_t *d = detail ? json_string(detail) : NULL;
    json_object_set_new(doc, "detail", d ? d : json_string(p->title));
    json_object_set_new(doc, "code", json_string(p->code));
    return doc;
}
