/* The users table (migrations/0001_users.sql). */
#include "auth.h"

#include <roam/common.h>

#include <stdio.h>
#include <string.h>

/* The user object from row i of r, whose first columns are STORE_USER_COLUMNS. Returns new. */
static json_t *user_json(PGresult *r, int i) {
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", PQgetvalue(r, i, 0), "email", PQgetvalue(r, i, 1), "name",
                     PQgetvalue(r, i, 2), "role", PQgetvalue(r, i, 3), "created_at", PQgetvalue(r, i, 4));
}

int store_user_create(roam_dbconn_t *c, const char *email, const char *password_hash, const char *name,
                      const char *role, json_t **out) {
    char id[ROAM_UUID_LEN + 1];
    roam_uuid_v4(id);
    const char *p[] = {id, email, password_hash, name, role};
    /* The unique index on lower(email) decides races between two registrations: no read first. */
    PGresult *r = roam_db_query(c,
                                "INSERT INTO users (id, email, password_hash, name, role) "
                                "VALUES ($1, lower($2), $3, $4, $5) RETURNING " STORE_USER_COLUMNS,
                                5, p);
    if (r == NULL) return strcmp(roam_db_sqlstate(c), "23505") == 0 ? ROAM_ECONFLICT : ROAM_EIO;
    *out = PQntuples(r) == 1 ? user_json(r, 0) : NULL;
    PQclear(r);
    return *out ? 0 : ROAM_EIO;
}

int store_user_by_email(roam_dbconn_t *c, const char *email, json_t **out, char hash[AUTH_HASH_MAX]) {
    const char *p[] = {email};
    PGresult *r = roam_db_query(
        c, "SELECT " STORE_USER_COLUMNS ", password_hash FROM users WHERE lower(email) = lower($1)", 1, p);
    if (r == NULL) return ROAM_EIO;
    int rc = ROAM_ENOTFOUND;
    if (PQntuples(r) == 1) {
        snprintf(hash, AUTH_HASH_MAX, "%s", PQgetvalue(r, 0, 5));
        *out = user_json(r, 0);
        rc = *out ? 0 : ROAM_EIO;
    }
    PQclear(r);
    return rc;
}

int store_user_get(roam_dbconn_t *c, const char *id, json_t **out) {
    if (!roam_uuid_valid(id)) return ROAM_ENOTFOUND;
    const char *p[] = {id};
    PGresult *r = roam_db_query(c, "SELECT " STORE_USER_COLUMNS " FROM users WHERE id = $1", 1, p);
    if (r == NULL) return ROAM_EIO;
    int rc = ROAM_ENOTFOUND;
    if (PQntuples(r) == 1) {
        *out = user_json(r, 0);
        rc = *out ? 0 : ROAM_EIO;
    }
    PQclear(r);
    return rc;
}

int store_user_ensure_admin(roam_dbconn_t *c, const char *email, const char *password_hash, const char *name,
                            char existing_role[32]) {
    char id[ROAM_UUID_LEN + 1];
    roam_uuid_v4(id);
    const char *p[] = {id, email, password_hash, name};
    /* ON CONFLICT without a target covers the unique index on lower(email): safe with two replicas. */
    long n = roam_db_exec(c,
                          "INSERT INTO users (id, email, password_hash, name, role) "
                          "VALUES ($1, lower($2), $3, $4, 'admin') ON CONFLICT DO NOTHING",
                          4, p);
    if (n < 0) return ROAM_EIO;
    if (n == 1) return 1;
    const char *q[] = {email};
    PGresult *r = roam_db_query(c, "SELECT role FROM users WHERE lower(email) = lower($1)", 1, q);
    if (r == NULL) return ROAM_EIO;
    snprintf(existing_role, 32, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return 0;
}
