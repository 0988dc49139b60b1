/*
 * roam/redis.h: a small pool of hiredis connections with timeouts and
 * reconnects.
 *
 * A connection that fails (I/O error, timeout, protocol error) is closed and
 * replaced on next use, so a Redis restart costs only the calls in flight.
 * Thread-safe: each call borrows one connection for its duration.
 */
#ifndef ROAM_REDIS_H
#define ROAM_REDIS_H

#include <stddef.h>
#include <hiredis/hiredis.h>

typedef struct roam_redis roam_redis_t;

/*
 * url: redis://[[user]:password@]host[:port][/db] (password percent-encoded).
 * timeout_ms bounds each call as a whole: waiting for a free connection,
 * connecting (with AUTH and SELECT) and the command, so a blocking command
 * (BLPOP) must block for less. Returns NULL on a malformed url (reason in
 * errbuf); the server need not be up yet.
 */
roam_redis_t *roam_redis_new(const char *url, unsigned pool_size, int timeout_ms, char *errbuf,
                             size_t errlen);
void roam_redis_free(roam_redis_t *r);

/*
 * Runs a command (hiredis format string). Returns a new reply (free it with
 * freeReplyObject), which may be a REDIS_REPLY_ERROR, or NULL when Redis is
 * unreachable or the call timed out.
 */
redisReply *roam_redis_command(roam_redis_t *r, const char *fmt, ...);
/* As roam_redis_command, with an argument vector (binary safe). */
redisReply *roam_redis_commandargv(roam_redis_t *r, int argc, const char **argv, const size_t *argvlen);

/*
 * Opens a connection of its own (authenticated, database selected) outside
 * the pool, for a long-lived use such as SUBSCRIBE. Returns new (redisFree
 * it), or NULL when Redis cannot be reached within timeout_ms.
 */
redisContext *roam_redis_connect(roam_redis_t *r, int timeout_ms);

/* PING within the timeout: 0 or ROAM_EUNAVAIL. */
int roam_redis_ping(roam_redis_t *r);

#endif
