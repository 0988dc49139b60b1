/* Router: matching, specificity, 404 vs 405, decoding, and bad tables. */
#include "check.h"
#include "router.h"

#include <roam/common.h>

static int h(roam_req_t *req) { (void)req; return 200; }

static const roam_route_t routes[] = {
    {"GET", "/listings", NULL, 0, h},                      /* 0 */
    {"POST", "/listings", "operator", 0, h},               /* 1 */
    {"GET", "/listings/suggest", NULL, 0, h},              /* 2 */
    {"GET", "/listings/{id}", NULL, 0, h},                 /* 3 */
    {"PATCH", "/listings/{id}", "operator", 0, h},         /* 4 */
    {"GET", "/listings/{id}/reviews", NULL, 0, h},         /* 5 */
    {"PUT", "/listings/{id}/units/{unit_id}/calendar", "operator", 0, h}, /* 6 */
    {"GET", "/", NULL, 0, h},                              /* 7 */
};

static roam_router_t *make(void) {
    char err[256];
    roam_router_t *r = roam_router_new(routes, ROAM_ARRAY_LEN(routes), err, sizeof(err));
    if (r == NULL) fprintf(stderr, "router: %s\n", err);
    return r;
}

static void test_literal_beats_param(void) {
    roam_router_t *r = make();
    REQUIRE(r != NULL);
    roam_route_match_t m;
    CHECK_INT(roam_router_match(r, "GET", "/listings/suggest", &m), 2);
    CHECK_INT(roam_router_match(r, "GET", "/listings/abc", &m), 3);
    CHECK_STR(m.params.values[0], "abc");
    CHECK_STR(m.params.names[0], "id");
    CHECK_INT(roam_router_match(r, "GET", "/listings/abc/reviews", &m), 5);
    CHECK_INT(roam_router_match(r, "GET", "/", &m), 7);
    /* Method first: PATCH on the literal path falls back to the parameter route. */
    CHECK_INT(roam_router_match(r, "PATCH", "/listings/suggest", &m), 4);
    roam_router_free(r);
}

static void test_params(void) {
    roam_router_t *r = make();
    REQUIRE(r != NULL);
    roam_route_match_t m;
    CHECK_INT(roam_router_match(r, "PUT", "/listings/L1/units/U%202/calendar", &m), 6);
    CHECK_INT(m.params.n, 2);
    CHECK_STR(m.params.values[0], "L1");
    CHECK_STR(m.params.values[1], "U 2");
    /* An encoded slash stays inside its segment. */
    CHECK_INT(roam_router_match(r, "GET", "/listings/a%2Fb", &m), 3);
    CHECK_STR(m.params.values[0], "a/b");
    roam_router_free(r);
}

static void test_not_found_and_not_allowed(void) {
    roam_router_t *r = make();
    REQUIRE(r != NULL);
    roam_route_match_t m;
    CHECK_INT(roam_router_match(r, "GET", "/nope", &m), -1);
    CHECK_INT(m.path_matched, 0);
    CHECK_INT(roam_router_match(r, "DELETE", "/listings", &m), -1);
    CHECK_INT(m.path_matched, 1);
    CHECK_STR(m.allow, "GET, POST");
    CHECK_INT(roam_router_match(r, "DELETE", "/listings/x", &m), -1);
    CHECK_STR(m.allow, "GET, PATCH");
    /* Odd paths never match anything. */
    const char *bad[] = {"/listings/", "//listings", "/listings//x", "/listings/..", "/listings/.",
                         "/listings/%2e%2e", "/listings/%zz", "/listings/%4", "/listings/a%00b", "listings", ""};
    for (size_t i = 0; i < ROAM_ARRAY_LEN(bad); i++) {
        CHECK_INT(roam_router_match(r, "GET", bad[i], &m), -1);
        CHECK_INT(m.path_matched, 0);
    }
    roam_router_free(r);
}

static void test_bad_tables(void) {
    char err[256];
    roam_route_t dup[] = {{"GET", "/a/{x}", NULL, 0, h}, {"GET", "/a/{y}", NULL, 0, h}};
    CHECK(roam_router_new(dup, 2, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "duplicate") != NULL);
    roam_route_t noslash[] = {{"GET", "a", NULL, 0, h}};
    CHECK(roam_router_new(noslash, 1, err, sizeof(err)) == NULL);
    roam_route_t trailing[] = {{"GET", "/a/", NULL, 0, h}};
    CHECK(roam_router_new(trailing, 1, err, sizeof(err)) == NULL);
    roam_route_t badparam[] = {{"GET", "/a/{x", NULL, 0, h}};
    CHECK(roam_router_new(badparam, 1, err, sizeof(err)) == NULL);
    roam_route_t nohandler[] = {{"GET", "/a", NULL, 0, NULL}};
    CHECK(roam_router_new(nohandler, 1, err, sizeof(err)) == NULL);
}

static void test_pct_decode(void) {
    char out[16];
    CHECK_INT(roam_pct_decode("a%41b", 5, out, sizeof(out)), 3);
    CHECK_STR(out, "aAb");
    CHECK_INT(roam_pct_decode("%", 1, out, sizeof(out)), -1);
    CHECK_INT(roam_pct_decode("%4", 2, out, sizeof(out)), -1);
    CHECK_INT(roam_pct_decode("%00", 3, out, sizeof(out)), -1);
    CHECK_INT(roam_pct_decode("0123456789abcdefg", 17, out, sizeof(out)), -1);
}

int main(void) {
    RUN(test_literal_beats_param);
    RUN(test_params);
    RUN(test_not_found_and_not_allowed);
    RUN(test_bad_tables);
    RUN(test_pct_decode);
    CHECK_DONE();
}
