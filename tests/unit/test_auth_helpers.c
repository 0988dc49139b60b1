/*
 * The auth service's pure helpers: email shape, character counts, trimming,
 * base64url, the RFC 7638 thumbprint and reading a claim. The service's
 * files are included directly (h2o's way), so no daemon is needed.
 */
#include "../../services/auth/src/codec.c"
#include "../../services/auth/src/validate.c"

#include "check.h"

static int email_ok(const char *s) { return auth_email_valid(s, strlen(s)); }

static void test_email_shape(void) {
    CHECK(email_ok("a@b.co"));
    CHECK(email_ok("first.last+tag@mail.example.com"));
    CHECK(email_ok("Ünïcode@exämple.de"));
    CHECK(!email_ok(""));
    CHECK(!email_ok("plain"));
    CHECK(!email_ok("@example.com"));
    CHECK(!email_ok("user@"));
    CHECK(!email_ok("user@localhost"));
    CHECK(!email_ok("a@@b.com"));
    CHECK(!email_ok("a@b@c.com"));
    CHECK(!email_ok("a@.example.com"));
    CHECK(!email_ok("a@example.com."));
    CHECK(!email_ok("a@example..com"));
    CHECK(!email_ok("a b@example.com"));
    CHECK(!email_ok("a@exa\tmple.com"));
    CHECK(!email_ok("a\x7f@example.com"));
    /* A NUL inside the JSON string counts: the length is the string's, not strlen's. */
    CHECK(!auth_email_valid("a@b.com\0x", 9));

    /* 254 characters pass, 255 do not; characters, not bytes. */
    char buf[1200];
    memset(buf, 'x', 242);
    strcpy(buf + 242, "@example.com");
    CHECK_INT(strlen(buf), 254);
    CHECK(email_ok(buf));
    memset(buf, 'x', 243);
    strcpy(buf + 243, "@example.com");
    CHECK(!email_ok(buf));
    buf[0] = '\0';
    for (int i = 0; i < 121; i++)
        strcat(buf, "\xc3\xa9"); /* 121 x "é": 242 bytes, 121 characters */
    strcat(buf, "@example.com");
    CHECK(email_ok(buf));
}

static void test_utf8_chars(void) {
    CHECK_INT(roam_utf8_chars("", 0), 0);
    CHECK_INT(roam_utf8_chars("abc", 3), 3);
    CHECK_INT(roam_utf8_chars("\xc3\xa9t\xc3\xa9", 5), 3); /* été */
    CHECK_INT(roam_utf8_chars("\xe5\x90\x8d", 3), 1);      /* 名 */
    CHECK_INT(roam_utf8_chars("\xf0\x9f\x98\x80!", 5), 2); /* an emoji and ! */
}

static void test_trim_and_lower(void) {
    size_t n = 9;
    const char *t = roam_trim("  a b \t\n ", &n);
    CHECK_INT(n, 3);
    CHECK(strncmp(t, "a b", 3) == 0);
    n = 3;
    roam_trim("   ", &n);
    CHECK_INT(n, 0);
    char out[32];
    auth_ascii_lower("MiXeD@Example.COM", out, sizeof(out));
    CHECK_STR(out, "mixed@example.com");
    auth_ascii_lower("\xc3\x89T\xc3\x89", out, sizeof(out)); /* non-ASCII bytes are left alone */
    CHECK_STR(out, "\xc3\x89t\xc3\x89");
}

static void test_base64url(void) {
    char out[64];
    unsigned char back[64];
    roam_b64url_encode((const unsigned char *)"", 0, out);
    CHECK_STR(out, "");
    roam_b64url_encode((const unsigned char *)"f", 1, out);
    CHECK_STR(out, "Zg");
    roam_b64url_encode((const unsigned char *)"fo", 2, out);
    CHECK_STR(out, "Zm8");
    roam_b64url_encode((const unsigned char *)"foo", 3, out);
    CHECK_STR(out, "Zm9v");
    const unsigned char bin[] = {0xfb, 0xff, 0xfe};
    roam_b64url_encode(bin, 3, out);
    CHECK_STR(out, "-__-");
    CHECK_INT(roam_b64url_decode("-__-", 4, back, sizeof(back)), 3);
    CHECK(memcmp(back, bin, 3) == 0);
    CHECK_INT(roam_b64url_decode("Zm8", 3, back, sizeof(back)), 2);
    CHECK(memcmp(back, "fo", 2) == 0);
    CHECK_INT(roam_b64url_decode("Zm9v+", 5, back, sizeof(back)), -1); /* not the URL alphabet */
    CHECK_INT(roam_b64url_decode("Zm9v=", 5, back, sizeof(back)), -1); /* no padding */
    CHECK_INT(roam_b64url_decode("Zm9vZ", 5, back, sizeof(back)), -1); /* impossible length */
    CHECK_INT(roam_b64url_decode("Zm9v", 4, back, 2), -1);             /* does not fit */
    /* A refresh token: 32 bytes make 43 characters. */
    unsigned char raw[32] = {0};
    roam_b64url_encode(raw, sizeof(raw), out);
    CHECK_INT(strlen(out), 43);
}

static void test_sha256_hex(void) {
    char hex[65];
    roam_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_thumbprint(void) {
    /* The EC key of RFC 7517, appendix A.1; its RFC 7638 thumbprint. */
    char tp[44];
    auth_jwk_thumbprint("MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
                        tp);
    CHECK_STR(tp, "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s");
}

static void test_token_claim(void) {
    /* header {"alg":"ES256"}, payload {"sid":"s-1","n":5}, any signature: only the payload is read. */
    char token[256], h[64], p[128], out[16];
    roam_b64url_encode((const unsigned char *)"{\"alg\":\"ES256\"}", 15, h);
    const char *payload = "{\"sid\":\"s-1\",\"n\":5}";
    roam_b64url_encode((const unsigned char *)payload, strlen(payload), p);
    snprintf(token, sizeof(token), "%s.%s.sig", h, p);
    CHECK_INT(auth_token_claim(token, "sid", out, sizeof(out)), 0);
    CHECK_STR(out, "s-1");
    CHECK_INT(auth_token_claim(token, "n", out, sizeof(out)), ROAM_EINVAL); /* not a string */
    CHECK_INT(auth_token_claim(token, "none", out, sizeof(out)), ROAM_EINVAL);
    CHECK_INT(auth_token_claim(token, "sid", out, 3), ROAM_EINVAL); /* does not fit */
    CHECK_INT(auth_token_claim("no-dots", "sid", out, sizeof(out)), ROAM_EINVAL);
    CHECK_INT(auth_token_claim("a.!!!.c", "sid", out, sizeof(out)), ROAM_EINVAL);
}

int main(void) {
    RUN(test_email_shape);
    RUN(test_utf8_chars);
    RUN(test_trim_and_lower);
    RUN(test_base64url);
    RUN(test_sha256_hex);
    RUN(test_thumbprint);
    RUN(test_token_claim);
    CHECK_DONE();
}
