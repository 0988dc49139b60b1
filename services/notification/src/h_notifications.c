/*
 * GET /notifications, POST /notifications/{id}/read, POST /notifications/read-all
 * (API contract, "Notifications"). Every route is the caller's own: the
 * recipient is the token's subject, and another user's notification is 404.
 */
#include "notification.h"

#include <roam/codec.h>
#include <roam/common.h>
#include <roam/http.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_LIMIT_DEFAULT 20
#define LIST_LIMIT_MAX     100
#define CURSOR_PREFIX      "n1:"

static int unavailable(roam_req_t *req, const char *what) {
    return roam_respond_problem(req, "upstream_unavailable", "%s is unreachable; try again", what);
}

static int store_failed(roam_req_t *req, int rc) {
    return unavailable(req, rc == ROAM_ENOMEM ? "Memory" : "The database");
}

/* A query argument, or NULL when it is absent or empty. */
static const char *query_arg(roam_req_t *req, const char *name) {
    const char *v = roam_req_query(req, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int parse_int(const char *s, long min, long max, long *out) {
    if (s[0] < '0' || s[0] > '9' || strlen(s) > 9) return -1;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* The cursor is base64url("n1:<seq>"): opaque, URL-safe, versioned. */
static void cursor_encode(int64_t seq, char out[ROAM_B64URL_LEN(40)]) {
    char plain[40];
    int n = snprintf(plain, sizeof(plain), CURSOR_PREFIX "%lld", (long long)seq);
    roam_b64url_encode((const unsigned char *)plain, (size_t)n, out);
}

static int cursor_decode(const char *text, int64_t *seq) {
    unsigned char plain[41];
    size_t len = strlen(text);
    if (len > 52) return -1;
    long n = roam_b64url_decode(text, len, plain, sizeof(plain) - 1);
    if (n <= (long)strlen(CURSOR_PREFIX)) return -1;
    plain[n] = '\0';
    const char *s = (const char *)plain;
    if (strncmp(s, CURSOR_PREFIX, strlen(CURSOR_PREFIX)) != 0) return -1;
    s += strlen(CURSOR_PREFIX);
    if (s[0] < '1' || s[0] > '9' || strlen(s) > 18) return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || v <= 0) return -1;
    *seq = v;
    return 0;
}

int h_notifications_list(roam_req_t *req) {
    const roam_claims_t *claims = roam_req_claims(req);
    json_t *errors = json_array();
    int unread_only = 0;
    const char *u = query_arg(req, "unread");
    if (u != NULL) {
        if (strcmp(u, "true") == 0)
            unread_only = 1;
        else if (strcmp(u, "false") != 0)
            roam_field_error(errors, "unread", "must be true or false");
    }
    long limit = LIST_LIMIT_DEFAULT;
    const char *l = query_arg(req, "limit");
    if (l != NULL && parse_int(l, 1, LIST_LIMIT_MAX, &limit) != 0)
        roam_field_error(errors, "limit", "must be an integer from 1 to %d", LIST_LIMIT_MAX);
    int64_t after = 0;
    const char *cur = query_arg(req, "cursor");
    if (cur != NULL && cursor_decode(cur, &after) != 0)
        roam_field_error(errors, "cursor", "is not a cursor of this list");
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    json_t *items = NULL;
    int more = 0;
    int64_t last = 0, unread = 0;
    int rc = store_notification_page(c, claims->sub, unread_only, after, (int)limit, &items, &more, &last, &unread);
    if (rc != 0) return store_failed(req, rc);
    char next[ROAM_B64URL_LEN(40)];
    if (more) cursor_encode(last, next);
    json_t *doc = json_pack("{s:o, s:o, s:I}", "items", items, "next_cursor", more ? json_string(next) : json_null(),
                            "unread_count", (json_int_t)unread);
    if (doc == NULL) return unavailable(req, "Memory");
    return roam_respond_json(req, 200, doc);
}

int h_notifications_read(roam_req_t *req) {
    const roam_claims_t *claims = roam_req_claims(req);
    const char *id = roam_req_param(req, "id");
    if (!roam_uuid_valid(id)) return roam_respond_problem(req, "not_found", "No such notification");
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    json_t *n = NULL;
    int rc = store_notification_read(c, claims->sub, id, &n);
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "not_found", "No such notification");
    if (rc != 0) return store_failed(req, rc);
    return roam_respond_json(req, 200, n);
}

int h_notifications_read_all(roam_req_t *req) {
    const roam_claims_t *claims = roam_req_claims(req);
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    int rc = store_notification_read_all(c, claims->sub);
    if (rc != 0) return store_failed(req, rc);
    return roam_respond_empty(req, 204);
}
