/*
 * roam-payment: payment attempts through a processor, refunds, payment events.
 *
 * The scaffold (libs/src/daemon.c) reads the configuration, runs this
 * service's migrations, connects its dependencies and serves the routes
 * below plus /healthz, /readyz and /metrics.
 *
 * Settings of its own: ROAM_BOOKING_URL and ROAM_INTERNAL_SECRET (required),
 * ROAM_PAYMENT_PROCESSOR (default "sandbox", the only one so far),
 * ROAM_BOOKING_TIMEOUT_MS (default 2000, per attempt of a booking lookup),
 * ROAM_PAYMENT_RECOVERY_AGE_S (default 60), ROAM_PAYMENT_RECOVERY_INTERVAL_MS
 * (default 5000), ROAM_PAYMENT_TEST_CRASH_AFTER_CHARGE and
 * ROAM_PAYMENT_TEST_CHARGE_DELAY_MS (tests only).
 */
#include "payment.h"
#include "processor.h"

#include <roam/config.h>

#include <stdio.h>

static const char *const upstreams[] = {"booking", NULL};
static const char *const booking_topics[] = {"bookings", NULL};

static int processor_choice;

static int init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    if (payment_processor_init(d, processor_choice, errbuf, errlen) != 0) return -1;
    if (payment_clients_init(d, errbuf, errlen) != 0) return -1;
    if (roam_daemon_add_consumer(d, "payment.bookings", booking_topics, payment_bookings_handle, NULL) != 0) {
        snprintf(errbuf, errlen, "cannot create the bookings consumer");
        return -1;
    }
    return payment_recovery_start(d, errbuf, errlen);
}

static void fini(roam_daemon_t *d) {
    (void)d;
    payment_recovery_stop();
}

static const roam_route_t routes[] = {
    {"POST", "/payments", "traveller", 0, h_payments_create},
    {"GET", "/payments/{id}", "any", 0, h_payments_get},
    {"GET", "/bookings/{id}/payments", "any", 0, h_booking_payments_list},
};

static const roam_daemon_spec_t spec = {
    .name = "payment",
    .default_port = 8084,
    .needs = ROAM_NEED_DB | ROAM_NEED_KAFKA,
    .routes = routes,
    .nroutes = ROAM_ARRAY_LEN(routes),
    .upstreams = upstreams,
    .init = init,
    .fini = fini,
};

int main(int argc, char **argv) {
    /* Settings of this service alone are checked before anything connects. */
    roam_config_set_program("roam-payment");
    processor_choice = payment_processor_choose();
    payment_crash_after_charge = roam_config_bool("ROAM_PAYMENT_TEST_CRASH_AFTER_CHARGE", 0);
    payment_charge_delay_ms = roam_config_int("ROAM_PAYMENT_TEST_CHARGE_DELAY_MS", 0, 0, 60000);
    return roam_daemon_main(&spec, argc, argv);
}
