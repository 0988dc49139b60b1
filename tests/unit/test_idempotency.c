/*
 * roam/idempotency.h: the pure parts. Key validity (1 to 255 printable
 * ASCII characters) and the request fingerprint, which must not depend on
 * key order or whitespace and must depend on the method, the path and every
 * value. The database side is covered by tests/integration/test_bookings.py.
 */
#include <roam/idempotency.h>

#include "check.h"

static void test_key_valid(void) {
    CHECK(roam_idem_key_valid("a"));
    CHECK(roam_idem_key_valid("8e0f6b4c-2d1e-4a8b-9c3d-0e1f2a3b4c5d"));
    CHECK(roam_idem_key_valid("with space ~!"));
    char key[300];
    memset(key, 'k', sizeof(key));
    key[255] = '\0';
    CHECK(roam_idem_key_valid(key));
    key[255] = 'k';
    key[256] = '\0';
    CHECK(!roam_idem_key_valid(key));
    CHECK(!roam_idem_key_valid(""));
    CHECK(!roam_idem_key_valid(NULL));
    CHECK(!roam_idem_key_valid("tab\there"));
    CHECK(!roam_idem_key_valid("del\x7f"));
    CHECK(!roam_idem_key_valid("caf\xc3\xa9")); /* not ASCII */
}

static void fp(const char *method, const char *path, const char *body, char out[65]) {
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    if (body) REQUIRE(j != NULL);
    CHECK_INT(roam_idem_fingerprint(method, path, j, out), 0);
    json_decref(j);
}

static void test_fingerprint(void) {
    char a[65], b[65];
    fp("POST", "/bookings", "{\"a\": 1, \"b\": {\"y\": [1, 2], \"x\": \"s\"}}", a);
    fp("POST", "/bookings", "{\"b\":{\"x\":\"s\",\"y\":[1,2]},\n  \"a\":1}", b);
    CHECK_STR(a, b); /* key order and whitespace do not matter */
    CHECK_INT((int)strlen(a), 64);
    fp("POST", "/bookings", "{\"a\": 1, \"b\": {\"y\": [2, 1], \"x\": \"s\"}}", b);
    CHECK(strcmp(a, b) != 0); /* array order does */
    fp("POST", "/bookings", "{\"a\": 2, \"b\": {\"y\": [1, 2], \"x\": \"s\"}}", b);
    CHECK(strcmp(a, b) != 0);
    fp("POST", "/payments", "{\"a\": 1, \"b\": {\"y\": [1, 2], \"x\": \"s\"}}", b);
    CHECK(strcmp(a, b) != 0);
    fp("PUT", "/bookings", "{\"a\": 1, \"b\": {\"y\": [1, 2], \"x\": \"s\"}}", b);
    CHECK(strcmp(a, b) != 0);
    /* No body counts as {}. */
    fp("POST", "/x", NULL, a);
    fp("POST", "/x", "{}", b);
    CHECK_STR(a, b);
    /* The parts cannot slide into each other. */
    fp("POST", "/x", "{}", a);
    fp("POST", "/x\n", "{}", b);
    CHECK(strcmp(a, b) != 0);
}

int main(void) {
    RUN(test_key_valid);
    RUN(test_fingerprint);
    CHECK_DONE();
}
