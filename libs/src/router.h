/*
 * router.h (private to the core): compiles a route table and matches
 * request paths against it. Kept apart from http.c so it can be unit-tested
 * and reused by the gateway's routing table.
 *
 * Matching works on the raw path split at '/', each segment then
 * percent-decoded, so an encoded slash never creates a new segment. Empty
 * segments ("//"), "." and ".." never match. Among routes that match the
 * path and the method, the most specific wins: compared segment by segment
 * from the left, a literal beats a parameter.
 */
#ifndef ROAM_ROUTER_H
#define ROAM_ROUTER_H

#include <stddef.h>
#include <roam/http.h>

#define ROAM_ROUTER_MAX_SEGMENTS 16
#define ROAM_ROUTER_MAX_PARAMS 8

typedef struct roam_router roam_router_t;

typedef struct {
    size_t n;
    const char *names[ROAM_ROUTER_MAX_PARAMS];
    char *values[ROAM_ROUTER_MAX_PARAMS]; /* decoded; point into the match's buffer */
} roam_route_params_t;

typedef struct {
    int index;             /* the route's index in the table, or -1 */
    int path_matched;      /* 1 if some route matched the path (405 rather than 404) */
    char allow[64];        /* methods of the routes that matched the path, "GET, POST" */
    roam_route_params_t params;
    char buf[1024];        /* decoded segments */
} roam_route_match_t;

/* Compiles routes (borrowed). Returns NULL with the reason in errbuf. */
roam_router_t *roam_router_new(const roam_route_t *routes, size_t n, char *errbuf, size_t errlen);
void roam_router_free(roam_router_t *r);
size_t roam_router_count(const roam_router_t *r);

/*
 * Matches method and raw path (no query string). Fills m. Returns the route
 * index, or -1 (m->path_matched tells 404 from 405).
 */
int roam_router_match(const roam_router_t *r, const char *method, const char *path, roam_route_match_t *m);

/*
 * Percent-decodes src[0..n) into dst (at most dstlen-1 bytes, NUL-terminated).
 * Returns the decoded length, or -1 on a malformed escape or overflow.
 * Decoding "%00" is refused too.
 */
int roam_pct_decode(const char *src, size_t n, char *dst, size_t dstlen);

#endif
