/* Per-schema migrations; see roam/migrate.h. */
#include <roam/codec.h>
#include <roam/common.h>
#include <roam/db.h>
#include <roam/log.h>
#include <roam/migrate.h>
#include <roam/outbox.h>

#include <stdio.h>
#include <string.h>

/* The core's tables come first in every schema, under a name no service file can take. */
static const char core_name[] = "0000_roam_core.sql";


/* Applies one migration unless recorded; 1 if applied, 0 if already there, <0 on error. */
static int apply_one(roam_dbconn_t *c, const char *name, const char *sql, char *errbuf, size_t errlen) {
    char sum[65];
    roam_sha256_hex(sql, strlen(sql), sum);
    const char *p[] = {name};
    PGresult *r = roam_db_query(c, "SELECT checksum FROM schema_migrations WHERE version = $1", 1, p);
    if (r == NULL) {
        snprintf(errbuf, errlen, "reading schema_migrations: %s", roam_db_errmsg(c));
        return ROAM_EIO;
    }
    if (PQntuples(r) == 1) {
        int same = strcmp(PQgetvalue(r, 0, 0), sum) == 0;
        PQclear(r);
        if (!same) {
            snprintf(errbuf, errlen,
                     "migration %s was changed after it was applied; add a new migration instead of editing it",
                     name);
            return ROAM_ECONFLICT;
        }
        return 0;
    }
    PQclear(r);

    /* The file may hold many statements: the simple-query protocol runs them all. */
    PGresult *x = PQexec(roam_dbconn_pg(c), sql);
    if (x == NULL || PQresultStatus(x) != PGRES_COMMAND_OK) {
        const char *msg = x ? PQresultErrorMessage(x) : PQerrorMessage(roam_dbconn_pg(c));
        snprintf(errbuf, errlen, "migration %s failed: %s", name, msg);
        size_t n = strlen(errbuf);
        while (n > 0 && errbuf[n - 1] == '\n') errbuf[--n] = '\0';
        PQclear(x);
        return ROAM_EIO;
    }
    PQclear(x);
    const char *ins[] = {name, sum};
    if (roam_db_exec(c, "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)", 2, ins) != 1) {
        snprintf(errbuf, errlen, "recording migration %s: %s", name, roam_db_errmsg(c));
        return ROAM_EIO;
    }
    roam_info("applied migration %s", name);
    return 1;
}

int roam_migrate(roam_db_t *db, const char *schema, const roam_migration_t *migrations, int count, char *errbuf,
                 size_t errlen) {
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) {
        snprintf(errbuf, errlen, "cannot connect to the database");
        return ROAM_EUNAVAIL;
    }
    int applied = 0, rc = 0;
    if (roam_db_begin(c) != 0) {
        snprintf(errbuf, errlen, "BEGIN failed: %s", roam_db_errmsg(c));
        roam_db_release(db, c);
        return ROAM_EIO;
    }
    /*
     * One transaction-scoped advisory lock per schema: replicas starting at
     * once queue here, and each sees the others' work once it gets the lock.
     * The schema and the table are created under the lock, so that
     * CREATE ... IF NOT EXISTS never races.
     */
    char create[256];
    snprintf(create, sizeof(create), "CREATE SCHEMA IF NOT EXISTS %s", schema); /* schema validated by roam_db_new */
    const char *lp[] = {schema};
    if (roam_db_exec(c, "SELECT pg_advisory_xact_lock(hashtext('roam.migrate.' || $1))", 1, lp) < 0 ||
        roam_db_exec(c, create, 0, NULL) < 0) {
        rc = ROAM_EIO;
    }
    if (rc == 0) {
        const char *sp[] = {schema};
        rc = roam_db_exec(c, "SELECT set_config('search_path', $1, true)", 1, sp) < 0 ? ROAM_EIO : 0;
    }
    if (rc == 0 &&
        roam_db_exec(c,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version text PRIMARY KEY,"
                     " checksum text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now())",
                     0, NULL) < 0)
        rc = ROAM_EIO;
    if (rc != 0) snprintf(errbuf, errlen, "preparing schema %s: %s", schema, roam_db_errmsg(c));

    if (rc == 0) {
        int r = apply_one(c, core_name, roam_outbox_schema_sql, errbuf, errlen);
        if (r < 0) rc = r;
        else applied += r;
    }
    for (int i = 0; rc == 0 && i < count; i++) {
        int r = apply_one(c, migrations[i].name, migrations[i].sql, errbuf, errlen);
        if (r < 0) rc = r;
        else applied += r;
    }
    if (rc == 0 && roam_db_commit(c) != 0) {
        snprintf(errbuf, errlen, "COMMIT failed: %s", roam_db_errmsg(c));
        rc = ROAM_EIO;
    }
    roam_db_release(db, c); /* rolls back on failure */
    return rc == 0 ? applied : rc;
}
