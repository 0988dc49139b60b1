/* Route table compilation and matching; see router.h. */
#include "router.h"

#include <roam/common.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *text; /* literal text or parameter name (into names) */
    size_t len;
    int is_param;
} segment_t;

typedef struct {
    const roam_route_t *route;
    size_t nseg;
    segment_t seg[ROAM_ROUTER_MAX_SEGMENTS];
    char *storage; /* owns the names */
} compiled_t;

struct roam_router {
    size_t n;
    compiled_t *routes;
};

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int roam_pct_decode(const char *src, size_t n, char *dst, size_t dstlen) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= n) return -1;
            int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi * 16 + lo);
            if (c == '\0') return -1;
            i += 2;
        }
        if (o + 1 >= dstlen) return -1;
        dst[o++] = c;
    }
    if (o >= dstlen) return -1;
    dst[o] = '\0';
    return (int)o;
}

static int compile(const roam_route_t *route, compiled_t *c, char *errbuf, size_t errlen) {
    const char *p = route->pattern;
    if (p == NULL || p[0] != '/') {
        snprintf(errbuf, errlen, "route pattern \"%s\" must start with '/'", p ? p : "(null)");
        return ROAM_EINVAL;
    }
    c->route = route;
    c->storage = roam_xstrdup(p);
    c->nseg = 0;
    if (strcmp(p, "/") == 0) return 0;
    char *s = c->storage + 1;
    while (*s != '\0') {
        char *end = strchr(s, '/');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == 0 || c->nseg == ROAM_ROUTER_MAX_SEGMENTS) {
            snprintf(errbuf, errlen, "route pattern \"%s\" has an empty segment or too many", p);
            return ROAM_EINVAL;
        }
        segment_t *seg = &c->seg[c->nseg++];
        if (s[0] == '{') {
            if (len < 3 || s[len - 1] != '}') {
                snprintf(errbuf, errlen, "route pattern \"%s\": bad parameter", p);
                return ROAM_EINVAL;
            }
            seg->is_param = 1;
            seg->text = s + 1;
            seg->len = len - 2;
            s[len - 1] = '\0';
        } else {
            seg->is_param = 0;
            seg->text = s;
            seg->len = len;
        }
        if (end == NULL) break;
        *end = '\0';
        s = end + 1;
        if (*s == '\0') {
            snprintf(errbuf, errlen, "route pattern \"%s\" must not end with '/'", p);
            return ROAM_EINVAL;
        }
    }
    return 0;
}

static int same_shape(const compiled_t *a, const compiled_t *b) {
    if (a->nseg != b->nseg) return 0;
    for (size_t i = 0; i < a->nseg; i++) {
        if (a->seg[i].is_param != b->seg[i].is_param) return 0;
        if (!a->seg[i].is_param &&
            (a->seg[i].len != b->seg[i].len || memcmp(a->seg[i].text, b->seg[i].text, a->seg[i].len) != 0))
            return 0;
    }
    return 1;
}

void roam_router_free(roam_router_t *r) {
    if (r == NULL) return;
    for (size_t i = 0; i < r->n; i++) free(r->routes[i].storage);
    free(r->routes);
    free(r);
}

roam_router_t *roam_router_new(const roam_route_t *routes, size_t n, char *errbuf, size_t errlen) {
    roam_router_t *r = roam_xcalloc(1, sizeof(*r));
    r->routes = roam_xcalloc(n, sizeof(compiled_t));
    for (size_t i = 0; i < n; i++) {
        r->n = i + 1;
        if (routes[i].method == NULL || routes[i].handler == NULL) {
            snprintf(errbuf, errlen, "route %zu (%s) has no method or handler", i,
                     routes[i].pattern ? routes[i].pattern : "?");
            roam_router_free(r);
            return NULL;
        }
        if (compile(&routes[i], &r->routes[i], errbuf, errlen) != 0) {
            roam_router_free(r);
            return NULL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(routes[j].method, routes[i].method) == 0 && same_shape(&r->routes[j], &r->routes[i])) {
                snprintf(errbuf, errlen, "duplicate route %s %s (same as %s)", routes[i].method,
                         routes[i].pattern, routes[j].pattern);
                roam_router_free(r);
                return NULL;
            }
        }
    }
    return r;
}

size_t roam_router_count(const roam_router_t *r) { return r->n; }

/* 1 if a is more specific than b: at the first differing position a has a literal. */
static int more_specific(const compiled_t *a, const compiled_t *b) {
    for (size_t i = 0; i < a->nseg; i++) {
        if (a->seg[i].is_param != b->seg[i].is_param) return !a->seg[i].is_param;
    }
    return 0;
}

static void allow_add(roam_route_match_t *m, const char *method) {
    if (strstr(m->allow, method) != NULL) return; /* methods are distinct words here */
    size_t len = strlen(m->allow);
    snprintf(m->allow + len, sizeof(m->allow) - len, "%s%s", len ? ", " : "", method);
}

/* 1 if route c's segments match the decoded request segments. */
static int path_matches(const compiled_t *c, const char *const *segs, const size_t *lens, size_t nseg) {
    if (c->nseg != nseg) return 0;
    for (size_t k = 0; k < nseg; k++) {
        if (c->seg[k].is_param) continue;
        if (c->seg[k].len != lens[k] || memcmp(c->seg[k].text, segs[k], lens[k]) != 0) return 0;
    }
    return 1;
}

int roam_router_match(const roam_router_t *r, const char *method, const char *path, roam_route_match_t *m) {
    const char *segs[ROAM_ROUTER_MAX_SEGMENTS];
    size_t lens[ROAM_ROUTER_MAX_SEGMENTS];
    size_t nseg = 0, used = 0;

    m->index = -1;
    m->path_matched = 0;
    m->allow[0] = '\0';
    m->params.n = 0;
    if (path == NULL || path[0] != '/') return -1;

    /* Split and decode every segment once. */
    if (path[1] != '\0') {
        const char *s = path + 1;
        for (;;) {
            const char *end = strchr(s, '/');
            size_t len = end ? (size_t)(end - s) : strlen(s);
            if (len == 0 || nseg == ROAM_ROUTER_MAX_SEGMENTS) return -1;
            int dl = roam_pct_decode(s, len, m->buf + used, sizeof(m->buf) - used);
            if (dl < 0) return -1;
            if (strcmp(m->buf + used, ".") == 0 || strcmp(m->buf + used, "..") == 0) return -1;
            segs[nseg] = m->buf + used;
            lens[nseg] = (size_t)dl;
            nseg++;
            used += (size_t)dl + 1;
            if (end == NULL) break;
            s = end + 1;
        }
    }

    const compiled_t *best = NULL;
    int best_index = -1;
    for (size_t i = 0; i < r->n; i++) {
        const compiled_t *c = &r->routes[i];
        if (!path_matches(c, segs, lens, nseg)) continue;
        m->path_matched = 1;
        if (strcmp(c->route->method, method) != 0) continue;
        if (best == NULL || more_specific(c, best)) {
            best = c;
            best_index = (int)i;
        }
    }
    if (best == NULL) {
        /* 405: list the methods of every route on this path (the cold path, so scan again). */
        for (size_t i = 0; m->path_matched && i < r->n; i++) {
            if (path_matches(&r->routes[i], segs, lens, nseg)) allow_add(m, r->routes[i].route->method);
        }
        return -1;
    }

    for (size_t k = 0; k < nseg && m->params.n < ROAM_ROUTER_MAX_PARAMS; k++) {
        if (!best->seg[k].is_param) continue;
        m->params.names[m->params.n] = best->seg[k].text;
        m->params.values[m->params.n] = (char *)segs[k];
        m->params.n++;
    }
    m->index = best_index;
    return best_index;
}
