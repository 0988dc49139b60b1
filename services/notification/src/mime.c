/*
 * The email on the wire: RFC 5322 headers, RFC 2047 encoded words for text
 * that is not plain ASCII, and a multipart/alternative body (RFC 2046) with
 * the plain text first and the HTML second, each UTF-8 in base64 (any text,
 * any line length, no dot-stuffing surprises).
 */
#include "notification.h"

#include <roam/codec.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int notif_address_valid(const char *s) {
    if (s == NULL) return 0;
    size_t len = strlen(s);
    if (len < 3 || len > 254) return 0;
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL) return 0;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || strchr("<>\"\\(),;:[]", ch) != NULL) return 0;
    }
    return 1;
}

static int plain_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f) return 0;
    return 1;
}

/* Appends n bytes of in as standard base64 (no line breaks). */
static void append_b64(roam_buf_t *b, const unsigned char *in, size_t n) {
    char out[4 * 60 / 3 + 4];
    while (n > 0) {
        size_t chunk = n > 57 ? 57 : n;
        EVP_EncodeBlock((unsigned char *)out, in, (int)chunk);
        roam_buf_appendf(b, "%s", out);
        in += chunk;
        n -= chunk;
    }
}

/* Appends s as one or more RFC 2047 encoded words (split on UTF-8 boundaries), folded. */
static void append_encoded_words(roam_buf_t *b, const char *s) {
    size_t len = strlen(s), pos = 0;
    int first = 1;
    while (pos < len) {
        size_t n = len - pos > 45 ? 45 : len - pos;
        while (n > 0 && pos + n < len && ((unsigned char)s[pos + n] & 0xC0) == 0x80)
            n--; /* not mid-character */
        if (n == 0) n = len - pos > 45 ? 45 : len - pos;
        roam_buf_appendf(b, "%s=?UTF-8?B?", first ? "" : "\r\n ");
        append_b64(b, (const unsigned char *)s + pos, n);
        roam_buf_appendf(b, "?=");
        pos += n;
        first = 0;
    }
}

/* A copy of s (malloc) with control characters (CR, LF, ...) turned into spaces, or NULL. */
static char *one_line(const char *s) {
    char *t = strdup(s ? s : "");
    if (t == NULL) return NULL;
    for (char *p = t; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    return t;
}

/* Appends the Subject's text: as is when plain ASCII, else encoded words. */
static void append_unstructured(roam_buf_t *b, const char *s) {
    if (plain_ascii(s))
        roam_buf_appendf(b, "%s", s);
    else
        append_encoded_words(b, s);
}

/* Appends "name <addr>" with the display name quoted or encoded, or just <addr>. */
static void append_mailbox(roam_buf_t *b, const char *name, const char *addr) {
    if (name != NULL && name[0] != '\0') {
        if (plain_ascii(name)) {
            roam_buf_appendf(b, "\"");
            for (const char *p = name; *p; p++)
                roam_buf_appendf(b, "%s%c", (*p == '"' || *p == '\\') ? "\\" : "", *p);
            roam_buf_appendf(b, "\" ");
        } else {
            append_encoded_words(b, name);
            roam_buf_appendf(b, " ");
        }
    }
    roam_buf_appendf(b, "<%s>", addr);
}

/* Appends a body part in base64, 76 characters a line. */
static void append_part(roam_buf_t *b, const char *boundary, const char *type, const char *text) {
    roam_buf_appendf(b, "--%s\r\nContent-Type: %s; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
                     boundary, type);
    const unsigned char *in = (const unsigned char *)text;
    size_t n = strlen(text);
    while (n > 0) {
        size_t chunk = n > 57 ? 57 : n; /* 57 bytes make 76 characters */
        append_b64(b, in, chunk);
        roam_buf_appendf(b, "\r\n");
        in += chunk;
        n -= chunk;
    }
}

char *notif_mime_build(const notif_mime_t *m, size_t *len) {
    char date[64];
    time_t t = (time_t)m->date_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);

    char hash[65], boundary[48];
    roam_sha256_hex(m->message_id, strlen(m->message_id), hash);
    snprintf(boundary, sizeof(boundary), "=_roam_%.32s", hash);

    char *subject = one_line(m->subject), *name = one_line(m->to_name);
    if (subject == NULL || name == NULL) {
        free(subject);
        free(name);
        return NULL;
    }
    roam_buf_t b = {0};
    roam_buf_appendf(&b, "Date: %s\r\nFrom: %s\r\nTo: ", date, m->from);
    append_mailbox(&b, name, m->to_address);
    roam_buf_appendf(&b, "\r\nSubject: ");
    append_unstructured(&b, subject);
    roam_buf_appendf(&b,
                     "\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
                     "This is a message in MIME format.\r\n\r\n",
                     m->message_id, boundary);
    append_part(&b, boundary, "text/plain", m->text);
    roam_buf_appendf(&b, "\r\n");
    append_part(&b, boundary, "text/html", m->html);
    roam_buf_appendf(&b, "\r\n--%s--\r\n", boundary);
    free(subject);
    free(name);
    if (b.oom || b.buf == NULL) {
        free(b.buf);
        return NULL;
    }
    *len = b.len;
    return b.buf;
}
