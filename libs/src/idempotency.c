/*
 * Idempotency keys (roam/idempotency.h): records in the service's
 * idempotency_keys table, decided by PostgreSQL's primary key.
 */
#include <roam/codec.h>
#include <roam/common.h>
#include <roam/db.h>
#include <roam/idempotency.h>
#include <roam/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int roam_idem_key_valid(const char *key) {
    if (key == NULL) return 0;
    size_t n = 0;
    for (; key[n] != '\0'; n++) {
        unsigned char c = (unsigned char)key[n];
        if (c < 0x20 || c > 0x7e || n == ROAM_IDEM_KEY_MAX) return 0;
    }
    return n > 0;
}

int roam_idem_fingerprint(const char *method, const char *path, json_t *body, char out[65]) {
    json_t *empty = body ? NULL : json_object();
    char *text = json_dumps(body ? body : empty, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(empty);
    if (text == NULL) return ROAM_ENOMEM;
    size_t ml = strlen(method), pl = strlen(path), tl = strlen(text);
    char *all = malloc(ml + pl + tl + 3);
    if (all == NULL) {
        free(text);
        return ROAM_ENOMEM;
    }
    /* Newlines separate the parts: neither a method nor a path contains one. */
    memcpy(all, method, ml);
    all[ml] = '\n';
    memcpy(all + ml + 1, path, pl);
    all[ml + 1 + pl] = '\n';
    memcpy(all + ml + pl + 2, text, tl);
    roam_sha256_hex(all, ml + pl + tl + 2, out);
    free(all);
    free(text);
    return 0;
}

static int unavailable(roam_req_t *req) {
    return roam_respond_problem(req, "upstream_unavailable", "The idempotency store is unreachable; try again");
}

/* Answers with a stored response. */
static int replay(roam_req_t *req, int status, const char *body) {
    char *copy = strdup(body);
    if (copy == NULL) return unavailable(req);
    roam_resp_header(req, "Idempotent-Replayed", "true");
    return roam_respond_raw(req, status, status >= 400 ? "application/problem+json" : "application/json", copy,
                            strlen(copy));
}

int roam_idem_begin(roam_req_t *req, const char *endpoint, roam_idem_t *idem) {
    memset(idem, 0, sizeof(*idem));
    const char *key = roam_req_header(req, "Idempotency-Key");
    if (key == NULL || key[0] == '\0')
        return roam_respond_problem(req, "idempotency_key_missing", "This request needs an Idempotency-Key header");
    /* An unusable key is no key (the OpenAPI document's 400 "no valid Idempotency-Key header"). */
    if (!roam_idem_key_valid(key))
        return roam_respond_problem(req, "idempotency_key_missing",
                                    "The Idempotency-Key header must be 1 to %d printable ASCII characters",
                                    ROAM_IDEM_KEY_MAX);
    const roam_claims_t *claims = roam_req_claims(req);
    if (claims == NULL) return roam_respond_problem(req, "unauthorized", "A bearer token is required");
    char fp[65];
    if (roam_idem_fingerprint(roam_req_method(req), roam_req_path(req), roam_req_json(req), fp) != 0)
        return unavailable(req);
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req);

    char lease[16], ttl[16];
    snprintf(lease, sizeof(lease), "%d", ROAM_IDEM_LEASE_S);
    snprintf(ttl, sizeof(ttl), "%d", ROAM_IDEM_TTL_S);
    const char *p[] = {claims->sub, endpoint, key, fp, lease, ttl};
    /* A few rounds: a record can vanish between the two statements (its request failed with a 5xx). */
    for (int round = 0; round < 3; round++) {
        PGresult *r = roam_db_query(
            c,
            "INSERT INTO idempotency_keys AS k (user_id, endpoint, key, fingerprint, state, locked_until, expires_at) "
            "VALUES ($1, $2, $3, $4, 'in_progress', now() + $5::int * interval '1 second', "
            "        now() + $6::int * interval '1 second') "
            "ON CONFLICT (user_id, endpoint, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, "
            "    state = 'in_progress', status = NULL, response = NULL, created_at = now(), "
            "    locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at "
            "  WHERE k.expires_at <= now() "
            "     OR (k.state = 'in_progress' AND k.locked_until <= now() AND k.fingerprint = EXCLUDED.fingerprint) "
            "RETURNING 1",
            6, p);
        if (r == NULL) return unavailable(req);
        int mine = PQntuples(r) == 1;
        PQclear(r);
        if (mine) {
            idem->user_id = claims->sub;
            idem->endpoint = endpoint;
            idem->key = key;
            idem->active = 1;
            return 0;
        }
        r = roam_db_query(c,
                          "SELECT fingerprint, state, status, response FROM idempotency_keys "
                          "WHERE user_id = $1 AND endpoint = $2 AND key = $3",
                          3, p);
        if (r == NULL) return unavailable(req);
        if (PQntuples(r) == 0) {
            PQclear(r);
            continue;
        }
        int st;
        if (strcmp(PQgetvalue(r, 0, 0), fp) != 0)
            st = roam_respond_problem(req, "idempotency_key_reused",
                                      "This Idempotency-Key was used with a different request");
        else if (strcmp(PQgetvalue(r, 0, 1), "done") == 0)
            st = replay(req, atoi(PQgetvalue(r, 0, 2)), PQgetvalue(r, 0, 3));
        else
            st = roam_respond_problem(req, "idempotency_request_in_progress",
                                      "A request with this Idempotency-Key is still being processed");
        PQclear(r);
        return st;
    }
    return roam_respond_problem(req, "idempotency_request_in_progress",
                                "A request with this Idempotency-Key is still being processed");
}

int roam_idem_finish(roam_req_t *req, roam_idem_t *idem, roam_dbconn_t *c) {
    if (!idem->active) return 0;
    const char *body;
    size_t len;
    int status = roam_resp_get(req, &body, &len, NULL);
    if (status >= 500 || status == 0) {
        if (roam_db_in_tx(c)) return ROAM_EIO; /* the caller rolls back and abandons */
        roam_idem_abandon(idem, c);
        return 0;
    }
    char st[12];
    snprintf(st, sizeof(st), "%d", status);
    char *text = malloc(len + 1);
    if (text == NULL) return ROAM_EIO;
    if (len) memcpy(text, body, len);
    text[len] = '\0';
    const char *p[] = {idem->user_id, idem->endpoint, idem->key, st, text};
    long n = roam_db_exec(c,
                          "UPDATE idempotency_keys SET state = 'done', status = $4::int, response = $5 "
                          "WHERE user_id = $1 AND endpoint = $2 AND key = $3 AND state = 'in_progress'",
                          5, p);
    free(text);
    if (n < 0) return ROAM_EIO;
    idem->active = 0;
    return 0;
}

void roam_idem_abandon(roam_idem_t *idem, roam_dbconn_t *c) {
    if (!idem->active || c == NULL) return;
    const char *p[] = {idem->user_id, idem->endpoint, idem->key};
    if (roam_db_exec(c,
                     "DELETE FROM idempotency_keys WHERE user_id = $1 AND endpoint = $2 AND key = $3 "
                     "AND state = 'in_progress'",
                     3, p) < 0)
        roam_warn("idempotency record of a failed request not deleted (its lease will run out): %s", roam_db_errmsg(c));
    idem->active = 0;
}

long roam_idem_prune(roam_dbconn_t *c, int limit) {
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *p[] = {lim};
    return roam_db_exec(c,
                        "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys "
                        "WHERE expires_at <= now() LIMIT $1::int)",
                        1, p);
}

int roam_idem_run(roam_req_t *req, const char *endpoint,
                  int (*fn)(roam_req_t *req, roam_dbconn_t *c, roam_idem_t *idem)) {
    roam_idem_t idem;
    int st = roam_idem_begin(req, endpoint, &idem);
    if (st != 0) return st;
    roam_dbconn_t *c = roam_req_db(req);
    st = fn(req, c, &idem);
    if (idem.active && c != NULL) {
        if (roam_db_in_tx(c)) roam_db_rollback(c);
        roam_idem_finish(req, &idem, c); /* stores a 4xx, forgets a 5xx */
        roam_idem_abandon(&idem, c);
    }
    return st;
}
