/*
 * roam-notification: in-app notifications and email for booking events.
 *
 * The scaffold (libs/src/daemon.c) reads the configuration, runs this
 * service's migrations, connects its dependencies and serves the routes
 * below plus /healthz, /readyz and /metrics. init joins the "bookings"
 * consumer group (consumer.c) and starts the mailer thread (mailer.c).
 *
 * Settings of its own (see mailer.c): ROAM_SMTP_URL, ROAM_SMTP_FROM,
 * ROAM_SMTP_TIMEOUT_MS, ROAM_MAIL_MAX_ATTEMPTS, ROAM_MAIL_RETRY_BASE_MS,
 * and ROAM_AUTH_URL with ROAM_INTERNAL_SECRET for operators' addresses.
 */
#include "notification.h"

#include <roam/daemon.h>

static int init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    if (notif_mailer_start(d, errbuf, errlen) != 0) return -1;
    return notif_consumer_init(d, errbuf, errlen);
}

static void fini(roam_daemon_t *d) {
    (void)d;
    notif_mailer_stop();
}

static const roam_route_t routes[] = {
    {"GET", "/notifications", "any", 0, h_notifications_list},
    {"POST", "/notifications/read-all", "any", 0, h_notifications_read_all},
    {"POST", "/notifications/{id}/read", "any", 0, h_notifications_read},
};

static const roam_daemon_spec_t spec = {
    .name = "notification",
    .default_port = 8086,
    .needs = ROAM_NEED_DB | ROAM_NEED_KAFKA,
    .routes = routes,
    .nroutes = ROAM_ARRAY_LEN(routes),
    .upstreams = NULL,
    .init = init,
    .fini = fini,
};

int main(int argc, char **argv) { return roam_daemon_main(&spec, argc, argv); }
