/*
 * The notification service's pure helpers: money and dates in words, HTML
 * escaping, addresses, which events notify whom, and the MIME message. The
 * service's files are included directly, so no daemon is needed.
 */
#include "../../services/notification/src/mime.c"
#include "../../services/notification/src/render.c"

#include "check.h"

static void test_money(void) {
    char out[48];
    notif_money_format(12345, "EUR", out, sizeof(out));
    CHECK_STR(out, "EUR 123.45");
    notif_money_format(5, "EUR", out, sizeof(out));
    CHECK_STR(out, "EUR 0.05");
    notif_money_format(0, "USD", out, sizeof(out));
    CHECK_STR(out, "USD 0.00");
    notif_money_format(12345, "JPY", out, sizeof(out));
    CHECK_STR(out, "JPY 12345");
    notif_money_format(1234567, "KWD", out, sizeof(out));
    CHECK_STR(out, "KWD 1234.567");
    notif_money_format(100000000000LL, "EUR", out, sizeof(out));
    CHECK_STR(out, "EUR 1000000000.00");
}

static void test_dates(void) {
    char out[40];
    notif_date_format("2027-05-01", out, sizeof(out));
    CHECK_STR(out, "1 May 2027");
    notif_date_format("2026-12-31", out, sizeof(out));
    CHECK_STR(out, "31 December 2026");
    notif_date_format("2026-13-01", out, sizeof(out));
    CHECK_STR(out, "2026-13-01"); /* malformed: unchanged */
}

static void test_html(void) {
    roam_buf_t b = {0};
    notif_html_escape(&b, "<a href=\"x\">Tom & Jerry's</a>");
    REQUIRE(b.buf != NULL);
    CHECK_STR(b.buf, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
    free(b.buf);
}

static void test_addresses(void) {
    CHECK(notif_address_valid("ana@example.com"));
    CHECK(!notif_address_valid("ana@example.com\r\nBcc: x@y.z"));
    CHECK(!notif_address_valid("<ana@example.com>"));
    CHECK(!notif_address_valid("ana example@x.com"));
    CHECK(!notif_address_valid("no-at-sign"));
    CHECK(!notif_address_valid("a@b@c"));
    CHECK(!notif_address_valid(NULL));
}

static json_t *snapshot(const char *cancelled_by, int with_operator) {
    json_t *b =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:i, s:i, s:i, s:{s:I, s:s}}", "id",
                  "0192f0a4-1111-7000-8000-000000000001", "reference", "RM-ABC123", "user_id",
                  "0192f0a4-1111-7000-8000-000000000002", "listing_title", "Casa <Azul>", "check_in", "2027-05-01",
                  "check_out", "2027-05-04", "guest", "name", "Ana", "email", "ana@example.com", "nights", 3, "guests",
                  2, "quantity", 1, "total", "amount", (json_int_t)36000, "currency", "EUR");
    if (with_operator) json_object_set_new(b, "operator_id", json_string("0192f0a4-1111-7000-8000-000000000003"));
    if (cancelled_by) {
        json_object_set_new(b, "cancelled_by", json_string(cancelled_by));
        json_object_set_new(b, "refund", json_pack("{s:I, s:s}", "amount", (json_int_t)18000, "currency", "EUR"));
    }
    return b;
}

static int count_messages(const char *type, const char *cancelled_by, int with_operator, const char **first,
                          const char **second) {
    json_t *data = snapshot(cancelled_by, with_operator);
    notif_booking_t b;
    const char *why;
    int rc = notif_booking_parse(data, &b, &why);
    if (rc != 0) {
        json_decref(data);
        return -100;
    }
    notif_message_t m[2];
    int n = notif_messages(type, &b, m);
    *first = n > 0 ? m[0].type : NULL;
    *second = n > 1 ? m[1].type : NULL;
    for (int i = 0; i < n; i++)
        notif_message_cleanup(&m[i]);
    json_decref(data);
    return n;
}

static void test_mapping(void) {
    const char *a, *b;
    CHECK_INT(count_messages("booking.confirmed", NULL, 1, &a, &b), 2);
    CHECK_STR(a, "booking_confirmed");
    CHECK_STR(b, "new_booking");
    CHECK_INT(count_messages("booking.payment_failed", NULL, 1, &a, &b), 1);
    CHECK_STR(a, "payment_failed");
    CHECK_INT(count_messages("booking.expired", NULL, 1, &a, &b), 1);
    CHECK_STR(a, "booking_expired");
    CHECK_INT(count_messages("booking.cancelled", "traveller", 1, &a, &b), 2);
    CHECK_STR(a, "booking_cancelled");
    CHECK_STR(b, "booking_cancelled_by_guest");
    CHECK_INT(count_messages("booking.cancelled", "operator", 1, &a, &b), 1);
    CHECK_INT(count_messages("booking.cancelled", "system", 1, &a, &b), 1);
    CHECK_INT(count_messages("booking.created", NULL, 1, &a, &b), 0);
    CHECK_INT(count_messages("booking.completed", NULL, 1, &a, &b), 0);
    CHECK_INT(count_messages("booking.confirmed", NULL, 0, &a, &b), 1); /* no operator to tell: the traveller only */
    CHECK_STR(a, "booking_confirmed");
    CHECK_INT(count_messages("booking.expired", NULL, 0, &a, &b), 1); /* none needed */

    notif_booking_t bk;
    const char *why = NULL;
    json_t *bad = json_pack("{s:s}", "id", "nope");
    CHECK_INT(notif_booking_parse(bad, &bk, &why), ROAM_EINVAL);
    CHECK_STR(why, "id is not a UUID");
    json_decref(bad);
    CHECK_INT(notif_booking_parse(NULL, &bk, &why), ROAM_EINVAL);
}

static void test_cancellation_words(void) {
    json_t *data = snapshot("traveller", 1);
    notif_booking_t b;
    const char *why;
    REQUIRE(notif_booking_parse(data, &b, &why) == 0);
    notif_message_t m[2];
    REQUIRE(notif_messages("booking.cancelled", &b, m) == 2);
    CHECK(strstr(m[0].body, "EUR 180.00") != NULL);
    CHECK(strstr(m[0].title, "RM-ABC123") != NULL);
    CHECK(strstr(m[0].text, "Casa <Azul>") != NULL);
    CHECK(strstr(m[0].html, "Casa &lt;Azul&gt;") != NULL);
    CHECK(strstr(m[0].html, "<Azul>") == NULL);
    CHECK(strstr(m[1].body, "Ana cancelled") != NULL);
    CHECK(m[1].to_address == NULL); /* the operator's address is looked up when sending */
    CHECK_STR(m[0].to_address, "ana@example.com");
    for (int i = 0; i < 2; i++)
        notif_message_cleanup(&m[i]);
    json_decref(data);
}

static void test_mime(void) {
    notif_mime_t in = {
        .from = "Roam <no-reply@roam.local>",
        .to_address = "zoe@example.com",
        .to_name = "Zo\xc3\xab \"Z\"\r\nBcc: evil@example.com",
        .subject = "Caf\xc3\xa9 booking\r\nBcc: evil@example.com",
        .message_id = "<0192f0a4-1111-7000-8000-000000000009.new_booking@roam.local>",
        .date_s = 1800000000,
        .text = "plain",
        .html = "<p>html</p>",
    };
    size_t len = 0;
    char *msg = notif_mime_build(&in, &len);
    REQUIRE(msg != NULL);
    CHECK(strlen(msg) == len);
    CHECK(strstr(msg, "Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n") != NULL);
    CHECK(strstr(msg, "Message-ID: <0192f0a4-1111-7000-8000-000000000009.new_booking@roam.local>\r\n") != NULL);
    CHECK(strstr(msg, "Subject: =?UTF-8?B?") != NULL);
    CHECK(strstr(msg, "\r\nBcc:") == NULL); /* no header injection through names or subjects */
    CHECK(strstr(msg, "multipart/alternative") != NULL);
    const char *plain = strstr(msg, "text/plain"), *html = strstr(msg, "text/html");
    CHECK(plain != NULL && html != NULL && plain < html);
    CHECK(strstr(msg, "cGxhaW4=\r\n") != NULL); /* "plain" in base64 */
    for (size_t i = 0; i < len; i++)
        CHECK((unsigned char)msg[i] < 0x80);
    free(msg);
}

int main(void) {
    RUN(test_money);
    RUN(test_dates);
    RUN(test_html);
    RUN(test_addresses);
    RUN(test_mapping);
    RUN(test_cancellation_words);
    RUN(test_mime);
    CHECK_DONE();
}
