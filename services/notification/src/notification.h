/*
 * The notification service's private interfaces: one section per source file.
 *
 * Flow: booking events (topic "bookings") arrive at consumer.c, which turns
 * each into at most two messages (render.c) and stores, in the transaction
 * that claims the event, one in-app notification and one pending email per
 * message (store_notification.c). The mailer thread (mailer.c) sends the
 * pending emails over SMTP and records the outcome. The API (h_notifications.c)
 * lists and marks a user's notifications.
 */
#ifndef ROAM_NOTIFICATION_H
#define ROAM_NOTIFICATION_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <roam/daemon.h>
#include <roam/db.h>
#include <roam/metrics.h>
#include <roam/money.h>

/* ---- h_notifications.c: the route handlers (table in main.c) ------------- */

int h_notifications_list(roam_req_t *req);
int h_notifications_read(roam_req_t *req);
int h_notifications_read_all(roam_req_t *req);

/* ---- render.c: what a booking event says, in the app and by email -------- */

/* The members of a booking snapshot (event data) that messages use; all borrowed from the event. */
typedef struct {
    const char *id;
    const char *reference;
    const char *user_id;
    const char *operator_id; /* NULL when absent */
    const char *listing_title;
    const char *check_in;     /* "YYYY-MM-DD" */
    const char *check_out;    /* "YYYY-MM-DD" */
    const char *guest_name;   /* may be NULL */
    const char *guest_email;  /* may be NULL: the traveller's address is then looked up */
    const char *cancelled_by; /* "traveller", "operator", "system" or NULL */
    long nights;              /* 0 when unknown */
    long guests;              /* 0 when unknown */
    long quantity;            /* 0 when unknown */
    int has_total;
    roam_money_t total;
    int has_refund;
    roam_money_t refund;
} notif_booking_t;

/*
 * Reads a booking snapshot (borrowed). 0, or ROAM_EINVAL when a member every
 * message needs (id, reference, user_id, listing_title, check_in, check_out)
 * is missing or malformed; why then names it.
 */
int notif_booking_parse(json_t *data, notif_booking_t *out, const char **why);

/* One message to one recipient: an in-app notification and its email. */
typedef struct {
    const char *type;         /* notification type (static) */
    const char *recipient_id; /* borrowed from the booking */
    const char *to_address;   /* borrowed; NULL: look the recipient up in the auth service when sending */
    const char *to_name;      /* borrowed; may be NULL */
    char *title;              /* new (all five): free with notif_message_cleanup */
    char *body;
    char *subject;
    char *text;
    char *html;
} notif_message_t;

/*
 * The messages an event of type event_type yields for booking b: fills
 * out[0..ret) (at most 2). Returns the count (0: the event notifies no one),
 * or ROAM_ENOMEM (nothing to clean up). An operator message is left out
 * when the booking has no operator_id.
 */
int notif_messages(const char *event_type, const notif_booking_t *b, notif_message_t out[2]);
void notif_message_cleanup(notif_message_t *m);

/* Writes money as "EUR 123.45" / "JPY 12345" (the currency's exponent). out: at least 48 bytes. */
void notif_money_format(int64_t amount, const char *currency, char *out, size_t outlen);
/* Writes "YYYY-MM-DD" as "1 May 2026" (or copies it unchanged when malformed). */
void notif_date_format(const char *iso, char *out, size_t outlen);
/* Appends s with &, <, >, " and ' escaped for HTML. */
void notif_html_escape(roam_buf_t *b, const char *s);

/* ---- store_notification.c: the notifications and emails tables ----------- */

/* The columns of a notification object, in the order store_notification_json reads them. */
#define STORE_NOTIFICATION_COLUMNS                                                                                     \
    "id, type, title, body, booking_id, "                                                                              \
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                                       \
    "to_char(read_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), seq"

/*
 * Stores message m of event event_id about booking booking_id within c's
 * current transaction: the notification and, if it is new, its pending
 * email with Message-ID <event_id.type@roam.local>. 1 if stored, 0 if this
 * event already gave this recipient this notification, or ROAM_EIO.
 */
int store_notification_add(roam_dbconn_t *c, const char *event_id, const char *booking_id, const notif_message_t *m);

/*
 * A page of user's notifications, newest first, after cursor position
 * after_seq (0: from the newest), only unread ones if unread_only. Fills
 * *items (new array), *more and *last_seq (the position of the last item),
 * and *unread_count (all the user's unread). 0 or ROAM_EIO.
 */
int store_notification_page(roam_dbconn_t *c, const char *user_id, int unread_only, int64_t after_seq, int limit,
                            json_t **items, int *more, int64_t *last_seq, int64_t *unread_count);
/*
 * Marks one of user's notifications read, keeping the first read_at. 0 with
 * *out (new), ROAM_ENOTFOUND (none of user's has that id), or ROAM_EIO.
 */
int store_notification_read(roam_dbconn_t *c, const char *user_id, const char *id, json_t **out);
/* Marks every unread notification of user read. 0 or ROAM_EIO. */
int store_notification_read_all(roam_dbconn_t *c, const char *user_id);

/* ---- consumer.c: booking events ------------------------------------------ */

/* Joins consumer group "notification.bookings" on topic "bookings". Call from init. */
int notif_consumer_init(roam_daemon_t *d, char *errbuf, size_t errlen);

/* ---- mailer.c: the SMTP sender ------------------------------------------- */

/*
 * Reads ROAM_SMTP_URL, ROAM_SMTP_FROM, ROAM_SMTP_TIMEOUT_MS,
 * ROAM_MAIL_MAX_ATTEMPTS, ROAM_MAIL_RETRY_BASE_MS and ROAM_AUTH_URL (exits on
 * bad values), registers the email metrics and starts the mailer thread.
 * 0 or -1 with the reason in errbuf.
 */
int notif_mailer_start(roam_daemon_t *d, char *errbuf, size_t errlen);
/* Stops the thread after the email in hand. Idempotent. */
void notif_mailer_stop(void);
/* Tells the mailer that new emails are pending (after a commit). */
void notif_mailer_wake(void);

/* ---- mime.c: the message on the wire -------------------------------------- */

typedef struct {
    const char *from;       /* "Roam <no-reply@roam.local>", already checked */
    const char *to_address; /* checked by notif_address_valid */
    const char *to_name;    /* may be NULL */
    const char *subject;
    const char *message_id; /* "<...@roam.local>" */
    int64_t date_s;         /* the Date header, seconds since the epoch */
    const char *text;
    const char *html;
} notif_mime_t;

/*
 * Writes the RFC 5322 message: headers (non-ASCII words RFC 2047-encoded),
 * multipart/alternative with a text/plain and a text/html part, each UTF-8
 * in base64. Returns new (free it) with its length in *len, or NULL when
 * memory runs out.
 */
char *notif_mime_build(const notif_mime_t *m, size_t *len);
/* 1 if s is a plain addr-spec we can put in SMTP and headers: local@domain, printable ASCII, no <>,"\ or spaces. */
int notif_address_valid(const char *s);

#endif
