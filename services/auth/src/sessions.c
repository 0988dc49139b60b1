/*
 * Sessions in Redis: refresh tokens, session families, the logout denylist
 * and failed-login counters. Every state change is one Lua script, so it is
 * atomic however many replicas and threads race.
 *
 * Keys (refresh tokens appear only as the SHA-256 of their text):
 *   roam:auth:fam:<family>        hash {state: active|revoked, user}; TTL slides with each rotation
 *   roam:auth:rt:<sha256(token)>  hash {state: active|rotated, fam, rotated_at (ms)}; TTL: the token's life
 *   roam:auth:rt:<sha256>:pair    the answer given when the token was rotated, encrypted (see below);
 *                                 TTL: the reuse interval plus a margin
 *   roam:auth:fail:<sha256(email|ip)>  failed logins in the current window
 *   roam:deny:<jti>               a logged-out access token (ROAM_DENYLIST_PREFIX)
 *
 * The refresh state machine (REFRESH_LUA): active --rotate--> rotated. A
 * rotated token presented within the reuse interval gets the stored answer
 * again (concurrent refreshes by one client); later it is theft and revokes
 * the family, which ends every token of it, the newest included.
 *
 * The stored answer contains the new refresh token, so it is encrypted with
 * AES-256-GCM under SHA-256("roam-auth:pair:" || old token): only someone who
 * presents the old token can read it, and Redis never holds a usable token.
 *
 * Settings: ROAM_REFRESH_TOKEN_TTL_S (30 days), ROAM_REFRESH_REUSE_INTERVAL_S
 * (10), ROAM_LOGIN_MAX_FAILURES (5), ROAM_LOGIN_WINDOW_S (900).
 *
 * The scripts build the family and pair key names themselves, so they assume
 * a single Redis (not Redis Cluster), as the rest of the platform does.
 */
#include "auth.h"

#include <roam/authn.h>
#include <roam/codec.h>
#include <roam/common.h>
#include <roam/config.h>
#include <roam/log.h>
#include <roam/redis.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAM_PREFIX     "roam:auth:fam:"
#define RT_PREFIX      "roam:auth:rt:"
#define FAIL_PREFIX    "roam:auth:fail:"
#define PAIR_MARGIN_MS 5000
#define GCM_NONCE      12
#define GCM_TAG        16
#define BODY_MAX       (64 * 1024)

static roam_redis_t *redis;
static long refresh_ttl_s = 30L * 86400;
static long reuse_s = 10;
static long login_max = 5;
static long login_window_s = 900;

typedef struct {
    const char *name;
    const char *src;
    char sha[41]; /* "" until SCRIPT LOAD succeeded */
} script_t;

/* KEYS[1] family, KEYS[2] token record; ARGV user, ttl ms, family id. */
static script_t start_script = {"start",
                                "redis.call('HSET', KEYS[1], 'state', 'active', 'user', ARGV[1])\n"
                                "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
                                "redis.call('HSET', KEYS[2], 'state', 'active', 'fam', ARGV[3])\n"
                                "redis.call('PEXPIRE', KEYS[2], ARGV[2])\n"
                                "return 1\n",
                                ""};

/*
 * KEYS[1] the presented token's record, KEYS[2] the new token's record.
 * ARGV: op ("peek" | "rotate"), reuse interval ms, family prefix, encrypted
 * answer, refresh ttl ms, pair ttl ms.
 * Returns {"invalid"} | {"theft", fam} | {"reused", fam, blob} |
 * {"active", fam, user} (peek) | {"rotated", fam} (rotate).
 */
static script_t refresh_script = {"refresh",
                                  "local rec = redis.call('HMGET', KEYS[1], 'state', 'fam', 'rotated_at')\n"
                                  "local state, fam, rotated_at = rec[1], rec[2], rec[3]\n"
                                  "if not state or not fam then return {'invalid'} end\n"
                                  "local famkey = ARGV[3] .. fam\n"
                                  "local f = redis.call('HMGET', famkey, 'state', 'user')\n"
                                  "if f[1] ~= 'active' then return {'invalid'} end\n"
                                  "local t = redis.call('TIME')\n"
                                  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
                                  "if state == 'rotated' then\n"
                                  "  if now - tonumber(rotated_at) < tonumber(ARGV[2]) then\n"
                                  "    local blob = redis.call('GET', KEYS[1] .. ':pair')\n"
                                  "    if blob then return {'reused', fam, blob} end\n"
                                  "  end\n"
                                  "  redis.call('HSET', famkey, 'state', 'revoked')\n"
                                  "  return {'theft', fam}\n"
                                  "end\n"
                                  "if state ~= 'active' then return {'invalid'} end\n"
                                  "if ARGV[1] == 'peek' then return {'active', fam, f[2]} end\n"
                                  "redis.call('HSET', KEYS[1], 'state', 'rotated', 'rotated_at', tostring(now))\n"
                                  "redis.call('SET', KEYS[1] .. ':pair', ARGV[4], 'PX', ARGV[6])\n"
                                  "redis.call('HSET', KEYS[2], 'state', 'active', 'fam', fam)\n"
                                  "redis.call('PEXPIRE', KEYS[2], ARGV[5])\n"
                                  "redis.call('PEXPIRE', famkey, ARGV[5])\n"
                                  "return {'rotated', fam}\n",
                                  ""};

/* KEYS[1] family. Revokes it if it exists (never creates a key without a TTL). */
static script_t revoke_script = {"revoke",
                                 "if redis.call('EXISTS', KEYS[1]) == 1 then\n"
                                 "  redis.call('HSET', KEYS[1], 'state', 'revoked')\n"
                                 "end\n"
                                 "return 1\n",
                                 ""};

/*
 * KEYS[1] denylist key, KEYS[2] family of the access token (or a dummy),
 * KEYS[3] record of the refresh token (or a dummy).
 * ARGV: deny ttl s, user id, family prefix, has family (0/1), has token (0/1).
 */
static script_t logout_script = {
    "logout",
    "redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])\n"
    "redis.call('PUBLISH', '" ROAM_DENYLIST_CHANNEL "', KEYS[1] .. ' ' .. ARGV[1])\n"
    "local function revoke(famkey)\n"
    "  if redis.call('HGET', famkey, 'user') == ARGV[2] then redis.call('HSET', famkey, 'state', 'revoked') end\n"
    "end\n"
    "if ARGV[4] == '1' then revoke(KEYS[2]) end\n"
    "if ARGV[5] == '1' then\n"
    "  local fam = redis.call('HGET', KEYS[3], 'fam')\n"
    "  if fam then revoke(ARGV[3] .. fam) end\n"
    "end\n"
    "return 1\n",
    ""};

/*
 * KEYS[1] failure counter; ARGV: max failures, window ms. Reserves an
 * attempt: 0 when allowed, else the milliseconds left in the window.
 */
static script_t attempt_script = {
    "attempt",
    "local n = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if n >= tonumber(ARGV[1]) then\n"
    "  local ttl = redis.call('PTTL', KEYS[1])\n"
    "  if ttl < 0 then\n"
    "    redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "    ttl = tonumber(ARGV[2])\n"
    "  end\n"
    "  return ttl\n"
    "end\n"
    "if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
    "return 0\n",
    ""};

static script_t *const scripts[] = {&start_script, &refresh_script, &revoke_script, &logout_script, &attempt_script};

/* ---- script calls ---- */

/*
 * Runs script with keys and args (NUL-terminated strings): EVALSHA, or EVAL
 * when the script is not loaded (never loaded, or Redis restarted). Returns
 * a new reply that is not an error, or NULL (logged).
 */
static redisReply *run(script_t *s, int nkeys, const char *const *keys, int nargs, const char *const *args) {
    const char *argv[16];
    size_t lens[16];
    char numkeys[8];
    snprintf(numkeys, sizeof(numkeys), "%d", nkeys);
    int argc = 3 + nkeys + nargs;
    if (argc > 16) return NULL;
    argv[2] = numkeys;
    for (int i = 0; i < nkeys; i++)
        argv[3 + i] = keys[i];
    for (int i = 0; i < nargs; i++)
        argv[3 + nkeys + i] = args[i];
    for (int i = 2; i < argc; i++)
        lens[i] = strlen(argv[i]);

    redisReply *r = NULL;
    if (s->sha[0] != '\0') {
        argv[0] = "EVALSHA";
        argv[1] = s->sha;
        lens[0] = 7;
        lens[1] = 40;
        r = roam_redis_commandargv(redis, argc, argv, lens);
        if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject(r);
            r = NULL;
        } else {
            goto done;
        }
    }
    argv[0] = "EVAL";
    argv[1] = s->src;
    lens[0] = 4;
    lens[1] = strlen(s->src);
    r = roam_redis_commandargv(redis, argc, argv, lens);
done:
    if (r == NULL) {
        roam_warn("redis: script %s: no answer", s->name);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        roam_error("redis: script %s failed: %s", s->name, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static void load_scripts(void) {
    for (size_t i = 0; i < ROAM_ARRAY_LEN(scripts); i++) {
        redisReply *r = roam_redis_command(redis, "SCRIPT LOAD %s", scripts[i]->src);
        if (r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40) memcpy(scripts[i]->sha, r->str, 41);
        if (r != NULL) freeReplyObject(r);
    }
}

/* The string element i of an array reply, or NULL. */
static const char *elem(const redisReply *r, size_t i) {
    if (r->type != REDIS_REPLY_ARRAY || i >= r->elements) return NULL;
    const redisReply *e = r->element[i];
    return e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS ? e->str : NULL;
}

static void copy_id(char out[ROAM_UUID_LEN + 1], const char *s) { snprintf(out, ROAM_UUID_LEN + 1, "%s", s ? s : ""); }

static void rt_key(const char *token, char out[sizeof(RT_PREFIX) + 64]) {
    char hex[65];
    roam_sha256_hex(token, strlen(token), hex);
    snprintf(out, sizeof(RT_PREFIX) + 64, RT_PREFIX "%s", hex);
}

void auth_refresh_token_new(char out[AUTH_REFRESH_TOKEN_LEN + 1]) {
    unsigned char raw[32];
    roam_random_bytes(raw, sizeof(raw));
    roam_b64url_encode(raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
}

/* ---- the stored answer, encrypted under a key only the old token yields ---- */

static void pair_key(const char *token, unsigned char key[32]) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    static const char label[] = "roam-auth:pair:";
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, label, sizeof(label) - 1) != 1 || EVP_DigestUpdate(ctx, token, strlen(token)) != 1 ||
        EVP_DigestFinal_ex(ctx, key, &n) != 1)
        roam_random_bytes(key, 32); /* cannot happen; a random key just makes the replay fail */
    EVP_MD_CTX_free(ctx);
}

/* Encrypts body. Returns new base64url text, or NULL. */
static char *seal(const char *token, const char *body) {
    size_t n = strlen(body);
    if (n > BODY_MAX) return NULL;
    unsigned char key[32];
    pair_key(token, key);
    unsigned char *buf = roam_trymalloc(GCM_NONCE + n + GCM_TAG);
    char *out = roam_trymalloc((GCM_NONCE + n + GCM_TAG + 2) / 3 * 4 + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0, ok = buf != NULL && out != NULL && ctx != NULL;
    if (ok) {
        roam_random_bytes(buf, GCM_NONCE);
        ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, buf) == 1 &&
             EVP_EncryptUpdate(ctx, buf + GCM_NONCE, &len, (const unsigned char *)body, (int)n) == 1 &&
             EVP_EncryptFinal_ex(ctx, buf + GCM_NONCE + len, &fin) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, buf + GCM_NONCE + n) == 1;
    }
    if (ok) roam_b64url_encode(buf, GCM_NONCE + n + GCM_TAG, out);
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(key, sizeof(key));
    if (buf != NULL) OPENSSL_cleanse(buf, GCM_NONCE + n + GCM_TAG);
    free(buf);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

/* Decrypts a blob made by seal. Returns the new body, or NULL. */
static char *open_sealed(const char *token, const char *blob) {
    size_t bl = strlen(blob);
    size_t cap = bl / 4 * 3 + 3;
    unsigned char *buf = roam_trymalloc(cap);
    if (buf == NULL) return NULL;
    long n = roam_b64url_decode(blob, bl, buf, cap);
    char *body = NULL;
    if (n > GCM_NONCE + GCM_TAG) {
        size_t clen = (size_t)n - GCM_NONCE - GCM_TAG;
        unsigned char key[32];
        pair_key(token, key);
        body = roam_trymalloc(clen + 1);
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        int len = 0, fin = 0;
        int ok = body != NULL && ctx != NULL && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, buf) == 1 &&
                 EVP_DecryptUpdate(ctx, (unsigned char *)body, &len, buf + GCM_NONCE, (int)clen) == 1 &&
                 EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG, buf + GCM_NONCE + clen) == 1 &&
                 EVP_DecryptFinal_ex(ctx, (unsigned char *)body + len, &fin) == 1;
        EVP_CIPHER_CTX_free(ctx);
        OPENSSL_cleanse(key, sizeof(key));
        if (ok) {
            body[clen] = '\0';
        } else {
            free(body);
            body = NULL;
        }
    }
    free(buf);
    return body;
}

/* ---- sessions ---- */

int auth_sessions_init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    (void)errbuf, (void)errlen;
    redis = roam_daemon_redis(d);
    refresh_ttl_s = roam_config_int("ROAM_REFRESH_TOKEN_TTL_S", 30L * 86400, 60, 365L * 86400);
    reuse_s = roam_config_int("ROAM_REFRESH_REUSE_INTERVAL_S", 10, 0, 300);
    login_max = roam_config_int("ROAM_LOGIN_MAX_FAILURES", 5, 1, 1000);
    login_window_s = roam_config_int("ROAM_LOGIN_WINDOW_S", 900, 1, 86400);
    load_scripts(); /* Redis may be down now: calls fall back to EVAL */
    return 0;
}

int auth_session_start(const char *user_id, char token_out[AUTH_REFRESH_TOKEN_LEN + 1],
                       char sid_out[ROAM_UUID_LEN + 1]) {
    roam_uuid_v4(sid_out);
    auth_refresh_token_new(token_out);
    char fam[sizeof(FAM_PREFIX) + ROAM_UUID_LEN], rt[sizeof(RT_PREFIX) + 64], ttl[24];
    snprintf(fam, sizeof(fam), FAM_PREFIX "%s", sid_out);
    rt_key(token_out, rt);
    snprintf(ttl, sizeof(ttl), "%ld", refresh_ttl_s * 1000);
    const char *keys[] = {fam, rt};
    const char *args[] = {user_id, ttl, sid_out};
    redisReply *r = run(&start_script, 2, keys, 3, args);
    if (r == NULL) return ROAM_EUNAVAIL;
    freeReplyObject(r);
    return 0;
}

/* Reads a refresh script reply into out. Returns 0, or ROAM_EUNAVAIL. */
static int refresh_result(const char *token, redisReply *r, auth_refresh_t *out) {
    const char *what = elem(r, 0);
    if (what == NULL) return ROAM_EUNAVAIL;
    copy_id(out->family, elem(r, 1));
    if (strcmp(what, "active") == 0) {
        out->state = AUTH_REFRESH_ACTIVE;
        copy_id(out->user_id, elem(r, 2));
    } else if (strcmp(what, "rotated") == 0) {
        out->state = AUTH_REFRESH_DONE; /* the caller's own body is the answer */
    } else if (strcmp(what, "reused") == 0) {
        const char *blob = elem(r, 2);
        out->body = blob ? open_sealed(token, blob) : NULL;
        out->state = out->body ? AUTH_REFRESH_DONE : AUTH_REFRESH_INVALID;
    } else if (strcmp(what, "theft") == 0) {
        out->state = AUTH_REFRESH_THEFT;
        roam_warn("refresh token replayed after rotation: session family %s revoked", out->family);
    } else {
        out->state = AUTH_REFRESH_INVALID;
    }
    return 0;
}

static int refresh_call(const char *op, const char *token, const char *new_token, const char *blob,
                        auth_refresh_t *out) {
    memset(out, 0, sizeof(*out));
    if (strlen(token) != AUTH_REFRESH_TOKEN_LEN) return 0; /* not one of ours: invalid, without a lookup */
    char rt[sizeof(RT_PREFIX) + 64], rt_new[sizeof(RT_PREFIX) + 64] = RT_PREFIX "none";
    char reuse[24], ttl[24], pair_ttl[24];
    rt_key(token, rt);
    if (new_token != NULL) rt_key(new_token, rt_new);
    snprintf(reuse, sizeof(reuse), "%ld", reuse_s * 1000);
    snprintf(ttl, sizeof(ttl), "%ld", refresh_ttl_s * 1000);
    snprintf(pair_ttl, sizeof(pair_ttl), "%ld", reuse_s * 1000 + PAIR_MARGIN_MS);
    const char *keys[] = {rt, rt_new};
    const char *args[] = {op, reuse, FAM_PREFIX, blob ? blob : "", ttl, pair_ttl};
    redisReply *r = run(&refresh_script, 2, keys, 6, args);
    if (r == NULL) return ROAM_EUNAVAIL;
    int rc = refresh_result(token, r, out);
    freeReplyObject(r);
    return rc;
}

int auth_refresh_peek(const char *token, auth_refresh_t *out) { return refresh_call("peek", token, NULL, NULL, out); }

int auth_refresh_rotate(const char *token, const char *new_token, const char *body, auth_refresh_t *out) {
    char *blob = seal(token, body);
    if (blob == NULL) return ROAM_EUNAVAIL;
    int rc = refresh_call("rotate", token, new_token, blob, out);
    free(blob);
    if (rc == 0 && out->state == AUTH_REFRESH_DONE && out->body == NULL) {
        /* This request rotated the token: its own answer is the one stored. */
        out->body = roam_trystrdup(body);
        if (out->body == NULL) return ROAM_ENOMEM;
    }
    return rc;
}

int auth_family_revoke(const char *family) {
    char fam[sizeof(FAM_PREFIX) + ROAM_UUID_LEN + 1];
    snprintf(fam, sizeof(fam), FAM_PREFIX "%s", family);
    const char *keys[] = {fam};
    redisReply *r = run(&revoke_script, 1, keys, 0, NULL);
    if (r == NULL) return ROAM_EUNAVAIL;
    freeReplyObject(r);
    return 0;
}

int auth_logout(const char *jti, long ttl_s, const char *user_id, const char *sid, const char *refresh_token) {
    char deny[sizeof(ROAM_DENYLIST_PREFIX) + 64], fam[sizeof(FAM_PREFIX) + 64] = FAM_PREFIX "none";
    char rt[sizeof(RT_PREFIX) + 64] = RT_PREFIX "none", ttl[24];
    snprintf(deny, sizeof(deny), ROAM_DENYLIST_PREFIX "%s", jti);
    if (sid != NULL) snprintf(fam, sizeof(fam), FAM_PREFIX "%s", sid);
    int has_rt = refresh_token != NULL && strlen(refresh_token) == AUTH_REFRESH_TOKEN_LEN;
    if (has_rt) rt_key(refresh_token, rt);
    snprintf(ttl, sizeof(ttl), "%ld", ttl_s < 1 ? 1 : ttl_s);
    const char *keys[] = {deny, fam, rt};
    const char *args[] = {ttl, user_id, FAM_PREFIX, sid ? "1" : "0", has_rt ? "1" : "0"};
    redisReply *r = run(&logout_script, 3, keys, 5, args);
    if (r == NULL) return ROAM_EUNAVAIL;
    freeReplyObject(r);
    return 0;
}

/* ---- failed logins ---- */

static void fail_key(const char *email_lower, const char *ip, char out[sizeof(FAIL_PREFIX) + 64]) {
    /* Hashed so that the key names no email address. */
    char buf[AUTH_EMAIL_MAX * 4 + 80], hex[65];
    int n = snprintf(buf, sizeof(buf), "%s|%s", email_lower, ip ? ip : "");
    roam_sha256_hex(buf, n > 0 && (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, hex);
    snprintf(out, sizeof(FAIL_PREFIX) + 64, FAIL_PREFIX "%s", hex);
}

long auth_login_attempt(const char *email_lower, const char *client_ip) {
    char key[sizeof(FAIL_PREFIX) + 64], max[24], window[24];
    fail_key(email_lower, client_ip, key);
    snprintf(max, sizeof(max), "%ld", login_max);
    snprintf(window, sizeof(window), "%ld", login_window_s * 1000);
    const char *keys[] = {key};
    const char *args[] = {max, window};
    redisReply *r = run(&attempt_script, 1, keys, 2, args);
    if (r == NULL) return ROAM_EUNAVAIL;
    long long ms = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    if (ms < 0) return ROAM_EUNAVAIL;
    if (ms == 0) return 0;
    long s = (long)((ms + 999) / 1000);
    return s < 1 ? 1 : s;
}

void auth_login_succeeded(const char *email_lower, const char *client_ip) {
    char key[sizeof(FAIL_PREFIX) + 64];
    fail_key(email_lower, client_ip, key);
    redisReply *r = roam_redis_command(redis, "DEL %s", key);
    if (r != NULL) freeReplyObject(r);
}
