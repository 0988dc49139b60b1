/*
 * roam/config.h: settings from environment variables, validated at start-up.
 *
 * Each getter either returns a valid value or exits the process at once with
 * one line on stderr naming the variable and what was wrong with it, e.g.
 *   roam-auth: config: ROAM_HTTP_PORT="70000": must be an integer from 1 to 65535
 * Call them only from start-up code. Returned strings are borrowed from the
 * environment (or are the default) and live as long as the process.
 */
#ifndef ROAM_CONFIG_H
#define ROAM_CONFIG_H

/* A required string: missing or empty exits, unless def is non-NULL. */
const char *roam_config_str(const char *name, const char *def);
/* An integer in [min, max]; def when unset. */
long roam_config_int(const char *name, long def, long min, long max);
/* true/false/1/0/yes/no/on/off; def when unset. */
int roam_config_bool(const char *name, int def);
/* One of the NULL-terminated choices; def when unset. Returns the index. */
int roam_config_enum(const char *name, const char *def, const char *const *choices);
/* A URL whose scheme is one of the NULL-terminated schemes ("postgresql", ...). */
const char *roam_config_url(const char *name, const char *def, const char *const *schemes);

/* Exits with the standard one-line message for name; for checks the getters cannot express. */
void roam_config_fail(const char *name, const char *value, const char *why) __attribute__((noreturn));

/* The program name used in config messages ("roam-auth"); set by the daemon scaffold. */
void roam_config_set_program(const char *program);

#endif
