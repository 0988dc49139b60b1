/*
 * The review service's pure helpers: character counts, trimming, control
 * characters, the rounded average and the keyset cursor. The service's files
 * are included directly, so no daemon is needed.
 */
#include "../../services/review/src/cursor.c"
#include "../../services/review/src/validate.c"

#include <roam/codec.h>

#include "check.h"

static void test_text(void) {
    CHECK_INT(roam_utf8_chars("abc", 3), 3);
    CHECK_INT(roam_utf8_chars("h\xc3\xa9llo", 6), 5);     /* é is two bytes, one character */
    CHECK_INT(roam_utf8_chars("\xf0\x9f\x98\x80", 4), 1); /* an emoji: four bytes */
    size_t len = 9;
    const char *s = roam_trim(" \t ab c\n ", &len);
    CHECK_INT(len, 4);
    CHECK(strncmp(s, "ab c", 4) == 0);
    len = 3;
    roam_trim("   ", &len);
    CHECK_INT(len, 0);

    CHECK(roam_text_clean("plain text", 10, 0));
    CHECK(!roam_text_clean("two\nlines", 9, 0));
    CHECK(roam_text_clean("two\nlines\r\n\tindented", 20, 1));
    CHECK(!roam_text_clean("bell\a", 5, 1));
    CHECK(!roam_text_clean("nul\0inside", 10, 1)); /* a NUL inside the JSON string */
    CHECK(!roam_text_clean("del\x7f", 4, 1));
    CHECK(roam_text_clean("caf\xc3\xa9", 5, 0)); /* bytes of a multi-byte character are not controls */
}

static void test_average(void) {
    CHECK_INT(review_average_tenths(5, 1), 50);
    CHECK_INT(review_average_tenths(13, 3), 43);  /* 4.333 */
    CHECK_INT(review_average_tenths(17, 4), 43);  /* 4.25 rounds half up */
    CHECK_INT(review_average_tenths(14, 3), 47);  /* 4.667 */
    CHECK_INT(review_average_tenths(29, 20), 15); /* 1.45 rounds half up */
    CHECK_INT(review_average_tenths(3, 3), 10);
}

static void test_sort(void) {
    review_sort_t s;
    CHECK_INT(review_sort_parse("newest", &s), 0);
    CHECK_INT(s, REVIEW_SORT_NEWEST);
    CHECK_INT(review_sort_parse("rating_asc", &s), 0);
    CHECK_INT(s, REVIEW_SORT_RATING_ASC);
    CHECK_INT(review_sort_parse("rating_desc", &s), 0);
    CHECK_INT(s, REVIEW_SORT_RATING_DESC);
    CHECK_INT(review_sort_parse("Newest", &s), ROAM_EINVAL);
    CHECK_INT(review_sort_parse("", &s), ROAM_EINVAL);
}

static void test_cursor(void) {
    review_cursor_t in = {REVIEW_SORT_RATING_ASC, 4, 1777636800123456LL, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}, out;
    char text[REVIEW_CURSOR_MAX];
    REQUIRE(review_cursor_encode(&in, text) == 0);
    for (const char *p = text; *p; p++)
        CHECK(roam_b64url_char((unsigned char)*p)); /* URL-safe as it is */
    memset(&out, 0, sizeof(out));
    REQUIRE(review_cursor_decode(text, &out) == 0);
    CHECK_INT(out.sort, in.sort);
    CHECK_INT(out.rating, 4);
    CHECK_INT(out.created_us, in.created_us);
    CHECK_STR(out.id, in.id);

    /* Anything else is refused: garbage, other JSON, out-of-range keys, a bad id. */
    CHECK_INT(review_cursor_decode("", &out), ROAM_EINVAL);
    CHECK_INT(review_cursor_decode("not a cursor!", &out), ROAM_EINVAL);
    const char *bad[] = {
        "[1,2]",
        "{\"s\":\"newest\",\"r\":4,\"t\":1}",
        "{\"s\":\"oldest\",\"r\":4,\"t\":1,\"i\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"}",
        "{\"s\":\"newest\",\"r\":6,\"t\":1,\"i\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"}",
        "{\"s\":\"newest\",\"r\":4,\"t\":-1,\"i\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"}",
        "{\"s\":\"newest\",\"r\":4,\"t\":9223372036854775807,\"i\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"}",
        "{\"s\":\"newest\",\"r\":4,\"t\":\"1\",\"i\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"}",
        "{\"s\":\"newest\",\"r\":4,\"t\":1,\"i\":\"0190a1b2'; DROP TABLE reviews; --\"}",
        "{\"s\":\"newest\",\"r\":4,\"t\":1,\"i\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\",\"x\":1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char enc[REVIEW_CURSOR_MAX];
        REQUIRE(ROAM_B64URL_LEN(strlen(bad[i])) <= sizeof(enc));
        roam_b64url_encode((const unsigned char *)bad[i], strlen(bad[i]), enc);
        if (review_cursor_decode(enc, &out) != ROAM_EINVAL) {
            fprintf(stderr, "accepted: %s\n", bad[i]);
            CHECK(0);
        }
    }
}

int main(void) {
    RUN(test_text);
    RUN(test_average);
    RUN(test_sort);
    RUN(test_cursor);
    CHECK_DONE();
}
