/*
 * roam/log.h: structured JSON logs, one line per event, to stderr.
 *
 * Every line carries ts, level, service and, on a request path, the request
 * id of the request the calling thread is serving (set by the HTTP core).
 */
#ifndef ROAM_LOG_H
#define ROAM_LOG_H

#include <jansson.h>

typedef enum {
    ROAM_LOG_DEBUG = 0,
    ROAM_LOG_INFO = 1,
    ROAM_LOG_WARN = 2,
    ROAM_LOG_ERROR = 3,
} roam_log_level_t;

/* Sets the service name and minimum level. Call once, before threads start. */
void roam_log_init(const char *service, roam_log_level_t min_level);
/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int roam_log_level_parse(const char *s);
int roam_log_enabled(roam_log_level_t level);

/*
 * Sets the trace context of the calling thread: the request id its log lines
 * carry and the W3C traceparent that outgoing calls and events propagate.
 * Both are borrowed and must outlive their use; NULL clears. The HTTP core
 * sets them around a handler, the Kafka consumer around an event handler.
 */
void roam_log_set_context(const char *request_id, const char *traceparent);
const char *roam_log_request_id(void);
const char *roam_log_traceparent(void);
/* The service name given to roam_log_init ("auth"). */
const char *roam_log_service(void);

/* Logs a printf-formatted message. */
void roam_log(roam_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Logs msg with extra top-level fields. Steals fields (a JSON object, may be
 * NULL).
 */
void roam_log_fields(roam_log_level_t level, const char *msg, json_t *fields);

/*
 * Members for a log line, rendered as they are added: the fast path for
 * lines written on every request (the access log), which avoids building a
 * JSON object. Start with a zeroed buffer; members past its size are dropped.
 */
typedef struct {
    char buf[1024];
    size_t len;
} roam_log_buf_t;

void roam_log_member_str(roam_log_buf_t *b, const char *name, const char *value);
void roam_log_member_int(roam_log_buf_t *b, const char *name, long long value);
/* A number with the given decimals. */
void roam_log_member_num(roam_log_buf_t *b, const char *name, double value, int decimals);
/* Logs msg with the members in b. */
void roam_log_members(roam_log_level_t level, const char *msg, const roam_log_buf_t *b);
/*
 * As roam_log_members, through a per-thread buffer written out when full and
 * at least every 200 ms (for the access log: one write(2) per request costs
 * a tenth of a request). roam_log_flush() writes out every buffer; it runs
 * at exit and the daemon scaffold calls it at shutdown.
 */
void roam_log_members_buffered(roam_log_level_t level, const char *msg, const roam_log_buf_t *b);
void roam_log_flush(void);

#define roam_debug(...) do { if (roam_log_enabled(ROAM_LOG_DEBUG)) roam_log(ROAM_LOG_DEBUG, __VA_ARGS__); } while (0)
#define roam_info(...) roam_log(ROAM_LOG_INFO, __VA_ARGS__)
#define roam_warn(...) roam_log(ROAM_LOG_WARN, __VA_ARGS__)
#define roam_error(...) roam_log(ROAM_LOG_ERROR, __VA_ARGS__)

#endif
