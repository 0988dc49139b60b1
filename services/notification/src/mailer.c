/*
 * The mailer: one thread per replica that sends the pending rows of the
 * emails table over SMTP (libcurl) and records each outcome.
 *
 * A row is claimed with SELECT ... FOR UPDATE SKIP LOCKED and its lock held
 * while it is sent, so replicas never send the same row at once. The row is
 * marked sent in the same transaction, right after the server accepted the
 * message: a crash between the two is the only way an email goes out twice
 * (with the same Message-ID, so a mail client can tell). A failed attempt
 * is retried after ROAM_MAIL_RETRY_BASE_MS * 2^(attempts-1) (at most an
 * hour); after ROAM_MAIL_MAX_ATTEMPTS attempts, or at once when the failure
 * cannot heal (the recipient's account is gone, the address is unusable),
 * the row becomes dead with its last error kept.
 *
 * A traveller's address comes with the booking; an operator's is looked up
 * in the auth service (GET /internal/users/{id}) when the email is sent,
 * so consuming an event never waits for another service.
 *
 * The SMTP server is not a /readyz dependency: an outage delays email but
 * loses none (the rows wait), and the API keeps working, so taking the
 * replica out of service would only make things worse.
 */
#include "notification.h"

#include <roam/common.h>
#include <roam/config.h>
#include <roam/httpc.h>
#include <roam/log.h>
#include <roam/task.h>

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAILER_IDLE_MS        1000    /* poll when nothing is due: rows of other replicas, retries */
#define MAILER_ERROR_MS       1000    /* pause after the database failed */
#define MAILER_BACKOFF_MAX_MS 3600000 /* one hour */

static struct {
    roam_db_t *db;
    const char *smtp_url;
    const char *from;    /* the From header */
    char from_addr[264]; /* "<addr>" for MAIL FROM */
    long timeout_ms;
    long max_attempts;
    long base_ms;
    const char *auth_url;
    const char *internal_header; /* borrowed from roam/httpc.h */

    roam_task_t *task;
    CURL *curl; /* used by the task's thread only */

    atomic_llong sent;
    atomic_llong failed;
    atomic_llong dead; /* rows in the dead state as last counted; -1 before the first count */
} M;

/* ---- metrics ---------------------------------------------------------------- */

static void collect(void *ctx, roam_buf_t *b) {
    (void)ctx;
    long long dead = atomic_load(&M.dead);
    roam_buf_appendf(b,
                     "# HELP roam_notification_emails_sent_total Emails the SMTP server accepted.\n"
                     "# TYPE roam_notification_emails_sent_total counter\n"
                     "roam_notification_emails_sent_total %lld\n"
                     "# HELP roam_notification_emails_failed_total Failed attempts to send an email.\n"
                     "# TYPE roam_notification_emails_failed_total counter\n"
                     "roam_notification_emails_failed_total %lld\n"
                     "# HELP roam_notification_emails_dead_letter Emails given up on (status dead).\n"
                     "# TYPE roam_notification_emails_dead_letter gauge\n"
                     "roam_notification_emails_dead_letter %lld\n",
                     (long long)atomic_load(&M.sent), (long long)atomic_load(&M.failed), dead < 0 ? 0LL : dead);
}

/* ---- SMTP ------------------------------------------------------------------- */

typedef struct {
    const char *data;
    size_t len, pos;
} upload_t;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg) {
    upload_t *u = arg;
    size_t room = size * nitems, left = u->len - u->pos;
    size_t n = left < room ? left : room;
    memcpy(buf, u->data + u->pos, n);
    u->pos += n;
    return n;
}

/* Sends msg to addr. 0 when the server accepted it, else -1 with the reason in err. */
static int smtp_send(CURL *h, const char *addr, const char *msg, size_t len, char *err, size_t errlen) {
    char rcpt[264], curl_err[CURL_ERROR_SIZE] = "";
    snprintf(rcpt, sizeof(rcpt), "<%s>", addr);
    struct curl_slist *to = curl_slist_append(NULL, rcpt);
    if (to == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    upload_t u = {msg, len, 0};
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, M.smtp_url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, M.from_addr);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, to);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, M.timeout_ms < 5000 ? M.timeout_ms : 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, M.timeout_ms);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(to);
    if (rc == CURLE_OK) return 0;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    snprintf(err, errlen, "smtp: %s%s%s (%ld)", curl_easy_strerror(rc), curl_err[0] ? ": " : "", curl_err, code);
    return -1;
}

/* ---- the recipient's address -------------------------------------------------- */

/*
 * Looks user id up in the auth service. 0 with the address and name copied,
 * ROAM_ENOTFOUND when the account does not exist (permanent), or another
 * negative code with the reason in err (worth retrying).
 */
static int lookup_user(const char *id, char *addr, size_t addrlen, char *name, size_t namelen, char *err,
                       size_t errlen) {
    char url[512];
    snprintf(url, sizeof(url), "%s/internal/users/%s", M.auth_url, id);
    const char *headers[] = {M.internal_header, NULL};
    roam_httpc_opts_t opts;
    roam_httpc_opts_init(&opts);
    roam_httpc_resp_t resp;
    int rc = roam_httpc_do("GET", url, headers, NULL, 0, &opts, &resp);
    if (rc != 0 || resp.status != 200) {
        if (rc == 0 && resp.status == 404) {
            snprintf(err, errlen, "the recipient's account %s does not exist", id);
            rc = ROAM_ENOTFOUND;
        } else {
            snprintf(err, errlen, "auth lookup of %s: %s (status %ld)", id,
                     rc ? roam_strerror(rc) : "unexpected answer", resp.status);
            rc = ROAM_EUNAVAIL;
        }
        roam_httpc_resp_cleanup(&resp);
        return rc;
    }
    json_t *doc = roam_httpc_resp_json(&resp);
    roam_httpc_resp_cleanup(&resp);
    const char *email = json_string_value(json_object_get(doc, "email"));
    const char *nm = json_string_value(json_object_get(doc, "name"));
    rc = 0;
    if (email == NULL) {
        snprintf(err, errlen, "auth lookup of %s: no email in the answer", id);
        rc = ROAM_EIO;
    } else {
        snprintf(addr, addrlen, "%s", email);
        snprintf(name, namelen, "%s", nm ? nm : "");
    }
    json_decref(doc);
    return rc;
}

/* ---- one email ------------------------------------------------------------------ */

/* Backoff after the given number of failed attempts (1, 2, ...). */
static long backoff_ms(long attempts) {
    long ms = M.base_ms;
    for (long i = 1; i < attempts && ms < MAILER_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < MAILER_BACKOFF_MAX_MS ? ms : MAILER_BACKOFF_MAX_MS;
}

/* Records a failed attempt on row id (attempts is the count including this one). ROAM_EIO or 0. */
static int record_failure(roam_dbconn_t *c, const char *id, long attempts, int permanent, const char *err) {
    char n[24], delay[24];
    snprintf(n, sizeof(n), "%ld", attempts);
    snprintf(delay, sizeof(delay), "%ld", backoff_ms(attempts));
    int dead = permanent || attempts >= M.max_attempts;
    const char *p[] = {id, n, err, delay};
    long r = dead ? roam_db_exec(c,
                                 "UPDATE emails SET status = 'dead', attempts = $2::int, last_error = $3 "
                                 "WHERE id = $1",
                                 3, p)
                  : roam_db_exec(c,
                                 "UPDATE emails SET attempts = $2::int, last_error = $3, "
                                 "next_attempt_at = now() + $4::bigint * interval '1 millisecond' WHERE id = $1",
                                 4, p);
    if (r < 0) return ROAM_EIO;
    atomic_fetch_add(&M.failed, 1);
    if (dead) {
        roam_warn("email %s given up after %ld attempt(s): %s", id, attempts, err);
        long long d = atomic_load(&M.dead);
        if (d >= 0) atomic_fetch_add(&M.dead, 1);
    } else {
        roam_info("email %s attempt %ld failed (retry in %s ms): %s", id, attempts, delay, err);
    }
    return 0;
}

/* Sends the oldest due email. 1 if one was handled, 0 if none is due, ROAM_EIO on a database failure. */
static int send_one(CURL *h) {
    roam_dbconn_t *c = roam_db_acquire(M.db);
    if (c == NULL) return ROAM_EIO;
    int rc = roam_db_begin(c) == 0 ? 0 : ROAM_EIO;
    PGresult *r = NULL;
    if (rc == 0) {
        r = roam_db_query(c,
                          "SELECT id, recipient_id, to_address, to_name, message_id, subject, text_body, html_body, "
                          "attempts, extract(epoch FROM created_at)::bigint FROM emails "
                          "WHERE status = 'pending' AND next_attempt_at <= now() "
                          "ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
                          0, NULL);
        if (r == NULL) rc = ROAM_EIO;
    }
    if (rc != 0 || PQntuples(r) == 0) {
        PQclear(r);
        if (rc == 0) rc = roam_db_commit(c) == 0 ? 0 : ROAM_EIO;
        roam_db_release(M.db, c);
        return rc;
    }

    const char *id = PQgetvalue(r, 0, 0), *recipient = PQgetvalue(r, 0, 1);
    long attempts = strtol(PQgetvalue(r, 0, 8), NULL, 10) + 1;
    char addr[256] = "", name[512] = "", err[512] = "";
    int permanent = 0, ok = -1;
    if (!PQgetisnull(r, 0, 2)) {
        snprintf(addr, sizeof(addr), "%s", PQgetvalue(r, 0, 2));
        snprintf(name, sizeof(name), "%s", PQgetisnull(r, 0, 3) ? "" : PQgetvalue(r, 0, 3));
    } else {
        int lr = lookup_user(recipient, addr, sizeof(addr), name, sizeof(name), err, sizeof(err));
        permanent = lr == ROAM_ENOTFOUND;
        if (lr != 0) addr[0] = '\0';
    }
    if (addr[0] != '\0' && !notif_address_valid(addr)) {
        snprintf(err, sizeof(err), "the address %s cannot be used", addr);
        permanent = 1;
        addr[0] = '\0';
    }
    if (addr[0] != '\0') {
        notif_mime_t mime = {
            .from = M.from,
            .to_address = addr,
            .to_name = name[0] ? name : NULL,
            .subject = PQgetvalue(r, 0, 5),
            .message_id = PQgetvalue(r, 0, 4),
            .date_s = strtoll(PQgetvalue(r, 0, 9), NULL, 10),
            .text = PQgetvalue(r, 0, 6),
            .html = PQgetvalue(r, 0, 7),
        };
        size_t len = 0;
        char *msg = notif_mime_build(&mime, &len);
        if (msg == NULL)
            snprintf(err, sizeof(err), "out of memory");
        else
            ok = smtp_send(h, addr, msg, len, err, sizeof(err));
        free(msg);
    }

    if (ok == 0) {
        char n[24];
        snprintf(n, sizeof(n), "%ld", attempts);
        const char *p[] = {id, addr, n};
        long u = roam_db_exec(c,
                              "UPDATE emails SET status = 'sent', sent_at = now(), attempts = $3::int, "
                              "to_address = $2, last_error = NULL WHERE id = $1",
                              3, p);
        rc = u < 0 ? ROAM_EIO : 0;
        if (rc == 0) {
            atomic_fetch_add(&M.sent, 1);
            roam_info("email %s sent to %s", id, addr);
        }
    } else {
        rc = record_failure(c, id, attempts, permanent, err);
    }
    PQclear(r);
    if (rc == 0 && roam_db_commit(c) != 0) rc = ROAM_EIO;
    if (rc != 0) roam_warn("mailer: cannot record an email's outcome: %s", roam_db_errmsg(c));
    roam_db_release(M.db, c);
    return rc == 0 ? 1 : rc;
}

/*
 * Counts dead rows (for the gauge) and returns how long until the next
 * pending row is due, at most MAILER_IDLE_MS.
 */
static long housekeeping(void) {
    roam_dbconn_t *c = roam_db_acquire(M.db);
    if (c == NULL) return MAILER_ERROR_MS;
    PGresult *r = roam_db_query(c,
                                "SELECT (SELECT count(*) FROM emails WHERE status = 'dead'), "
                                "(SELECT GREATEST(0, ceil(extract(epoch FROM min(next_attempt_at) - now()) * 1000))"
                                "::bigint FROM emails WHERE status = 'pending')",
                                0, NULL);
    long wait = MAILER_IDLE_MS;
    if (r != NULL) {
        atomic_store(&M.dead, strtoll(PQgetvalue(r, 0, 0), NULL, 10));
        if (!PQgetisnull(r, 0, 1)) {
            long due = strtol(PQgetvalue(r, 0, 1), NULL, 10);
            if (due < wait) wait = due;
        }
        PQclear(r);
    } else {
        wait = MAILER_ERROR_MS;
    }
    roam_db_release(M.db, c);
    return wait;
}

/* One turn: sends the next due email, or waits until one is due (or a wake). */
static long mailer_turn(void *ctx) {
    (void)ctx;
    int rc = send_one(M.curl);
    if (rc == 1) return 0;
    long wait = rc == 0 ? housekeeping() : MAILER_ERROR_MS;
    return wait > 0 ? wait : 0;
}

/* ---- start and stop ----------------------------------------------------------- */

int notif_mailer_start(roam_daemon_t *d, char *errbuf, size_t errlen) {
    static const char *const smtp_schemes[] = {"smtp", "smtps", NULL};
    static const char *const http_schemes[] = {"http", "https", NULL};
    M.db = roam_daemon_db(d);
    M.smtp_url = roam_config_url("ROAM_SMTP_URL", "smtp://127.0.0.1:25", smtp_schemes);
    M.from = roam_config_str("ROAM_SMTP_FROM", "Roam <no-reply@roam.local>");
    const char *lt = strrchr(M.from, '<'), *gt = strrchr(M.from, '>');
    char addr[256];
    if (lt != NULL && gt != NULL && gt > lt && gt[1] == '\0' && (size_t)(gt - lt) < sizeof(addr))
        snprintf(addr, sizeof(addr), "%.*s", (int)(gt - lt - 1), lt + 1);
    else
        snprintf(addr, sizeof(addr), "%s", M.from);
    for (const char *p = M.from; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            roam_config_fail("ROAM_SMTP_FROM", M.from, "must be printable ASCII on one line");
    if (!notif_address_valid(addr))
        roam_config_fail("ROAM_SMTP_FROM", M.from, "must be an address (no-reply@example.com) or Name <address>");
    snprintf(M.from_addr, sizeof(M.from_addr), "<%s>", addr);
    M.timeout_ms = roam_config_int("ROAM_SMTP_TIMEOUT_MS", 10000, 100, 600000);
    M.max_attempts = roam_config_int("ROAM_MAIL_MAX_ATTEMPTS", 6, 1, 100);
    M.base_ms = roam_config_int("ROAM_MAIL_RETRY_BASE_MS", 1000, 1, 3600000);
    M.auth_url = roam_config_url("ROAM_AUTH_URL", NULL, http_schemes);
    M.internal_header = roam_httpc_internal_header();

    atomic_store(&M.sent, 0);
    atomic_store(&M.failed, 0);
    atomic_store(&M.dead, -1);
    roam_metrics_register(collect, NULL);
    M.curl = curl_easy_init();
    if (M.curl == NULL) {
        snprintf(errbuf, errlen, "mailer: curl_easy_init failed");
        return -1;
    }
    M.task = roam_task_start("mailer", MAILER_IDLE_MS, mailer_turn, NULL, errbuf, errlen);
    if (M.task == NULL) {
        curl_easy_cleanup(M.curl);
        M.curl = NULL;
        return -1;
    }
    roam_info("mailer: sending from %s (%ld attempts, first retry after %ld ms)", M.from, M.max_attempts, M.base_ms);
    return 0;
}

void notif_mailer_wake(void) { roam_task_wake(M.task); }

void notif_mailer_stop(void) {
    if (M.task == NULL) return;
    roam_task_stop(M.task);
    M.task = NULL;
    curl_easy_cleanup(M.curl);
    M.curl = NULL;
    M.internal_header = NULL;
}
