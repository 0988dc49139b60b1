/* Keyset cursors; see roam/cursor.h. */
#include <roam/codec.h>
#include <roam/cursor.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void roam_cursor_encode(const char *us, const char *id, char out[ROAM_CURSOR_MAX]) {
    char text[80];
    int n = snprintf(text, sizeof(text), "%.24s:%.36s", us, id);
    roam_b64url_encode((const unsigned char *)text, (size_t)n, out);
}

int roam_cursor_decode(const char *s, char us[ROAM_CURSOR_US_MAX], char id[ROAM_UUID_LEN + 1]) {
    unsigned char raw[96];
    size_t len = strlen(s);
    if (len == 0 || len >= ROAM_CURSOR_MAX) return -1;
    long n = roam_b64url_decode(s, len, raw, sizeof(raw) - 1);
    if (n <= 0) return -1;
    raw[n] = '\0';
    char *colon = strchr((char *)raw, ':');
    if (colon == NULL || colon == (char *)raw || colon - (char *)raw > 20) return -1;
    for (char *p = (char *)raw; p < colon; p++)
        if (*p < '0' || *p > '9') return -1;
    if (!roam_uuid_valid(colon + 1)) return -1;
    memcpy(us, raw, (size_t)(colon - (char *)raw));
    us[colon - (char *)raw] = '\0';
    snprintf(id, ROAM_UUID_LEN + 1, "%s", colon + 1);
    return 0;
}

void roam_cursor_page_query(roam_req_t *req, json_t *errors, long *limit, char us[ROAM_CURSOR_US_MAX],
                            char id[ROAM_UUID_LEN + 1], int *has_cursor) {
    *limit = 20;
    const char *ls = roam_req_query(req, "limit");
    if (ls != NULL && ls[0] != '\0') {
        char *end;
        *limit = strtol(ls, &end, 10);
        if (*end != '\0' || *limit < 1 || *limit > 100)
            roam_field_error(errors, "limit", "must be an integer from 1 to 100");
    }
    const char *cs = roam_req_query(req, "cursor");
    *has_cursor = cs != NULL && cs[0] != '\0';
    if (*has_cursor && roam_cursor_decode(cs, us, id) != 0) roam_field_error(errors, "cursor", "is not a valid cursor");
}
