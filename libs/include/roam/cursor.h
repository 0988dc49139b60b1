/*
 * roam/cursor.h: the opaque cursor of keyset pages ordered by a time and an
 * id ("newest first, ties by id"): base64url of "<microseconds>:<uuid>".
 * Decoding checks every byte, so a forged cursor is refused before it
 * reaches SQL (answer 422 at field cursor).
 */
#ifndef ROAM_CURSOR_H
#define ROAM_CURSOR_H

#include <roam/common.h>
#include <roam/http.h>

#define ROAM_CURSOR_MAX    128 /* room for an encoded cursor and its NUL */
#define ROAM_CURSOR_US_MAX 24  /* room for the microseconds and a NUL */

/* Encodes the last row's key (decimal microseconds since the epoch, as SQL gave it) and id into out. */
void roam_cursor_encode(const char *us, const char *id, char out[ROAM_CURSOR_MAX]);
/* Decodes s into us (1 to 20 digits) and id (a UUID). 0, or -1 when s is not such a cursor. */
int roam_cursor_decode(const char *s, char us[ROAM_CURSOR_US_MAX], char id[ROAM_UUID_LEN + 1]);

/*
 * The two query parameters of such a page: limit (an integer from 1 to 100,
 * 20 when absent or empty) into *limit, and cursor (absent or empty: none)
 * decoded into us and id, *has_cursor set when there is one. Each bad value
 * adds a field error to errors (answer them with roam_respond_invalid).
 */
void roam_cursor_page_query(roam_req_t *req, json_t *errors, long *limit, char us[ROAM_CURSOR_US_MAX],
                            char id[ROAM_UUID_LEN + 1], int *has_cursor);

#endif
