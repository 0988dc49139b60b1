/*
 * roam-testd: the platform's test fixture. It exercises the core the way a
 * real service does: a route that writes a row and an outbox event in one
 * transaction, a consumer that applies each event exactly once, and trivial
 * routes for the HTTP benchmark and the shutdown test.
 *
 * Extra setting: ROAM_TESTD_CONSUME (default false) runs the consumer of
 * topic testd.events in group "testd".
 */
#include <roam/config.h>
#include <roam/daemon.h>
#include <roam/db.h>
#include <roam/log.h>
#include <roam/outbox.h>
#include <roam/redis.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOPIC "testd.events"

static int h_hello(roam_req_t *req) {
    return roam_respond_json(req, 200, json_pack("{s:s}", "message", "hello"));
}

static int h_echo(roam_req_t *req) {
    return roam_respond_json(req, 200, json_incref(roam_req_json(req)));
}

static int h_slow(roam_req_t *req) {
    const char *ms = roam_req_query(req, "ms");
    long n = ms ? strtol(ms, NULL, 10) : 0;
    if (n < 0 || n > 60000) {
        json_t *errors = json_array();
        roam_field_error(errors, "ms", "must be from 0 to 60000");
        return roam_respond_invalid(req, errors);
    }
    usleep((useconds_t)n * 1000);
    return roam_respond_json(req, 200, json_pack("{s:I}", "slept_ms", (json_int_t)n));
}

/*
 * Upstream stand-ins for the gateway's tests: when the gateway's
 * ROAM_INVENTORY_URL points here, these answer its listing routes with what
 * arrived (query string byte for byte, the headers that matter), or after a
 * delay.
 */
static int h_upstream_echo(roam_req_t *req) {
    static const char *const names[] = {"X-Request-Id", "X-Forwarded-For", "X-Roam-Internal", "X-User-Id",
                                        "X-Roam-Role", "Authorization", "traceparent", "Cookie", NULL};
    json_t *headers = json_object();
    for (const char *const *n = names; *n; n++) {
        const char *v = roam_req_header(req, *n);
        if (v != NULL) json_object_set_new(headers, *n, json_string(v));
    }
    return roam_respond_json(req, 200, json_pack("{s:s, s:s, s:s, s:o}", "path", roam_req_path(req), "query",
                                                 roam_req_query_string(req), "client", roam_req_client_ip(req),
                                                 "headers", headers));
}

static int h_upstream_slow(roam_req_t *req) {
    const char *ms = roam_req_query(req, "ms");
    long n = ms ? strtol(ms, NULL, 10) : 0;
    if (n > 0 && n <= 60000) usleep((useconds_t)n * 1000);
    return roam_respond_json(req, 200, json_pack("{s:I}", "slept_ms", (json_int_t)n));
}

static int h_notes_create(roam_req_t *req) {
    json_t *text = json_object_get(roam_req_json(req), "text");
    if (!json_is_string(text) || json_string_length(text) == 0 || json_string_length(text) > 1000) {
        json_t *errors = json_array();
        roam_field_error(errors, "text", "must be a string of 1 to 1000 characters");
        return roam_respond_invalid(req, errors);
    }
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return roam_respond_problem(req, "upstream_unavailable", "The database is unreachable");

    char id[ROAM_UUID_LEN + 1];
    roam_uuid_v7(id);
    const char *p[] = {id, json_string_value(text)};
    json_t *data = json_pack("{s:s, s:O}", "note_id", id, "text", text);
    int rc = roam_db_begin(c);
    if (rc == 0 && roam_db_exec(c, "INSERT INTO notes (id, text) VALUES ($1, $2)", 2, p) != 1) rc = ROAM_EIO;
    if (rc == 0) rc = roam_outbox_add(c, TOPIC, "note.created", id, id, data, NULL);
    if (rc == 0) rc = roam_db_commit(c);
    json_decref(data);
    if (rc != 0) return roam_respond_problem(req, "upstream_unavailable", "The note could not be stored");
    return roam_respond_json(req, 201, json_pack("{s:s, s:O}", "id", id, "text", text));
}

static int h_notes_get(roam_req_t *req) {
    const char *id = roam_req_param(req, "id");
    if (!roam_uuid_valid(id)) return roam_respond_problem(req, "not_found", "No such note");
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return roam_respond_problem(req, "upstream_unavailable", "The database is unreachable");
    const char *p[] = {id};
    PGresult *r = roam_db_query(c, "SELECT id, text FROM notes WHERE id = $1", 1, p);
    if (r == NULL) return roam_respond_problem(req, "upstream_unavailable", "The database is unreachable");
    int status;
    if (PQntuples(r) == 0)
        status = roam_respond_problem(req, "not_found", "No such note");
    else
        status = roam_respond_json(req, 200, json_pack("{s:s, s:s}", "id", PQgetvalue(r, 0, 0), "text",
                                                       PQgetvalue(r, 0, 1)));
    PQclear(r);
    return status;
}

static int h_received(roam_req_t *req) {
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return roam_respond_problem(req, "upstream_unavailable", "The database is unreachable");
    PGresult *r = roam_db_query(c, "SELECT event_id, note_id FROM received ORDER BY seq", 0, NULL);
    if (r == NULL) return roam_respond_problem(req, "upstream_unavailable", "The database is unreachable");
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(items, json_pack("{s:s, s:s}", "event_id", PQgetvalue(r, i, 0), "note_id",
                                               PQgetvalue(r, i, 1)));
    PQclear(r);
    return roam_respond_json(req, 200, json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(items),
                                                 "items", items));
}

/* Applies note.created exactly once: the claim and the effect commit together. */
static int on_event(const roam_event_t *ev, void *ctx) {
    (void)ctx;
    if (strcmp(ev->type, "note.created") != 0) return 0;
    const char *note_id = json_string_value(json_object_get(ev->data, "note_id"));
    if (note_id == NULL || !roam_uuid_valid(note_id)) {
        roam_warn("event %s has no note_id; skipped", ev->id);
        return 0;
    }
    roam_db_t *db = roam_daemon_db(roam_daemon());
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) return ROAM_EUNAVAIL;
    int rc = roam_db_begin(c);
    int fresh = rc == 0 ? roam_event_claim(c, "testd", ev->id) : rc;
    if (fresh == 1) {
        const char *p[] = {ev->id, note_id};
        if (roam_db_exec(c, "INSERT INTO received (event_id, note_id) VALUES ($1, $2)", 2, p) != 1) fresh = ROAM_EIO;
    }
    rc = fresh < 0 ? fresh : roam_db_commit(c);
    roam_db_release(db, c);
    return rc;
}

static int init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    (void)errbuf;
    (void)errlen;
    if (!roam_config_bool("ROAM_TESTD_CONSUME", 0)) return 0;
    static const char *const topics[] = {TOPIC, NULL};
    return roam_daemon_add_consumer(d, "testd", topics, on_event, NULL);
}

static const roam_route_t routes[] = {
    {"GET", "/hello", NULL, 0, h_hello},
    {"POST", "/echo", NULL, 0, h_echo},
    {"GET", "/slow", NULL, 0, h_slow},
    {"POST", "/notes", NULL, 0, h_notes_create},
    {"GET", "/notes/{id}", NULL, 0, h_notes_get},
    {"GET", "/received", NULL, 0, h_received},
    {"GET", "/listings/suggest", NULL, 0, h_upstream_echo},
    {"GET", "/listings/{id}", NULL, 0, h_upstream_echo},
    {"GET", "/listings/{id}/quote", NULL, 0, h_upstream_slow},
    {"GET", "/bookings/{id}", NULL, 0, h_hello}, /* the benchmark's trivial route behind a token check */
};

static const roam_daemon_spec_t spec = {
    .name = "testd",
    .default_port = 8099,
    .needs = ROAM_NEED_DB | ROAM_NEED_REDIS | ROAM_NEED_KAFKA,
    .routes = routes,
    .nroutes = ROAM_ARRAY_LEN(routes),
    .init = init,
};

int main(int argc, char **argv) { return roam_daemon_main(&spec, argc, argv); }
