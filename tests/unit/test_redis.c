/*
 * roam/redis.h: commands against the Redis of ROAM_TEST_REDIS_URL, url
 * parsing, and outages against a redis-server this test starts itself
 * (lazy connect, AUTH and SELECT, a frozen server, a killed and restarted
 * server), each bounded in time.
 */
#include <roam/common.h>
#include <roam/redis.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static double elapsed_s(uint64_t t0) { return (double)(roam_now_mono_ns() - t0) / 1e9; }

static void sleep_ms(long ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- a private redis-server ---- */

static pid_t server_pid = -1;

static void server_stop(void) {
    if (server_pid > 0) {
        kill(server_pid, SIGKILL);
        waitpid(server_pid, NULL, 0);
        server_pid = -1;
    }
}

/* A port nothing listens on right now (the kernel's choice for an ephemeral bind). */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

/* Starts redis-server on port with a password and waits (at most 5 s) until it answers. 0 or -1. */
static int server_start(int port, const char *password) {
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test, even if it crashes */
        freopen("/dev/null", "w", stdout);
        execlp("redis-server", "redis-server", "--port", portstr, "--bind", "127.0.0.1", "--save", "", "--appendonly",
               "no", "--requirepass", password, (char *)NULL);
        _exit(127);
    }
    server_pid = pid;
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    for (int i = 0; i < 500; i++) {
        redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
        if (c != NULL && !c->err) {
            redisReply *r = redisCommand(c, "AUTH %s", password);
            int ok = r != NULL && r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            redisFree(c);
            if (ok) return 0;
        } else {
            redisFree(c);
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            server_pid = -1;
            return -1;
        }
        sleep_ms(10);
    }
    return -1;
}

/* ---- tests without a server ---- */

static void test_url_errors(void) {
    static const char *const bad[] = {
        "http://localhost",       "rediss://localhost",     "unix:///tmp/redis.sock", "redis://",
        "redis://:6379",          "redis://h:0",            "redis://h:70000",        "redis://h:abc",
        "redis://h:",             "redis://h/x",            "redis://h/1?x=1",        "redis://h#f",
        "redis://secret@h",       "redis://:@h",            "redis://:%zz@h",         "redis://:%00@h",
        "redis://[::1",           "redis://[]:6379",        "redis://[::1]x",         "redis://h/-1",
        "redis://ho st",          "redis://h:6379/1/2",     "redis://[zz]:1",
    };
    for (size_t i = 0; i < ROAM_ARRAY_LEN(bad); i++) {
        char err[128] = "";
        roam_redis_t *r = roam_redis_new(bad[i], 2, 500, err, sizeof(err));
        CHECK(r == NULL);
        CHECK(strncmp(err, "redis", 5) == 0);
        if (r != NULL) fprintf(stderr, "   accepted: %s\n", bad[i]);
        roam_redis_free(r);
    }
    char err[128] = "";
    CHECK(roam_redis_new("redis://h", 0, 500, err, sizeof(err)) == NULL);
    CHECK(roam_redis_new("redis://h", 2, 0, err, sizeof(err)) == NULL);
    CHECK(roam_redis_new(NULL, 2, 500, err, sizeof(err)) == NULL);

    /* Well-formed urls are accepted without connecting. */
    static const char *const good[] = {
        "redis://localhost", "redis://127.0.0.1:1/", "redis://:p%40ss@host:6380/3", "redis://user:pw@[::1]:6379/0",
        "REDIS://Host_1.example",
    };
    for (size_t i = 0; i < ROAM_ARRAY_LEN(good); i++) {
        roam_redis_t *r = roam_redis_new(good[i], 2, 500, err, sizeof(err));
        CHECK(r != NULL);
        if (r == NULL) fprintf(stderr, "   refused: %s (%s)\n", good[i], err);
        roam_redis_free(r);
    }
}

static void test_unreachable(void) {
    char url[64], err[128];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", free_port());
    roam_redis_t *r = roam_redis_new(url, 2, 500, err, sizeof(err));
    REQUIRE(r != NULL);
    uint64_t t0 = roam_now_mono_ns();
    CHECK_INT(roam_redis_ping(r), ROAM_EUNAVAIL);
    CHECK(roam_redis_command(r, "GET x") == NULL);
    CHECK(elapsed_s(t0) < 0.5); /* refused at once */
    roam_redis_free(r);
}

/* ---- tests against ROAM_TEST_REDIS_URL ---- */

static const char *env_url;

static void test_set_get(void) {
    char err[128];
    roam_redis_t *r = roam_redis_new(env_url, 2, 1000, err, sizeof(err));
    REQUIRE(r != NULL);
    CHECK_INT(roam_redis_ping(r), 0);
    char key[64], uuid[ROAM_UUID_LEN + 1];
    roam_uuid_v4(uuid);
    snprintf(key, sizeof(key), "roam:test:%s", uuid);

    redisReply *rep = roam_redis_command(r, "SET %s %s EX 60", key, "hello world");
    REQUIRE(rep != NULL);
    CHECK_INT(rep->type, REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    rep = roam_redis_command(r, "GET %s", key);
    REQUIRE(rep != NULL);
    CHECK_INT(rep->type, REDIS_REPLY_STRING);
    CHECK_STR(rep->str, "hello world");
    freeReplyObject(rep);

    /* Binary-safe argv: NUL and high bytes survive. */
    const char bin[] = {'a', '\0', 'b', (char)0xff, '\r', '\n'};
    const char *argv[] = {"SET", key, bin, "EX", "60"};
    size_t lens[] = {3, strlen(key), sizeof(bin), 2, 2};
    rep = roam_redis_commandargv(r, 5, argv, lens);
    CHECK(rep != NULL && rep->type == REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    const char *gargv[] = {"GET", key};
    size_t glens[] = {3, strlen(key)};
    rep = roam_redis_commandargv(r, 2, gargv, glens);
    REQUIRE(rep != NULL);
    CHECK_INT(rep->type, REDIS_REPLY_STRING);
    CHECK_INT(rep->len, sizeof(bin));
    CHECK(rep->len == sizeof(bin) && memcmp(rep->str, bin, sizeof(bin)) == 0);
    freeReplyObject(rep);

    /* An error reply is a reply, and the connection stays good. */
    rep = roam_redis_command(r, "NOSUCHCOMMAND");
    REQUIRE(rep != NULL);
    CHECK_INT(rep->type, REDIS_REPLY_ERROR);
    freeReplyObject(rep);
    CHECK_INT(roam_redis_ping(r), 0);

    rep = roam_redis_command(r, "DEL %s", key);
    freeReplyObject(rep);
    roam_redis_free(r);
}

typedef struct {
    roam_redis_t *r;
    const char *key;
    int fails;
} incr_arg;

static void *incr_many(void *p) {
    incr_arg *a = p;
    for (int i = 0; i < 200; i++) {
        redisReply *rep = roam_redis_command(a->r, "INCR %s", a->key);
        if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) a->fails++;
        freeReplyObject(rep);
    }
    return NULL;
}

/* Eight threads share two connections. */
static void test_pool_concurrency(void) {
    char err[128], key[64], uuid[ROAM_UUID_LEN + 1];
    roam_redis_t *r = roam_redis_new(env_url, 2, 2000, err, sizeof(err));
    REQUIRE(r != NULL);
    roam_uuid_v4(uuid);
    snprintf(key, sizeof(key), "roam:test:ctr:%s", uuid);
    pthread_t th[8];
    incr_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (incr_arg){r, key, 0};
        pthread_create(&th[i], NULL, incr_many, &args[i]);
    }
    int fails = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        fails += args[i].fails;
    }
    CHECK_INT(fails, 0);
    redisReply *rep = roam_redis_command(r, "GET %s", key);
    REQUIRE(rep != NULL && rep->type == REDIS_REPLY_STRING);
    CHECK_STR(rep->str, "1600");
    freeReplyObject(rep);
    freeReplyObject(roam_redis_command(r, "DEL %s", key));
    roam_redis_free(r);
}

typedef struct {
    roam_redis_t *r;
    const char *seconds;
} blpop_arg;

/* Holds a slot for a while: BLPOP on an empty list. Returns non-NULL on the expected nil reply. */
static void *blpop(void *p) {
    blpop_arg *a = p;
    char uuid[ROAM_UUID_LEN + 1];
    roam_uuid_v4(uuid);
    redisReply *rep = roam_redis_command(a->r, "BLPOP roam:test:empty:%s %s", uuid, a->seconds);
    int ok = rep != NULL && rep->type == REDIS_REPLY_NIL;
    freeReplyObject(rep);
    return (void *)(intptr_t)ok;
}

/* With one slot busy for 0.5 s, a second call waits for it, within its own timeout. */
static void test_pool_wait(void) {
    char err[128];
    roam_redis_t *r = roam_redis_new(env_url, 1, 2000, err, sizeof(err));
    REQUIRE(r != NULL);
    CHECK_INT(roam_redis_ping(r), 0);
    pthread_t th;
    blpop_arg arg = {r, "0.5"};
    pthread_create(&th, NULL, blpop, &arg);
    sleep_ms(100);
    uint64_t t0 = roam_now_mono_ns();
    CHECK_INT(roam_redis_ping(r), 0);
    double waited = elapsed_s(t0);
    void *ok;
    pthread_join(th, &ok);
    CHECK(ok != NULL); /* BLPOP's nil reply, not a failure */
    CHECK(waited > 0.25 && waited < 1.0);
    roam_redis_free(r);
}

/* ---- outages, against a private server ---- */

static void test_auth_select_outages(void) {
    int port = free_port();
    char url[128], err[128];
    /* The password "p@ss w" percent-encoded; database 2. */
    snprintf(url, sizeof(url), "redis://:p%%40ss%%20w@127.0.0.1:%d/2", port);
    roam_redis_t *r = roam_redis_new(url, 2, 500, err, sizeof(err));
    REQUIRE(r != NULL);

    /* Created before the server exists: calls fail, quickly. */
    CHECK_INT(roam_redis_ping(r), ROAM_EUNAVAIL);
    REQUIRE(server_start(port, "p@ss w") == 0);
    CHECK_INT(roam_redis_ping(r), 0);

    /* AUTH and SELECT happened: the key lands in database 2 only. */
    freeReplyObject(roam_redis_command(r, "SET roam:test:db two"));
    redisContext *c = redisConnect("127.0.0.1", port);
    freeReplyObject(redisCommand(c, "AUTH %s", "p@ss w"));
    redisReply *rep = redisCommand(c, "EXISTS roam:test:db");
    CHECK(rep != NULL && rep->type == REDIS_REPLY_INTEGER && rep->integer == 0);
    freeReplyObject(rep);
    freeReplyObject(redisCommand(c, "SELECT 2"));
    rep = redisCommand(c, "GET roam:test:db");
    CHECK(rep != NULL && rep->type == REDIS_REPLY_STRING && strcmp(rep->str, "two") == 0);
    freeReplyObject(rep);
    redisFree(c);

    /* A wrong password is a failed call, not a hang. */
    char badurl[128];
    snprintf(badurl, sizeof(badurl), "redis://:wrong@127.0.0.1:%d", port);
    roam_redis_t *bad = roam_redis_new(badurl, 1, 500, err, sizeof(err));
    CHECK_INT(roam_redis_ping(bad), ROAM_EUNAVAIL);
    roam_redis_free(bad);

    /* A frozen server: the call gives up after the timeout (500 ms). */
    kill(server_pid, SIGSTOP);
    uint64_t t0 = roam_now_mono_ns();
    CHECK_INT(roam_redis_ping(r), ROAM_EUNAVAIL);
    double frozen = elapsed_s(t0);
    CHECK(frozen >= 0.4 && frozen < 2.0);
    kill(server_pid, SIGCONT);
    CHECK_INT(roam_redis_ping(r), 0);

    /* Use both slots so that both hold a connection the kill will break. */
    pthread_t th;
    blpop_arg arg = {r, "0.2"}; /* shorter than the 500 ms timeout */
    pthread_create(&th, NULL, blpop, &arg);
    sleep_ms(50);
    CHECK_INT(roam_redis_ping(r), 0);
    void *ok;
    pthread_join(th, &ok);
    CHECK(ok != NULL);

    /* A killed server: calls fail at once... */
    server_stop();
    t0 = roam_now_mono_ns();
    CHECK_INT(roam_redis_ping(r), ROAM_EUNAVAIL);
    double killed = elapsed_s(t0);
    CHECK(killed < 2.0);
    /* ...and after a restart on the same port the very next calls work, on every slot. */
    REQUIRE(server_start(port, "p@ss w") == 0);
    t0 = roam_now_mono_ns();
    CHECK_INT(roam_redis_ping(r), 0);
    CHECK_INT(roam_redis_ping(r), 0);
    rep = roam_redis_command(r, "SET roam:test:db again");
    CHECK(rep != NULL && rep->type == REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    fprintf(stderr, "   ping on a frozen server failed after %.3f s, on a killed one after %.3f s (timeout 0.5 s)\n",
            frozen, killed);

    /* A restart while both slots hold stale connections: the next call still works. */
    server_stop();
    REQUIRE(server_start(port, "p@ss w") == 0);
    pthread_create(&th, NULL, blpop, &arg);
    sleep_ms(50);
    CHECK_INT(roam_redis_ping(r), 0);
    pthread_join(th, &ok);
    CHECK(ok != NULL);

    roam_redis_free(r);
    server_stop();
}

int main(void) {
    atexit(server_stop);
    signal(SIGPIPE, SIG_IGN);
    RUN(test_url_errors);
    RUN(test_unreachable);
    RUN(test_auth_select_outages);
    env_url = check_env("ROAM_TEST_REDIS_URL");
    RUN(test_set_get);
    RUN(test_pool_concurrency);
    RUN(test_pool_wait);
    CHECK_DONE();
}
