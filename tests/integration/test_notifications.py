"""Notifications: booking events become in-app notifications and emails.

Everything runs for real: PostgreSQL, Redis, the Kafka dev broker, an SMTP
sink (aiosmtpd writing a Maildir), the auth service (accounts, tokens, and
the operator's address through GET /internal/users/{id}), the notification
service and the gateway. The booking events are produced onto the real
"bookings" topic with kcat: they stand in for the booking service's outbox
until the end-to-end saga test drives a booking from creation to
cancellation. Their shape is the booking service's envelope (id, type,
source, occurred_at, subject, data = the booking snapshot; docs/events.md).
One test drives the real booking service instead: a booking made through
POST /bookings, confirmed by a payment.succeeded event (standing in for the
payment service) and cancelled by the traveller.

Run: tests/run --integration -k Notification
"""

import json
import mailbox
import re
import signal
import time
import uuid
from datetime import date, timedelta

from roamtest import StackTestCase, http, wait_until

from tests.integration.test_platform import problem

API = "/api/v1"
PASSWORD = "correct horse battery"
MAX_ATTEMPTS = 5
RETRY_BASE_MS = 400  # retries at +0.4, +0.8, +1.6, +3.2 s: dead after about 6 s
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ITEM_KEYS = {"id", "type", "title", "body", "booking_id", "created_at", "read_at"}


class NotificationTest(StackTestCase):
    @classmethod
    def setUpStack(cls, s):
        s.start_postgres()
        s.start_redis()
        s.start_broker()
        s.start_smtp()
        cls.auth = s.start_daemon("auth", {"ROAM_ARGON2_MEMORY_KIB": "1024", "ROAM_ARGON2_ITERATIONS": "1"})
        s.start_daemon("inventory")
        s.start_daemon("booking")
        cls.notif_env = {"ROAM_MAIL_MAX_ATTEMPTS": str(MAX_ATTEMPTS), "ROAM_MAIL_RETRY_BASE_MS": str(RETRY_BASE_MS)}
        cls.notif = s.start_daemon("notification", cls.notif_env)
        upstreams = {f"ROAM_{n.upper()}_URL": cls.auth.url for n in ("payment", "review")}
        cls.gw = s.start_daemon("gateway", dict(upstreams, ROAM_RATE_LIMIT_RPS="100000"))

    # -- helpers ------------------------------------------------------------

    def api(self, method, path, body=None, token=None, **kw):
        headers = dict(kw.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return http(method, self.gw.url + API + path, body, headers=headers, **kw)

    def register(self, role="traveller", name="Test User"):
        """A new account: {token, id, name, email}."""
        email = f"{role}-{uuid.uuid4().hex[:12]}@example.com"
        r = self.api("POST", "/auth/register", {"email": email, "password": PASSWORD, "name": name, "role": role})
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        return {"token": doc["access_token"], "id": doc["user"]["id"], "name": name, "email": email}

    def booking(self, traveller, operator, **over):
        """A booking snapshot as the booking service publishes it."""
        b = {
            "id": str(uuid.uuid4()),
            "reference": "RM-" + uuid.uuid4().hex[:6].upper(),
            "user_id": traveller["id"],
            "guest": {"name": traveller["name"], "email": traveller["email"]},
            "operator_id": operator["id"],
            "listing_id": str(uuid.uuid4()),
            "listing_title": "Harbour View Rooms",
            "unit_id": str(uuid.uuid4()),
            "check_in": "2027-05-01",
            "check_out": "2027-05-04",
            "nights": 3,
            "guests": 2,
            "quantity": 1,
            "status": "confirmed",
            "total": {"amount": 36000, "currency": "EUR"},
            "refund": None,
            "cancelled_by": None,
            "timezone": "Europe/Lisbon",
            "hold_expires_at": "2027-04-01T10:15:00Z",
        }
        b.update(over)
        return b

    def event(self, type_, booking, event_id=None):
        return {"id": event_id or str(uuid.uuid4()), "type": type_, "source": "/roam/booking",
                "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "subject": booking["id"],
                "data": booking}

    def publish(self, ev):
        self.stack.kafka_produce("bookings", json.dumps(ev), key=ev["subject"])
        return ev

    def notifications(self, user, query="", status=200):
        r = self.api("GET", "/notifications" + query, token=user["token"])
        self.assertEqual(r.status, status, r)
        return r.json()

    def wait_items(self, user, n, timeout=20):
        """Waits until user has at least n notifications; returns them (newest first)."""
        def enough():
            items = self.notifications(user, "?limit=100")["items"]
            return items if len(items) >= n else None
        return wait_until(enough, timeout=timeout, message=f"{n} notification(s)")

    def email_rows(self, event_id):
        return self.stack.psql(
            "SELECT e.status, e.attempts, e.message_id, coalesce(e.last_error, '') FROM notification.emails e "
            f"JOIN notification.notifications n ON n.id = e.notification_id WHERE n.event_id = '{event_id}' "
            "ORDER BY e.message_id")

    def wait_mail(self, message_id, timeout=20):
        def find():
            found = [m for m in self.stack.mails() if m["Message-ID"] == message_id]
            return found or None
        return wait_until(find, timeout=timeout, message=f"mail {message_id}")

    @staticmethod
    def bodies(mail):
        """(text, html) of a multipart/alternative mail."""
        parts = list(mail.iter_parts())
        types = [p.get_content_type() for p in parts]
        assert types == ["text/plain", "text/html"], types
        return parts[0].get_content(), parts[1].get_content()

    def metrics(self):
        r = http("GET", self.notif.url + "/metrics")
        self.assertEqual(r.status, 200, r)
        values = {}
        for line in r.text.splitlines():
            if line.startswith("roam_notification_emails_"):
                name, value = line.split()
                values[name] = float(value)
        return values

    # -- the mapping ------------------------------------------------------------

    def test_confirmed_notifies_traveller_and_operator_in_app_and_by_email(self):
        traveller, operator = self.register(name="Zoë Sousa"), self.register("operator", name="Porto Stays")
        b = self.booking(traveller, operator, listing_title="Rooms <by> the \"River\" & Sea — Ribeira")
        ev = self.publish(self.event("booking.confirmed", b))

        [mine] = self.wait_items(traveller, 1)
        self.assertEqual(set(mine), ITEM_KEYS)
        self.assertEqual(mine["type"], "booking_confirmed")
        self.assertEqual(mine["booking_id"], b["id"])
        self.assertIn(b["reference"], mine["title"])
        self.assertIn("EUR 360.00", mine["body"])
        self.assertRegex(mine["created_at"], RFC3339_UTC)
        self.assertIsNone(mine["read_at"])
        [theirs] = self.wait_items(operator, 1)
        self.assertEqual(theirs["type"], "new_booking")
        self.assertIn(b["reference"], theirs["title"])
        self.assertIn("Zoë Sousa", theirs["body"])

        # The traveller's mail goes to the booking's guest address, the
        # operator's to the account's address (looked up in auth).
        [m] = self.wait_mail(f"<{ev['id']}.booking_confirmed@roam.local>")
        self.assertIn(traveller["email"], m["To"])
        self.assertIn("Zoë Sousa", m["To"])  # RFC 2047-encoded on the wire, decoded here
        self.assertEqual(m["From"], "Roam <no-reply@roam.local>")
        self.assertIn(b["reference"], m["Subject"])
        self.assertIn("— Ribeira", m["Subject"])
        box = mailbox.Maildir(str(self.stack.mail_dir), factory=None, create=False)
        [raw] = [box.get_bytes(k) for k in box.keys()
                 if f"<{ev['id']}.booking_confirmed@roam.local>".encode() in box.get_bytes(k)]
        raw.decode("ascii")  # on the wire: headers RFC 2047-encoded, bodies in base64
        self.assertIn(b"=?UTF-8?B?", raw)
        self.assertIsNotNone(m["Date"])
        self.assertEqual(m.get_content_type(), "multipart/alternative")
        text, html = self.bodies(m)
        for needle in (b["reference"], "1 May 2027", "4 May 2027", "3 nights", "EUR 360.00"):
            self.assertIn(needle, text)
            self.assertIn(needle, html)
        self.assertIn('Rooms <by> the "River" & Sea — Ribeira', text)
        self.assertIn("Rooms &lt;by&gt; the &quot;River&quot; &amp; Sea — Ribeira", html)
        self.assertIn("Hello Zoë Sousa,", text)
        self.assertNotIn("<by>", html)
        self.assertRegex(text, r"Guests\s+2")
        [o] = self.wait_mail(f"<{ev['id']}.new_booking@roam.local>")
        self.assertIn(operator["email"], o["To"])
        self.assertIn("Porto Stays", o["To"])
        self.assertEqual([r[0] for r in self.email_rows(ev["id"])], ["sent", "sent"])

    def test_payment_failed_and_expired_notify_only_the_traveller(self):
        traveller, operator = self.register(), self.register("operator")
        b = self.booking(traveller, operator, status="payment_failed")
        failed = self.publish(self.event("booking.payment_failed", b))
        b2 = self.booking(traveller, operator, status="expired")
        expired = self.publish(self.event("booking.expired", b2))
        items = self.wait_items(traveller, 2)
        by_type = {i["type"]: i for i in items}
        self.assertEqual(set(by_type), {"payment_failed", "booking_expired"})
        self.assertIn(b["reference"], by_type["payment_failed"]["title"])
        self.assertEqual(by_type["payment_failed"]["booking_id"], b["id"])
        self.assertIn(b2["reference"], by_type["booking_expired"]["title"])
        self.assertIn("Harbour View Rooms", by_type["booking_expired"]["body"])
        [m] = self.wait_mail(f"<{failed['id']}.payment_failed@roam.local>")
        self.assertIn(b["reference"], self.bodies(m)[0])
        self.wait_mail(f"<{expired['id']}.booking_expired@roam.local>")
        self.assertEqual(self.notifications(operator)["items"], [])

    def test_cancelled_by_the_guest_tells_both_with_the_refund(self):
        traveller, operator = self.register(name="Jo Guest"), self.register("operator")
        b = self.booking(traveller, operator, status="cancelled", cancelled_by="traveller",
                         total={"amount": 24690, "currency": "EUR"}, refund={"amount": 12345, "currency": "EUR"})
        ev = self.publish(self.event("booking.cancelled", b))
        [mine] = self.wait_items(traveller, 1)
        self.assertEqual(mine["type"], "booking_cancelled")
        self.assertIn(b["reference"], mine["title"])
        self.assertIn("EUR 123.45", mine["body"])
        [theirs] = self.wait_items(operator, 1)
        self.assertEqual(theirs["type"], "booking_cancelled_by_guest")
        self.assertIn(b["reference"], theirs["title"])
        self.assertIn("Jo Guest", theirs["body"])
        self.assertIn("EUR 123.45", theirs["body"])
        [m] = self.wait_mail(f"<{ev['id']}.booking_cancelled@roam.local>")
        text, html = self.bodies(m)
        self.assertRegex(text, r"Refund\s+EUR 123\.45")
        self.assertRegex(text, r"Total\s+EUR 246\.90")
        self.assertIn("EUR 123.45", html)
        self.wait_mail(f"<{ev['id']}.booking_cancelled_by_guest@roam.local>")

    def test_cancelled_by_the_operator_tells_the_traveller_only_in_the_currency_s_units(self):
        traveller, operator = self.register(), self.register("operator")
        b = self.booking(traveller, operator, status="cancelled", cancelled_by="operator",
                         total={"amount": 45000, "currency": "JPY"}, refund={"amount": 45000, "currency": "JPY"})
        ev = self.publish(self.event("booking.cancelled", b))
        b3 = self.booking(traveller, operator, status="cancelled", cancelled_by="system",
                          total={"amount": 1234567, "currency": "KWD"}, refund={"amount": 0, "currency": "KWD"})
        self.publish(self.event("booking.cancelled", b3))
        items = self.wait_items(traveller, 2)
        jpy = next(i for i in items if i["booking_id"] == b["id"])
        self.assertIn("JPY 45000", jpy["body"])
        self.assertNotIn("JPY 450.00", jpy["body"])
        self.assertNotIn("45000.", jpy["body"])
        kwd = next(i for i in items if i["booking_id"] == b3["id"])
        self.assertIn("No refund", kwd["body"])
        [m] = self.wait_mail(f"<{ev['id']}.booking_cancelled@roam.local>")
        self.assertRegex(self.bodies(m)[0], r"Refund\s+JPY 45000\n")
        # The operator cancelled: it is told nothing about its own action.
        time.sleep(0.5)
        self.assertEqual(self.notifications(operator)["items"], [])

    def test_other_events_are_committed_without_effect(self):
        traveller, operator = self.register(), self.register("operator")
        b = self.booking(traveller, operator, status="pending_payment")
        for t in ("booking.created", "booking.completed", "booking.refund_required", "booking.unheard_of"):
            self.publish(self.event(t, b))
        # A snapshot without what every message needs is skipped, not retried for ever.
        self.publish(self.event("booking.confirmed", dict(b, reference=None)))
        # The same partition (same key) moves on to the next event.
        marker = self.publish(self.event("booking.expired", b))
        [only] = self.wait_items(traveller, 1)
        self.assertEqual(only["type"], "booking_expired")
        self.assertEqual(self.notifications(operator)["items"], [])
        self.assertEqual(self.stack.psql_value(
            f"SELECT count(*) FROM notification.notifications WHERE booking_id = '{b['id']}'"), "1")
        self.wait_mail(f"<{marker['id']}.booking_expired@roam.local>")

    def test_a_real_booking_confirmed_then_cancelled_by_the_guest(self):
        traveller, operator = self.register(name="Noor Haddad"), self.register("operator", name="Lakeside Ltd")
        r = self.api("POST", "/listings", {
            "title": "Hotel du Lac", "type": "hotel", "description": "Rooms on the lake.", "city": "Annecy",
            "country": "France", "timezone": "Europe/Paris", "currency": "EUR",
            "cancellation_policy": {"free_cancellation_hours": 48, "refund_percent_after": 50}},
            token=operator["token"])
        self.assertEqual(r.status, 201, r)
        listing = r.json()
        r = self.api("POST", f"/listings/{listing['id']}/units", {
            "name": "Double room", "max_guests": 2, "quantity": 3, "base_price": {"amount": 12000, "currency": "EUR"}},
            token=operator["token"])
        self.assertEqual(r.status, 201, r)
        unit = r.json()
        check_in = (date.today() + timedelta(days=20)).isoformat()
        check_out = (date.today() + timedelta(days=22)).isoformat()
        r = self.api("POST", "/bookings", {"listing_id": listing["id"], "unit_id": unit["id"], "check_in": check_in,
                                           "check_out": check_out, "guests": 2},
                     token=traveller["token"], headers={"Idempotency-Key": str(uuid.uuid4())})
        self.assertEqual(r.status, 201, r)
        booking = r.json()
        payment_id = str(uuid.uuid4())
        self.stack.kafka_produce("payments", json.dumps({
            "id": str(uuid.uuid4()), "type": "payment.succeeded", "source": "/roam/payment",
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "subject": payment_id,
            "data": {"payment_id": payment_id, "booking_id": booking["id"], "amount": booking["total"]}}),
            key=booking["id"])
        [confirmed] = self.wait_items(traveller, 1, timeout=40)
        self.assertEqual(confirmed["type"], "booking_confirmed")
        self.assertEqual(confirmed["booking_id"], booking["id"])
        self.assertIn(booking["reference"], confirmed["title"])
        self.assertIn("EUR 240.00", confirmed["body"])
        [new] = self.wait_items(operator, 1)
        self.assertEqual(new["type"], "new_booking")
        self.assertIn("Noor Haddad", new["body"])

        r = self.api("POST", f"/bookings/{booking['id']}/cancel", {"reason": "Plans changed"},
                     token=traveller["token"])
        self.assertEqual(r.status, 200, r)
        refund = r.json()["refund"]
        self.assertEqual(refund, {"amount": 24000, "currency": "EUR"})  # inside the free-cancellation window
        items = self.wait_items(traveller, 2)
        self.assertEqual(items[0]["type"], "booking_cancelled")
        self.assertIn("EUR 240.00", items[0]["body"])
        theirs = self.wait_items(operator, 2)
        self.assertEqual(theirs[0]["type"], "booking_cancelled_by_guest")
        # Every one of the four reached the mail server, to the right people.
        mails = wait_until(lambda: (found := [m for m in self.stack.mails() if booking["reference"] in m["Subject"]])
                           and len(found) == 4 and found, timeout=20)
        to = sorted(str(m["To"]) for m in mails)
        self.assertEqual(sum(traveller["email"] in t for t in to), 2, to)
        self.assertEqual(sum(operator["email"] in t for t in to), 2, to)

    # -- exactly once ---------------------------------------------------------------

    def test_a_redelivered_event_gives_one_notification_and_one_email(self):
        traveller, operator = self.register(), self.register("operator")
        b = self.booking(traveller, operator)
        ev = self.event("booking.confirmed", b)
        self.publish(ev)
        self.publish(ev)  # the same envelope id again, as a producer retry or a replay would
        marker = self.publish(self.event("booking.expired", b))  # same key: consumed after both copies
        wait_until(lambda: len(self.notifications(traveller)["items"]) >= 2, timeout=20)
        self.wait_mail(f"<{marker['id']}.booking_expired@roam.local>")
        self.wait_mail(f"<{ev['id']}.new_booking@roam.local>")
        types = sorted(i["type"] for i in self.notifications(traveller)["items"])
        self.assertEqual(types, ["booking_confirmed", "booking_expired"])
        self.assertEqual(len(self.notifications(operator)["items"]), 1)
        for mid in (f"<{ev['id']}.booking_confirmed@roam.local>", f"<{ev['id']}.new_booking@roam.local>"):
            self.assertEqual(len([m for m in self.stack.mails() if m["Message-ID"] == mid]), 1, mid)
        self.assertEqual(len(self.email_rows(ev["id"])), 2)

    def test_kill_9_after_consuming_and_restart_gives_no_duplicates(self):
        traveller, operator = self.register(), self.register("operator")
        events = [self.event("booking.confirmed", self.booking(traveller, operator)) for _ in range(12)]
        for ev in events[:6]:
            self.publish(ev)
        wait_until(lambda: self.notifications(traveller)["items"], timeout=20)
        for ev in events[6:]:
            self.publish(ev)
        self.notif.kill()  # SIGKILL: no offset commit, no graceful anything
        for ev in events:  # and every event once more, as a rebalance would redeliver
            self.publish(ev)
        self.notif.start()
        try:
            self.wait_items(traveller, 12, timeout=30)
            self.wait_items(operator, 12, timeout=30)
            ids = "', '".join(ev["id"] for ev in events)
            rows = self.stack.psql(
                "SELECT n.event_id, n.type, count(*), count(e.id) FROM notification.notifications n "
                f"LEFT JOIN notification.emails e ON e.notification_id = n.id WHERE n.event_id IN ('{ids}') "
                "GROUP BY 1, 2")
            self.assertEqual(len(rows), 24)
            self.assertTrue(all(r[2] == "1" and r[3] == "1" for r in rows), rows)
            self.assertEqual(len(self.notifications(traveller, "?limit=100")["items"]), 12)
            wait_until(lambda: self.stack.psql_value(
                "SELECT count(*) FROM notification.emails e JOIN notification.notifications n "
                f"ON n.id = e.notification_id WHERE n.event_id IN ('{ids}') AND e.status = 'sent'") == "24",
                timeout=20)
        finally:
            type(self).notif = self.stack.daemon("notification")

    def test_claims_older_than_30_days_are_deleted_and_newer_ones_kept(self):
        old, recent = str(uuid.uuid4()), str(uuid.uuid4())
        self.stack.psql(
            "INSERT INTO notification.processed_events (consumer, event_id, processed_at) VALUES "
            f"('someone', '{old}', now() - interval '31 days'), ('someone', '{recent}', now() - interval '29 days')")
        self.notif.kill()
        self.notif.start()  # a new process prunes at its first claim
        try:
            traveller, operator = self.register(), self.register("operator")
            ev = self.event("booking.confirmed", self.booking(traveller, operator))
            self.publish(ev)
            self.wait_items(traveller, 1, timeout=30)
            claims = {r[0] for r in self.stack.psql("SELECT event_id FROM notification.processed_events")}
            self.assertIn(ev["id"], claims)
            self.assertIn(recent, claims)  # a redelivery within the topic's retention still finds its claim
            self.assertNotIn(old, claims)
        finally:
            type(self).notif = self.stack.daemon("notification")

    # -- the mailer ----------------------------------------------------------------
    def test_two_replicas_send_each_email_once(self):
        traveller, operator = self.register(), self.register("operator")
        second = self.stack.start_daemon("notification", self.notif_env)
        try:
            events = [self.publish(self.event("booking.confirmed", self.booking(traveller, operator)))
                      for _ in range(15)]
            self.wait_items(traveller, 15, timeout=40)
            ids = "', '".join(ev["id"] for ev in events)
            wait_until(lambda: self.stack.psql_value(
                "SELECT count(*) FROM notification.emails e JOIN notification.notifications n "
                f"ON n.id = e.notification_id WHERE n.event_id IN ('{ids}') AND e.status = 'sent'") == "30",
                timeout=30)
            sent = {}
            for m in self.stack.mails():
                sent[m["Message-ID"]] = sent.get(m["Message-ID"], 0) + 1
            for ev in events:
                for t in ("booking_confirmed", "new_booking"):
                    self.assertEqual(sent.get(f"<{ev['id']}.{t}@roam.local>"), 1, (ev["id"], t))
        finally:
            second.stop()


    def test_smtp_down_is_retried_until_it_is_back(self):
        traveller, operator = self.register(), self.register("operator")
        before = self.metrics()
        self.stack.stop_smtp()
        try:
            ev = self.publish(self.event("booking.expired", self.booking(traveller, operator)))
            wait_until(lambda: (rows := self.email_rows(ev["id"])) and int(rows[0][1]) >= 2, timeout=20,
                       message="two failed attempts")
            status, attempts, _, error = self.email_rows(ev["id"])[0]
            self.assertEqual(status, "pending")
            self.assertIn("smtp", error)
            self.assertEqual([m for m in self.stack.mails() if ev["id"] in m["Message-ID"]], [])
        finally:
            self.stack.start_smtp()
        [m] = self.wait_mail(f"<{ev['id']}.booking_expired@roam.local>", timeout=20)
        status, attempts, _, error = self.email_rows(ev["id"])[0]
        self.assertEqual(status, "sent")
        self.assertGreaterEqual(int(attempts), 3)
        self.assertEqual(error, "")
        after = self.metrics()
        self.assertGreaterEqual(after["roam_notification_emails_failed_total"] -
                                before["roam_notification_emails_failed_total"], 2)
        self.assertGreaterEqual(after["roam_notification_emails_sent_total"] -
                                before["roam_notification_emails_sent_total"], 1)

    def test_dead_letter_after_the_last_attempt_shows_in_metrics(self):
        traveller, operator = self.register(), self.register("operator")
        dead_before = self.metrics()["roam_notification_emails_dead_letter"]
        self.stack.stop_smtp()
        try:
            ev = self.publish(self.event("booking.payment_failed", self.booking(traveller, operator)))
            wait_until(lambda: (rows := self.email_rows(ev["id"])) and rows[0][0] == "dead", timeout=30,
                       message="the email to be given up")
            status, attempts, _, error = self.email_rows(ev["id"])[0]
            self.assertEqual(int(attempts), MAX_ATTEMPTS)
            self.assertIn("smtp", error)
            wait_until(lambda: self.metrics()["roam_notification_emails_dead_letter"] >= dead_before + 1, timeout=5)
        finally:
            self.stack.start_smtp()
        # The in-app notification is there regardless, and a dead email stays dead.
        self.assertEqual(self.notifications(traveller)["items"][0]["type"], "payment_failed")
        time.sleep(1)
        self.assertEqual(self.email_rows(ev["id"])[0][0], "dead")
        self.assertEqual([m for m in self.stack.mails() if m["Message-ID"] == f"<{ev['id']}.payment_failed@roam.local>"],
                         [])

    def test_an_operator_without_an_account_is_dead_at_once(self):
        traveller = self.register()
        ghost = {"id": str(uuid.uuid4())}
        ev = self.publish(self.event("booking.confirmed", self.booking(traveller, ghost)))
        wait_until(lambda: len(self.email_rows(ev["id"])) == 2 and
                   {r[0] for r in self.email_rows(ev["id"])} == {"sent", "dead"}, timeout=20)
        rows = {r[2]: r for r in self.email_rows(ev["id"])}
        dead = rows[f"<{ev['id']}.new_booking@roam.local>"]
        self.assertEqual(dead[0:2], ("dead", "1"))
        self.assertIn("does not exist", dead[3])

    # -- the API ------------------------------------------------------------------

    def test_list_newest_first_unread_filter_read_and_read_all(self):
        traveller, operator = self.register(), self.register("operator")
        evs = []
        b = self.booking(traveller, operator)
        for t in ("booking.payment_failed", "booking.expired", "booking.confirmed", "booking.cancelled"):
            evs.append(self.publish(self.event(t, dict(b, cancelled_by="operator"))))
        items = self.wait_items(traveller, 4)
        self.assertEqual([i["type"] for i in items],
                         ["booking_cancelled", "booking_confirmed", "booking_expired", "payment_failed"])
        doc = self.notifications(traveller)
        self.assertEqual(doc["unread_count"], 4)
        self.assertIsNone(doc["next_cursor"])

        # Read one: 200 with read_at; again: the first read_at stays.
        target = items[1]
        r = self.api("POST", f"/notifications/{target['id']}/read", token=traveller["token"])
        self.assertEqual(r.status, 200, r)
        first = r.json()
        self.assertEqual(first["id"], target["id"])
        self.assertRegex(first["read_at"], RFC3339_UTC)
        time.sleep(1.1)
        again = self.api("POST", f"/notifications/{target['id']}/read", token=traveller["token"]).json()
        self.assertEqual(again["read_at"], first["read_at"])
        doc = self.notifications(traveller, "?unread=true")
        self.assertEqual(doc["unread_count"], 3)
        self.assertEqual([i["id"] for i in doc["items"]], [items[0]["id"], items[2]["id"], items[3]["id"]])
        self.assertEqual(len(self.notifications(traveller, "?unread=false")["items"]), 4)

        # Someone else's notification is 404 and stays unread; so is a malformed id.
        other = self.register()
        problem(self, self.api("POST", f"/notifications/{items[0]['id']}/read", token=other["token"]), 404,
                "not_found")
        problem(self, self.api("POST", "/notifications/not-a-uuid/read", token=traveller["token"]), 404, "not_found")
        problem(self, self.api("POST", f"/notifications/{uuid.uuid4()}/read", token=traveller["token"]), 404,
                "not_found")
        self.assertIsNone(self.notifications(traveller)["items"][0]["read_at"])
        self.assertEqual(self.notifications(other), {"items": [], "next_cursor": None, "unread_count": 0})

        r = self.api("POST", "/notifications/read-all", token=traveller["token"])
        self.assertEqual(r.status, 204, r)
        doc = self.notifications(traveller)
        self.assertEqual(doc["unread_count"], 0)
        self.assertTrue(all(i["read_at"] for i in doc["items"]))
        self.assertEqual(next(i for i in doc["items"] if i["id"] == target["id"])["read_at"], first["read_at"])
        self.assertEqual(self.notifications(traveller, "?unread=true")["items"], [])
        self.assertEqual(self.api("POST", "/notifications/read-all", token=traveller["token"]).status, 204)

    def test_pages_neither_repeat_nor_skip(self):
        traveller, operator = self.register(), self.register("operator")
        for _ in range(5):
            self.publish(self.event("booking.expired", self.booking(traveller, operator)))
        everything = self.wait_items(traveller, 5)
        seen, cursor, pages = [], None, 0
        while True:
            q = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
            doc = self.notifications(traveller, q)
            self.assertLessEqual(len(doc["items"]), 2)
            seen += [i["id"] for i in doc["items"]]
            pages += 1
            if pages == 1:
                # A notification arriving meanwhile does not shift the pages being read.
                extra = self.publish(self.event("booking.expired", self.booking(traveller, operator)))
                wait_until(lambda: len(self.notifications(traveller, "?limit=100")["items"]) == 6, timeout=20)
            cursor = doc["next_cursor"]
            if cursor is None:
                break
            self.assertRegex(cursor, r"^[A-Za-z0-9_-]+$")
        self.assertEqual(pages, 3)
        self.assertEqual(seen, [i["id"] for i in everything])
        self.assertEqual(self.notifications(traveller)["items"][0]["booking_id"], extra["subject"])
        # Unread pages too.
        doc = self.notifications(traveller, "?unread=true&limit=4")
        self.assertEqual(len(doc["items"]), 4)
        rest = self.notifications(traveller, f"?unread=true&limit=4&cursor={doc['next_cursor']}")
        self.assertEqual(len(rest["items"]), 2)
        self.assertIsNone(rest["next_cursor"])

    def test_bad_query_and_no_token(self):
        user = self.register()
        for q, field in (("?limit=0", "limit"), ("?limit=101", "limit"), ("?limit=x", "limit"),
                         ("?unread=yes", "unread"), ("?cursor=bm90LWEtY3Vyc29y", "cursor"), ("?cursor=%21", "cursor")):
            r = self.api("GET", "/notifications" + q, token=user["token"])
            problem(self, r, 422, "validation_failed")
            self.assertEqual([e["field"] for e in r.json()["errors"]], [field], q)
        self.assertEqual(self.notifications(user, "?limit=&cursor=&unread=")["items"], [])
        problem(self, self.api("GET", "/notifications"), 401, "unauthorized")
        problem(self, self.api("POST", "/notifications/read-all"), 401, "unauthorized")

    def test_internal_user_lookup(self):
        operator = self.register("operator", name="Casa Azul")
        secret = {"X-Roam-Internal": self.stack.internal_secret}
        r = http("GET", f"{self.auth.url}/internal/users/{operator['id']}", headers=secret)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"id": operator["id"], "email": operator["email"], "name": "Casa Azul",
                                    "role": "operator"})
        problem(self, http("GET", f"{self.auth.url}/internal/users/{uuid.uuid4()}", headers=secret), 404)
        problem(self, http("GET", f"{self.auth.url}/internal/users/nope", headers=secret), 404)
        # Without the secret it does not exist, and the gateway never exposes it.
        self.assertEqual(http("GET", f"{self.auth.url}/internal/users/{operator['id']}").status, 404)
        self.assertEqual(http("GET", f"{self.gw.url}{API}/internal/users/{operator['id']}").status, 404)
