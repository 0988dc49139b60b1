"""The payment service: POST /payments through the sandbox processor, the
booking's confirmation by payment events, idempotency, one charge per booking
under concurrency, refunds on cancellation (exactly once), reads, card data
kept out of logs and storage, and recovery after a kill -9 between the charge
and its record.

Everything goes through the gateway (/api/v1) with real tokens: listings and
units by an operator, bookings and payments by travellers. A second payment
replica that exits right after charging (ROAM_PAYMENT_TEST_CRASH_AFTER_CHARGE)
and a booking replica with two-second holds are called directly.

Run: tests/run --integration -k Payment
"""

import json
import re
import subprocess
import threading
import time
from http.client import HTTPException
import uuid
from datetime import datetime

from roamtest import StackTestCase, http

from tests.integration.test_platform import problem
from tests.integration.travel import GatewayApi, card, day

API = "/api/v1"
PASSWORD = "correct horse battery"
VISA_OK, MC_OK = "4242424242424242", "5555555555554444"
DECLINED, NO_FUNDS = "4000000000000002", "4000000000009995"
CARD_NUMBERS = (VISA_OK, MC_OK, DECLINED, NO_FUNDS, "4000056655665556")
PAYMENT_KEYS = {"id", "booking_id", "status", "amount", "card", "refunds", "created_at"}
TS_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


class PaymentTest(GatewayApi, StackTestCase):
    """roam-payment behind the gateway, with auth, inventory and booking, on the Kafka dev broker."""

    @classmethod
    def setUpStack(cls, s):
        s.start_postgres()
        s.start_redis()
        s.start_broker(topics=["bookings", "payments", "reviews"])
        cls.auth = s.start_daemon("auth", {"ROAM_ARGON2_MEMORY_KIB": "1024", "ROAM_ARGON2_ITERATIONS": "1"})
        cls.inventory = s.start_daemon("inventory", {"ROAM_HOLD_SWEEP_INTERVAL_MS": "200"})
        cls.booking = s.start_daemon("booking", {"ROAM_BOOKING_SWEEP_INTERVAL_MS": "200"})
        cls.payment = s.start_daemon("payment")
        upstreams = {f"ROAM_{n.upper()}_URL": cls.auth.url for n in ("review", "notification")}
        cls.gw = s.start_daemon("gateway", dict(upstreams, ROAM_RATE_LIMIT_RPS="100000"))
        cls.short = s.start_daemon("booking", {"ROAM_BOOKING_HOLD_TTL_S": "2",
                                               "ROAM_BOOKING_SWEEP_INTERVAL_MS": "200"})
        cls.op = cls.register("operator")
        cls.trav = cls.register("traveller")
        cls.trav2 = cls.register("traveller")
        cls.warm_up()

    @classmethod
    def warm_up(cls):
        """Joining consumer groups takes seconds: pay one booking and cancel it, waiting until booking
        confirmed it and payment refunded it, so that the tests can hold the contract's 2 s."""
        t = cls("run")
        listing, unit = t.listing()
        b = t.booked(listing, unit, check_in=day(40), check_out=day(41))
        t.paid(b)
        t.wait_status(b["id"], "confirmed", timeout=30)
        r = t.api("POST", f"/bookings/{b['id']}/cancel", {}, t.trav)
        assert r.status == 200, r
        t.wait_refunds(b["id"], 1, timeout=30)

    # -- helpers ------------------------------------------------------------

    @classmethod
    def register(cls, role: str) -> dict:
        email = f"{role}-{uuid.uuid4().hex[:12]}@example.com"
        r = http("POST", cls.gw.url + API + "/auth/register",
                 {"email": email, "password": PASSWORD, "name": f"Ada {role}", "role": role})
        assert r.status == 201, r
        doc = r.json()
        return {"token": doc["access_token"], "id": doc["user"]["id"], "email": email}

    def listing(self, quantity=3, price=12000, hours=48, percent=50):
        body = {"title": "Hotel du Lac", "type": "hotel", "description": "Rooms on the lake.", "city": "Annecy",
                "country": "France", "timezone": "Europe/Paris", "currency": "EUR",
                "cancellation_policy": {"free_cancellation_hours": hours, "refund_percent_after": percent}}
        r = self.api("POST", "/listings", body, self.op)
        self.assertEqual(r.status, 201, r)
        listing = r.json()
        r = self.api("POST", f"/listings/{listing['id']}/units",
                     {"name": "Double room", "max_guests": 2, "quantity": quantity,
                      "base_price": {"amount": price, "currency": "EUR"}}, self.op)
        self.assertEqual(r.status, 201, r)
        return listing, r.json()

    def booked(self, listing, unit, check_in=None, check_out=None, user=None, base=None) -> dict:
        body = {"listing_id": listing["id"], "unit_id": unit["id"], "check_in": check_in or day(10),
                "check_out": check_out or day(12), "guests": 2}
        r = self.api("POST", "/bookings", body, user or self.trav, key=str(uuid.uuid4()), base=base)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def pay(self, booking_id, c=None, user=None, key=None, base=None, **extra):
        body = {"booking_id": booking_id, "card": c if c is not None else card()}
        body.update(extra)
        return self.api("POST", "/payments", body, user or self.trav, key=key or str(uuid.uuid4()), base=base)

    def paid(self, booking, number=VISA_OK) -> dict:
        r = self.pay(booking["id"], card(number))
        self.assertEqual(r.status, 201, r)
        return r.json()

    def wait_status(self, booking_id, status, timeout=2.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            doc = self.api("GET", f"/bookings/{booking_id}", user=self.trav).json()
            if doc.get("status") == status or time.monotonic() > deadline:
                self.assertEqual(doc.get("status"), status, doc)
                return doc
            time.sleep(0.05)

    def payments_of(self, booking_id, user=None) -> list[dict]:
        r = self.api("GET", f"/bookings/{booking_id}/payments?limit=100", user=user or self.trav)
        self.assertEqual(r.status, 200, r)
        return r.json()["items"]

    def wait_refunds(self, booking_id, n, timeout=10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            refunds = [f for p in self.payments_of(booking_id) for f in p["refunds"]]
            if len(refunds) >= n or time.monotonic() > deadline:
                self.assertEqual(len(refunds), n, refunds)
                return refunds
            time.sleep(0.1)

    def available(self, listing, unit, start, end) -> dict:
        r = self.api("GET", f"/listings/{listing['id']}/availability?unit_id={unit['id']}&from={start}&to={end}")
        self.assertEqual(r.status, 200, r)
        return {i["date"]: i["available"] for i in r.json()["items"]}

    def charges(self, booking_id) -> list[tuple]:
        """The sandbox processor's own record of charges for the booking's payments."""
        return self.stack.psql(
            "SELECT c.outcome, c.amount FROM payment.sandbox_charges c JOIN payment.payments p "
            f"ON p.id::text = c.reference WHERE p.booking_id = '{booking_id}' ORDER BY c.created_at")

    def events(self, topic, subject=None, booking_id=None) -> list[dict]:
        out = []
        for m in self.stack.kafka_messages(topic):
            doc = json.loads(m["payload"])
            if (subject and doc.get("subject") == subject) or \
                    (booking_id and doc.get("data", {}).get("booking_id") == booking_id):
                out.append(dict(doc, _key=m.get("key")))
        return out

    # -- paying ----------------------------------------------------------------

    def test_pay_confirms_the_booking_and_books_the_units(self):
        listing, unit = self.listing(quantity=2, price=15050)
        b = self.booked(listing, unit)
        before = self.available(listing, unit, day(10), day(12))
        r = self.pay(b["id"], card(VISA_OK.replace("4242", "4242 ", 3)))  # spaces are allowed
        self.assertEqual(r.status, 201, r)
        p = r.json()
        self.assertEqual(set(p), PAYMENT_KEYS, p)
        self.assertEqual((p["booking_id"], p["status"], p["refunds"]), (b["id"], "succeeded", []))
        self.assertEqual(p["amount"], b["total"])
        self.assertEqual(p["amount"], {"amount": 30100, "currency": "EUR"})
        self.assertEqual(p["card"], {"brand": "visa", "last4": "4242"})
        self.assertRegex(p["created_at"], TS_RE)
        self.wait_status(b["id"], "confirmed", timeout=2.0)
        self.assertEqual(before, {day(10): 1, day(11): 1})
        self.assertEqual(self.available(listing, unit, day(10), day(12)), before)
        self.assertEqual(self.stack.psql_value(f"SELECT status FROM inventory.holds WHERE id = '{b['id']}'"),
                         "booked")
        ev = self.events("payments", subject=p["id"])
        self.assertEqual([e["type"] for e in ev], ["payment.succeeded"])
        self.assertEqual(ev[0]["_key"], b["id"])
        self.assertEqual(ev[0]["data"], {"payment_id": p["id"], "booking_id": b["id"], "amount": b["total"],
                                         "card": {"brand": "visa", "last4": "4242"}, "status": "succeeded"})
        # Reads: the traveller and the listing's operator; nobody else.
        for user in (self.trav, self.op):
            r = self.api("GET", f"/payments/{p['id']}", user=user)
            self.assertEqual((r.status, r.json()), (200, p), r)
        problem(self, self.api("GET", f"/payments/{p['id']}", user=self.trav2), 404, "not_found")
        problem(self, self.api("GET", f"/payments/{uuid.uuid4()}", user=self.trav), 404, "not_found")
        # A paid booking takes no second payment.
        problem(self, self.pay(b["id"], card(MC_OK)), 409, "booking_not_payable")
        self.assertEqual(self.charges(b["id"]), [("succeeded", "30100")])

    def test_declines_fail_the_booking_and_a_retry_within_the_hold_confirms(self):
        listing, unit = self.listing()
        b = self.booked(listing, unit)
        r = self.pay(b["id"], card(DECLINED))
        self.assertEqual(r.status, 201, r)
        p1 = r.json()
        self.assertEqual((p1["status"], p1["failure_code"], p1["card"]),
                         ("failed", "card_declined", {"brand": "visa", "last4": "0002"}))
        self.wait_status(b["id"], "payment_failed")
        r = self.pay(b["id"], card(NO_FUNDS))
        self.assertEqual((r.status, r.json()["status"], r.json()["failure_code"]),
                         (201, "failed", "insufficient_funds"), r)
        p2 = r.json()
        self.wait_status(b["id"], "payment_failed")
        # Any other valid number is declined too.
        r = self.pay(b["id"], card("4000056655665556"))
        self.assertEqual((r.status, r.json()["failure_code"]), (201, "card_declined"), r)
        p3 = r.json()
        r = self.pay(b["id"], card(MC_OK, cvc="999"))
        self.assertEqual((r.status, r.json()["status"], r.json()["card"]),
                         (201, "succeeded", {"brand": "mastercard", "last4": "4444"}), r)
        p4 = r.json()
        self.wait_status(b["id"], "confirmed")
        failed = [e for e in self.events("payments", booking_id=b["id"]) if e["type"] == "payment.failed"]
        self.assertEqual({e["data"]["failure_code"] for e in failed}, {"card_declined", "insufficient_funds"})
        # The booking's payments, newest first, one page at a time.
        items = self.payments_of(b["id"])
        self.assertEqual([i["id"] for i in items], [p4["id"], p3["id"], p2["id"], p1["id"]])
        self.assertEqual([i["status"] for i in items], ["succeeded", "failed", "failed", "failed"])
        seen, cursor = [], None
        while True:
            q = f"/bookings/{b['id']}/payments?limit=3" + (f"&cursor={cursor}" if cursor else "")
            r = self.api("GET", q, user=self.trav)
            self.assertEqual(r.status, 200, r)
            seen += [i["id"] for i in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, [i["id"] for i in items])
        self.assertEqual(len(self.payments_of(b["id"], user=self.op)), 4)
        problem(self, self.api("GET", f"/bookings/{b['id']}/payments", user=self.trav2), 404, "not_found")
        problem(self, self.api("GET", f"/bookings/{b['id']}/payments?cursor=nope", user=self.trav), 422)

    def test_invalid_cards_are_422_with_field_names(self):
        listing, unit = self.listing()
        b = self.booked(listing, unit)
        year = datetime.now().year
        cases = [
            (card("4242424242424241"), "card.number"),  # Luhn
            (card("4242-4242-4242-4242"), "card.number"),
            (card("42424242424"), "card.number"),  # 11 digits
            (card(exp_month=13), "card.exp_month"),
            (card(exp_month=1, exp_year=year - 1), "card.exp_year"),  # expired
            (card(exp_year=123), "card.exp_year"),
            (card(cvc="12"), "card.cvc"),
            (card(cvc=123), "card.cvc"),
            (card("378282246310005", cvc="123"), "card.cvc"),  # Amex takes four
            ({"number": VISA_OK}, "card.exp_month"),
            ("4242", "card"),
        ]
        for c, field in cases:
            with self.subTest(card=c):
                doc = problem(self, self.pay(b["id"], c), 422, "validation_failed")
                self.assertIn(field, [e["field"] for e in doc["errors"]], doc)
        doc = problem(self, self.pay(b["id"], None, payment_method="pm_123"), 422, "validation_failed")
        self.assertIn("payment_method", [e["field"] for e in doc["errors"]])
        doc = problem(self, self.api("POST", "/payments", {"card": card()}, self.trav, key=str(uuid.uuid4())), 422)
        self.assertIn("booking_id", [e["field"] for e in doc["errors"]])
        # The end of the expiry month still counts; two-digit years are read as 20YY.
        now = datetime.now()
        r = self.pay(b["id"], card(DECLINED, exp_month=now.month, exp_year=now.year % 100))
        self.assertEqual((r.status, r.json()["status"]), (201, "failed"), r)
        r = self.pay(b["id"], card("378282246310005", cvc="1234"))
        self.assertEqual((r.status, r.json()["card"]), (201, {"brand": "amex", "last4": "0005"}), r)
        self.assertEqual(self.stack.psql_value(
            f"SELECT count(*) FROM payment.payments WHERE booking_id = '{b['id']}'"), "2")

    def test_other_travellers_bookings_and_unpayable_ones(self):
        listing, unit = self.listing()
        b = self.booked(listing, unit)
        problem(self, self.pay(b["id"], user=self.trav2), 404, "not_found")
        problem(self, self.pay(str(uuid.uuid4())), 404, "not_found")
        problem(self, self.pay(b["id"], user=self.op), 403, "forbidden")
        # A cancelled booking is not payable.
        self.assertEqual(self.api("POST", f"/bookings/{b['id']}/cancel", {}, self.trav).status, 200)
        problem(self, self.pay(b["id"]), 409, "booking_not_payable")
        # An expired hold (a booking replica whose holds last 2 s) is not payable either, even before the sweep.
        b = self.booked(listing, unit, base=self.short.url)
        time.sleep(2.2)
        problem(self, self.pay(b["id"]), 409, "booking_not_payable")
        self.assertEqual(self.charges(b["id"]), [])
        self.assertEqual(self.stack.psql_value(
            f"SELECT count(*) FROM payment.payments WHERE booking_id = '{b['id']}'"), "0")

    # -- idempotency and concurrency --------------------------------------------

    def test_idempotency_key(self):
        listing, unit = self.listing()
        b = self.booked(listing, unit)
        key = str(uuid.uuid4())
        r1 = self.pay(b["id"], key=key)
        self.assertEqual(r1.status, 201, r1)
        body = {"card": card(), "booking_id": b["id"]}  # other key order: the same request
        r2 = self.api("POST", "/payments", body, self.trav, key=key)
        self.assertEqual((r2.status, r2.json()), (201, r1.json()), r2)
        self.assertEqual(r2.headers.get("Idempotent-Replayed"), "true")
        self.assertIsNone(r1.headers.get("Idempotent-Replayed"))
        self.assertEqual(self.charges(b["id"]), [("succeeded", str(b["total"]["amount"]))])
        problem(self, self.pay(b["id"], card(MC_OK), key=key), 422, "idempotency_key_reused")
        r = self.api("POST", "/payments", {"booking_id": b["id"], "card": card()}, self.trav)
        problem(self, r, 400, "idempotency_key_missing")
        # Keys are per user: another traveller's identical key runs (and finds no booking of theirs).
        problem(self, self.pay(b["id"], user=self.trav2, key=key), 404, "not_found")

    def test_concurrent_attempts_charge_once(self):
        listing, unit = self.listing()
        b = self.booked(listing, unit)
        results = []
        barrier = threading.Barrier(10)

        def attempt():
            barrier.wait()
            results.append(self.pay(b["id"]))

        threads = [threading.Thread(target=attempt) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = [r for r in results if r.status == 201]
        self.assertEqual(len(ok), 1, results)
        self.assertEqual(ok[0].json()["status"], "succeeded")
        for r in results:
            if r.status != 201:
                problem(self, r, 409, "booking_not_payable")
        self.assertEqual(self.charges(b["id"]), [("succeeded", str(b["total"]["amount"]))])
        self.wait_status(b["id"], "confirmed")
        self.assertEqual(len(self.payments_of(b["id"])), 1)

    # -- refunds ------------------------------------------------------------------

    def test_cancellation_refunds_by_the_policy_exactly_once(self):
        listing, unit = self.listing(price=10001, hours=48, percent=50)
        # Before the free-cancellation deadline: everything back.
        b = self.booked(listing, unit, check_in=day(30), check_out=day(31))
        p = self.paid(b)
        self.wait_status(b["id"], "confirmed")
        r = self.api("POST", f"/bookings/{b['id']}/cancel", {}, self.trav)
        self.assertEqual((r.status, r.json()["refund"]["amount"]), (200, 10001), r)
        refunds = self.wait_refunds(b["id"], 1)
        self.assertEqual(refunds[0]["amount"], {"amount": 10001, "currency": "EUR"})
        self.assertEqual(refunds[0]["status"], "succeeded")
        self.assertRegex(refunds[0]["created_at"], TS_RE)
        self.assertEqual(set(refunds[0]), {"id", "amount", "status", "created_at"})
        r = self.api("GET", f"/payments/{p['id']}", user=self.trav)
        self.assertEqual(r.json()["refunds"], refunds)
        refunded = [e for e in self.events("payments", subject=p["id"]) if e["type"] == "payment.refunded"]
        self.assertEqual(len(refunded), 1)
        self.assertEqual((refunded[0]["data"]["amount"]["amount"], refunded[0]["_key"]), (10001, b["id"]))
        # The booking.cancelled event delivered again refunds nothing more.
        ev = [e for e in self.events("bookings", subject=b["id"]) if e["type"] == "booking.cancelled"]
        self.assertEqual(len(ev), 1)
        ev[0].pop("_key")
        self.stack.kafka_produce("bookings", json.dumps(ev[0]), key=b["id"])
        # After the deadline (check-in tomorrow, 48 h): half, rounded down.
        b2 = self.booked(listing, unit, check_in=day(1), check_out=day(2))
        p2 = self.paid(b2)
        self.wait_status(b2["id"], "confirmed")
        r = self.api("POST", f"/bookings/{b2['id']}/cancel", {}, self.trav)
        self.assertEqual((r.status, r.json()["refund"]["amount"]), (200, 5000), r)
        refunds2 = self.wait_refunds(b2["id"], 1)
        self.assertEqual(refunds2[0]["amount"]["amount"], 5000)
        # By now the redelivered event (earlier on the same topic) has been consumed: still one refund.
        time.sleep(0.5)
        self.assertEqual(self.wait_refunds(b["id"], 1), refunds)
        self.assertEqual(self.stack.psql_value(
            f"SELECT count(*) FROM payment.sandbox_refunds WHERE charge_reference IN ('{p['id']}', '{p2['id']}')"), "2")

    def test_refund_required_refunds_the_payment_in_full_once(self):
        # booking.refund_required (booking publishes it when money arrives for a booking that cannot take it),
        # published here as booking would, for a real succeeded payment.
        listing, unit = self.listing(price=7000)
        b = self.booked(listing, unit)
        p1 = self.paid(b)
        self.wait_status(b["id"], "confirmed")
        ev = {"id": str(uuid.uuid4()), "type": "booking.refund_required", "source": "/roam/booking",
              "occurred_at": "2026-01-01T00:00:00Z", "subject": b["id"],
              "data": {"booking_id": b["id"], "payment_id": p1["id"], "amount": b["total"]}}
        # One naming another booking first (same partition key, so it is consumed before): nothing refunded.
        other = str(uuid.uuid4())
        wrong = dict(ev, id=str(uuid.uuid4()), subject=other, data=dict(ev["data"], booking_id=other))
        self.stack.kafka_produce("bookings", json.dumps(wrong), key=b["id"])
        self.stack.kafka_produce("bookings", json.dumps(ev), key=b["id"])
        refunds = self.wait_refunds(b["id"], 1)
        self.assertEqual(refunds[0]["amount"], {"amount": 14000, "currency": "EUR"})
        self.assertEqual(self.stack.psql_value(
            f"SELECT count(*) FROM payment.refunds WHERE source_event = '{wrong['id']}'"), "0")
        # Redelivered, and a second refund_required for the same payment: nothing is left to refund.
        self.stack.kafka_produce("bookings", json.dumps(ev), key=b["id"])
        ev2 = dict(ev, id=str(uuid.uuid4()))
        self.stack.kafka_produce("bookings", json.dumps(ev2), key=b["id"])
        time.sleep(1.5)
        self.assertEqual(self.wait_refunds(b["id"], 1), refunds)
        self.assertEqual(self.stack.psql_value(
            f"SELECT refunded FROM payment.payments WHERE id = '{p1['id']}'"), "14000")

    def test_zw_a_success_after_the_hold_ran_out_is_refunded_in_full(self):
        # Runs late (alphabetical order): the extra replica joining and leaving the bookings consumer group
        # makes the group rebalance, which would delay the other refund tests by seconds.
        # A processor slower than the hold: the attempt starts within the hold, the charge lands after it.
        slow = self.stack.start_daemon("payment", {"ROAM_PAYMENT_TEST_CHARGE_DELAY_MS": "3000"})
        try:
            listing, unit = self.listing(price=9000)
            b = self.booked(listing, unit, base=self.short.url)  # a two-second hold
            r = self.pay(b["id"], base=slow.url)
            self.assertEqual((r.status, r.json()["status"]), (201, "succeeded"), r)
            p = r.json()
            refunds = self.wait_refunds(b["id"], 1, timeout=15)
            self.assertEqual(refunds[0]["amount"], {"amount": 18000, "currency": "EUR"})
            self.assertEqual(self.wait_status(b["id"], "expired", timeout=5)["status"], "expired")
            required = [e for e in self.events("bookings", subject=b["id"]) if e["type"] == "booking.refund_required"]
            self.assertEqual([e["data"]["payment_id"] for e in required], [p["id"]])
            refunded = [e for e in self.events("payments", subject=p["id"]) if e["type"] == "payment.refunded"]
            self.assertEqual([(e["data"]["reason"], e["data"]["amount"]["amount"]) for e in refunded],
                             [("refund_required", 18000)])
        finally:
            slow.stop()

    # -- crash recovery -----------------------------------------------------------

    def test_zx_kill_while_kafka_is_down_loses_no_event(self):
        # The result is recorded with its event in the outbox; Kafka is down, so nothing is published before
        # the process is killed. After Kafka and the process are back, the event leaves exactly once.
        replica = self.stack.start_daemon("payment")
        listing, unit = self.listing()
        b = self.booked(listing, unit)
        self.stack.broker_down()
        try:
            r = self.pay(b["id"], base=replica.url)
            self.assertEqual((r.status, r.json()["status"]), (201, "succeeded"), r)
            p = r.json()
            replica.kill()
            self.assertEqual(self.stack.psql_value(
                f"SELECT count(*) FROM payment.outbox WHERE payload->>'subject' = '{p['id']}' AND sent_at IS NULL"),
                "1")
        finally:
            self.stack.broker_up()
        replica.start(timeout=30)
        self.wait_status(b["id"], "confirmed", timeout=30)
        time.sleep(1)
        succeeded = [e for e in self.events("payments", booking_id=b["id"]) if e["type"] == "payment.succeeded"]
        self.assertEqual([e["data"]["payment_id"] for e in succeeded], [p["id"]])
        confirmed = [e for e in self.events("bookings", subject=b["id"]) if e["type"] == "booking.confirmed"]
        self.assertEqual(len(confirmed), 1)
        self.assertEqual(self.charges(b["id"]), [("succeeded", str(b["total"]["amount"]))])
        replica.stop()

    def test_zy_kill_after_the_charge_recovers_without_a_second_charge(self):
        # Runs late (alphabetical order): the killed replica leaves the bookings consumer group only when its
        # session times out, which would delay the refund tests.
        crashy = self.stack.start_daemon("payment", {"ROAM_PAYMENT_TEST_CRASH_AFTER_CHARGE": "1"})
        listing, unit = self.listing()
        b = self.booked(listing, unit)
        key = str(uuid.uuid4())
        with self.assertRaises((OSError, HTTPException)):  # the process died mid-request
            self.pay(b["id"], key=key, base=crashy.url)
        deadline = time.monotonic() + 5
        while crashy.running and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(crashy.running)
        self.assertEqual(self.stack.psql(
            f"SELECT status FROM payment.payments WHERE booking_id = '{b['id']}'"), [("processing",)])
        self.assertEqual(len(self.charges(b["id"])), 1)
        # Nobody can pay twice meanwhile.
        problem(self, self.pay(b["id"]), 409, "booking_not_payable")
        self.assertEqual(self.wait_status(b["id"], "pending_payment")["status"], "pending_payment")
        # Restarted without the crash, its recovery pass resolves the attempt from the processor's record.
        crashy.restart(env={"ROAM_PAYMENT_TEST_CRASH_AFTER_CHARGE": "0", "ROAM_PAYMENT_RECOVERY_AGE_S": "1",
                            "ROAM_PAYMENT_RECOVERY_INTERVAL_MS": "200"})
        self.wait_status(b["id"], "confirmed", timeout=30)
        items = self.payments_of(b["id"])
        self.assertEqual([(i["status"], i["card"]["last4"]) for i in items], [("succeeded", "4242")])
        self.assertEqual(self.charges(b["id"]), [("succeeded", str(b["total"]["amount"]))])
        time.sleep(0.5)
        succeeded = [e for e in self.events("payments", booking_id=b["id"]) if e["type"] == "payment.succeeded"]
        self.assertEqual(len(succeeded), 1)
        confirmed = [e for e in self.events("bookings", subject=b["id"]) if e["type"] == "booking.confirmed"]
        self.assertEqual(len(confirmed), 1)
        # The client retries with its key once the key's lease (60 s) has run out (shifted with SQL): the
        # answer is the payment the first attempt made, not a second charge.
        problem(self, self.pay(b["id"], key=key), 409, "idempotency_request_in_progress")
        self.stack.psql("UPDATE payment.idempotency_keys SET locked_until = now() - interval '1 second' "
                        f"WHERE key = '{key}'")
        r = self.pay(b["id"], key=key)
        self.assertEqual((r.status, r.json()["id"], r.json()["status"]), (201, items[0]["id"], "succeeded"), r)
        self.assertEqual(self.charges(b["id"]), [("succeeded", str(b["total"]["amount"]))])
        crashy.stop()

    # -- configuration -------------------------------------------------------------

    def test_an_unknown_processor_stops_the_daemon_at_start_up(self):
        env = self.stack.daemon_env("payment", 1, {"ROAM_PAYMENT_PROCESSOR": "stripe"})
        res = subprocess.run([str(self.stack.binary("payment"))], env=env, capture_output=True, text=True,
                             timeout=20, stdin=subprocess.DEVNULL)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("ROAM_PAYMENT_PROCESSOR", res.stderr)
        self.assertIn("sandbox", res.stderr)

    # -- card data -------------------------------------------------------------------

    def test_zz_card_numbers_are_never_logged_or_stored(self):
        # Runs last (alphabetical order), after every test above sent card numbers.
        listing, unit = self.listing()
        b = self.booked(listing, unit)
        self.assertEqual(self.pay(b["id"], card(DECLINED, cvc="737")).status, 201)
        self.assertEqual(self.pay(b["id"], card(VISA_OK, cvc="737")).status, 201)
        time.sleep(0.3)
        for name, path in self.stack.log_files().items():
            text = path.read_text(errors="replace")
            for number in CARD_NUMBERS:
                self.assertNotIn(number, text, f"card number in {name}'s log")
                self.assertNotIn(number[:6] + number[6:], re.sub(r"\s", "", text), name)
        tables = [t for (t,) in self.stack.psql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'payment'")]
        self.assertIn("payments", tables)
        for t in tables:
            dump = "\n".join(row[0] for row in self.stack.psql(f"SELECT x::text FROM payment.{t} x"))
            for number in CARD_NUMBERS:
                self.assertNotIn(number, dump, f"card number stored in payment.{t}")
            self.assertNotIn('"737"', dump, f"CVC stored in payment.{t}")
