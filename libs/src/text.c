/* Checks of client text; see roam/text.h. */
#include <roam/text.h>

size_t roam_utf8_chars(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

const char *roam_trim(const char *s, size_t *len) {
    size_t n = *len;
    while (n > 0 && is_space(*s))
        s++, n--;
    while (n > 0 && is_space(s[n - 1]))
        n--;
    *len = n;
    return s;
}

int roam_text_clean(const char *s, size_t len, int multiline) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (multiline && (c == '\t' || c == '\n' || c == '\r')) continue;
        if (c < 0x20 || c == 0x7f) return 0;
    }
    return 1;
}
