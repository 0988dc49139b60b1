"""Reviews: who may review (the booking service's internal lookup decides),
one review per booking, validation, the list with its summary, sorts and
cursors, operator replies, admin moderation, a booking service that is down
or stuck, and the listing's rating in inventory following review events,
redelivered events included.

Everything goes through the gateway to the real auth, inventory, booking,
review services, PostgreSQL, Redis and the Kafka dev broker. No booking API
exists yet, so bookings are inserted with SQL into the booking schema; the
booking daemon serves them through its real GET /internal/bookings/{id}.

Run: tests/run --integration -k Review
"""

import json
import os
import re
import signal
import threading
import time
import unittest
import uuid

from roamtest import StackTestCase, http, wait_until

from tests.integration.test_platform import problem

API = "/api/v1"
PASSWORD = "correct horse battery"
ADMIN_EMAIL = "moderator@roam.example"
ADMIN_PASSWORD = "admin password 123"
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
REVIEW_KEYS = {"id", "listing_id", "booking_id", "user_id", "author_name", "rating", "title", "body", "reply",
               "created_at"}
BOOKING_TIMEOUT_MS = 1000
STATUSES = ("pending_payment", "payment_failed", "confirmed", "expired", "cancelled", "completed")


def sql_text(s: str) -> str:
    """s as an SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def rounded_average(ratings):
    """The contract's average: one decimal, halves up (4.25 is 4.3); None without ratings."""
    if not ratings:
        return None
    tenths = (20 * sum(ratings) + len(ratings)) // (2 * len(ratings))
    return tenths / 10


class ReviewTest(StackTestCase):
    @classmethod
    def setUpStack(cls, s):
        os.environ.setdefault("PGCLIENTENCODING", "UTF8")  # guest names with accents go in through psql
        s.start_postgres()
        s.start_redis()
        s.start_broker()
        s.start_smtp()
        cls.auth = s.start_daemon("auth", {"ROAM_ARGON2_MEMORY_KIB": "1024", "ROAM_ARGON2_ITERATIONS": "1",
                                           "ROAM_ADMIN_EMAIL": ADMIN_EMAIL, "ROAM_ADMIN_PASSWORD": ADMIN_PASSWORD})
        cls.inventory = s.start_daemon("inventory")
        # Booking fixtures are rows inserted with SQL (confirmed ones already checked out): keep the booking
        # service's sweeper, which would complete them, from running again after its first pass at start.
        cls.booking = s.start_daemon("booking", {"ROAM_BOOKING_SWEEP_INTERVAL_MS": "3600000"})
        s.start_daemon("payment")
        cls.review = s.start_daemon("review", {"ROAM_BOOKING_TIMEOUT_MS": str(BOOKING_TIMEOUT_MS)})
        s.start_daemon("notification")
        cls.gw = s.start_daemon("gateway", {"ROAM_RATE_LIMIT_RPS": "100000"})
        cls.admin = cls.login(ADMIN_EMAIL, ADMIN_PASSWORD)

    # -- helpers ------------------------------------------------------------

    @classmethod
    def api(cls, method, path, body=None, token=None, **kw):
        headers = dict(kw.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return http(method, cls.gw.url + API + path, body, headers=headers, **kw)

    @classmethod
    def login(cls, email, password):
        r = cls.api("POST", "/auth/login", {"email": email, "password": password})
        assert r.status == 200, r
        return r.json()["access_token"]

    def register(self, role="traveller", name="Test User"):
        """A new account: {token, id, name}."""
        email = f"{role}-{uuid.uuid4().hex[:12]}@example.com"
        r = self.api("POST", "/auth/register", {"email": email, "password": PASSWORD, "name": name, "role": role})
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        return {"token": doc["access_token"], "id": doc["user"]["id"], "name": name}

    def create_listing(self, operator):
        """A listing of operator's, made through POST /api/v1/listings; returns its id."""
        r = self.api("POST", "/listings", {
            "title": "Harbour View Rooms", "type": "hotel", "description": "Quiet rooms by the old harbour.",
            "city": "Porto", "country": "Portugal", "currency": "EUR",
            "cancellation_policy": {"free_cancellation_hours": 24, "refund_percent_after": 50}},
            token=operator["token"])
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def add_booking(self, traveller, listing_id, operator, status="completed", guest_name=None):
        """A booking fixture in the booking service's table; returns its id."""
        booking_id = str(uuid.uuid4())
        ref = "RM-" + uuid.uuid4().hex[:6].upper()
        name = guest_name or traveller["name"]
        completed_at = "now()" if status == "completed" else "NULL"
        cancelled_at = "now()" if status == "cancelled" else "NULL"
        self.stack.psql(
            "INSERT INTO booking.bookings (id, reference, user_id, guest_name, guest_email, listing_id, "
            "listing_title, operator_id, unit_id, unit_name, check_in, check_out, guests, quantity, status, "
            "currency, total, price_breakdown, free_cancellation_hours, refund_percent_after, timezone, "
            "hold_expires_at, completed_at, cancelled_at) VALUES ("
            f"'{booking_id}', '{ref}', '{traveller['id']}', {sql_text(name)}, 'guest@example.com', '{listing_id}', "
            f"'Harbour View Rooms', '{operator['id']}', '{uuid.uuid4()}', 'Double room', "
            "current_date - 5, current_date - 2, 2, 1, "
            f"'{status}', 'EUR', 36000, '[]', 24, 50, 'UTC', now() - interval '6 days', {completed_at}, "
            f"{cancelled_at})")
        return booking_id

    def submit(self, traveller, listing_id, booking_id, rating=4, title="Lovely stay", body="Clean and quiet.",
               **kw):
        return self.api("POST", f"/listings/{listing_id}/reviews",
                        {"booking_id": booking_id, "rating": rating, "title": title, "body": body},
                        token=traveller["token"], **kw)

    def review_of(self, traveller, listing_id, operator, rating=4, **kw):
        """A new completed booking of traveller's and its review (201); returns the review."""
        r = self.submit(traveller, listing_id, self.add_booking(traveller, listing_id, operator), rating, **kw)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def listing_with_operator(self):
        operator = self.register("operator")
        return operator, self.create_listing(operator)

    def reviews(self, listing_id, query=""):
        r = self.api("GET", f"/listings/{listing_id}/reviews{query}")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def all_pages(self, listing_id, sort, limit):
        """Every item of the list, page by page; asserts the last page has next_cursor null."""
        items, cursor, pages = [], None, 0
        while True:
            q = f"?sort={sort}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
            doc = self.reviews(listing_id, q)
            self.assertLessEqual(len(doc["items"]), limit)
            items += doc["items"]
            pages += 1
            cursor = doc["next_cursor"]
            if cursor is None:
                return items
            self.assertRegex(cursor, r"^[A-Za-z0-9_-]+$")  # URL-safe as it is
            self.assertLess(pages, 50, "the cursor does not advance")

    def listing_rating(self, listing_id):
        r = self.api("GET", f"/listings/{listing_id}")
        self.assertEqual(r.status, 200, r)
        return r.json()["rating"]

    def assert_invalid(self, r, field):
        doc = problem(self, r, 422, "validation_failed")
        self.assertIn(field, [e.get("field") for e in doc.get("errors", [])], doc)

    def review_count(self, listing_id):
        return int(self.stack.psql_value(f"SELECT count(*) FROM review.reviews WHERE listing_id = '{listing_id}'"))

    # -- submission ---------------------------------------------------------

    def test_review_of_a_completed_stay(self):
        operator, listing = self.listing_with_operator()
        traveller = self.register(name="Ana")
        booking = self.add_booking(traveller, listing, operator, guest_name="Ana Müller-Øby")
        request_id = f"review-{uuid.uuid4()}"
        r = self.submit(traveller, listing, booking, rating=5, title="  Wonderful  ",
                        body="Great breakfast.\nFriendly staff. ☀", headers={"X-Request-Id": request_id})
        self.assertEqual(r.status, 201, r)
        # The eligibility check carried the client's request id to the booking service.
        wait_until(lambda: any(l.get("msg") == "request" and l.get("request_id") == request_id and
                               l.get("path") == f"/internal/bookings/{booking}" for l in self.booking.logs()),
                   timeout=5, message="the booking lookup in the booking service's log with the request id")
        doc = r.json()
        self.assertEqual(set(doc), REVIEW_KEYS)
        self.assertEqual(doc["listing_id"], listing)
        self.assertEqual(doc["booking_id"], booking)
        self.assertEqual(doc["user_id"], traveller["id"])
        self.assertEqual(doc["author_name"], "Ana Müller-Øby")  # the booking's guest name, not the account's
        self.assertEqual(doc["rating"], 5)
        self.assertEqual(doc["title"], "Wonderful")  # trimmed
        self.assertEqual(doc["body"], "Great breakfast.\nFriendly staff. ☀")
        self.assertIsNone(doc["reply"])
        self.assertRegex(doc["created_at"], RFC3339_UTC)
        uuid.UUID(doc["id"])
        listed = self.reviews(listing)["items"]
        self.assertEqual(listed, [doc])

    def test_only_the_callers_completed_booking_of_this_listing_is_eligible(self):
        operator, listing = self.listing_with_operator()
        _, other_listing = self.listing_with_operator()
        traveller, stranger = self.register(), self.register()
        cases = {status: self.add_booking(traveller, listing, operator, status=status)
                 for status in STATUSES if status != "completed"}
        cases["another traveller's booking"] = self.add_booking(stranger, listing, operator)
        cases["a booking of another listing"] = self.add_booking(traveller, other_listing, operator)
        cases["an unknown booking"] = str(uuid.uuid4())
        for what, booking in cases.items():
            with self.subTest(what):
                problem(self, self.submit(traveller, listing, booking), 403, "not_eligible")
        self.assertEqual(self.review_count(listing), 0)
        # The same traveller with a completed booking of this listing may.
        self.assertEqual(self.submit(traveller, listing, self.add_booking(traveller, listing, operator)).status, 201)

    def test_one_review_per_booking(self):
        operator, listing = self.listing_with_operator()
        traveller = self.register()
        booking = self.add_booking(traveller, listing, operator)
        self.assertEqual(self.submit(traveller, listing, booking).status, 201)
        problem(self, self.submit(traveller, listing, booking, rating=1, title="Changed my mind"), 409,
                "already_reviewed")
        items = self.reviews(listing)["items"]
        self.assertEqual([i["rating"] for i in items], [4])

    def test_concurrent_submissions_for_one_booking_make_one_review(self):
        operator, listing = self.listing_with_operator()
        traveller = self.register()
        booking = self.add_booking(traveller, listing, operator)
        statuses, start = [], threading.Barrier(8)

        def go(i):
            start.wait()
            statuses.append(self.submit(traveller, listing, booking, rating=1 + i % 5).status)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(statuses), [201] + [409] * 7)
        self.assertEqual(self.review_count(listing), 1)
        self.assertEqual(self.reviews(listing)["summary"]["count"], 1)

    def test_validation(self):
        operator, listing = self.listing_with_operator()
        traveller = self.register()
        booking = self.add_booking(traveller, listing, operator)
        good = {"booking_id": booking, "rating": 4, "title": "Nice", "body": "Good."}
        cases = [
            ({"booking_id": None}, "booking_id"),
            ({"booking_id": "not-a-uuid"}, "booking_id"),
            ({"booking_id": 42}, "booking_id"),
            ({"rating": 0}, "rating"),
            ({"rating": 6}, "rating"),
            ({"rating": 4.5}, "rating"),
            ({"rating": "5"}, "rating"),
            ({"rating": None}, "rating"),
            ({"title": ""}, "title"),
            ({"title": "   "}, "title"),
            ({"title": "x" * 121}, "title"),
            ({"title": "tab\tinside"}, "title"),
            ({"title": 7}, "title"),
            ({"body": ""}, "body"),
            ({"body": "y" * 5001}, "body"),
            ({"body": "bell\u0007"}, "body"),
        ]
        for change, field in cases:
            with self.subTest(change=str(change)[:60]):
                body = dict(good, **change)
                if change.get(field, 0) is None:
                    del body[field]
                self.assert_invalid(self.api("POST", f"/listings/{listing}/reviews", body, token=traveller["token"]),
                                    field)
        # Validation comes before eligibility: an unknown booking with a bad rating is 422, not 403.
        self.assert_invalid(self.submit(traveller, listing, str(uuid.uuid4()), rating=9), "rating")
        # Every problem at once, each under its own field.
        doc = problem(self, self.api("POST", f"/listings/{listing}/reviews", {}, token=traveller["token"]), 422,
                      "validation_failed")
        self.assertEqual({e["field"] for e in doc["errors"]}, {"booking_id", "rating", "title", "body"})
        self.assertEqual(self.review_count(listing), 0)
        # Limits count characters, not bytes: 120 two-byte characters and 5000 three-byte ones are fine.
        r = self.submit(traveller, listing, booking, title="é" * 120, body="€" * 5000)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(len(r.json()["title"]), 120)

    def test_roles_and_paths(self):
        operator, listing = self.listing_with_operator()
        traveller = self.register()
        booking = self.add_booking(traveller, listing, operator)
        problem(self, self.api("POST", f"/listings/{listing}/reviews", {"booking_id": booking, "rating": 5,
                                                                         "title": "t", "body": "b"}), 401,
                "unauthorized")
        problem(self, self.submit(operator, listing, booking), 403, "forbidden")
        problem(self, self.submit(traveller, "not-a-listing", booking), 404, "not_found")
        problem(self, self.api("GET", "/listings/not-a-listing/reviews"), 404, "not_found")
        self.assertEqual(self.review_count(listing), 0)

    def test_internal_booking_lookup(self):
        operator, listing = self.listing_with_operator()
        traveller = self.register()
        booking = self.add_booking(traveller, listing, operator, status="confirmed", guest_name="Zoë O'Neil")
        secret = {"X-Roam-Internal": self.stack.internal_secret}
        r = self.booking.get(f"/internal/bookings/{booking}", headers=secret)
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        ref, unit_id = self.stack.psql(f"SELECT reference, unit_id FROM booking.bookings WHERE id = '{booking}'")[0]
        check_in, check_out = self.stack.psql("SELECT current_date - 5, current_date - 2")[0]
        expected = {"id": booking, "reference": ref, "user_id": traveller["id"],
                    "guest": {"name": "Zoë O'Neil", "email": "guest@example.com"},
                    "listing_id": listing, "listing_title": "Harbour View Rooms",
                    "operator_id": operator["id"], "unit_id": unit_id, "status": "confirmed",
                    "check_in": check_in, "check_out": check_out}
        # The booking service adds members for the payment service (total, hold_expires_at, ...): these stay.
        self.assertEqual({k: doc.get(k) for k in expected}, expected, doc)
        problem(self, self.booking.get(f"/internal/bookings/{uuid.uuid4()}", headers=secret), 404, "not_found")
        problem(self, self.booking.get("/internal/bookings/RM-123456", headers=secret), 404, "not_found")
        # Only other services (the secret) get an answer; the gateway never forwards /internal.
        problem(self, self.booking.get(f"/internal/bookings/{booking}"), 404, "not_found")
        problem(self, self.booking.get(f"/internal/bookings/{booking}", headers={"X-Roam-Internal": "x" * 48}),
                404, "not_found")
        problem(self, self.api("GET", f"/internal/bookings/{booking}", token=traveller["token"]), 404, "not_found")

    # -- the list -----------------------------------------------------------

    def test_summary_histogram_and_average(self):
        operator, listing = self.listing_with_operator()
        empty = self.reviews(listing)
        self.assertEqual(empty, {"items": [], "next_cursor": None,
                                 "summary": {"average": None, "count": 0,
                                             "histogram": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}})
        ratings = []
        for rating in (5, 5, 4, 3):  # 17 / 4 = 4.25: rounds half up to 4.3
            self.review_of(self.register(), listing, operator, rating)
            ratings.append(rating)
        summary = self.reviews(listing)["summary"]
        self.assertEqual(summary["average"], rounded_average(ratings))
        self.assertEqual(summary["average"], 4.3)
        self.assertEqual(summary["count"], 4)
        self.assertEqual(summary["histogram"], {"1": 0, "2": 0, "3": 1, "4": 1, "5": 2})
        # The raw JSON says 4.3, not 4.2999999999999998.
        raw = self.api("GET", f"/listings/{listing}/reviews").text
        self.assertIn('"average":4.3,', raw.replace(" ", ""))
        self.review_of(self.register(), listing, operator, 1)
        ratings.append(1)
        summary = self.reviews(listing)["summary"]
        self.assertEqual(summary["average"], rounded_average(ratings))  # 18 / 5 = 3.6
        self.assertEqual(summary["histogram"]["1"], 1)

    def test_unknown_listing_has_no_reviews(self):
        doc = self.reviews(str(uuid.uuid4()))
        self.assertEqual(doc["items"], [])
        self.assertIsNone(doc["next_cursor"])
        self.assertEqual(doc["summary"]["count"], 0)

    def test_sorts_and_pagination(self):
        operator, listing = self.listing_with_operator()
        made = [self.review_of(self.register(), listing, operator, rating)
                for rating in (3, 5, 1, 5, 4, 3, 2, 5, 3)]
        newest = list(reversed(made))  # created one after another
        expected = {
            "newest": newest,
            # Within one rating, newest first.
            "rating_desc": sorted(newest, key=lambda r: -r["rating"]),
            "rating_asc": sorted(newest, key=lambda r: r["rating"]),
        }
        for sort, want in expected.items():
            for limit in (1, 2, 4, 100):
                with self.subTest(sort=sort, limit=limit):
                    got = self.all_pages(listing, sort, limit)
                    self.assertEqual([r["id"] for r in got], [r["id"] for r in want])
        self.assertEqual([r["id"] for r in self.reviews(listing)["items"]], [r["id"] for r in newest])  # default
        page = self.reviews(listing, "?limit=3")
        self.assertEqual(len(page["items"]), 3)
        self.assertEqual(page["summary"]["count"], len(made))  # the summary covers every review, not the page

    def test_pages_neither_repeat_nor_skip_under_inserts(self):
        operator, listing = self.listing_with_operator()
        before = [self.review_of(self.register(), listing, operator, 1 + i % 5) for i in range(6)]
        for sort in ("newest", "rating_desc", "rating_asc"):
            with self.subTest(sort=sort):
                seen, cursor = [], None
                while True:
                    doc = self.reviews(listing, f"?sort={sort}&limit=2" + (f"&cursor={cursor}" if cursor else ""))
                    seen += [r["id"] for r in doc["items"]]
                    # Someone reviews while we page.
                    self.review_of(self.register(), listing, operator, 3)
                    cursor = doc["next_cursor"]
                    if cursor is None:
                        break
                self.assertEqual(len(seen), len(set(seen)), "a review came twice")
                self.assertTrue({r["id"] for r in before} <= set(seen), "a review was skipped")

    def test_bad_list_parameters(self):
        operator, listing = self.listing_with_operator()
        for i in range(3):
            self.review_of(self.register(), listing, operator, 5)
        cursor = self.reviews(listing, "?sort=rating_desc&limit=1")["next_cursor"]
        self.assertIsNotNone(cursor)
        cases = [("?sort=oldest", "sort"), ("?limit=0", "limit"), ("?limit=101", "limit"), ("?limit=ten", "limit"),
                 ("?limit=-1", "limit"), ("?cursor=garbage!", "cursor"), ("?cursor=e30", "cursor"),
                 (f"?sort=newest&cursor={cursor}", "cursor"), (f"?cursor={cursor}", "cursor")]
        for query, field in cases:
            with self.subTest(query=query):
                self.assert_invalid(self.api("GET", f"/listings/{listing}/reviews{query}"), field)
        self.assertEqual(len(self.reviews(listing, f"?sort=rating_desc&cursor={cursor}")["items"]), 2)
        self.assertEqual(len(self.reviews(listing, "?limit=100")["items"]), 3)

    # -- replies ------------------------------------------------------------

    def test_reply_by_the_listings_operator(self):
        operator, listing = self.listing_with_operator()
        other_operator = self.register("operator")
        traveller = self.register()
        review = self.review_of(traveller, listing, operator)
        path = f"/reviews/{review['id']}/reply"

        problem(self, self.api("POST", path, {"body": "Not mine"}, token=other_operator["token"]), 404, "not_found")
        problem(self, self.api("POST", path, {"body": "Me"}, token=traveller["token"]), 403, "forbidden")
        problem(self, self.api("POST", path, {"body": "Anyone"}), 401, "unauthorized")
        self.assert_invalid(self.api("POST", path, {"body": "  "}, token=operator["token"]), "body")
        self.assert_invalid(self.api("POST", path, {"body": "z" * 5001}, token=operator["token"]), "body")
        self.assert_invalid(self.api("POST", path, {}, token=operator["token"]), "body")
        problem(self, self.api("POST", f"/reviews/{uuid.uuid4()}/reply", {"body": "?"}, token=operator["token"]),
                404, "not_found")
        problem(self, self.api("POST", "/reviews/nope/reply", {"body": "?"}, token=operator["token"]), 404,
                "not_found")

        r = self.api("POST", path, {"body": " Thank you, come back soon! "}, token=operator["token"])
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(set(doc), REVIEW_KEYS)
        self.assertEqual(set(doc["reply"]), {"body", "created_at"})
        self.assertEqual(doc["reply"]["body"], "Thank you, come back soon!")
        self.assertRegex(doc["reply"]["created_at"], RFC3339_UTC)
        self.assertEqual({k: v for k, v in doc.items() if k != "reply"},
                         {k: v for k, v in review.items() if k != "reply"})
        self.assertEqual(self.reviews(listing)["items"][0]["reply"], doc["reply"])

        problem(self, self.api("POST", path, {"body": "Again"}, token=operator["token"]), 409, "already_replied")
        self.assertEqual(self.reviews(listing)["items"][0]["reply"]["body"], "Thank you, come back soon!")

    def test_concurrent_replies_make_one(self):
        operator, listing = self.listing_with_operator()
        review = self.review_of(self.register(), listing, operator)
        statuses, start = [], threading.Barrier(6)

        def go(i):
            start.wait()
            statuses.append(self.api("POST", f"/reviews/{review['id']}/reply", {"body": f"Reply {i}"},
                                     token=operator["token"]).status)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(statuses), [200] + [409] * 5)

    # -- moderation ---------------------------------------------------------

    def test_hide_by_an_admin(self):
        operator, listing = self.listing_with_operator()
        traveller = self.register()
        kept = self.review_of(self.register(), listing, operator, 5)
        hidden = self.review_of(traveller, listing, operator, 1)
        self.assertEqual(self.reviews(listing)["summary"]["count"], 2)
        path = f"/reviews/{hidden['id']}/hide"

        problem(self, self.api("POST", path, token=traveller["token"]), 403, "forbidden")
        problem(self, self.api("POST", path, token=operator["token"]), 403, "forbidden")
        problem(self, self.api("POST", path), 401, "unauthorized")
        problem(self, self.api("POST", f"/reviews/{uuid.uuid4()}/hide", token=self.admin), 404, "not_found")
        self.assertEqual(self.reviews(listing)["summary"]["count"], 2)

        r = self.api("POST", path, token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), hidden)
        doc = self.reviews(listing)
        self.assertEqual([i["id"] for i in doc["items"]], [kept["id"]])
        self.assertEqual(doc["summary"], {"average": 5.0, "count": 1,
                                          "histogram": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}})
        for sort in ("rating_asc", "rating_desc"):
            self.assertEqual([i["id"] for i in self.reviews(listing, f"?sort={sort}")["items"]], [kept["id"]])

        # Idempotent: a second hide answers the review again and changes nothing.
        r = self.api("POST", path, token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["id"], hidden["id"])
        self.assertEqual(self.reviews(listing)["summary"]["count"], 1)
        # A hidden review takes no reply, and its booking stays reviewed.
        problem(self, self.api("POST", f"/reviews/{hidden['id']}/reply", {"body": "Hm"}, token=operator["token"]),
                404, "not_found")
        problem(self, self.submit(traveller, listing, hidden["booking_id"]), 409, "already_reviewed")

    # -- the booking service down or stuck ------------------------------------

    def test_booking_service_stopped_is_503(self):
        operator, listing = self.listing_with_operator()
        traveller = self.register()
        booking = self.add_booking(traveller, listing, operator)
        self.booking.stop()
        try:
            problem(self, self.submit(traveller, listing, booking), 503, "upstream_unavailable")
        finally:
            self.booking.start()
        self.assertEqual(self.review_count(listing), 0)
        self.assertEqual(self.submit(traveller, listing, booking).status, 201)

    def test_booking_service_stuck_is_504(self):
        operator, listing = self.listing_with_operator()
        traveller = self.register()
        booking = self.add_booking(traveller, listing, operator)
        os.kill(self.booking.proc.pid, signal.SIGSTOP)  # accepts connections (the kernel does), answers nothing
        try:
            started = time.monotonic()
            problem(self, self.submit(traveller, listing, booking), 504, "upstream_timeout")
            self.assertLess(time.monotonic() - started, 4 * BOOKING_TIMEOUT_MS / 1000 + 2)
        finally:
            os.kill(self.booking.proc.pid, signal.SIGCONT)
        self.assertEqual(self.review_count(listing), 0)
        wait_until(lambda: self.submit(traveller, listing, booking).status == 201, timeout=10,
                   message="a review once the booking service answers again")

    # -- events and the listing's rating -------------------------------------

    def review_events(self, listing_id):
        return [m for m in self.stack.kafka_messages("reviews") if m.get("key") == listing_id]

    def test_listing_rating_follows_reviews_and_hides(self):
        operator, listing = self.listing_with_operator()
        self.assertEqual(self.listing_rating(listing), {"average": None, "count": 0})

        first = self.review_of(self.register(), listing, operator, 5)
        started = time.monotonic()
        wait_until(lambda: self.listing_rating(listing) == {"average": 5.0, "count": 1}, timeout=5,
                   message="the listing's rating after a review")
        second = self.review_of(self.register(), listing, operator, 2)
        wait_until(lambda: self.listing_rating(listing) == {"average": 3.5, "count": 2}, timeout=5,
                   message="the listing's rating after a second review")
        r = self.api("POST", f"/reviews/{first['id']}/hide", token=self.admin)
        self.assertEqual(r.status, 200, r)
        wait_until(lambda: self.listing_rating(listing) == {"average": 2.0, "count": 1}, timeout=5,
                   message="the listing's rating after a hide")
        print(f"\nrating followed two reviews and a hide in {time.monotonic() - started:.2f} s")

        # The events: keyed by listing, each with the listing's totals after the change, versions in order.
        events = wait_until(lambda: (lambda ev: ev if len(ev) >= 3 else None)(self.review_events(listing)),
                            timeout=5, message="three review events")
        docs = [json.loads(m["payload"]) for m in events]
        self.assertEqual([d["type"] for d in docs], ["review.created", "review.created", "review.hidden"])
        self.assertEqual([d["data"]["review_id"] for d in docs], [first["id"], second["id"], first["id"]])
        self.assertEqual([d["data"]["listing_rating"] for d in docs],
                         [{"count": 1, "sum": 5, "version": 1}, {"count": 2, "sum": 7, "version": 2},
                          {"count": 1, "sum": 2, "version": 3}])

    def test_redelivered_and_stale_events_change_nothing(self):
        operator, listing = self.listing_with_operator()
        first = self.review_of(self.register(), listing, operator, 4)
        self.review_of(self.register(), listing, operator, 2)
        self.assertEqual(self.api("POST", f"/reviews/{first['id']}/hide", token=self.admin).status, 200)
        wait_until(lambda: self.listing_rating(listing) == {"average": 2.0, "count": 1}, timeout=5,
                   message="the listing's rating after two reviews and a hide")
        events = wait_until(lambda: (lambda ev: ev if len(ev) >= 3 else None)(self.review_events(listing)),
                            timeout=5, message="three review events")
        created = events[0]["payload"]
        self.assertEqual(json.loads(created)["type"], "review.created")

        # The same event again (its id was claimed), and a copy under a new id (its version is old).
        copy = json.loads(created)
        copy["id"] = str(uuid.uuid4())
        self.stack.kafka_produce("reviews", created, key=listing)
        self.stack.kafka_produce("reviews", json.dumps(copy), key=listing)
        # A later event of the same listing (same partition) tells when both were handled.
        wait_until(lambda: self.stack.psql_value(
            "SELECT count(*) FROM inventory.processed_events "
            f"WHERE consumer = 'inventory.ratings' AND event_id = '{copy['id']}'") == "1", timeout=10,
            message="inventory handling the replayed copy")
        self.assertEqual(self.listing_rating(listing), {"average": 2.0, "count": 1})
        self.assertEqual(self.stack.psql_value(
            f"SELECT rating_version FROM inventory.listings WHERE id = '{listing}'"), "3")

        # An event for a listing inventory does not know is skipped, and later events still apply.
        stray = dict(copy, id=str(uuid.uuid4()), subject=str(uuid.uuid4()))
        stray["data"] = dict(copy["data"], listing_id=str(uuid.uuid4()),
                             listing_rating={"count": 1, "sum": 5, "version": 9})
        self.stack.kafka_produce("reviews", json.dumps(stray), key=stray["data"]["listing_id"])
        wait_until(lambda: any("unknown listing" in (l.get("msg") or "") and stray["id"] in l.get("msg", "")
                               for l in self.inventory.logs()), timeout=10,
                   message="inventory logging the event of an unknown listing")
        self.review_of(self.register(), listing, operator, 5)
        wait_until(lambda: self.listing_rating(listing) == {"average": 3.5, "count": 2}, timeout=5,
                   message="the listing's rating after one more review")

    def test_concurrent_reviews_of_one_listing_keep_exact_totals(self):
        operator, listing = self.listing_with_operator()
        travellers = [self.register() for _ in range(8)]
        bookings = [self.add_booking(t, listing, operator) for t in travellers]
        ratings = [1 + i % 5 for i in range(8)]
        statuses, start = [], threading.Barrier(8)

        def go(i):
            start.wait()
            statuses.append(self.submit(travellers[i], listing, bookings[i], rating=ratings[i]).status)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(statuses, [201] * 8)
        summary = self.reviews(listing)["summary"]
        self.assertEqual(summary["count"], 8)
        self.assertEqual(summary["average"], rounded_average(ratings))
        self.assertEqual(summary["histogram"], {str(k): ratings.count(k) for k in range(1, 6)})
        wait_until(lambda: self.listing_rating(listing) == {"average": rounded_average(ratings), "count": 8},
                   timeout=5, message="the listing's rating after eight concurrent reviews")
        # One listing's events are in the topic in version order, each version once.
        events = wait_until(lambda: (lambda ev: ev if len(ev) >= 8 else None)(self.review_events(listing)),
                            timeout=5, message="eight review events")
        versions = [json.loads(m["payload"])["data"]["listing_rating"]["version"] for m in events]
        self.assertEqual(versions, list(range(1, 9)))
        self.assertEqual(json.loads(events[-1]["payload"])["data"]["listing_rating"],
                         {"count": 8, "sum": sum(ratings), "version": 8})


if __name__ == "__main__":
    unittest.main()
