/* Logs are one JSON object per line with ts, level, service, request_id; ids are well-formed. */
#include "check.h"

#include <roam/common.h>
#include <roam/log.h>

#include <unistd.h>

static char captured[8192];

/* Runs fn with stderr redirected into captured. */
static void capture(void (*fn)(void)) {
    int fds[2];
    if (pipe(fds) != 0) return;
    int saved = dup(2);
    dup2(fds[1], 2);
    fn();
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], captured, sizeof(captured) - 1);
    captured[n > 0 ? n : 0] = '\0';
    close(fds[0]);
}

static void emit_lines(void) {
    roam_log_init("booking", ROAM_LOG_INFO);
    roam_debug("hidden %d", 1);
    roam_log_set_context("req-1", NULL);
    roam_info("hello \"%s\"", "world");
    roam_log_set_context(NULL, NULL);
    roam_log_fields(ROAM_LOG_WARN, "with fields", json_pack("{s:i}", "status", 503));
    roam_error("bad utf-8 \xff here");
}

static void test_lines(void) {
    capture(emit_lines);
    char *save = NULL;
    char *line = strtok_r(captured, "\n", &save);
    REQUIRE(line != NULL);
    json_t *a = json_loads(line, 0, NULL);
    REQUIRE(a != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "level")), "info");
    CHECK_STR(json_string_value(json_object_get(a, "service")), "booking");
    CHECK_STR(json_string_value(json_object_get(a, "request_id")), "req-1");
    CHECK_STR(json_string_value(json_object_get(a, "msg")), "hello \"world\"");
    CHECK(json_is_string(json_object_get(a, "ts")));
    json_decref(a);

    line = strtok_r(NULL, "\n", &save);
    REQUIRE(line != NULL);
    json_t *b = json_loads(line, 0, NULL);
    REQUIRE(b != NULL);
    CHECK_STR(json_string_value(json_object_get(b, "level")), "warn");
    CHECK(json_object_get(b, "request_id") == NULL);
    CHECK_INT(json_integer_value(json_object_get(b, "status")), 503);
    json_decref(b);

    line = strtok_r(NULL, "\n", &save);
    REQUIRE(line != NULL);
    json_t *c = json_loads(line, 0, NULL); /* still valid JSON */
    CHECK(c != NULL);
    json_decref(c);
    CHECK(strtok_r(NULL, "\n", &save) == NULL); /* the debug line was filtered */
}

static void test_ids(void) {
    char a[ROAM_UUID_LEN + 1], b[ROAM_UUID_LEN + 1];
    roam_uuid_v4(a);
    roam_uuid_v4(b);
    CHECK(roam_uuid_valid(a));
    CHECK(strcmp(a, b) != 0);
    CHECK(a[14] == '4');
    roam_uuid_v7(a);
    usleep(2000);
    roam_uuid_v7(b);
    CHECK(roam_uuid_valid(a));
    CHECK(a[14] == '7');
    CHECK(strcmp(a, b) < 0); /* time-ordered */
    CHECK(!roam_uuid_valid("not-a-uuid"));
    CHECK(!roam_uuid_valid("0123456789abcdef0123456789abcdef0123"));
    CHECK(!roam_uuid_valid(NULL));
    char ts[32];
    roam_now_rfc3339(ts);
    CHECK_INT(strlen(ts), 24);
    CHECK(ts[23] == 'Z');
}

int main(void) {
    RUN(test_lines);
    RUN(test_ids);
    CHECK_DONE();
}
