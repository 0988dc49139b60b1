/*
 * roam-kafka-dev-broker: an in-memory Kafka cluster for local development
 * and automated tests.
 *
 * *** DEV AND TEST ONLY. NOT FOR PRODUCTION. ***
 * docker-compose and the Helm chart run real Apache Kafka. This tool hosts
 * librdkafka's mock cluster (rdkafka_mock.h), an experimental in-process
 * imitation of the Kafka protocol: it keeps data in memory only, implements a
 * subset of the protocol, and its API carries no stability guarantee.
 *
 * Real Kafka clients (the services, kcat) connect to it over TCP on loopback
 * ports the mock cluster picks itself, so the tool announces them: on ready
 * it prints one JSON line to stdout and, with --info-file, writes the same
 * object atomically to a file:
 *   {"bootstrap": "127.0.0.1:p1,...", "control": "http://127.0.0.1:p",
 *    "brokers": N, "pid": P}
 *
 * The control channel is a small HTTP server on 127.0.0.1 that lets tests
 * simulate outages:
 *   GET  /                         the info object plus each broker's state
 *   POST /brokers/{id|all}/down    rd_kafka_mock_broker_set_down
 *   POST /brokers/{id|all}/up      rd_kafka_mock_broker_set_up
 * Broker ids are 1..N. Topics survive a broker going down and up.
 *
 * Topics the producers write to are created on first use by the mock cluster
 * (it honours the Metadata request's AllowAutoTopicCreation, which
 * librdkafka producers send by default) with the mock's default partition
 * count (4 in librdkafka 2.0.2; there is no API to change it). Consumers do
 * not auto-create, so pre-create with --topic what must exist before anyone
 * produces.
 *
 * Runs until SIGTERM or SIGINT, then destroys the cluster, removes the info
 * file and exits 0.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <microhttpd.h>
#include <jansson.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG           "roam-kafka-dev-broker"
#define MAX_BROKERS    64
#define MAX_PARTITIONS 1024

typedef struct {
    const char *name; /* borrowed from argv, or a copy (see parse_topic) */
    char *owned;
    int partitions; /* 0 = the --partitions default */
} topic_spec_t;

/* State shared with the HTTP thread. The mock API is itself thread-safe; mu
 * only keeps the up/down table consistent with what was asked of it. */
static struct {
    rd_kafka_mock_cluster_t *mc;
    int nbrokers;
    const char *bootstrap; /* owned by the mock cluster */
    char control[64];
    pthread_mutex_t mu;
    bool up[MAX_BROKERS + 1];
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void usage(FILE *out) {
    fprintf(out,
            "usage: " PROG " [--brokers N] [--topic NAME[:PARTITIONS]]... [--partitions N]\n"
            "       [--control-port PORT] [--info-file PATH]\n"
            "\n"
            "DEV AND TEST ONLY - not for production; docker-compose and Helm use real Apache Kafka.\n"
            "\n"
            "Hosts librdkafka's in-memory mock Kafka cluster on loopback ports and prints\n"
            "{\"bootstrap\", \"control\", \"brokers\", \"pid\"} as one JSON line when ready.\n"
            "\n"
            "  --brokers N           number of brokers, ids 1..N (default 1, at most %d)\n"
            "  --topic NAME[:P]      pre-create a topic with P partitions (repeatable);\n"
            "                        replication factor min(3, brokers)\n"
            "  --partitions N        partitions for --topic without a count (default 3)\n"
            "  --control-port PORT   control HTTP port on 127.0.0.1 (default 0: any free port)\n"
            "  --info-file PATH      also write the ready line there (atomically); removed on exit\n"
            "\n"
            "Control channel: GET /; POST /brokers/{id|all}/down; POST /brokers/{id|all}/up.\n"
            "Topics not pre-created are auto-created on first produce (4 partitions).\n"
            "Stops on SIGTERM or SIGINT.\n",
            MAX_BROKERS);
}

static int parse_int(const char *opt, const char *s, long min, long max, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, PROG ": %s \"%s\": must be an integer from %ld to %ld\n", opt, s, min, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Splits "name[:partitions]". */
static int parse_topic(const char *arg, topic_spec_t *t) {
    const char *colon = strrchr(arg, ':');
    t->owned = NULL;
    t->partitions = 0;
    if (colon == NULL) {
        t->name = arg;
    } else {
        if (parse_int("--topic", colon + 1, 1, MAX_PARTITIONS, &t->partitions) != 0) return -1;
        t->owned = strndup(arg, (size_t)(colon - arg));
        if (t->owned == NULL) return -1;
        t->name = t->owned;
    }
    if (t->name[0] == '\0') {
        fprintf(stderr, PROG ": --topic \"%s\": empty topic name\n", arg);
        free(t->owned);
        t->owned = NULL;
        return -1;
    }
    return 0;
}

/* Returns new: the announced info object. */
static json_t *info_json(void) {
    return json_pack("{s:s, s:s, s:i, s:I}", "bootstrap", g.bootstrap, "control", g.control, "brokers", g.nbrokers,
                     "pid", (json_int_t)getpid());
}

/* Writes text to path through a temporary file and rename(2), so readers
 * never see a half-written file. */
static int write_atomically(const char *path, const char *text) {
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (tmp == NULL) return -1;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, PROG ": --info-file: cannot create %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int bad = fputs(text, f) < 0 || fputc('\n', f) == EOF;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, PROG ": --info-file: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

/* Sets one broker (1..N) or all (id 0) up or down. Returns 0 or the mock's error. */
static rd_kafka_resp_err_t set_broker(int id, bool up) {
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    pthread_mutex_lock(&g.mu);
    for (int b = id ? id : 1; b <= (id ? id : g.nbrokers); b++) {
        rd_kafka_resp_err_t e = up ? rd_kafka_mock_broker_set_up(g.mc, b) : rd_kafka_mock_broker_set_down(g.mc, b);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            g.up[b] = up;
        else
            err = e;
    }
    pthread_mutex_unlock(&g.mu);
    return err;
}

/* Queues a JSON response. Steals body. */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, json_t *body, const char *allow) {
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        text = strdup("{\"error\":\"out of memory\"}");
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (text == NULL) return MHD_NO;
    }
    struct MHD_Response *res = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (res == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (allow != NULL) MHD_add_response_header(res, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result r = MHD_queue_response(conn, status, res);
    MHD_destroy_response(res);
    return r;
}

static enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *msg, const char *allow) {
    return reply(conn, status, json_pack("{s:s}", "error", msg), allow);
}

static enum MHD_Result get_root(struct MHD_Connection *conn) {
    json_t *info = info_json();
    json_t *states = json_array();
    if (info == NULL || states == NULL) {
        json_decref(info);
        json_decref(states);
        return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL);
    }
    pthread_mutex_lock(&g.mu);
    for (int b = 1; b <= g.nbrokers; b++)
        json_array_append_new(states, json_pack("{s:i, s:b}", "broker", b, "up", g.up[b]));
    pthread_mutex_unlock(&g.mu);
    json_object_set_new(info, "broker_state", states);
    return reply(conn, MHD_HTTP_OK, info, NULL);
}

/* Handles /brokers/{id|all}/{down|up}; path is what follows "/brokers/". */
static enum MHD_Result post_broker(struct MHD_Connection *conn, const char *method, const char *path) {
    const char *slash = strchr(path, '/');
    if (slash == NULL) return reply_error(conn, MHD_HTTP_NOT_FOUND, "not found", NULL);
    bool up;
    if (strcmp(slash + 1, "up") == 0)
        up = true;
    else if (strcmp(slash + 1, "down") == 0)
        up = false;
    else
        return reply_error(conn, MHD_HTTP_NOT_FOUND, "not found", NULL);

    int id = 0; /* 0 = all */
    size_t idlen = (size_t)(slash - path);
    if (!(idlen == 3 && strncmp(path, "all", 3) == 0)) {
        if (idlen == 0 || idlen > 3) return reply_error(conn, MHD_HTTP_NOT_FOUND, "no such broker", NULL);
        for (size_t i = 0; i < idlen; i++) {
            if (path[i] < '0' || path[i] > '9') return reply_error(conn, MHD_HTTP_NOT_FOUND, "no such broker", NULL);
            id = id * 10 + (path[i] - '0');
        }
        if (id < 1 || id > g.nbrokers) return reply_error(conn, MHD_HTTP_NOT_FOUND, "no such broker", NULL);
    }
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", "POST");

    rd_kafka_resp_err_t err = set_broker(id, up);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, rd_kafka_err2str(err), NULL);
    fprintf(stderr, PROG ": broker %.*s is now %s\n", (int)idlen, path, up ? "up" : "down");
    json_t *body =
        id ? json_pack("{s:i, s:b}", "broker", id, "up", up) : json_pack("{s:s, s:b}", "broker", "all", "up", up);
    return reply(conn, MHD_HTTP_OK, body, NULL);
}

/*
 * MHD calls this several times per request. Responding on the first call
 * makes MHD 0.9.75 close the connection, so the first call only marks the
 * request; the (ignored) body is drained; the answer comes on the last call.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
    static int seen;
    if (*req_cls == NULL) {
        *req_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/") == 0) {
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
            return reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", "GET, HEAD");
        return get_root(conn);
    }
    if (strncmp(url, "/brokers/", 9) == 0) return post_broker(conn, method, url + 9);
    return reply_error(conn, MHD_HTTP_NOT_FOUND, "not found", NULL);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"partitions", required_argument, NULL, 'p'},
        {"control-port", required_argument, NULL, 'c'},
        {"info-file", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int nbrokers = 1, default_partitions = 3, control_port = 0;
    const char *info_file = NULL;
    topic_spec_t *topics = NULL;
    int ntopics = 0, status;
    rd_kafka_t *rk = NULL;
    struct MHD_Daemon *httpd = NULL;
    char *line = NULL;
    bool info_written = false;

    int c;
    status = 2; /* a bad command line */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (parse_int("--brokers", optarg, 1, MAX_BROKERS, &nbrokers) != 0) goto out;
            break;
        case 'p':
            if (parse_int("--partitions", optarg, 1, MAX_PARTITIONS, &default_partitions) != 0) goto out;
            break;
        case 'c':
            if (parse_int("--control-port", optarg, 0, 65535, &control_port) != 0) goto out;
            break;
        case 'i': info_file = optarg; break;
        case 't': {
            topic_spec_t *grown = realloc(topics, sizeof(*topics) * (size_t)(ntopics + 1));
            if (grown == NULL) goto out;
            topics = grown;
            if (parse_topic(optarg, &topics[ntopics]) != 0) goto out;
            ntopics++;
            break;
        }
        case 'h':
            usage(stdout);
            status = 0;
            goto out;
        default: usage(stderr); goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        goto out;
    }
    status = 1; /* from here on, a failure to start */

    /* Block the stop signals before any thread starts so every thread
     * inherits the mask and only sigwait() below receives them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    /* The mock cluster needs a client instance to live in; this producer
     * is never used to produce. */
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "client.id", PROG, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, PROG ": %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, PROG ": rd_kafka_new: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    g.mc = rd_kafka_mock_cluster_new(rk, nbrokers);
    if (g.mc == NULL) {
        fprintf(stderr, PROG ": cannot create the mock cluster (see librdkafka's log above)\n");
        goto out;
    }
    g.nbrokers = nbrokers;
    g.bootstrap = rd_kafka_mock_cluster_bootstraps(g.mc);
    for (int b = 1; b <= nbrokers; b++)
        g.up[b] = true;

    int replication = nbrokers < 3 ? nbrokers : 3;
    for (int i = 0; i < ntopics; i++) {
        int parts = topics[i].partitions ? topics[i].partitions : default_partitions;
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(g.mc, topics[i].name, parts, replication);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, PROG ": --topic %s: %s\n", topics[i].name, rd_kafka_err2str(err));
            goto out;
        }
    }

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)control_port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
                             (unsigned)30, MHD_OPTION_END);
    if (httpd == NULL) {
        fprintf(stderr, PROG ": cannot start the control server on 127.0.0.1:%d\n", control_port);
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(httpd, MHD_DAEMON_INFO_BIND_PORT);
    if (di == NULL || di->port == 0) {
        fprintf(stderr, PROG ": cannot learn the control server's port\n");
        goto out;
    }
    snprintf(g.control, sizeof(g.control), "http://127.0.0.1:%u", (unsigned)di->port);

    json_t *info = info_json();
    line = info ? json_dumps(info, JSON_COMPACT) : NULL;
    json_decref(info);
    if (line == NULL) goto out;
    if (info_file != NULL) {
        if (write_atomically(info_file, line) != 0) goto out;
        info_written = true;
    }
    printf("%s\n", line);
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, PROG ": ready in %ld ms (dev and test only, not for production)\n",
            (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));

    int sig = 0;
    while (sigwait(&stop_signals, &sig) != 0) {
    }
    fprintf(stderr, PROG ": %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    status = 0;

out:
    if (httpd != NULL) MHD_stop_daemon(httpd);
    if (g.mc != NULL) rd_kafka_mock_cluster_destroy(g.mc);
    if (rk != NULL) rd_kafka_destroy(rk);
    if (info_written) unlink(info_file);
    free(line);
    for (int i = 0; i < ntopics; i++)
        free(topics[i].owned);
    free(topics);
    return status;
}
