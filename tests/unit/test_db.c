/*
 * PostgreSQL pool and migrations against a real server
 * (ROAM_TEST_DATABASE_URL). Each run works in its own schemas.
 */
#include "check.h"

#include <roam/common.h>
#include <roam/db.h>
#include <roam/log.h>
#include <roam/migrate.h>

#include <pthread.h>

static const char *url;
static char schema[64];

static void test_query_and_errors(void) {
    char err[256];
    roam_db_t *db = roam_db_new(url, NULL, 2, err, sizeof(err));
    REQUIRE(db != NULL);
    roam_dbconn_t *c = roam_db_acquire(db);
    REQUIRE(c != NULL);

    const char *p[] = {"41", NULL};
    PGresult *r = roam_db_query(c, "SELECT $1::int + 1, $2::text IS NULL", 2, p);
    REQUIRE(r != NULL);
    CHECK_STR(PQgetvalue(r, 0, 0), "42");
    CHECK_STR(PQgetvalue(r, 0, 1), "t");
    PQclear(r);

    /* Parameters are never spliced into SQL: a quote is just data. */
    const char *evil[] = {"'); DROP TABLE x; --"};
    r = roam_db_query(c, "SELECT length($1)", 1, evil);
    REQUIRE(r != NULL);
    CHECK_STR(PQgetvalue(r, 0, 0), "20");
    PQclear(r);

    CHECK(roam_db_query(c, "SELECT * FROM no_such_table", 0, NULL) == NULL);
    CHECK_STR(roam_db_sqlstate(c), "42P01");

    CHECK_INT(roam_db_exec(c, "CREATE TEMP TABLE u (k text PRIMARY KEY)", 0, NULL), 0);
    const char *k[] = {"a"};
    CHECK_INT(roam_db_exec(c, "INSERT INTO u VALUES ($1)", 1, k), 1);
    CHECK_INT(roam_db_exec(c, "INSERT INTO u VALUES ($1)", 1, k), ROAM_ECONFLICT);
    CHECK_STR(roam_db_sqlstate(c), "23505");
    roam_db_release(db, c);
    roam_db_free(db);

    CHECK(roam_db_new("not a url at all ===", NULL, 1, err, sizeof(err)) == NULL);
    CHECK(roam_db_new(url, "Bad-Schema", 1, err, sizeof(err)) == NULL);
}

static void test_transactions(void) {
    char err[256];
    roam_db_t *db = roam_db_new(url, schema, 1, err, sizeof(err));
    REQUIRE(db != NULL);
    roam_dbconn_t *c = roam_db_acquire(db);
    REQUIRE(c != NULL);
    char create[128];
    snprintf(create, sizeof(create), "CREATE SCHEMA IF NOT EXISTS %s", schema);
    CHECK(roam_db_exec(c, create, 0, NULL) >= 0);
    CHECK(roam_db_exec(c, "CREATE TABLE t (v int)", 0, NULL) >= 0);

    /* Rolled back: nothing stays. */
    CHECK_INT(roam_db_begin(c), 0);
    CHECK_INT(roam_db_exec(c, "INSERT INTO t VALUES (1)", 0, NULL), 1);
    CHECK_INT(roam_db_rollback(c), 0);

    /* A transaction left open is rolled back when the connection goes back. */
    CHECK_INT(roam_db_begin(c), 0);
    CHECK_INT(roam_db_exec(c, "INSERT INTO t VALUES (2)", 0, NULL), 1);
    CHECK(roam_db_in_tx(c));
    roam_db_release(db, c);
    c = roam_db_acquire(db);
    REQUIRE(c != NULL);
    CHECK(!roam_db_in_tx(c));

    /* COMMIT of a failed transaction is an error, not a silent rollback. */
    CHECK_INT(roam_db_begin(c), 0);
    CHECK_INT(roam_db_exec(c, "INSERT INTO t VALUES (3)", 0, NULL), 1);
    CHECK(roam_db_exec(c, "SELECT 1/0", 0, NULL) < 0);
    CHECK(roam_db_commit(c) != 0);

    CHECK_INT(roam_db_begin(c), 0);
    CHECK_INT(roam_db_exec(c, "INSERT INTO t VALUES (4)", 0, NULL), 1);
    CHECK_INT(roam_db_commit(c), 0);

    PGresult *r = roam_db_query(c, "SELECT string_agg(v::text, ',') FROM t", 0, NULL);
    REQUIRE(r != NULL);
    CHECK_STR(PQgetvalue(r, 0, 0), "4");
    PQclear(r);
    roam_db_release(db, c);
    roam_db_free(db);
}

/* A connection killed by the server is replaced on the next acquire. */
static void test_reconnect(void) {
    char err[256];
    roam_db_t *db = roam_db_new(url, NULL, 1, err, sizeof(err));
    REQUIRE(db != NULL);
    roam_dbconn_t *c = roam_db_acquire(db);
    REQUIRE(c != NULL);
    PGresult *r = roam_db_query(c, "SELECT pg_backend_pid()", 0, NULL);
    REQUIRE(r != NULL);
    char pid[32];
    snprintf(pid, sizeof(pid), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    roam_db_release(db, c);

    roam_db_t *admin = roam_db_new(url, NULL, 1, err, sizeof(err));
    roam_dbconn_t *a = roam_db_acquire(admin);
    REQUIRE(a != NULL);
    const char *p[] = {pid};
    r = roam_db_query(a, "SELECT pg_terminate_backend($1::int)", 1, p);
    PQclear(r);
    roam_db_release(admin, a);
    roam_db_free(admin);

    /* The first use after the kill may fail (it was in flight); the next acquire must work. */
    c = roam_db_acquire(db);
    REQUIRE(c != NULL);
    r = roam_db_query(c, "SELECT 1", 0, NULL);
    PQclear(r);
    roam_db_release(db, c);
    c = roam_db_acquire(db);
    REQUIRE(c != NULL);
    r = roam_db_query(c, "SELECT pg_backend_pid()", 0, NULL);
    REQUIRE(r != NULL);
    CHECK(strcmp(PQgetvalue(r, 0, 0), pid) != 0);
    PQclear(r);
    roam_db_release(db, c);
    roam_db_free(db);
}

static const roam_migration_t m1[] = {
    {"0001_a.sql", "CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a VALUES (1);"},
    {"0002_b.sql", "CREATE TABLE b (id int); INSERT INTO a VALUES (2);"},
};

static long count_rows(roam_db_t *db, const char *sql) {
    roam_dbconn_t *c = roam_db_acquire(db);
    if (c == NULL) return -1;
    PGresult *r = roam_db_query(c, sql, 0, NULL);
    long n = r ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    roam_db_release(db, c);
    return n;
}

static void test_migrations(void) {
    char err[512], s[80];
    snprintf(s, sizeof(s), "%s_m", schema);
    roam_db_t *db = roam_db_new(url, s, 2, err, sizeof(err));
    REQUIRE(db != NULL);
    CHECK_INT(roam_migrate(db, s, m1, 1, err, sizeof(err)), 2); /* core + 0001 */
    CHECK_INT(roam_migrate(db, s, m1, 2, err, sizeof(err)), 1); /* only 0002 */
    CHECK_INT(roam_migrate(db, s, m1, 2, err, sizeof(err)), 0); /* nothing */
    CHECK_INT(count_rows(db, "SELECT count(*) FROM a"), 2);
    CHECK_INT(count_rows(db, "SELECT count(*) FROM schema_migrations"), 3);
    CHECK_INT(count_rows(db, "SELECT count(*) FROM outbox"), 0); /* the core's tables exist */

    /* An applied migration that was edited stops start-up. */
    roam_migration_t edited[] = {{"0001_a.sql", "CREATE TABLE a (id bigint);"}};
    CHECK(roam_migrate(db, s, edited, 1, err, sizeof(err)) < 0);
    CHECK(strstr(err, "0001_a.sql") != NULL);

    /* A failing migration leaves nothing behind: not its table, not earlier ones of the same run. */
    roam_migration_t bad[] = {m1[0], m1[1], {"0003_c.sql", "CREATE TABLE c (id int);"},
                              {"0004_d.sql", "CREATE TABLE d (id int); SELECT no_such_function();"}};
    CHECK(roam_migrate(db, s, bad, 4, err, sizeof(err)) < 0);
    CHECK(strstr(err, "0004_d.sql") != NULL);
    CHECK_INT(count_rows(db, "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('c','d') "
                             "AND table_schema = current_schema()"), 0);
    CHECK_INT(count_rows(db, "SELECT count(*) FROM schema_migrations"), 3);
    roam_db_free(db);
}

typedef struct {
    char schema[80];
    int result;
} racer_t;

static void *race(void *arg) {
    racer_t *r = arg;
    char err[512];
    roam_db_t *db = roam_db_new(url, r->schema, 1, err, sizeof(err));
    r->result = db ? roam_migrate(db, r->schema, m1, 2, err, sizeof(err)) : -100;
    roam_db_free(db);
    return NULL;
}

/* Replicas starting at once: each migration is applied exactly once. */
static void test_concurrent_migrations(void) {
    enum { N = 6 };
    racer_t racers[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        snprintf(racers[i].schema, sizeof(racers[i].schema), "%s_race", schema);
        pthread_create(&t[i], NULL, race, &racers[i]);
    }
    int total = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        CHECK(racers[i].result >= 0);
        total += racers[i].result;
    }
    CHECK_INT(total, 3);
    char err[256], s[80];
    snprintf(s, sizeof(s), "%s_race", schema);
    roam_db_t *db = roam_db_new(url, s, 1, err, sizeof(err));
    CHECK_INT(count_rows(db, "SELECT count(*) FROM a"), 2);
    roam_db_free(db);
}

static void cleanup(void) {
    char err[256], sql[256];
    roam_db_t *db = roam_db_new(url, NULL, 1, err, sizeof(err));
    roam_dbconn_t *c = db ? roam_db_acquire(db) : NULL;
    if (c != NULL) {
        const char *suffix[] = {"", "_m", "_race"};
        for (int i = 0; i < 3; i++) {
            snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s%s CASCADE", schema, suffix[i]);
            roam_db_exec(c, sql, 0, NULL);
        }
        roam_db_release(db, c);
    }
    roam_db_free(db);
}

int main(void) {
    roam_log_init("test", ROAM_LOG_ERROR);
    url = check_env("ROAM_TEST_DATABASE_URL");
    char id[ROAM_UUID_LEN + 1];
    roam_uuid_v4(id);
    snprintf(schema, sizeof(schema), "t_db_%.8s", id);
    RUN(test_query_and_errors);
    RUN(test_transactions);
    RUN(test_reconnect);
    RUN(test_migrations);
    RUN(test_concurrent_migrations);
    cleanup();
    CHECK_DONE();
}
