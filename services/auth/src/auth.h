/*
 * The auth service's private interfaces: one section per source file.
 *
 * Secrets never reach a log line: passwords, access tokens, refresh tokens
 * and the keys derived from them stay inside these modules and the request.
 */
#ifndef ROAM_AUTH_H
#define ROAM_AUTH_H

#include <stddef.h>
#include <jansson.h>
#include <roam/daemon.h>
#include <roam/db.h>
#include <roam/text.h>

/* ---- h_auth.c: the route handlers (table in main.c) ---------------------- */

int h_auth_register(roam_req_t *req);
int h_auth_login(roam_req_t *req);
int h_auth_refresh(roam_req_t *req);
int h_auth_logout(roam_req_t *req);
int h_auth_me(roam_req_t *req);
int h_auth_jwks(roam_req_t *req);

/* ---- h_internal.c: routes for other services (role "internal") ----------- */

int h_internal_user(roam_req_t *req);

/* ---- validate.c: pure checks of what clients send ------------------------ */

#define AUTH_EMAIL_MAX    254 /* characters */
#define AUTH_PASSWORD_MIN 10  /* characters (code points) */
#define AUTH_PASSWORD_MAX 128
#define AUTH_NAME_MAX     100

/*
 * 1 if email has the shape name@domain.tld: exactly one '@', a non-empty
 * local part, a domain with a dot that neither starts nor ends a label, no
 * whitespace or control characters, at most AUTH_EMAIL_MAX characters.
 */
int auth_email_valid(const char *email, size_t len);
/* Writes the ASCII lower case of s into out (outlen >= strlen(s) + 1). */
void auth_ascii_lower(const char *s, char *out, size_t outlen);

/* ---- passwords.c: argon2id ---------------------------------------------- */

#define AUTH_HASH_MAX 256 /* an encoded argon2id hash fits, with its NUL */

/*
 * Reads ROAM_ARGON2_MEMORY_KIB and ROAM_ARGON2_ITERATIONS (exits on bad
 * values) and computes the dummy hash used for unknown emails. 0 or -1 with
 * the reason in errbuf.
 */
int auth_passwords_init(char *errbuf, size_t errlen);
/* Hashes pwd[0..len) with a fresh salt into out. 0, ROAM_ENOMEM or ROAM_EINVAL. */
int auth_password_hash(const char *pwd, size_t len, char out[AUTH_HASH_MAX]);
/*
 * Verifies pwd against an encoded hash; NULL encoded verifies against the
 * dummy hash (same cost, always fails). 1 on a match, 0 on a mismatch,
 * ROAM_ENOMEM when argon2 could not allocate its memory.
 */
int auth_password_verify(const char *encoded, const char *pwd, size_t len);

/* ---- tokens.c: the signing key, JWKS, access tokens ---------------------- */

/*
 * Reads ROAM_JWT_PRIVATE_KEY(_FILE), ROAM_JWT_KID, ROAM_JWT_PREVIOUS_JWKS_FILE,
 * ROAM_JWT_ISSUER, ROAM_JWT_AUDIENCE and ROAM_ACCESS_TOKEN_TTL_S, and
 * publishes the keys in the daemon's verifier. Exits on bad configuration.
 */
int auth_tokens_init(roam_daemon_t *d, char *errbuf, size_t errlen);
void auth_tokens_fini(void);
/* Access token lifetime in seconds. */
long auth_access_ttl(void);
/*
 * Signs an access token for user sub with role in session family sid.
 * Returns a new string (free it), or NULL when memory runs out.
 */
char *auth_access_token_new(const char *sub, const char *role, const char *sid);
/* The published JWKS document as compact JSON (borrowed, immutable). */
const char *auth_jwks_text(size_t *len);

/* ---- codec.c: pure helpers of the token code --------------------------- */

/*
 * The RFC 7638 thumbprint of an EC P-256 public JWK from its base64url
 * coordinates: base64url(SHA-256({"crv":"P-256","kty":"EC","x":..,"y":..})).
 * out gets 43 characters and a NUL.
 */
void auth_jwk_thumbprint(const char *x, const char *y, char out[44]);
/*
 * Reads a string claim from a token whose signature was already verified
 * (the payload is decoded, not checked). 0 and the value in out, or
 * ROAM_EINVAL.
 */
int auth_token_claim(const char *token, const char *name, char *out, size_t outlen);

/* base64url and SHA-256 hex come from the core: roam/codec.h. */

/* ---- sessions.c: refresh tokens, session families, denylist, login failures (Redis) ---- */

#define AUTH_REFRESH_TOKEN_LEN 43 /* base64url of 32 random bytes */

/* Writes a new refresh token: 32 random bytes, base64url. */
void auth_refresh_token_new(char out[AUTH_REFRESH_TOKEN_LEN + 1]);

/* Reads the refresh settings and loads the Lua scripts (Redis may still be down). */
int auth_sessions_init(roam_daemon_t *d, char *errbuf, size_t errlen);

/*
 * Starts a session family for user: writes a new refresh token into
 * token_out and the family id into sid_out. 0 or ROAM_EUNAVAIL.
 */
int auth_session_start(const char *user_id, char token_out[AUTH_REFRESH_TOKEN_LEN + 1],
                       char sid_out[ROAM_UUID_LEN + 1]);

typedef enum {
    AUTH_REFRESH_INVALID = 0, /* unknown, expired or revoked: 401 */
    AUTH_REFRESH_ACTIVE,      /* peek: may rotate (family and user filled) */
    AUTH_REFRESH_DONE,        /* body filled: the answer to send (new or replayed pair) */
    AUTH_REFRESH_THEFT,       /* a rotated token replayed late: the family is now revoked */
} auth_refresh_state_t;

typedef struct {
    auth_refresh_state_t state;
    char family[ROAM_UUID_LEN + 1];
    char user_id[ROAM_UUID_LEN + 1];
    char *body; /* DONE: the response body, new (free it) */
} auth_refresh_t;

/*
 * Looks the refresh token up. ACTIVE: the caller signs a new pair and calls
 * auth_refresh_rotate. DONE: a concurrent refresh already rotated it within
 * the reuse interval and body is that same answer. 0 or ROAM_EUNAVAIL.
 */
int auth_refresh_peek(const char *token, auth_refresh_t *out);
/*
 * Rotates token atomically: stores body (the answer that carries new_token)
 * for replays within the reuse interval and makes new_token active in the
 * family. When another request rotated it first, out->body is that request's
 * answer instead. 0 or ROAM_EUNAVAIL.
 */
int auth_refresh_rotate(const char *token, const char *new_token, const char *body, auth_refresh_t *out);
/* Revokes a session family (every refresh token of it). 0 or ROAM_EUNAVAIL. */
int auth_family_revoke(const char *family);
/*
 * Logout: denylists jti for ttl_s seconds and revokes family sid (may be
 * NULL) and the family of refresh_token (may be NULL), each only if it
 * belongs to user_id. 0 or ROAM_EUNAVAIL.
 */
int auth_logout(const char *jti, long ttl_s, const char *user_id, const char *sid, const char *refresh_token);

/*
 * Failed logins of one email from one address. auth_login_attempt reserves
 * an attempt: 0 when allowed (the attempt counts as failed until
 * auth_login_succeeded resets the count), a positive number of seconds to
 * wait when the limit is reached, or ROAM_EUNAVAIL.
 */
long auth_login_attempt(const char *email_lower, const char *client_ip);
void auth_login_succeeded(const char *email_lower, const char *client_ip);

/* ---- store_user.c: the users table ---------------------------------------- */

/* The columns of a user object, in the order store_user_json reads them. */
#define STORE_USER_COLUMNS                                                                                             \
    "id, email, name, role, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/*
 * Inserts a user (email lower-cased by PostgreSQL). 0 and *out (new: the
 * user object), ROAM_ECONFLICT when the email is taken, or ROAM_EIO.
 */
int store_user_create(roam_dbconn_t *c, const char *email, const char *password_hash, const char *name,
                      const char *role, json_t **out);
/*
 * Finds a user by email, any case. 0 with *out (new) and its hash copied into
 * hash, ROAM_ENOTFOUND, or ROAM_EIO.
 */
int store_user_by_email(roam_dbconn_t *c, const char *email, json_t **out, char hash[AUTH_HASH_MAX]);
/* Finds a user by id. 0 with *out (new), ROAM_ENOTFOUND, or ROAM_EIO. */
int store_user_get(roam_dbconn_t *c, const char *id, json_t **out);
/*
 * Creates an admin unless a user has that email already. 1 if created, 0 if
 * it existed (*existing_role filled), or ROAM_EIO.
 */
int store_user_ensure_admin(roam_dbconn_t *c, const char *email, const char *password_hash, const char *name,
                            char existing_role[32]);

#endif
