/*
 * roam/metrics.h: the process's Prometheus metrics.
 *
 * The HTTP core counts requests by route, method and status and keeps a
 * latency histogram per route; the rest of the core counts dependency errors
 * (roam_metrics_dep_error). Anything else registers a collector that appends
 * its own lines when /metrics is scraped.
 */
#ifndef ROAM_METRICS_H
#define ROAM_METRICS_H

#include <stddef.h>

/* A growable text buffer for collectors. */
typedef struct {
    char *buf;
    size_t len, cap;
    int oom; /* set when an append failed; the scrape answers 503 */
} roam_buf_t;

void roam_buf_appendf(roam_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends metric lines to b. Called on the scraping thread; must be thread-safe. */
typedef void (*roam_metrics_collector_fn)(void *ctx, roam_buf_t *b);

/* Registers a collector (at start-up; at most 32). */
void roam_metrics_register(roam_metrics_collector_fn fn, void *ctx);
/* Counts one failed call to a dependency ("database", "redis", "kafka", "smtp", "upstream_<name>"). */
void roam_metrics_dep_error(const char *dependency);
/*
 * Renders every metric in the text exposition format. Returns 0 and fills b
 * (caller frees b->buf), or ROAM_ENOMEM.
 */
int roam_metrics_render(roam_buf_t *b);

#endif
