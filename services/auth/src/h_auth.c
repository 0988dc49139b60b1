/*
 * /auth: register, login, refresh, logout, me and the JWKS.
 *
 * Token answers carry Cache-Control: no-store (RFC 6749, section 5.1).
 * Nothing here logs a password or a token.
 */
#include "auth.h"

#include <roam/authn.h>
#include <roam/common.h>
#include <roam/http.h>
#include <roam/log.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- input ---- */

/*
 * The string member name of the body: NULL with an error added when it is
 * missing (and required) or not a string. *len gets its length in bytes.
 */
static const char *string_field(json_t *body, const char *name, int required, json_t *errors, size_t *len) {
    json_t *v = json_object_get(body, name);
    *len = 0;
    if (v == NULL) {
        if (required) roam_field_error(errors, name, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        roam_field_error(errors, name, "must be a string");
        return NULL;
    }
    *len = json_string_length(v);
    return json_string_value(v);
}

/* 1 if s[0..len) has no C0 control character or DEL (NUL included). */
static int printable(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
    return 1;
}

/* ---- answers ---- */

static int unavailable(roam_req_t *req, const char *what) {
    return roam_respond_problem(req, "upstream_unavailable", "%s is unreachable; try again", what);
}

/*
 * Starts a session for user (stolen) and answers status with
 * {user, access_token, refresh_token, token_type, expires_in}.
 */
static int respond_session(roam_req_t *req, int status, json_t *user) {
    const char *id = json_string_value(json_object_get(user, "id"));
    const char *role = json_string_value(json_object_get(user, "role"));
    char refresh[AUTH_REFRESH_TOKEN_LEN + 1], sid[ROAM_UUID_LEN + 1];
    if (auth_session_start(id, refresh, sid) != 0) {
        json_decref(user);
        return unavailable(req, "The session store");
    }
    char *access = auth_access_token_new(id, role, sid);
    if (access == NULL) {
        json_decref(user);
        return roam_respond_problem(req, "internal_error", "The access token could not be signed");
    }
    json_t *doc = json_pack("{s:o, s:s, s:s, s:s, s:I}", "user", user, "access_token", access, "refresh_token", refresh,
                            "token_type", "Bearer", "expires_in", (json_int_t)auth_access_ttl());
    OPENSSL_cleanse(refresh, sizeof(refresh));
    free(access);
    roam_resp_header(req, "Cache-Control", "no-store");
    return roam_respond_json(req, status, doc);
}

/* ---- routes ---- */

int h_auth_register(roam_req_t *req) {
    json_t *body = roam_req_json(req);
    json_t *errors = json_array();
    size_t email_len, pwd_len, name_len, role_len;
    const char *email = string_field(body, "email", 1, errors, &email_len);
    const char *pwd = string_field(body, "password", 1, errors, &pwd_len);
    const char *name = string_field(body, "name", 1, errors, &name_len);
    const char *role = string_field(body, "role", 0, errors, &role_len);

    if (email != NULL && !auth_email_valid(email, email_len))
        roam_field_error(errors, "email", "must be an email address (name@example.com) of at most %d characters",
                         AUTH_EMAIL_MAX);
    if (pwd != NULL) {
        size_t n = roam_utf8_chars(pwd, pwd_len);
        if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX)
            roam_field_error(errors, "password", "must be %d to %d characters", AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
    }
    if (name != NULL) {
        name = roam_trim(name, &name_len);
        size_t n = roam_utf8_chars(name, name_len);
        if (n < 1 || n > AUTH_NAME_MAX)
            roam_field_error(errors, "name", "must be 1 to %d characters (not only spaces)", AUTH_NAME_MAX);
        else if (!printable(name, name_len))
            roam_field_error(errors, "name", "must not contain control characters");
    }
    if (role == NULL && json_object_get(body, "role") == NULL)
        role = "traveller";
    else if (role != NULL && strcmp(role, "traveller") != 0 && strcmp(role, "operator") != 0)
        roam_field_error(errors, "role", "must be \"traveller\" or \"operator\"");
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    char *name_z = roam_req_alloc(req, name_len + 1);
    if (name_z == NULL) return unavailable(req, "Memory");
    memcpy(name_z, name, name_len);
    name_z[name_len] = '\0';

    char hash[AUTH_HASH_MAX];
    int rc = auth_password_hash(pwd, pwd_len, hash);
    if (rc != 0)
        return rc == ROAM_ENOMEM ? unavailable(req, "Memory")
                                 : roam_respond_problem(req, "internal_error", "Hashing failed");

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    json_t *user = NULL;
    rc = store_user_create(c, email, hash, name_z, role, &user);
    if (rc == ROAM_ECONFLICT)
        return roam_respond_problem(req, "email_taken", "An account with this email exists already");
    if (rc != 0) return unavailable(req, "The database");
    return respond_session(req, 201, user);
}

int h_auth_login(roam_req_t *req) {
    json_t *body = roam_req_json(req);
    json_t *errors = json_array();
    size_t email_len, pwd_len;
    const char *email = string_field(body, "email", 1, errors, &email_len);
    const char *pwd = string_field(body, "password", 1, errors, &pwd_len);
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    /* The failure counter's email: lower case, like the stored one; cut at a NUL (which no account has). */
    char *lower = roam_req_alloc(req, email_len + 1);
    if (lower == NULL) return unavailable(req, "Memory");
    auth_ascii_lower(email, lower, email_len + 1);
    int impossible = strlen(email) != email_len || email_len > AUTH_EMAIL_MAX * 4;

    /* The limit comes first: once reached, not even the right password is checked. */
    const char *ip = roam_req_client_ip(req);
    long wait = auth_login_attempt(lower, ip);
    if (wait < 0) return unavailable(req, "The session store");
    if (wait > 0) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%ld", wait);
        roam_resp_header(req, "Retry-After", ra);
        return roam_respond_problem(req, "rate_limited", "Too many failed logins; try again in %ld seconds", wait);
    }

    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    json_t *user = NULL;
    char hash[AUTH_HASH_MAX];
    int rc = impossible ? ROAM_ENOTFOUND : store_user_by_email(c, email, &user, hash);
    if (rc != 0 && rc != ROAM_ENOTFOUND) return unavailable(req, "The database");
    /* An unknown email costs one argon2id verification too, so timing does not tell. */
    int ok = auth_password_verify(rc == 0 ? hash : NULL, pwd, pwd_len);
    OPENSSL_cleanse(hash, sizeof(hash));
    if (ok < 0) {
        json_decref(user);
        return unavailable(req, "Memory");
    }
    if (!ok) {
        json_decref(user);
        return roam_respond_problem(req, "invalid_credentials", "Wrong email or password");
    }
    auth_login_succeeded(lower, ip);
    return respond_session(req, 200, user);
}

int h_auth_refresh(roam_req_t *req) {
    json_t *errors = json_array();
    size_t len;
    const char *token = string_field(roam_req_json(req), "refresh_token", 1, errors, &len);
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    auth_refresh_t st;
    if (auth_refresh_peek(token, &st) != 0) return unavailable(req, "The session store");
    if (st.state != AUTH_REFRESH_ACTIVE && st.state != AUTH_REFRESH_DONE)
        return roam_respond_problem(req, "unauthorized", "The refresh token is invalid, expired or revoked");

    if (st.state == AUTH_REFRESH_ACTIVE) {
        /* The user as of now: a deleted user's sessions end here; a changed role shows in the new token. */
        roam_dbconn_t *c = roam_req_db(req);
        if (c == NULL) return unavailable(req, "The database");
        json_t *user = NULL;
        int rc = store_user_get(c, st.user_id, &user);
        if (rc == ROAM_ENOTFOUND) {
            auth_family_revoke(st.family);
            return roam_respond_problem(req, "unauthorized", "The refresh token is invalid, expired or revoked");
        }
        if (rc != 0) return unavailable(req, "The database");

        char fresh[AUTH_REFRESH_TOKEN_LEN + 1];
        auth_refresh_token_new(fresh);
        char *access = auth_access_token_new(json_string_value(json_object_get(user, "id")),
                                             json_string_value(json_object_get(user, "role")), st.family);
        json_t *doc = NULL;
        if (access != NULL)
            doc = json_pack("{s:o, s:s, s:s, s:s, s:I}", "user", user, "access_token", access, "refresh_token", fresh,
                            "token_type", "Bearer", "expires_in", (json_int_t)auth_access_ttl());
        else
            json_decref(user);
        free(access);
        char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(doc);
        if (text == NULL) return roam_respond_problem(req, "internal_error", "The access token could not be signed");
        rc = auth_refresh_rotate(token, fresh, text, &st);
        OPENSSL_cleanse(fresh, sizeof(fresh));
        OPENSSL_cleanse(text, strlen(text));
        free(text);
        if (rc != 0) return unavailable(req, "The session store");
        if (st.state != AUTH_REFRESH_DONE) {
            free(st.body);
            return roam_respond_problem(req, "unauthorized", "The refresh token is invalid, expired or revoked");
        }
    }
    roam_resp_header(req, "Cache-Control", "no-store");
    return roam_respond_raw(req, 200, "application/json", st.body, strlen(st.body));
}

int h_auth_logout(roam_req_t *req) {
    json_t *errors = json_array();
    size_t len;
    const char *refresh = string_field(roam_req_json(req), "refresh_token", 0, errors, &len);
    if (json_array_size(errors) > 0) return roam_respond_invalid(req, errors);
    json_decref(errors);

    const roam_claims_t *claims = roam_req_claims(req);
    const char *authz = roam_req_header(req, "Authorization");
    char sid[64];
    /* The scaffold verified this token; its sid names the session family to end. */
    int has_sid = authz != NULL && auth_token_claim(authz + 7, "sid", sid, sizeof(sid)) == 0 && roam_uuid_valid(sid);
    long ttl = (long)(claims->exp - (long long)time(NULL));
    if (auth_logout(claims->jti, ttl < 1 ? 1 : ttl, claims->sub, has_sid ? sid : NULL, refresh) != 0)
        return unavailable(req, "The session store");
    /* Our own verifier knows at once; the others hear it on the denylist channel. */
    roam_authn_revoke(roam_daemon_authn(roam_daemon()), claims->jti, claims->exp);
    return roam_respond_empty(req, 204);
}

int h_auth_me(roam_req_t *req) {
    const roam_claims_t *claims = roam_req_claims(req);
    roam_dbconn_t *c = roam_req_db(req);
    if (c == NULL) return unavailable(req, "The database");
    json_t *user = NULL;
    int rc = store_user_get(c, claims->sub, &user);
    if (rc == ROAM_ENOTFOUND) return roam_respond_problem(req, "unauthorized", "The account no longer exists");
    if (rc != 0) return unavailable(req, "The database");
    return roam_respond_json(req, 200, user);
}

int h_auth_jwks(roam_req_t *req) {
    size_t len;
    const char *text = auth_jwks_text(&len);
    char *copy = roam_trymalloc(len + 1);
    if (copy == NULL) return unavailable(req, "Memory");
    memcpy(copy, text, len + 1);
    roam_resp_header(req, "Cache-Control", "public, max-age=300");
    return roam_respond_raw(req, 200, "application/json", copy, len);
}
