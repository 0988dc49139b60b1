/*
 * roam/text.h: checks of client text that every service applies the same
 * way. Inputs are byte ranges of valid UTF-8 (jansson has checked them);
 * nothing here allocates.
 */
#ifndef ROAM_TEXT_H
#define ROAM_TEXT_H

#include <stddef.h>

/* Number of code points in s[0..len) (every byte but a continuation byte starts one). */
size_t roam_utf8_chars(const char *s, size_t len);
/*
 * Skips ASCII whitespace at both ends of s[0..*len): returns a pointer into
 * s (borrowed) and stores the trimmed length in *len.
 */
const char *roam_trim(const char *s, size_t *len);
/*
 * 1 if s[0..len) has no C0 control character and no DEL (a NUL inside the
 * range counts as one). multiline allows tab, line feed and carriage return.
 */
int roam_text_clean(const char *s, size_t len, int multiline);

#endif
