/*
 * roam/db.h: a PostgreSQL connection pool over libpq.
 *
 * Every connection of a pool has its search_path set to the service's schema,
 * so SQL names tables without a schema prefix. Queries are parameterised only:
 * there is no call that splices values into SQL text.
 *
 * Reconnects: a connection found broken is reset before it is handed out, and
 * one that sat idle for more than a couple of seconds is checked first, so a
 * PostgreSQL restart costs at most the requests that were in flight.
 */
#ifndef ROAM_DB_H
#define ROAM_DB_H

#include <libpq-fe.h>

typedef struct roam_db roam_db_t;
typedef struct roam_dbconn roam_dbconn_t;

/*
 * Creates a pool of up to size connections to url (a libpq URI) with
 * search_path schema (may be NULL). Connections open on demand. Returns NULL
 * on a malformed url, reason in errbuf.
 */
roam_db_t *roam_db_new(const char *url, const char *schema, unsigned size, char *errbuf, size_t errlen);
void roam_db_free(roam_db_t *db);
const char *roam_db_url(const roam_db_t *db);
const char *roam_db_schema(const roam_db_t *db);

/*
 * Borrows a connection, waiting up to the pool's acquire timeout (5 s) when
 * all are busy. Returns NULL when none can be had or the server is
 * unreachable. Give it back with roam_db_release().
 */
roam_dbconn_t *roam_db_acquire(roam_db_t *db);
/* Returns c to the pool; a transaction left open is rolled back. */
void roam_db_release(roam_db_t *db, roam_dbconn_t *c);

/*
 * Runs sql with nparams text parameters (NULL entries are SQL NULL).
 * Returns a new result (PQclear it) when the statement succeeded, or NULL
 * on any failure, with the SQLSTATE and message kept for roam_db_sqlstate()
 * and roam_db_errmsg().
 */
PGresult *roam_db_query(roam_dbconn_t *c, const char *sql, int nparams, const char *const *params);
/*
 * Runs a statement for its effect. Returns the number of rows affected, or
 * ROAM_ECONFLICT for a unique, exclusion or check violation (SQLSTATE class
 * 23), or ROAM_EIO for anything else.
 */
long roam_db_exec(roam_dbconn_t *c, const char *sql, int nparams, const char *const *params);

int roam_db_begin(roam_dbconn_t *c);
int roam_db_commit(roam_dbconn_t *c);
int roam_db_rollback(roam_dbconn_t *c);
/* 1 while c is inside a transaction block. */
int roam_db_in_tx(roam_dbconn_t *c);

/* SQLSTATE of the last failure on c ("23505"), or "" if none. */
const char *roam_db_sqlstate(const roam_dbconn_t *c);
const char *roam_db_errmsg(const roam_dbconn_t *c);
/* The underlying libpq connection (borrowed), for LISTEN/NOTIFY and COPY. */
PGconn *roam_dbconn_pg(roam_dbconn_t *c);

/* Sends pg's server notices to the JSON log (NOTICE at debug, others at warn). */
void roam_db_route_notices(PGconn *pg);

/* Checks that the server answers (SELECT 1) within about a second. 0 or ROAM_EUNAVAIL. */
int roam_db_ping(roam_db_t *db);

#endif
