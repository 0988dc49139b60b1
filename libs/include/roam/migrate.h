/*
 * roam/migrate.h: per-schema SQL migrations.
 *
 * A service's migrations are the .sql files in services/<name>/migrations/,
 * compiled into the daemon (cmake/RoamEmbed.cmake) as roam_migrations[],
 * sorted by file name. roam_migrate() applies the core's own tables (outbox,
 * processed events) and then every migration not yet recorded in
 * <schema>.schema_migrations, all in one transaction under an advisory lock,
 * so replicas that start together apply each file exactly once. A recorded
 * migration whose text has changed since it was applied stops start-up.
 */
#ifndef ROAM_MIGRATE_H
#define ROAM_MIGRATE_H

#include <stddef.h>

typedef struct {
    const char *name; /* file name, e.g. "0001_users.sql" */
    const char *sql;
} roam_migration_t;

/* Defined by the generated file of each daemon. */
extern const roam_migration_t roam_migrations[];
extern const int roam_migrations_count;

typedef struct roam_db roam_db_t;

/*
 * Applies pending migrations to schema. Returns the number applied (>= 0),
 * or a negative ROAM_E* code with the reason in errbuf.
 */
int roam_migrate(roam_db_t *db, const char *schema, const roam_migration_t *migrations, int count,
                 char *errbuf, size_t errlen);

#endif
