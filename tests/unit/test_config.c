/*
 * Config: valid values parse; every bad or missing value exits at once with
 * status 2 and one line naming the variable (checked in a child process).
 */
#include "check.h"

#include <roam/config.h>

#include <sys/wait.h>
#include <unistd.h>

/* Runs fn in a child with stderr captured; returns its exit status and fills line. */
static int run_child(void (*fn)(void), char *line, size_t len) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], line, len - 1);
    line[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void bad_port(void) { roam_config_int("T_PORT", 80, 1, 65535); }
static void missing_url(void) { roam_config_str("T_MISSING", NULL); }
static void bad_scheme(void) {
    static const char *const s[] = {"postgresql", NULL};
    roam_config_url("T_URL", NULL, s);
}
static void bad_bool(void) { roam_config_bool("T_BOOL", 0); }
static void bad_enum(void) {
    static const char *const c[] = {"debug", "info", NULL};
    roam_config_enum("T_ENUM", "info", c);
}

static void test_values(void) {
    setenv("T_INT", "8081", 1);
    CHECK_INT(roam_config_int("T_INT", 1, 1, 65535), 8081);
    CHECK_INT(roam_config_int("T_UNSET", 7, 1, 65535), 7);
    setenv("T_B", "off", 1);
    CHECK_INT(roam_config_bool("T_B", 1), 0);
    setenv("T_B", "TRUE", 1);
    CHECK_INT(roam_config_bool("T_B", 0), 1);
    static const char *const levels[] = {"debug", "info", "warn", NULL};
    setenv("T_E", "warn", 1);
    CHECK_INT(roam_config_enum("T_E", "info", levels), 2);
    static const char *const s[] = {"postgresql", "postgres", NULL};
    setenv("T_U", "postgres://x@h/db", 1);
    CHECK_STR(roam_config_url("T_U", NULL, s), "postgres://x@h/db");
    setenv("T_EMPTY", "", 1);
    CHECK_STR(roam_config_str("T_EMPTY", "dflt"), "dflt"); /* empty counts as unset */
}

static void test_failures(void) {
    char line[512];
    roam_config_set_program("roam-test");
    setenv("T_PORT", "70000", 1);
    CHECK_INT(run_child(bad_port, line, sizeof(line)), 2);
    CHECK_STR(line, "roam-test: config: T_PORT=\"70000\": must be an integer from 1 to 65535\n");
    setenv("T_PORT", "80x", 1);
    CHECK_INT(run_child(bad_port, line, sizeof(line)), 2);
    CHECK(strstr(line, "T_PORT") != NULL);

    unsetenv("T_MISSING");
    CHECK_INT(run_child(missing_url, line, sizeof(line)), 2);
    CHECK_STR(line, "roam-test: config: T_MISSING: is required but not set\n");

    setenv("T_URL", "mysql://h/db", 1);
    CHECK_INT(run_child(bad_scheme, line, sizeof(line)), 2);
    CHECK(strstr(line, "T_URL=\"mysql://h/db\"") != NULL);
    setenv("T_BOOL", "maybe", 1);
    CHECK_INT(run_child(bad_bool, line, sizeof(line)), 2);
    CHECK(strstr(line, "T_BOOL") != NULL);
    setenv("T_ENUM", "loud", 1);
    CHECK_INT(run_child(bad_enum, line, sizeof(line)), 2);
    CHECK(strstr(line, "one of debug, info") != NULL);
    /* Exactly one line. */
    CHECK(strchr(line, '\n') == line + strlen(line) - 1);
}

int main(void) {
    RUN(test_values);
    RUN(test_failures);
    CHECK_DONE();
}
