/*
 * Structured logs: one JSON object per line, written with a single write(2)
 * so lines from different threads never interleave.
 */
#include <roam/common.h>
#include <roam/log.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *service_name = "roam";
static roam_log_level_t min_level = ROAM_LOG_INFO;
static __thread const char *tls_request_id;
static __thread const char *tls_traceparent;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void roam_log_init(const char *service, roam_log_level_t level) {
    service_name = service;
    min_level = level;
}

int roam_log_level_parse(const char *s) {
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) return i;
    return -1;
}

int roam_log_enabled(roam_log_level_t level) { return level >= min_level; }

void roam_log_set_context(const char *request_id, const char *traceparent) {
    tls_request_id = request_id;
    tls_traceparent = traceparent;
}

const char *roam_log_request_id(void) { return tls_request_id; }
const char *roam_log_traceparent(void) { return tls_traceparent; }
const char *roam_log_service(void) { return service_name; }

static void emit(roam_log_level_t level, const char *msg, json_t *fields) {
    char ts[32];
    roam_now_rfc3339(ts);
    json_t *line = json_object();
    if (line == NULL) {
        json_decref(fields);
        return;
    }
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "service", json_string(service_name));
    if (tls_request_id != NULL) json_object_set_new(line, "request_id", json_string(tls_request_id));
    /* json_stringn_nocheck would keep invalid UTF-8; replace it instead so the line stays valid JSON. */
    json_t *m = json_string(msg);
    if (m == NULL) m = json_string("(message was not valid UTF-8)");
    json_object_set_new(line, "msg", m);
    if (fields != NULL) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL) return;
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps allocates len + 1; reuse the NUL's byte */
    ssize_t w = write(STDERR_FILENO, text, len + 1);
    (void)w;
    free(text);
}

void roam_log(roam_log_level_t level, const char *fmt, ...) {
    if (level < min_level) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    emit(level, buf, NULL);
}

void roam_log_fields(roam_log_level_t level, const char *msg, json_t *fields) {
    if (level < min_level) {
        json_decref(fields);
        return;
    }
    emit(level, msg, fields);
}
