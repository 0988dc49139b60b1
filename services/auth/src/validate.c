/* Pure checks of client input (unit-tested in tests/unit/test_auth_helpers.c). */
#include "auth.h"

#include <string.h>

int auth_email_valid(const char *email, size_t len) {
    if (len == 0 || roam_utf8_chars(email, len) > AUTH_EMAIL_MAX) return 0;
    const char *at = NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)email[i];
        /* No whitespace, control characters or DEL (NUL included: the length is the JSON string's). */
        if (c <= 0x20 || c == 0x7f) return 0;
        if (c == '@') {
            if (at != NULL) return 0;
            at = email + i;
        }
    }
    if (at == NULL || at == email) return 0;
    const char *domain = at + 1;
    size_t dlen = len - (size_t)(domain - email);
    if (dlen < 3 || memchr(domain, '.', dlen) == NULL) return 0;
    /* Every label non-empty: no leading, trailing or doubled dot. */
    if (domain[0] == '.' || domain[dlen - 1] == '.') return 0;
    for (size_t i = 1; i < dlen; i++)
        if (domain[i] == '.' && domain[i - 1] == '.') return 0;
    return 1;
}

void auth_ascii_lower(const char *s, char *out, size_t outlen) {
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < outlen; i++) {
        char c = s[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    if (outlen > 0) out[i] = '\0';
}
