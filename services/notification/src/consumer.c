/*
 * Booking events (topic "bookings", consumer group "notification.bookings").
 *
 * Each event's notifications and pending emails are written in the
 * transaction that claims the event (roam_event_claim), and the core commits
 * the Kafka offset only after the handler returned 0, so a redelivery, or a
 * kill -9 at any point, yields neither a lost nor a second notification. The
 * table's UNIQUE (event_id, recipient_id, type) backs the claim up.
 *
 * Events that notify no one (booking.created, booking.completed, ...) and
 * events whose booking snapshot lacks what every message needs are
 * committed without effect (the latter with a warning): a malformed event
 * must not stop the partition behind it.
 *
 * Payment events would be a second topic of the same group with a handler
 * of their own here; the contract's notifications all follow from booking
 * events, so none is consumed yet.
 */
#include "notification.h"

#include <roam/common.h>
#include <roam/log.h>
#include <roam/outbox.h>

#include <stdio.h>
#include <string.h>

#define BOOKINGS_CONSUMER "notification.bookings"

static int on_booking_event(const roam_event_t *ev, void *ctx) {
    (void)ctx;
    notif_booking_t b;
    const char *why = NULL;
    if (notif_booking_parse(ev->data, &b, &why) != 0) {
        roam_warn("booking event %s (%s): %s; skipped", ev->id, ev->type, why);
        return 0;
    }
    if (b.operator_id == NULL &&
        (strcmp(ev->type, "booking.confirmed") == 0 || strcmp(ev->type, "booking.cancelled") == 0))
        roam_warn("booking event %s (%s) of booking %s has no operator_id: the operator is not notified", ev->id,
                  ev->type, b.id);
    notif_message_t msgs[2];
    int n = notif_messages(ev->type, &b, msgs);
    if (n < 0) return n; /* out of memory: try again later */
    if (n == 0) return 0;

    roam_db_t *db = roam_daemon_db(roam_daemon());
    roam_dbconn_t *c = roam_db_acquire(db);
    int rc = ROAM_EUNAVAIL, added = 0;
    if (c != NULL) {
        rc = roam_db_begin(c) == 0 ? 0 : ROAM_EIO;
        int fresh = rc == 0 ? roam_event_claim(c, BOOKINGS_CONSUMER, ev->id) : rc;
        for (int i = 0; fresh == 1 && i < n; i++) {
            int r = store_notification_add(c, ev->id, b.id, &msgs[i]);
            if (r < 0)
                fresh = r;
            else
                added += r;
        }
        rc = fresh < 0 ? fresh : (roam_db_commit(c) == 0 ? 0 : ROAM_EIO);
        if (rc != 0)
            roam_warn("booking event %s (%s): %s; it will be delivered again", ev->id, ev->type, roam_db_errmsg(c));
        roam_db_release(db, c);
    }
    for (int i = 0; i < n; i++)
        notif_message_cleanup(&msgs[i]);
    if (rc == 0 && added > 0) {
        roam_info("booking event %s (%s) of booking %s: %d notification(s)", ev->id, ev->type, b.reference, added);
        notif_mailer_wake();
    }
    return rc;
}

int notif_consumer_init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    static const char *const topics[] = {"bookings", NULL};
    if (roam_daemon_add_consumer(d, BOOKINGS_CONSUMER, topics, on_booking_event, NULL) != 0) {
        snprintf(errbuf, errlen, "cannot start the %s consumer", BOOKINGS_CONSUMER);
        return -1;
    }
    return 0;
}
