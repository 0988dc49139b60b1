/* Keyset cursors; see roam/cursor.h. */
#include <roam/codec.h>
#include <roam/cursor.h>

#include <stdio.h>
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
