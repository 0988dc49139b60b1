"""The booking service: create (held in inventory, idempotent), read, lists,
cancel, complete, hold expiry, automatic completion, and the consumer of
payment events.

Everything public goes through the gateway (/api/v1) with real tokens from
the auth service; listings and units are created through inventory's API as
an operator. The payment service is not written yet, so payment events are
published onto topic "payments" with kcat, exactly as the payment service
will publish them (docs/events.md). Fixture rows are shifted in time with
SQL only where the real clock cannot be waited for (past check-out dates).

Run: tests/run --integration -k Booking
"""

import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from roamtest import StackTestCase, http

from tests.integration.test_platform import problem
from tests.integration.travel import GatewayApi, day, today_in

API = "/api/v1"
PASSWORD = "correct horse battery"
BOOKING_KEYS = {"id", "reference", "user_id", "guest", "listing_id", "listing_title", "unit_id", "check_in",
                "check_out", "nights", "guests", "quantity", "status", "total", "price_breakdown",
                "cancellation_policy", "free_cancellation_until", "refund_if_cancelled", "hold_expires_at",
                "created_at", "updated_at"}
REFERENCE_RE = r"^RM-[2-9A-HJ-NP-Z]{6}$"


def parse_ts(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


class BookingTest(GatewayApi, StackTestCase):
    """roam-booking behind the gateway, with auth and inventory, on the Kafka dev broker."""

    @classmethod
    def setUpStack(cls, s):
        s.start_postgres()
        s.start_redis()
        s.start_broker(topics=["bookings", "payments", "reviews"])
        cls.auth = s.start_daemon("auth", {"ROAM_ARGON2_MEMORY_KIB": "1024", "ROAM_ARGON2_ITERATIONS": "1"})
        cls.inventory = s.start_daemon("inventory", {"ROAM_HOLD_SWEEP_INTERVAL_MS": "200"})
        cls.booking = s.start_daemon("booking", {"ROAM_BOOKING_SWEEP_INTERVAL_MS": "200"})
        upstreams = {f"ROAM_{n.upper()}_URL": cls.auth.url for n in ("payment", "review", "notification")}
        cls.gw = s.start_daemon("gateway", dict(upstreams, ROAM_RATE_LIMIT_RPS="100000"))
        # A second replica whose holds last two seconds, called directly (it checks tokens itself).
        cls.short = s.start_daemon("booking", {"ROAM_BOOKING_HOLD_TTL_S": "2",
                                               "ROAM_BOOKING_SWEEP_INTERVAL_MS": "200"})
        cls.op = cls.register("operator")
        cls.op2 = cls.register("operator")
        cls.trav = cls.register("traveller")
        cls.trav2 = cls.register("traveller")
        cls.warm_up_payments_consumer()

    @classmethod
    def warm_up_payments_consumer(cls):
        """Joining a consumer group takes seconds: wait until one payment event has been applied, so
        that the tests can hold the contract's 2 s to confirmation."""
        t = cls("run")
        listing, unit = t.listing()
        b = t.booked(listing, unit)
        t.publish_payment("payment.succeeded", b, amount=b["total"])
        t.wait_status(b["id"], "confirmed", timeout=30)

    # -- helpers ------------------------------------------------------------

    @classmethod
    def register(cls, role: str) -> dict:
        email = f"{role}-{uuid.uuid4().hex[:12]}@example.com"
        r = http("POST", cls.gw.url + API + "/auth/register",
                 {"email": email, "password": PASSWORD, "name": f"Ada {role}", "role": role})
        assert r.status == 201, r
        doc = r.json()
        return {"token": doc["access_token"], "id": doc["user"]["id"], "email": email, "name": f"Ada {role}"}

    def listing(self, user=None, tz="Europe/Paris", quantity=3, max_guests=2, price=12000, hours=48, percent=50):
        body = {"title": "Hotel du Lac", "type": "hotel", "description": "Rooms on the lake.", "city": "Annecy",
                "country": "France", "timezone": tz, "currency": "EUR",
                "cancellation_policy": {"free_cancellation_hours": hours, "refund_percent_after": percent}}
        r = self.api("POST", "/listings", body, user or self.op)
        self.assertEqual(r.status, 201, r)
        listing = r.json()
        r = self.api("POST", f"/listings/{listing['id']}/units",
                     {"name": "Double room", "max_guests": max_guests, "quantity": quantity,
                      "base_price": {"amount": price, "currency": "EUR"}}, user or self.op)
        self.assertEqual(r.status, 201, r)
        return listing, r.json()

    def book(self, listing, unit, check_in=None, check_out=None, user=None, key=None, base=None, **extra):
        body = {"listing_id": listing["id"], "unit_id": unit["id"], "check_in": check_in or day(10),
                "check_out": check_out or day(12), "guests": 2}
        body.update(extra)
        return self.api("POST", "/bookings", body, user or self.trav, key=key or str(uuid.uuid4()), base=base)

    def booked(self, listing, unit, **kw) -> dict:
        r = self.book(listing, unit, **kw)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def available(self, listing, unit, start: str, end: str) -> dict:
        r = self.api("GET", f"/listings/{listing['id']}/availability?unit_id={unit['id']}&from={start}&to={end}")
        self.assertEqual(r.status, 200, r)
        return {i["date"]: i["available"] for i in r.json()["items"]}

    def get(self, booking_id, user=None):
        return self.api("GET", f"/bookings/{booking_id}", user=user or self.trav)

    def wait_status(self, booking_id, status, timeout=5.0, user=None) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            doc = self.get(booking_id, user).json()
            if doc.get("status") == status or time.monotonic() > deadline:
                self.assertEqual(doc.get("status"), status, doc)
                return doc
            time.sleep(0.05)

    def publish_payment(self, type_, booking, payment_id=None, **data):
        payment_id = payment_id or str(uuid.uuid4())
        envelope = {"id": str(uuid.uuid4()), "type": type_, "source": "/roam/payment",
                    "occurred_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "subject": payment_id,
                    "data": dict({"payment_id": payment_id, "booking_id": booking["id"]}, **data)}
        self.stack.kafka_produce("payments", json.dumps(envelope), key=booking["id"])
        return envelope

    def booking_events(self, booking_id) -> list[dict]:
        out = []
        for m in self.stack.kafka_messages("bookings"):
            doc = json.loads(m["payload"])
            if doc.get("subject") == booking_id:
                out.append(doc)
        return out

    def count_bookings(self, user) -> int:
        return int(self.stack.psql_value(f"SELECT count(*) FROM booking.bookings WHERE user_id = '{user['id']}'"))

    # -- create ---------------------------------------------------------------

    def test_create_answers_the_booking_and_holds_the_units(self):
        listing, unit = self.listing(price=12500)
        before = datetime.now(timezone.utc).replace(microsecond=0)
        r = self.book(listing, unit, check_in=day(20), check_out=day(23), quantity=2, note="Late arrival")
        self.assertEqual(r.status, 201, r)
        b = r.json()
        self.assertEqual(set(b), BOOKING_KEYS, b)
        self.assertRegex(b["reference"], REFERENCE_RE)
        self.assertEqual(b["user_id"], self.trav["id"])
        self.assertEqual(b["guest"], {"name": self.trav["name"], "email": self.trav["email"]})
        self.assertEqual((b["listing_id"], b["listing_title"], b["unit_id"]), (listing["id"], "Hotel du Lac", unit["id"]))
        self.assertEqual((b["check_in"], b["check_out"], b["nights"], b["guests"], b["quantity"]),
                         (day(20), day(23), 3, 2, 2))
        self.assertEqual(b["status"], "pending_payment")
        self.assertEqual(b["total"], {"amount": 12500 * 3 * 2, "currency": "EUR"})
        # One entry per night, for all the units: the breakdown sums to the total.
        self.assertEqual(b["price_breakdown"],
                         [{"date": day(20 + i), "price": {"amount": 25000, "currency": "EUR"}} for i in range(3)])
        self.assertEqual(b["cancellation_policy"], {"free_cancellation_hours": 48, "refund_percent_after": 50})
        ci = (today_in("Europe/Paris") + timedelta(days=20))
        local = datetime(ci.year, ci.month, ci.day, tzinfo=ZoneInfo("Europe/Paris"))
        self.assertEqual(parse_ts(b["free_cancellation_until"]), local.astimezone(timezone.utc) - timedelta(hours=48))
        self.assertEqual(b["refund_if_cancelled"], {"amount": 0, "currency": "EUR"})  # nothing paid yet
        hold = (parse_ts(b["hold_expires_at"]) - before).total_seconds()
        self.assertTrue(895 <= hold <= 905, b["hold_expires_at"])
        self.assertEqual(self.get(b["id"]).json(), b)
        # The calendar shows the two units held on each night, and only those nights.
        self.assertEqual(self.available(listing, unit, day(19), day(24)),
                         {day(19): 3, day(20): 1, day(21): 1, day(22): 1, day(23): 3})
        # Prices are copied: an operator's later change does not touch the booking.
        r = self.api("PUT", f"/listings/{listing['id']}/units/{unit['id']}/calendar",
                     {"from": day(20), "to": day(23), "price": {"amount": 99900, "currency": "EUR"}}, self.op)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.get(b["id"]).json()["total"]["amount"], 12500 * 6)
        created = [e for e in self.booking_events(b["id"]) if e["type"] == "booking.created"]
        self.assertEqual(len(created), 1)
        self.assertEqual(created[0]["data"]["operator_id"], self.op["id"])
        self.assertEqual(created[0]["data"]["note"], "Late arrival")

    def test_sold_out_leaves_nothing_behind(self):
        listing, unit = self.listing(quantity=2)
        n = self.count_bookings(self.trav)
        problem(self, self.book(listing, unit, quantity=3), 409, "sold_out")  # too few units
        r = self.api("PUT", f"/listings/{listing['id']}/units/{unit['id']}/calendar",
                     {"from": day(11), "to": day(12), "closed": True}, self.op)
        self.assertEqual(r.status, 200, r)
        problem(self, self.book(listing, unit, check_in=day(10), check_out=day(12)), 409, "sold_out")  # closed
        other, ounit = self.listing()
        self.assertEqual(self.api("DELETE", f"/listings/{other['id']}", user=self.op).status, 204)
        problem(self, self.book(other, ounit), 409, "sold_out")  # archived
        self.assertEqual(self.count_bookings(self.trav), n)
        self.assertEqual(self.available(listing, unit, day(10), day(11)), {day(10): 2})
        held = self.stack.psql_value(f"SELECT count(*) FROM inventory.holds WHERE listing_id IN "
                                     f"('{listing['id']}', '{other['id']}') AND status = 'held'")
        self.assertEqual(held, "0")

    def test_invalid_bookings_are_422(self):
        listing, unit = self.listing(max_guests=2)
        cases = [({"guests": 3}, "guests"), ({"guests": 5, "quantity": 2}, "guests"), ({"guests": 0}, "guests"),
                 ({"check_in": day(5), "check_out": day(5)}, "check_out"),
                 ({"check_in": day(5), "check_out": day(36)}, "check_out"),
                 ({"check_in": day(-3), "check_out": day(1)}, "check_in"),
                 ({"check_in": day(380), "check_out": day(382)}, "check_out"),
                 ({"check_in": "2026-02-30"}, "check_in"), ({"listing_id": "nope"}, "listing_id"),
                 ({"quantity": 0}, "quantity"), ({"note": "x" * 1001}, "note")]
        n = self.count_bookings(self.trav)
        for extra, field in cases:
            with self.subTest(extra=extra):
                doc = problem(self, self.book(listing, unit, **extra), 422, "validation_failed")
                self.assertIn(field, [e["field"] for e in doc["errors"]], doc)
        # Unknown listing or unit: 404, like any object that does not exist.
        problem(self, self.book(listing, unit, unit_id=str(uuid.uuid4())), 404, "not_found")
        problem(self, self.book(listing, unit, listing_id=str(uuid.uuid4())), 404, "not_found")
        self.assertEqual(self.count_bookings(self.trav), n)
        self.assertEqual(self.book(listing, unit, guests=4, quantity=2).status, 201)
        # Only travellers book.
        problem(self, self.book(listing, unit, user=self.op), 403, "forbidden")

    # -- idempotency ------------------------------------------------------------

    def test_idempotency_replays_refuses_reuse_and_requires_a_key(self):
        listing, unit = self.listing()
        key = str(uuid.uuid4())
        first = self.book(listing, unit, key=key)
        self.assertEqual(first.status, 201, first)
        self.assertIsNone(first.headers.get("Idempotent-Replayed"))
        body = {"guests": 2, "check_out": day(12), "check_in": day(10), "unit_id": unit["id"],
                "listing_id": listing["id"]}  # other key order
        again = self.api("POST", "/bookings", None, self.trav, key=key, raw=json.dumps(body, indent=2),
                         headers={"Content-Type": "application/json"})
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(again.json(), first.json())
        self.assertEqual(self.available(listing, unit, day(10), day(11)), {day(10): 2})  # held once
        problem(self, self.book(listing, unit, key=key, guests=1), 422, "idempotency_key_reused")
        # The key is the traveller's own: another traveller's same key is a new booking.
        other = self.book(listing, unit, key=key, user=self.trav2)
        self.assertEqual(other.status, 201, other)
        self.assertNotEqual(other.json()["id"], first.json()["id"])
        r = self.api("POST", "/bookings", {"listing_id": listing["id"]}, self.trav)
        problem(self, r, 400, "idempotency_key_missing")
        problem(self, self.book(listing, unit, key="x" * 256), 400, "idempotency_key_missing")  # not a valid key
        # A 4xx answer is stored and replayed too.
        k2 = str(uuid.uuid4())
        problem(self, self.book(listing, unit, key=k2, guests=9), 422, "validation_failed")
        r = self.book(listing, unit, key=k2, guests=9)
        self.assertEqual((r.status, r.headers.get("Idempotent-Replayed")), (422, "true"))

    def test_a_running_request_blocks_its_key_until_its_lease_runs_out(self):
        listing, unit = self.listing()
        user = self.register("traveller")
        key = str(uuid.uuid4())
        first = self.book(listing, unit, user=user, key=key)
        self.assertEqual(first.status, 201, first)
        where = f"user_id = '{user['id']}' AND key = '{key}'"
        # As if the first request were still running: a repeat is told so.
        self.stack.psql(f"UPDATE booking.idempotency_keys SET state = 'in_progress', status = NULL, response = NULL, "
                        f"locked_until = now() + interval '1 minute' WHERE {where}")
        problem(self, self.book(listing, unit, user=user, key=key), 409, "idempotency_request_in_progress")
        # As if it had died (its transaction rolled back): after the lease, a repeat runs again.
        self.stack.psql(f"UPDATE booking.idempotency_keys SET locked_until = now() - interval '1 second' "
                        f"WHERE {where}")
        again = self.book(listing, unit, user=user, key=key)
        self.assertEqual(again.status, 201, again)
        self.assertIsNone(again.headers.get("Idempotent-Replayed"))
        self.assertNotEqual(again.json()["id"], first.json()["id"])
        replay = self.book(listing, unit, user=user, key=key)
        self.assertEqual((replay.status, replay.headers.get("Idempotent-Replayed")), (201, "true"))
        self.assertEqual(replay.json()["id"], again.json()["id"])

    def test_a_key_is_forgotten_after_24_hours(self):
        listing, unit = self.listing()
        user = self.register("traveller")
        key = str(uuid.uuid4())
        first = self.book(listing, unit, user=user, key=key)
        self.assertEqual(first.status, 201, first)
        expires = self.stack.psql_value(f"SELECT round(extract(epoch FROM expires_at - created_at)) "
                                        f"FROM booking.idempotency_keys WHERE user_id = '{user['id']}'")
        self.assertEqual(int(float(expires)), 24 * 3600)
        self.stack.psql(f"UPDATE booking.idempotency_keys SET expires_at = now() - interval '1 second', "
                        f"created_at = now() - interval '24 hours' WHERE user_id = '{user['id']}'")
        # Another request under the old key is a new request now, not a reuse.
        r = self.book(listing, unit, user=user, key=key, guests=1)
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(r.headers.get("Idempotent-Replayed"))
        self.assertNotEqual(r.json()["id"], first.json()["id"])

    def test_a_5xx_is_not_stored_and_a_retry_runs_again(self):
        listing, unit = self.listing(quantity=2)
        user = self.register("traveller")
        key = str(uuid.uuid4())
        self.inventory.stop()
        try:
            problem(self, self.book(listing, unit, user=user, key=key), 503, "upstream_unavailable")
        finally:
            self.inventory.start()
        self.assertEqual(self.count_bookings(user), 0)
        r = self.book(listing, unit, user=user, key=key)
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(r.headers.get("Idempotent-Replayed"))
        self.assertEqual(self.count_bookings(user), 1)
        self.assertEqual(self.available(listing, unit, day(10), day(11)), {day(10): 1})

    def test_twenty_concurrent_identical_requests_make_one_booking(self):
        listing, unit = self.listing(quantity=50)
        user = self.register("traveller")
        key = str(uuid.uuid4())
        results = []
        lock = threading.Lock()

        def go():
            r = self.book(listing, unit, user=user, key=key)
            with lock:
                results.append(r)

        threads = [threading.Thread(target=go) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r.status for r in results)
        self.assertTrue(set(statuses) <= {201, 409}, statuses)
        ids = {r.json()["id"] for r in results if r.status == 201}
        self.assertEqual(len(ids), 1, statuses)
        for r in results:
            if r.status == 409:
                problem(self, r, 409, "idempotency_request_in_progress")
        self.assertEqual(self.count_bookings(user), 1)
        self.assertEqual(self.available(listing, unit, day(10), day(11)), {day(10): 49})

    # -- expiry, cancel ------------------------------------------------------------

    def test_an_expired_hold_expires_the_booking_and_returns_the_units(self):
        listing, unit = self.listing(quantity=2)
        r = self.book(listing, unit, base=self.short.url)
        self.assertEqual(r.status, 201, r)
        b = r.json()
        self.assertAlmostEqual((parse_ts(b["hold_expires_at"]) - parse_ts(b["created_at"])).total_seconds(), 2,
                               delta=1.5)
        self.assertEqual(self.available(listing, unit, day(10), day(11)), {day(10): 1})
        self.wait_status(b["id"], "expired", timeout=6)
        deadline = time.monotonic() + 5
        while self.available(listing, unit, day(10), day(11)) != {day(10): 2} and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.available(listing, unit, day(10), day(11)), {day(10): 2})
        self.assertIn("booking.expired", [e["type"] for e in self.booking_events(b["id"])])
        problem(self, self.api("POST", f"/bookings/{b['id']}/cancel", {}, self.trav), 409, "booking_not_cancellable")

    def test_cancel_pending_refunds_nothing_and_returns_the_units(self):
        listing, unit = self.listing(quantity=2)
        b = self.booked(listing, unit)
        r = self.api("POST", f"/bookings/{b['id']}/cancel", {"reason": "Plans changed"}, self.trav)
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc["status"], "cancelled")
        self.assertEqual(doc["refund"], {"amount": 0, "currency": "EUR"})
        self.assertEqual(self.available(listing, unit, day(10), day(12)), {day(10): 2, day(11): 2})
        ev = [e for e in self.booking_events(b["id"]) if e["type"] == "booking.cancelled"]
        self.assertEqual(len(ev), 1)
        self.assertEqual((ev[0]["data"]["cancelled_by"], ev[0]["data"]["refund"]["amount"]), ("traveller", 0))
        problem(self, self.api("POST", f"/bookings/{b['id']}/cancel", {}, self.trav), 409, "booking_not_cancellable")
        problem(self, self.api("POST", f"/bookings/{b['id']}/cancel", {"reason": "x" * 501}, self.trav), 422,
                "validation_failed")

    def confirmed(self, listing, unit, user=None, **kw) -> dict:
        b = self.booked(listing, unit, user=user, **kw)
        self.publish_payment("payment.succeeded", b, amount=b["total"])
        return self.wait_status(b["id"], "confirmed", timeout=10, user=user)

    def test_cancel_refunds_by_the_policy(self):
        listing, unit = self.listing(price=10001, hours=48, percent=50)
        # Free cancellation: check-in far ahead.
        b = self.confirmed(listing, unit, check_in=day(30), check_out=day(31))
        self.assertEqual(b["refund_if_cancelled"], {"amount": 10001, "currency": "EUR"})
        r = self.api("POST", f"/bookings/{b['id']}/cancel", {}, self.trav)
        self.assertEqual((r.status, r.json()["refund"]["amount"]), (200, 10001), r)
        # Past the free cancellation deadline (check-in tomorrow, 48 h): 50 %, rounded down.
        b = self.confirmed(listing, unit, check_in=day(1), check_out=day(2))
        self.assertEqual(b["refund_if_cancelled"]["amount"], 5000)
        r = self.api("POST", f"/bookings/{b['id']}/cancel", {}, self.trav)
        self.assertEqual((r.status, r.json()["refund"]["amount"]), (200, 5000), r)
        # The operator cancelling refunds in full, whenever.
        b = self.confirmed(listing, unit, check_in=day(1), check_out=day(2))
        r = self.api("POST", f"/bookings/{b['id']}/cancel", {}, self.op)
        self.assertEqual((r.status, r.json()["status"], r.json()["refund"]["amount"]), (200, "cancelled", 10001), r)
        ev = [e for e in self.booking_events(b["id"]) if e["type"] == "booking.cancelled"][0]
        self.assertEqual((ev["data"]["cancelled_by"], ev["data"]["refund"]), ("operator", r.json()["refund"]))
        deadline = time.monotonic() + 5
        while self.available(listing, unit, day(1), day(2)) != {day(1): 3} and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.available(listing, unit, day(1), day(2)), {day(1): 3})  # booked units back

    # -- authorisation and lists ---------------------------------------------------

    def test_others_get_404(self):
        listing, unit = self.listing()
        b = self.booked(listing, unit)
        self.assertEqual(self.get(b["id"], self.op).status, 200)  # the listing's operator
        problem(self, self.get(b["id"], self.trav2), 404, "not_found")
        problem(self, self.get(b["id"], self.op2), 404, "not_found")
        problem(self, self.get(str(uuid.uuid4())), 404, "not_found")
        problem(self, self.get("not-a-uuid"), 404, "not_found")
        problem(self, self.api("POST", f"/bookings/{b['id']}/cancel", {}, self.trav2), 404, "not_found")
        problem(self, self.api("POST", f"/bookings/{b['id']}/cancel", {}, self.op2), 404, "not_found")
        problem(self, self.api("POST", f"/bookings/{b['id']}/complete", {}, self.op2), 404, "not_found")
        problem(self, self.api("GET", "/bookings"), 401, "unauthorized")
        self.assertEqual(self.get(b["id"]).json()["status"], "pending_payment")

    def test_lists_newest_first_with_pages_and_operator_filters(self):
        user = self.register("traveller")
        op = self.register("operator")
        l1, u1 = self.listing(user=op, quantity=10)
        l2, u2 = self.listing(user=op, quantity=10)
        made = [self.booked(l1 if i % 2 == 0 else l2, u1 if i % 2 == 0 else u2, user=user, note=f"note {i}")["id"]
                for i in range(5)]
        seen, cursor = [], None
        while True:
            r = self.api("GET", "/bookings?limit=2" + (f"&cursor={cursor}" if cursor else ""), user=user)
            self.assertEqual(r.status, 200, r)
            doc = r.json()
            self.assertLessEqual(len(doc["items"]), 2)
            seen += [i["id"] for i in doc["items"]]
            cursor = doc["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(seen, list(reversed(made)))
        problem(self, self.api("GET", "/bookings?limit=0", user=user), 422, "validation_failed")
        problem(self, self.api("GET", "/bookings?cursor=zzz", user=user), 422, "validation_failed")
        # The operator's view: guest name and email, filtered by listing and status.
        self.api("POST", f"/bookings/{made[0]}/cancel", {}, user)
        r = self.api("GET", f"/operator/bookings?listing_id={l1['id']}", user=op)
        self.assertEqual(r.status, 200, r)
        items = r.json()["items"]
        self.assertEqual([i["id"] for i in items], [made[4], made[2], made[0]])
        self.assertEqual(items[0]["guest"], {"name": user["name"], "email": user["email"]})
        self.assertEqual(items[0]["note"], "note 4")  # operators see the traveller's note
        self.assertEqual(set(items[0]) - {"note"}, BOOKING_KEYS)
        r = self.api("GET", f"/operator/bookings?listing_id={l1['id']}&status=cancelled", user=op)
        self.assertEqual([i["id"] for i in r.json()["items"]], [made[0]])
        r = self.api("GET", "/operator/bookings", user=self.op2)
        self.assertNotIn(made[0], [i["id"] for i in r.json()["items"]])
        problem(self, self.api("GET", "/operator/bookings?status=lost", user=op), 422, "validation_failed")
        problem(self, self.api("GET", "/operator/bookings", user=user), 403, "forbidden")

    # -- payment events ------------------------------------------------------------

    def test_payment_succeeded_confirms_once_and_books_the_units(self):
        listing, unit = self.listing(quantity=2)
        b = self.booked(listing, unit)
        ev = self.publish_payment("payment.succeeded", b, amount=b["total"])
        t0 = time.monotonic()
        doc = self.wait_status(b["id"], "confirmed", timeout=10)
        self.assertLess(time.monotonic() - t0, 2.0)  # the contract's bound on the local stack
        self.assertEqual(doc["refund_if_cancelled"], b["total"])  # free cancellation still open
        hold = self.stack.psql_value(f"SELECT status FROM inventory.holds WHERE id = '{b['id']}'")
        self.assertEqual(hold, "booked")
        self.assertEqual(self.available(listing, unit, day(10), day(11)), {day(10): 1})
        # Redelivery of the same event changes nothing.
        self.stack.kafka_produce("payments", json.dumps(ev), key=b["id"])
        time.sleep(1.5)
        types = [e["type"] for e in self.booking_events(b["id"])]
        self.assertEqual(types.count("booking.confirmed"), 1, types)
        self.assertNotIn("booking.refund_required", types)
        self.assertEqual(self.get(b["id"]).json()["updated_at"], doc["updated_at"])

    def test_payment_failed_then_succeeded(self):
        listing, unit = self.listing()
        b = self.booked(listing, unit)
        self.publish_payment("payment.failed", b, failure_code="card_declined")
        self.wait_status(b["id"], "payment_failed", timeout=10)
        ev = [e for e in self.booking_events(b["id"]) if e["type"] == "booking.payment_failed"]
        self.assertEqual(ev[0]["data"]["failure_code"], "card_declined")
        self.publish_payment("payment.succeeded", b, amount=b["total"])
        self.wait_status(b["id"], "confirmed", timeout=10)
        self.publish_payment("payment.failed", b, failure_code="card_declined")  # too late: nothing changes
        time.sleep(1.5)
        self.assertEqual(self.get(b["id"]).json()["status"], "confirmed")

    def test_payment_after_expiry_requires_a_refund(self):
        listing, unit = self.listing()
        r = self.book(listing, unit, base=self.short.url)
        self.assertEqual(r.status, 201, r)
        b = r.json()
        self.wait_status(b["id"], "expired", timeout=6)
        ev = self.publish_payment("payment.succeeded", b, amount=b["total"])
        deadline = time.monotonic() + 10
        while True:
            refunds = [e for e in self.booking_events(b["id"]) if e["type"] == "booking.refund_required"]
            if refunds or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(len(refunds), 1)
        data = refunds[0]["data"]
        self.assertEqual((data["booking_id"], data["payment_id"], data["amount"]),
                         (b["id"], ev["data"]["payment_id"], b["total"]))
        self.assertEqual(self.get(b["id"]).json()["status"], "expired")

    # -- complete ---------------------------------------------------------------------

    def test_complete_rules_in_the_listing_time_zone(self):
        tz = "Pacific/Kiritimati"  # UTC+14: its today is often UTC's tomorrow
        listing, unit = self.listing(tz=tz)
        b = self.confirmed(listing, unit, check_in=day(5, tz), check_out=day(7, tz))
        problem(self, self.api("POST", f"/bookings/{b['id']}/complete", {}, self.op), 409, "booking_not_completable")
        problem(self, self.api("POST", f"/bookings/{b['id']}/complete", {}, self.trav), 403, "forbidden")
        # Check-in today, listing time (the fixture row is moved; inventory is not involved in completion).
        self.stack.psql(f"UPDATE booking.bookings SET check_in = '{day(0, tz)}', check_out = '{day(2, tz)}' "
                        f"WHERE id = '{b['id']}'")
        r = self.api("POST", f"/bookings/{b['id']}/complete", {}, self.op)
        self.assertEqual((r.status, r.json()["status"]), (200, "completed"), r)
        problem(self, self.api("POST", f"/bookings/{b['id']}/complete", {}, self.op), 409, "booking_not_completable")
        problem(self, self.api("POST", f"/bookings/{b['id']}/cancel", {}, self.trav), 409, "booking_not_cancellable")
        pending = self.booked(listing, unit, check_in=day(5, tz), check_out=day(6, tz))
        problem(self, self.api("POST", f"/bookings/{pending['id']}/complete", {}, self.op), 409,
                "booking_not_completable")

    def test_confirmed_bookings_complete_the_day_after_check_out(self):
        tz = "Pacific/Kiritimati"
        listing, unit = self.listing(tz=tz)
        b = self.confirmed(listing, unit, check_in=day(3, tz), check_out=day(4, tz))
        keep = self.confirmed(listing, unit, check_in=day(3, tz), check_out=day(4, tz))
        # Checked out yesterday (listing time) and today: only the first completes.
        self.stack.psql(f"UPDATE booking.bookings SET check_in = '{day(-3, tz)}', check_out = '{day(-1, tz)}' "
                        f"WHERE id = '{b['id']}'")
        self.stack.psql(f"UPDATE booking.bookings SET check_in = '{day(-2, tz)}', check_out = '{day(0, tz)}' "
                        f"WHERE id = '{keep['id']}'")
        self.wait_status(b["id"], "completed", timeout=5)
        self.assertIn("booking.completed", [e["type"] for e in self.booking_events(b["id"])])
        time.sleep(0.6)
        self.assertEqual(self.get(keep["id"]).json()["status"], "confirmed")

    # -- internal view ----------------------------------------------------------------

    def test_internal_view_for_the_payment_service(self):
        listing, unit = self.listing()
        b = self.booked(listing, unit)
        r = http("GET", self.booking.url + f"/internal/bookings/{b['id']}",
                 headers={"X-Roam-Internal": self.stack.internal_secret})
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        for k in ("id", "reference", "user_id", "guest", "listing_id", "listing_title", "unit_id", "status",
                  "check_in", "check_out", "total", "hold_expires_at", "refund_if_cancelled"):
            self.assertEqual(doc[k], b[k], k)
        self.assertEqual(doc["operator_id"], self.op["id"])
        self.assertEqual(self.api("GET", f"/internal/bookings/{b['id']}", user=self.trav).status, 404)

    # -- inventory's safety net for holds whose booking never committed ------------------

    def test_inventory_releases_an_orphan_hold_after_its_expiry(self):
        # As if the booking service died between holding and recording: the hold exists, the booking does not.
        listing, unit = self.listing(quantity=2)
        inv = lambda method, path, body=None: http(method, self.inventory.url + path, body,  # noqa: E731
                                                   headers={"X-Roam-Internal": self.stack.internal_secret})
        past = (datetime.now(timezone.utc) - timedelta(minutes=11)).strftime("%Y-%m-%dT%H:%M:%SZ")
        recent = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        base = {"listing_id": listing["id"], "unit_id": unit["id"], "check_in": day(10), "check_out": day(11)}
        orphan, young = str(uuid.uuid4()), str(uuid.uuid4())
        self.assertEqual(inv("POST", "/internal/holds", dict(base, hold_id=orphan, expires_at=past)).status, 201)
        self.assertEqual(inv("POST", "/internal/holds", dict(base, hold_id=young, expires_at=recent)).status, 201)
        deadline = time.monotonic() + 5
        while inv("GET", f"/internal/holds/{orphan}").json()["status"] != "released" and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(inv("GET", f"/internal/holds/{orphan}").json()["status"], "released")
        # Within the ten-minute grace period a hold stays.
        self.assertEqual(inv("GET", f"/internal/holds/{young}").json()["status"], "held")
        self.assertEqual(self.available(listing, unit, day(10), day(11)), {day(10): 1})
        r = inv("POST", "/internal/holds", dict(base, hold_id=str(uuid.uuid4()), expires_at="2026-02-30T00:00:00Z"))
        self.assertEqual(r.status, 422, r)
        self.assertEqual([e["field"] for e in r.json()["errors"]], ["expires_at"])
        # Bookings send their hold expiry along.
        b = self.booked(listing, unit)
        exp = self.stack.psql_value(f"SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                                    f"FROM inventory.holds WHERE id = '{b['id']}'")
        self.assertEqual(exp, b["hold_expires_at"])
