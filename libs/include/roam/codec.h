/*
 * roam/codec.h: base64url (RFC 4648 section 5, unpadded, as JWTs use it)
 * and SHA-256 in hex.
 */
#ifndef ROAM_CODEC_H
#define ROAM_CODEC_H

#include <stddef.h>

/* Space roam_b64url_encode needs for n bytes, NUL included. */
#define ROAM_B64URL_LEN(n) (((n) + 2) / 3 * 4 + 1)

/* Encodes n bytes as unpadded base64url into out (ROAM_B64URL_LEN(n) bytes), NUL-terminated. */
void roam_b64url_encode(const unsigned char *in, size_t n, char *out);
/*
 * Decodes n characters of unpadded base64url into out (capacity cap).
 * Returns the decoded length, or -1 on a character outside the alphabet
 * (padding included), an impossible length, or a result that does not fit.
 */
long roam_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap);
/* 1 if c is in the base64url alphabet. */
int roam_b64url_char(unsigned char c);
/*
 * Writes the SHA-256 of data[0..n) into out. The digest implementation is
 * fetched once per process (OpenSSL 3 looks it up again on every call given
 * EVP_sha256(), which costs several times the hash of a short string).
 */
void roam_sha256(const void *data, size_t n, unsigned char out[32]);
/* Writes the SHA-256 of data[0..n) as 64 lower-case hex digits and a NUL. */
void roam_sha256_hex(const void *data, size_t n, char out[65]);

#endif
