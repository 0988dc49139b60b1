/*
 * The booking service's pure helpers: the status machine's table, dates,
 * references and the list cursor. The service's files are included directly
 * (all but main.c, so that every symbol they use resolves), and no daemon is
 * needed.
 */
#include "../../services/booking/src/clients.c"
#include "../../services/booking/src/h_bookings.c"
#include "../../services/booking/src/h_internal.c"
#include "../../services/booking/src/payments.c"
#include "../../services/booking/src/status.c"
#include "../../services/booking/src/store_booking.c"
#include "../../services/booking/src/sweeper.c"

#include <roam/migrate.h>

#include "check.h"

/* The scaffold links against a daemon's embedded migrations; this test has none. */
const roam_migration_t roam_migrations[] = {{"none", ""}};
const int roam_migrations_count = 0;

/* 1 if `from` may move to `to` according to the table (the text[] literal lists it). */
static int allowed(const char *from, const char *to) {
    const char *list = booking_status_from(to);
    if (list == NULL) return 0;
    char needle[40];
    snprintf(needle, sizeof(needle), "%s,", from);
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", list + 1); /* without '{' */
    copy[strlen(copy) - 1] = ',';                 /* '}' becomes ',' so every entry ends with one */
    for (char *p = copy; (p = strstr(p, needle)) != NULL; p++)
        if (p == copy || p[-1] == ',') return 1;
    return 0;
}

static void test_status_machine(void) {
    static const char *const all[] = {"pending_payment", "payment_failed", "confirmed",
                                      "expired",         "cancelled",      "completed"};
    /* The contract's machine, written out independently of status.c. */
    static const char *const edges[][2] = {
        {"pending_payment", "confirmed"}, {"pending_payment", "payment_failed"}, {"pending_payment", "expired"},
        {"pending_payment", "cancelled"}, {"payment_failed", "confirmed"},       {"payment_failed", "payment_failed"},
        {"payment_failed", "expired"},    {"payment_failed", "cancelled"},       {"confirmed", "cancelled"},
        {"confirmed", "completed"},
    };
    for (size_t i = 0; i < ROAM_ARRAY_LEN(all); i++) {
        CHECK(booking_status_valid(all[i]));
        for (size_t j = 0; j < ROAM_ARRAY_LEN(all); j++) {
            int expect = 0;
            for (size_t e = 0; e < ROAM_ARRAY_LEN(edges); e++)
                if (strcmp(edges[e][0], all[i]) == 0 && strcmp(edges[e][1], all[j]) == 0) expect = 1;
            if (allowed(all[i], all[j]) != expect) fprintf(stderr, "  %s -> %s\n", all[i], all[j]);
            CHECK_INT(allowed(all[i], all[j]), expect);
        }
    }
    CHECK(booking_status_from("pending_payment") == NULL); /* nothing leads back to it */
    CHECK(!booking_status_valid("paid"));
    CHECK(!booking_status_valid(""));
}

static void test_dates(void) {
    long d;
    CHECK_INT(parse_date("1970-01-01", &d), 0);
    CHECK_INT(d, 0);
    CHECK_INT(parse_date("2024-02-29", &d), 0); /* a leap year */
    long leap = d;
    CHECK_INT(parse_date("2024-03-01", &d), 0);
    CHECK_INT(d - leap, 1);
    CHECK_INT(parse_date("2000-02-29", &d), 0); /* divisible by 400 */
    CHECK(parse_date("1900-02-29", &d) != 0);   /* divisible by 100 */
    CHECK(parse_date("2026-02-29", &d) != 0);
    CHECK(parse_date("2026-04-31", &d) != 0);
    CHECK(parse_date("2026-13-01", &d) != 0);
    CHECK(parse_date("2026-00-10", &d) != 0);
    CHECK(parse_date("2026-1-01", &d) != 0);
    CHECK(parse_date("2026-01-01T00", &d) != 0);
    CHECK(parse_date("+026-01-01", &d) != 0);
    CHECK(parse_date(NULL, &d) != 0);
    CHECK_INT(parse_date("2026-12-31", &d), 0);
    long end = d;
    CHECK_INT(parse_date("2026-01-01", &d), 0);
    CHECK_INT(end - d, 364);
}

static void test_reference(void) {
    int seen[256] = {0};
    for (int i = 0; i < 2000; i++) {
        char ref[10];
        new_reference(ref);
        REQUIRE(strlen(ref) == 9 && strncmp(ref, "RM-", 3) == 0);
        for (int k = 3; k < 9; k++) {
            CHECK(strchr(ref_alphabet, ref[k]) != NULL);
            seen[(unsigned char)ref[k]] = 1;
        }
    }
    int distinct = 0;
    for (int c = 0; c < 256; c++)
        distinct += seen[c];
    CHECK_INT(distinct, 32); /* every symbol shows up */
    CHECK(strpbrk(ref_alphabet, "01OIo") == NULL);
}

static void test_cursor(void) {
    char cur[ROAM_CURSOR_MAX], us[24], id[ROAM_UUID_LEN + 1];
    roam_cursor_encode("1764000000123456", "0190f5a2-8c1e-7b3d-9a4f-2e6d8c0b1a33", cur);
    CHECK(strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(cur));
    REQUIRE(roam_cursor_decode(cur, us, id) == 0);
    CHECK_STR(us, "1764000000123456");
    CHECK_STR(id, "0190f5a2-8c1e-7b3d-9a4f-2e6d8c0b1a33");
    char bad[ROAM_CURSOR_MAX];
    const char *texts[] = {"x:0190f5a2-8c1e-7b3d-9a4f-2e6d8c0b1a33", ":0190f5a2-8c1e-7b3d-9a4f-2e6d8c0b1a33",
                           "12:not-a-uuid", "12", "123456789012345678901:0190f5a2-8c1e-7b3d-9a4f-2e6d8c0b1a33"};
    for (size_t i = 0; i < ROAM_ARRAY_LEN(texts); i++) {
        roam_b64url_encode((const unsigned char *)texts[i], strlen(texts[i]), bad);
        CHECK(roam_cursor_decode(bad, us, id) != 0);
    }
    CHECK(roam_cursor_decode("", us, id) != 0);
    CHECK(roam_cursor_decode("!!!", us, id) != 0);
}

int main(void) {
    RUN(test_status_machine);
    RUN(test_dates);
    RUN(test_reference);
    RUN(test_cursor);
    CHECK_DONE();
}
