/*
 * The notifications and emails tables (migrations/0001_notifications.sql).
 */
#include "notification.h"

#include <roam/common.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A notification object from row i of r, read in STORE_NOTIFICATION_COLUMNS order. Returns new, or NULL. */
static json_t *notification_json(PGresult *r, int i) {
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o}", "id", PQgetvalue(r, i, 0), "type", PQgetvalue(r, i, 1),
                     "title", PQgetvalue(r, i, 2), "body", PQgetvalue(r, i, 3), "booking_id",
                     PQgetisnull(r, i, 4) ? json_null() : json_string(PQgetvalue(r, i, 4)), "created_at",
                     PQgetvalue(r, i, 5), "read_at",
                     PQgetisnull(r, i, 6) ? json_null() : json_string(PQgetvalue(r, i, 6)));
}

int store_notification_add(roam_dbconn_t *c, const char *event_id, const char *booking_id, const notif_message_t *m) {
    char id[ROAM_UUID_LEN + 1];
    roam_uuid_v7(id);
    const char *p[] = {id, event_id, m->recipient_id, m->type, m->title, m->body, booking_id};
    PGresult *r = roam_db_query(c,
                                "INSERT INTO notifications (id, event_id, recipient_id, type, title, body, booking_id) "
                                "VALUES ($1, $2, $3, $4, $5, $6, $7) "
                                "ON CONFLICT (event_id, recipient_id, type) DO NOTHING RETURNING id",
                                7, p);
    if (r == NULL) return ROAM_EIO;
    int fresh = PQntuples(r) == 1;
    PQclear(r);
    if (!fresh) return 0;

    char email_id[ROAM_UUID_LEN + 1], message_id[128];
    roam_uuid_v7(email_id);
    snprintf(message_id, sizeof(message_id), "<%s.%s@roam.local>", event_id, m->type);
    const char *q[] = {email_id,   id,         m->recipient_id, m->to_address, m->to_name,
                       message_id, m->subject, m->text,         m->html};
    long n = roam_db_exec(c,
                          "INSERT INTO emails (id, notification_id, recipient_id, to_address, to_name, message_id, "
                          "subject, text_body, html_body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                          9, q);
    return n == 1 ? 1 : ROAM_EIO;
}

int store_notification_page(roam_dbconn_t *c, const char *user_id, int unread_only, int64_t after_seq, int limit,
                            json_t **items, int *more, int64_t *last_seq, int64_t *unread_count) {
    char after[24], lim[16];
    snprintf(after, sizeof(after), "%lld", (long long)(after_seq > 0 ? after_seq : INT64_MAX));
    snprintf(lim, sizeof(lim), "%d", limit + 1);
    const char *p[] = {user_id, after, lim, unread_only ? "t" : "f"};
    /* One statement, so the page and the count come from one snapshot. */
    PGresult *r = roam_db_query(c,
                                "SELECT " STORE_NOTIFICATION_COLUMNS ", "
                                "(SELECT count(*) FROM notifications WHERE recipient_id = $1 AND read_at IS NULL) "
                                "FROM notifications WHERE recipient_id = $1 AND seq < $2::bigint "
                                "AND (NOT $4::boolean OR read_at IS NULL) ORDER BY seq DESC LIMIT $3::int",
                                4, p);
    PGresult *cnt = NULL;
    if (r != NULL && PQntuples(r) == 0) {
        cnt = roam_db_query(c, "SELECT count(*) FROM notifications WHERE recipient_id = $1 AND read_at IS NULL", 1, p);
        if (cnt == NULL) {
            PQclear(r);
            return ROAM_EIO;
        }
    }
    if (r == NULL) return ROAM_EIO;
    int rows = PQntuples(r);
    *more = rows > limit;
    if (*more) rows = limit;
    *unread_count = strtoll(cnt ? PQgetvalue(cnt, 0, 0) : PQgetvalue(r, 0, 8), NULL, 10);
    PQclear(cnt);
    json_t *arr = json_array();
    *last_seq = 0;
    for (int i = 0; i < rows && arr != NULL; i++) {
        if (json_array_append_new(arr, notification_json(r, i)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
        *last_seq = strtoll(PQgetvalue(r, i, 7), NULL, 10);
    }
    PQclear(r);
    if (arr == NULL) return ROAM_ENOMEM;
    *items = arr;
    return 0;
}

int store_notification_read(roam_dbconn_t *c, const char *user_id, const char *id, json_t **out) {
    const char *p[] = {id, user_id};
    PGresult *r = roam_db_query(c,
                                "UPDATE notifications SET read_at = COALESCE(read_at, now()) "
                                "WHERE id = $1 AND recipient_id = $2 RETURNING " STORE_NOTIFICATION_COLUMNS,
                                2, p);
    if (r == NULL) return ROAM_EIO;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return ROAM_ENOTFOUND;
    }
    *out = notification_json(r, 0);
    PQclear(r);
    return *out ? 0 : ROAM_ENOMEM;
}

int store_notification_read_all(roam_dbconn_t *c, const char *user_id) {
    const char *p[] = {user_id};
    long n =
        roam_db_exec(c, "UPDATE notifications SET read_at = now() WHERE recipient_id = $1 AND read_at IS NULL", 1, p);
    return n < 0 ? ROAM_EIO : 0;
}
