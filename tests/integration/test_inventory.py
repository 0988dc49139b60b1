"""The inventory service: listings, units, calendars, availability, quotes and
the internal holds API, including the overbooking guard under concurrency.

Public routes are called through the gateway (/api/v1), as clients meet them;
the internal holds API directly on the inventory daemon with the stack's
internal secret, as the booking service calls it. Dates are computed from
Python's zoneinfo (the system tzdata PostgreSQL uses too), never hard-coded.

Run: tests/run --integration -k Inventory
"""

import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from roamtest import StackTestCase, http

from tests.integration.test_platform import problem

API = "/api/v1"
PASSWORD = "correct horse battery"
CHEAP_ARGON2 = {"ROAM_ARGON2_MEMORY_KIB": "1024", "ROAM_ARGON2_ITERATIONS": "1"}
LISTING_KEYS = {"id", "operator_id", "title", "type", "description", "city", "country", "address", "latitude",
                "longitude", "timezone", "amenities", "photos", "currency", "cancellation_policy", "rating", "units",
                "status", "created_at"}
HOLD_KEYS = {"hold_id", "status", "listing", "unit", "check_in", "check_out", "guests", "quantity", "nights", "total",
             "free_cancellation_until"}
MISSING = object()


def today_in(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


def days(d: date, n: int) -> str:
    return (d + timedelta(days=n)).isoformat()


def dates(start: date, n: int) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


def free_cancellation_until(check_in: date, tz: str, hours: int) -> str:
    """Check-in at 00:00 in tz minus hours (absolute hours), as RFC 3339 UTC."""
    local = datetime(check_in.year, check_in.month, check_in.day, tzinfo=ZoneInfo(tz))
    return (local.astimezone(timezone.utc) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def listing_body(**over) -> dict:
    body = {
        "title": "Hotel du Lac",
        "type": "hotel",
        "description": "Rooms on the lake.\nBreakfast included.",
        "city": "Annecy",
        "country": "France",
        "timezone": "Europe/Paris",
        "address": "1 Quai Napoléon III",
        "latitude": 45.8992,
        "longitude": 6.1294,
        "amenities": ["wifi", "lake_view"],
        "photos": ["https://img.example.com/lac.jpg", "/photos/room.jpg"],
        "currency": "EUR",
        "cancellation_policy": {"free_cancellation_hours": 48, "refund_percent_after": 50},
    }
    for k, v in over.items():
        if v is MISSING:
            body.pop(k, None)
        else:
            body[k] = v
    return body


class InventoryTest(StackTestCase):
    """roam-inventory behind the gateway, with the real auth service issuing tokens."""

    @classmethod
    def setUpStack(cls, stack):
        stack.start_postgres()
        stack.start_redis()
        stack.start_broker(topics=["bookings", "payments", "reviews"])
        cls.auth = stack.start_daemon("auth", CHEAP_ARGON2)
        cls.inventory = stack.start_daemon("inventory")
        upstreams = {f"ROAM_{n.upper()}_URL": cls.auth.url for n in ("booking", "payment", "review", "notification")}
        cls.gateway = stack.start_daemon("gateway", dict(upstreams, ROAM_INVENTORY_URL=cls.inventory.url,
                                                         ROAM_RATE_LIMIT_RPS="100000"))
        cls.op_a = cls.register_user("operator")
        cls.op_b = cls.register_user("operator")
        cls.traveller = cls.register_user("traveller")

    # -- helpers ------------------------------------------------------------

    @classmethod
    def register_user(cls, role: str) -> dict:
        r = http("POST", cls.gateway.url + API + "/auth/register",
                 {"email": f"{role}-{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD, "name": "Test",
                  "role": role})
        assert r.status == 201, r
        doc = r.json()
        return {"token": doc["access_token"], "id": doc["user"]["id"]}

    def api(self, method, path, body=None, user=None, **kw):
        headers = {"Authorization": f"Bearer {user['token']}"} if user else None
        return http(method, self.gateway.url + API + path, body, headers=headers, **kw)

    def internal(self, method, path, body=None, **kw):
        return http(method, self.inventory.url + path, body, headers={"X-Roam-Internal": self.stack.internal_secret},
                    **kw)

    def assert_invalid(self, r, field):
        doc = problem(self, r, 422, "validation_failed")
        fields = [e.get("field") for e in doc.get("errors", [])]
        self.assertIn(field, fields, doc)
        return doc

    def create_listing(self, user=None, **over) -> dict:
        r = self.api("POST", "/listings", listing_body(**over), user or self.op_a)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def add_unit(self, listing, user=None, **over) -> dict:
        body = {"name": "Double room", "max_guests": 2, "quantity": 5,
                "base_price": {"amount": 12000, "currency": listing["currency"]}}
        body.update(over)
        r = self.api("POST", f"/listings/{listing['id']}/units", body, user or self.op_a)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def put_calendar(self, listing, unit, body, user=None):
        return self.api("PUT", f"/listings/{listing['id']}/units/{unit['id']}/calendar", body, user or self.op_a)

    def availability(self, listing, query="") -> list[dict]:
        r = self.api("GET", f"/listings/{listing['id']}/availability{query}")
        self.assertEqual(r.status, 200, r)
        return r.json()["items"]

    def available_by_date(self, listing, unit, start: date, n: int) -> dict:
        items = self.availability(listing, f"?unit_id={unit['id']}&from={start.isoformat()}&to={days(start, n)}")
        return {i["date"]: i["available"] for i in items}

    def quote(self, listing, unit, check_in, check_out, **extra):
        q = f"?unit_id={unit['id']}&check_in={check_in}&check_out={check_out}"
        for k, v in extra.items():
            q += f"&{k}={v}"
        return self.api("GET", f"/listings/{listing['id']}/quote{q}")

    def hold_body(self, listing, unit, check_in, check_out, **over):
        body = {"hold_id": str(uuid.uuid4()), "listing_id": listing["id"], "unit_id": unit["id"],
                "check_in": check_in, "check_out": check_out, "guests": 1, "quantity": 1}
        body.update(over)
        return body

    def calendar_rows(self, unit) -> dict:
        """{date: (quantity, held, booked)} straight from the database."""
        rows = self.stack.psql(f"SELECT day, quantity, held, booked FROM inventory.calendar_days "
                               f"WHERE unit_id = '{unit['id']}' ORDER BY day")
        return {d: (int(q), int(h), int(b)) for d, q, h, b in rows}

    # -- create and get ------------------------------------------------------

    def test_create_returns_the_full_listing_and_get_returns_it_too(self):
        before = datetime.now(timezone.utc).replace(microsecond=0)
        r = self.api("POST", "/listings", listing_body(title="  Hotel du Lac  ", timezone="europe/paris",
                                                       amenities=["wifi", "lake_view", "wifi"], unknown_member=1),
                     self.op_a)
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        self.assertEqual(set(doc), LISTING_KEYS, doc)
        self.assertEqual(str(uuid.UUID(doc["id"])), doc["id"])
        self.assertEqual(doc["operator_id"], self.op_a["id"])
        self.assertEqual(doc["title"], "Hotel du Lac")
        self.assertEqual(doc["type"], "hotel")
        self.assertEqual(doc["description"], "Rooms on the lake.\nBreakfast included.")
        self.assertEqual((doc["city"], doc["country"]), ("Annecy", "France"))
        self.assertEqual(doc["address"], "1 Quai Napoléon III")
        self.assertEqual((doc["latitude"], doc["longitude"]), (45.8992, 6.1294))
        self.assertEqual(doc["timezone"], "Europe/Paris")  # PostgreSQL's spelling
        self.assertEqual(doc["amenities"], ["wifi", "lake_view"])  # deduplicated, order kept
        self.assertEqual(doc["photos"], ["https://img.example.com/lac.jpg", "/photos/room.jpg"])
        self.assertEqual(doc["currency"], "EUR")
        self.assertEqual(doc["cancellation_policy"], {"free_cancellation_hours": 48, "refund_percent_after": 50})
        self.assertEqual(doc["rating"], {"average": None, "count": 0})
        self.assertEqual(doc["units"], [])
        self.assertEqual(doc["status"], "active")
        self.assertRegex(doc["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        created = datetime.strptime(doc["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        self.assertLessEqual(abs((created - before).total_seconds()), 60)

        r = self.api("GET", f"/listings/{doc['id']}")  # public: no token
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), doc)
        r = self.internal("GET", f"/internal/listings/{doc['id']}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), doc)

    def test_optional_members_take_their_defaults(self):
        body = listing_body(timezone=MISSING, address=MISSING, latitude=MISSING, longitude=MISSING,
                            amenities=MISSING, photos=MISSING)
        r = self.api("POST", "/listings", body, self.op_a)
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        self.assertEqual(doc["timezone"], "UTC")
        self.assertEqual((doc["address"], doc["latitude"], doc["longitude"]), (None, None, None))
        self.assertEqual((doc["amenities"], doc["photos"]), ([], []))
        # Lengths count characters: 200 two-byte characters are a valid title.
        doc = self.create_listing(title="é" * 200, latitude=-90, longitude=180)
        self.assertEqual(len(doc["title"]), 200)
        self.assertEqual((doc["latitude"], doc["longitude"]), (-90, 180))

    def test_every_listing_rule_answers_422_naming_the_field(self):
        operator = self.register_user("operator")
        cases = [
            ({"title": MISSING}, "title"),
            ({"title": "   "}, "title"),
            ({"title": "x" * 201}, "title"),
            ({"title": 5}, "title"),
            ({"title": "bad\u0007title"}, "title"),
            ({"type": "hostel"}, "type"),
            ({"type": MISSING}, "type"),
            ({"description": ""}, "description"),
            ({"description": "d" * 10001}, "description"),
            ({"city": ""}, "city"),
            ({"city": "c" * 101}, "city"),
            ({"country": MISSING}, "country"),
            ({"country": "c" * 101}, "country"),
            ({"timezone": "EST"}, "timezone"),
            ({"timezone": "UTC+3"}, "timezone"),
            ({"timezone": "CET"}, "timezone"),
            ({"timezone": "posix/Europe/Paris"}, "timezone"),
            ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
            ({"timezone": 1}, "timezone"),
            ({"address": "a" * 301}, "address"),
            ({"address": 12}, "address"),
            ({"latitude": 45.0, "longitude": MISSING}, "longitude"),
            ({"latitude": MISSING, "longitude": 6.0}, "latitude"),
            ({"latitude": 90.5}, "latitude"),
            ({"longitude": -180.01}, "longitude"),
            ({"latitude": "45.9"}, "latitude"),
            ({"amenities": "wifi"}, "amenities"),
            ({"amenities": ["wifi", "Pool"]}, "amenities.1"),
            ({"amenities": ["sea view"]}, "amenities.0"),
            ({"amenities": ["a" * 41]}, "amenities.0"),
            ({"amenities": [f"a{i}" for i in range(51)]}, "amenities"),
            ({"photos": ["ftp://img.example.com/a.jpg"]}, "photos.0"),
            ({"photos": ["/ok.jpg", "//evil.example.com/a.jpg"]}, "photos.1"),
            ({"photos": ["relative/a.jpg"]}, "photos.0"),
            ({"photos": ["https://"]}, "photos.0"),
            ({"photos": [f"/p{i}.jpg" for i in range(21)]}, "photos"),
            ({"currency": "eur"}, "currency"),
            ({"currency": "EURO"}, "currency"),
            ({"currency": "XXX"}, "currency"),
            ({"currency": MISSING}, "currency"),
            ({"cancellation_policy": MISSING}, "cancellation_policy"),
            ({"cancellation_policy": "flexible"}, "cancellation_policy"),
            ({"cancellation_policy": {"refund_percent_after": 0}}, "cancellation_policy.free_cancellation_hours"),
            ({"cancellation_policy": {"free_cancellation_hours": -1, "refund_percent_after": 0}},
             "cancellation_policy.free_cancellation_hours"),
            ({"cancellation_policy": {"free_cancellation_hours": 8761, "refund_percent_after": 0}},
             "cancellation_policy.free_cancellation_hours"),
            ({"cancellation_policy": {"free_cancellation_hours": 1.5, "refund_percent_after": 0}},
             "cancellation_policy.free_cancellation_hours"),
            ({"cancellation_policy": {"free_cancellation_hours": 24, "refund_percent_after": 101}},
             "cancellation_policy.refund_percent_after"),
        ]
        for over, field in cases:
            with self.subTest(field=field, over=str(over)[:80]):
                self.assert_invalid(self.api("POST", "/listings", listing_body(**over), operator), field)
        # Every problem at once, each with its field.
        doc = self.assert_invalid(self.api("POST", "/listings", {}, operator), "title")
        fields = {e["field"] for e in doc["errors"]}
        self.assertTrue({"title", "type", "description", "city", "country", "currency",
                         "cancellation_policy"} <= fields, fields)
        # None of it created anything.
        r = self.api("GET", "/operator/listings", user=operator)
        self.assertEqual(r.json()["items"], [], r)

    def test_only_operators_create_listings(self):
        problem(self, self.api("POST", "/listings", listing_body(), self.traveller), 403, "forbidden")
        problem(self, self.api("POST", "/listings", listing_body()), 401, "unauthorized")
        problem(self, self.api("GET", "/operator/listings", user=self.traveller), 403, "forbidden")

    def test_unknown_or_malformed_listing_id_is_404(self):
        for lid in (str(uuid.uuid4()), "not-a-uuid", "12345"):
            problem(self, self.api("GET", f"/listings/{lid}"), 404, "not_found")
            problem(self, self.api("GET", f"/listings/{lid}/availability"), 404, "not_found")

    # -- change and archive ---------------------------------------------------

    def test_patch_changes_only_what_is_given_with_the_same_rules(self):
        listing = self.create_listing()
        r = self.api("PATCH", f"/listings/{listing['id']}",
                     {"title": " Le Lac ", "address": None, "latitude": None, "longitude": None,
                      "amenities": ["spa"], "cancellation_policy": {"free_cancellation_hours": 0,
                                                                    "refund_percent_after": 0}}, self.op_a)
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc["title"], "Le Lac")
        self.assertEqual((doc["address"], doc["latitude"], doc["longitude"]), (None, None, None))
        self.assertEqual(doc["amenities"], ["spa"])
        self.assertEqual(doc["cancellation_policy"], {"free_cancellation_hours": 0, "refund_percent_after": 0})
        for key in ("description", "city", "country", "timezone", "photos", "currency", "type", "created_at"):
            self.assertEqual(doc[key], listing[key], key)
        self.assertEqual(self.api("GET", f"/listings/{listing['id']}").json(), doc)

        for body, field in [({"title": ""}, "title"), ({"type": "castle"}, "type"), ({"timezone": "PST"}, "timezone"),
                            ({"latitude": 10}, "longitude"), ({"currency": "ABC"}, "currency"),
                            ({"photos": ["javascript:alert(1)"]}, "photos.0"),
                            ({"cancellation_policy": {"free_cancellation_hours": 1}},
                             "cancellation_policy.refund_percent_after"), ({"title": None}, "title")]:
            with self.subTest(field=field):
                self.assert_invalid(self.api("PATCH", f"/listings/{listing['id']}", body, self.op_a), field)
        self.assertEqual(self.api("GET", f"/listings/{listing['id']}").json(), doc)

    def test_currency_changes_only_while_there_are_no_units(self):
        listing = self.create_listing()
        r = self.api("PATCH", f"/listings/{listing['id']}", {"currency": "CHF"}, self.op_a)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["currency"], "CHF")
        unit = self.add_unit(dict(listing, currency="CHF"))
        self.assert_invalid(self.api("PATCH", f"/listings/{listing['id']}", {"currency": "EUR"}, self.op_a),
                            "currency")
        # Naming the same currency again is no change.
        self.assertEqual(self.api("PATCH", f"/listings/{listing['id']}", {"currency": "CHF"}, self.op_a).status, 200)
        doc = self.api("GET", f"/listings/{listing['id']}").json()
        self.assertEqual(doc["currency"], "CHF")
        self.assertEqual(doc["units"][0]["base_price"], {"amount": 12000, "currency": "CHF"})
        self.assertEqual(doc["units"][0]["id"], unit["id"])

    def test_archive_is_204_and_the_listing_still_answers(self):
        listing = self.create_listing(timezone="UTC")
        unit = self.add_unit(listing)
        r = self.api("DELETE", f"/listings/{listing['id']}", user=self.op_a)
        self.assertEqual((r.status, r.body), (204, b""), r)
        self.assertEqual(self.api("DELETE", f"/listings/{listing['id']}", user=self.op_a).status, 204)
        r = self.api("GET", f"/listings/{listing['id']}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "archived")
        mine = self.api("GET", "/operator/listings?limit=100", user=self.op_a).json()["items"]
        self.assertIn(listing["id"], [l["id"] for l in mine])
        self.assertEqual(len(self.availability(listing)), 30)  # still answers
        today = today_in("UTC")
        q = self.quote(listing, unit, days(today, 3), days(today, 5))
        self.assertEqual(q.status, 200, q)
        self.assertFalse(q.json()["available"])
        r = self.internal("POST", "/internal/holds", self.hold_body(listing, unit, days(today, 3), days(today, 5)))
        problem(self, r, 409, "sold_out")

    def test_null_means_absent_on_create_and_default_on_patch(self):
        doc = self.create_listing(timezone=None, address=None, latitude=None, longitude=None, amenities=None,
                                  photos=None)
        self.assertEqual((doc["timezone"], doc["address"], doc["latitude"], doc["amenities"], doc["photos"]),
                         ("UTC", None, None, [], []))
        listing = self.create_listing(timezone="Etc/GMT+3")
        self.assertEqual(listing["timezone"], "Etc/GMT+3")
        r = self.api("PATCH", f"/listings/{listing['id']}", {"timezone": None, "photos": None}, self.op_a)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["timezone"], r.json()["photos"]), ("UTC", []))

    def test_an_archived_listing_can_still_be_edited_by_its_operator(self):
        listing = self.create_listing()
        self.assertEqual(self.api("DELETE", f"/listings/{listing['id']}", user=self.op_a).status, 204)
        r = self.api("PATCH", f"/listings/{listing['id']}", {"title": "Closed for good"}, self.op_a)
        self.assertEqual((r.status, r.json()["title"], r.json()["status"]), (200, "Closed for good", "archived"), r)
        unit = self.add_unit(listing)
        start = today_in("Europe/Paris") + timedelta(days=2)
        r = self.put_calendar(listing, unit, {"from": start.isoformat(), "to": days(start, 1), "closed": True})
        self.assertEqual(r.status, 200, r)

    def test_rating_average_is_rounded_to_one_decimal(self):
        listing = self.create_listing()
        # The review service's totals, as ratings.c applies them from review events.
        for count, total, average in ((4, 17, 4.3), (3, 13, 4.3), (3, 11, 3.7), (1, 5, 5)):
            self.stack.psql(f"UPDATE inventory.listings SET rating_count = {count}, rating_sum = {total} "
                            f"WHERE id = '{listing['id']}'")
            doc = self.api("GET", f"/listings/{listing['id']}").json()
            self.assertEqual(doc["rating"], {"average": average, "count": count})

    def test_another_operator_gets_404_and_changes_nothing(self):
        listing = self.create_listing()
        unit = self.add_unit(listing)
        start = today_in("Europe/Paris") + timedelta(days=5)
        before = self.api("GET", f"/listings/{listing['id']}").json()
        avail_before = self.availability(listing)
        b = self.op_b
        lid = listing["id"]
        problem(self, self.api("PATCH", f"/listings/{lid}", {"title": "Mine now"}, b), 404, "not_found")
        problem(self, self.api("DELETE", f"/listings/{lid}", user=b), 404, "not_found")
        problem(self, self.api("POST", f"/listings/{lid}/units",
                               {"name": "Extra", "max_guests": 2, "quantity": 1,
                                "base_price": {"amount": 1, "currency": "EUR"}}, b), 404, "not_found")
        problem(self, self.put_calendar(listing, unit, {"from": start.isoformat(), "to": days(start, 2),
                                                        "closed": True}, b), 404, "not_found")
        self.assertEqual(self.api("GET", f"/listings/{lid}").json(), before)
        self.assertEqual(self.availability(listing), avail_before)
        self.assertNotIn(lid, [l["id"] for l in self.api("GET", "/operator/listings", user=b).json()["items"]])

    # -- the operator's listings ----------------------------------------------

    def test_operator_listings_page_newest_first_without_repeats_or_gaps(self):
        op = self.register_user("operator")
        made = [self.create_listing(op, title=f"Listing {i}")["id"] for i in range(5)]
        self.create_listing(self.op_b)  # someone else's
        seen = []
        r = self.api("GET", "/operator/listings?limit=2", user=op)
        self.assertEqual(r.status, 200, r)
        page = r.json()
        self.assertEqual(set(page), {"items", "next_cursor"})
        seen += [l["id"] for l in page["items"]]
        # A listing created between pages belongs before the cursor: it neither repeats nor shifts anything.
        late = self.create_listing(op, title="Late")["id"]
        while page["next_cursor"]:
            self.assertRegex(page["next_cursor"], r"^[A-Za-z0-9_-]+$")
            r = self.api("GET", f"/operator/listings?limit=2&cursor={page['next_cursor']}", user=op)
            self.assertEqual(r.status, 200, r)
            page = r.json()
            seen += [l["id"] for l in page["items"]]
        self.assertEqual(seen, list(reversed(made)))
        first = self.api("GET", "/operator/listings", user=op).json()
        self.assertEqual([l["id"] for l in first["items"]], [late] + list(reversed(made)))
        self.assertIsNone(first["next_cursor"])
        self.assertEqual(set(first["items"][0]), LISTING_KEYS)
        for q in ("limit=0", "limit=101", "limit=abc", "limit=-1", "limit=2.5"):
            self.assert_invalid(self.api("GET", f"/operator/listings?{q}", user=op), "limit")
        for q in ("cursor=bogus", "cursor=MTIzOmFiYw"):
            self.assert_invalid(self.api("GET", f"/operator/listings?{q}", user=op), "cursor")
        # An empty parameter counts as absent.
        r = self.api("GET", "/operator/listings?limit=&cursor=", user=op)
        self.assertEqual([l["id"] for l in r.json()["items"]], [late] + list(reversed(made)), r)

    # -- units ------------------------------------------------------------------

    def test_units_are_created_and_listed(self):
        listing = self.create_listing()
        r = self.api("POST", f"/listings/{listing['id']}/units",
                     {"name": "  Twin room ", "description": "Two beds", "max_guests": 2, "quantity": 4,
                      "base_price": {"amount": 9900, "currency": "EUR"}}, self.op_a)
        self.assertEqual(r.status, 201, r)
        unit = r.json()
        self.assertEqual(set(unit), {"id", "name", "description", "max_guests", "quantity", "base_price"})
        self.assertEqual((unit["name"], unit["description"], unit["max_guests"], unit["quantity"]),
                         ("Twin room", "Two beds", 2, 4))
        self.assertEqual(unit["base_price"], {"amount": 9900, "currency": "EUR"})
        suite = self.add_unit(listing, name="Suite", quantity=0)
        self.assertIsNone(suite["description"])
        doc = self.api("GET", f"/listings/{listing['id']}").json()
        self.assertEqual(doc["units"], [unit, suite])

    def test_every_unit_rule_answers_422_naming_the_field(self):
        listing = self.create_listing()
        good = {"name": "Room", "max_guests": 2, "quantity": 1, "base_price": {"amount": 100, "currency": "EUR"}}
        cases = [
            ({"name": MISSING}, "name"), ({"name": " "}, "name"), ({"name": "n" * 101}, "name"),
            ({"description": "d" * 2001}, "description"), ({"description": 3}, "description"),
            ({"max_guests": 0}, "max_guests"), ({"max_guests": 51}, "max_guests"), ({"max_guests": "2"}, "max_guests"),
            ({"quantity": -1}, "quantity"), ({"quantity": 1001}, "quantity"), ({"quantity": MISSING}, "quantity"),
            ({"base_price": MISSING}, "base_price"), ({"base_price": 100}, "base_price"),
            ({"base_price": {"amount": 99.5, "currency": "EUR"}}, "base_price.amount"),
            ({"base_price": {"amount": -1, "currency": "EUR"}}, "base_price.amount"),
            ({"base_price": {"amount": 100}}, "base_price.currency"),
            ({"base_price": {"amount": 100, "currency": "USD"}}, "base_price.currency"),  # not the listing's
        ]
        for over, field in cases:
            body = dict(good)
            for k, v in over.items():
                if v is MISSING:
                    body.pop(k)
                else:
                    body[k] = v
            with self.subTest(field=field, over=str(over)):
                self.assert_invalid(self.api("POST", f"/listings/{listing['id']}/units", body, self.op_a), field)
        self.assertEqual(self.api("GET", f"/listings/{listing['id']}").json()["units"], [])

    # -- calendar and availability ----------------------------------------------

    def test_calendar_changes_show_in_availability(self):
        tz = "Asia/Tokyo"
        listing = self.create_listing(timezone=tz, currency="JPY")
        unit = self.add_unit(listing, quantity=4, base_price={"amount": 15000, "currency": "JPY"})
        start = today_in(tz) + timedelta(days=3)
        r = self.put_calendar(listing, unit, {"from": start.isoformat(), "to": days(start, 3),
                                              "price": {"amount": 18000, "currency": "JPY"}, "quantity": 2})
        self.assertEqual(r.status, 200, r)
        items = r.json()["items"]
        self.assertEqual([i["date"] for i in items], dates(start, 3))
        for i in items:
            self.assertEqual(i, {"unit_id": unit["id"], "date": i["date"], "available": 2,
                                 "price": {"amount": 18000, "currency": "JPY"}, "closed": False})
        r = self.put_calendar(listing, unit, {"from": days(start, 1), "to": days(start, 2), "closed": True})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["items"][0]["closed"], True)
        self.assertEqual(r.json()["items"][0]["price"]["amount"], 18000)  # untouched fields stay

        got = self.availability(listing, f"?from={days(start, -1)}&to={days(start, 4)}")
        self.assertEqual([(i["date"], i["available"], i["price"]["amount"], i["closed"]) for i in got], [
            (days(start, -1), 4, 15000, False),
            (days(start, 0), 2, 18000, False),
            (days(start, 1), 2, 18000, True),
            (days(start, 2), 2, 18000, False),
            (days(start, 3), 4, 15000, False),
        ])
        # Re-opening keeps the price and quantity set before.
        r = self.put_calendar(listing, unit, {"from": days(start, 1), "to": days(start, 2), "closed": False})
        self.assertEqual(r.json()["items"][0], {"unit_id": unit["id"], "date": days(start, 1), "available": 2,
                                                "price": {"amount": 18000, "currency": "JPY"}, "closed": False})

    def test_availability_defaults_order_and_limits(self):
        tz = "America/Los_Angeles"
        listing = self.create_listing(timezone=tz, currency="USD")
        first = self.add_unit(listing, name="A", quantity=2, base_price={"amount": 100, "currency": "USD"})
        second = self.add_unit(listing, name="B", quantity=3, base_price={"amount": 200, "currency": "USD"})
        items = self.availability(listing)
        today = today_in(tz)
        self.assertEqual([(i["unit_id"], i["date"]) for i in items],
                         [(first["id"], d) for d in dates(today, 30)] + [(second["id"], d) for d in dates(today, 30)])
        self.assertEqual(items[0]["price"], {"amount": 100, "currency": "USD"})
        self.assertEqual(items[30]["available"], 3)
        past = self.availability(listing, f"?unit_id={first['id']}&from={days(today, -3)}&to={days(today, -1)}")
        self.assertEqual([(i["date"], i["available"]) for i in past], [(days(today, -3), 2), (days(today, -2), 2)])
        only = self.availability(listing, f"?unit_id={second['id']}&from={today.isoformat()}&to={days(today, 366)}")
        self.assertEqual(len(only), 366)
        self.assertEqual({i["unit_id"] for i in only}, {second["id"]})
        lid = listing["id"]
        self.assert_invalid(self.api("GET", f"/listings/{lid}/availability?from={today}&to={days(today, 367)}"), "to")
        self.assert_invalid(self.api("GET", f"/listings/{lid}/availability?from={today}&to={today}"), "to")
        self.assert_invalid(self.api("GET", f"/listings/{lid}/availability?from=2026-02-30"), "from")
        self.assert_invalid(self.api("GET", f"/listings/{lid}/availability?to=tomorrow"), "to")
        self.assert_invalid(self.api("GET", f"/listings/{lid}/availability?from=9999-12-20"), "to")  # + 30 days
        self.assertEqual(len(self.availability(listing, "?from=0001-01-01&to=0001-01-03")), 4)  # 2 units
        self.assert_invalid(self.api("GET", f"/listings/{lid}/availability?unit_id=x"), "unit_id")
        problem(self, self.api("GET", f"/listings/{lid}/availability?unit_id={uuid.uuid4()}"), 404, "not_found")

    def test_every_calendar_rule_answers_422_naming_the_field(self):
        tz = "Europe/Paris"
        listing = self.create_listing(timezone=tz)
        unit = self.add_unit(listing)
        today = today_in(tz)
        t = today.isoformat()
        cases = [
            ({"from": t, "to": days(today, 1)}, ""),  # nothing to change
            ({"to": days(today, 1), "closed": True}, "from"),
            ({"from": t, "closed": True}, "to"),
            ({"from": "2026-13-01", "to": days(today, 1), "closed": True}, "from"),
            ({"from": t, "to": t, "closed": True}, "to"),
            ({"from": days(today, 2), "to": days(today, 1), "closed": True}, "to"),
            ({"from": t, "to": days(today, 367), "closed": True}, "to"),
            ({"from": days(today, -1), "to": days(today, 1), "closed": True}, "from"),
            ({"from": days(today, 300), "to": days(today, 367), "closed": True}, "to"),
            ({"from": t, "to": days(today, 1), "quantity": 1001}, "quantity"),
            ({"from": t, "to": days(today, 1), "quantity": -1}, "quantity"),
            ({"from": t, "to": days(today, 1), "closed": "yes"}, "closed"),
            ({"from": t, "to": days(today, 1), "price": {"amount": 1, "currency": "GBP"}}, "price.currency"),
            ({"from": t, "to": days(today, 1), "price": {"amount": 1.25, "currency": "EUR"}}, "price.amount"),
        ]
        for body, field in cases:
            with self.subTest(field=field, body=body):
                self.assert_invalid(self.put_calendar(listing, unit, body), field)
        self.assertEqual(self.calendar_rows(unit), {})
        # Today itself and today + 366 (exclusive end) are fine.
        r = self.put_calendar(listing, unit, {"from": t, "to": days(today, 366), "closed": False})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json()["items"]), 366)

    def test_calendar_of_a_unit_of_another_listing_is_404(self):
        listing = self.create_listing()
        other = self.create_listing()
        unit = self.add_unit(other)
        start = today_in("Europe/Paris") + timedelta(days=1)
        body = {"from": start.isoformat(), "to": days(start, 1), "closed": True}
        problem(self, self.put_calendar(listing, unit, body), 404, "not_found")
        problem(self, self.put_calendar(listing, {"id": str(uuid.uuid4())}, body), 404, "not_found")
        self.assertEqual(self.calendar_rows(unit), {})

    def test_lowering_quantity_below_what_is_held_is_409_and_changes_nothing(self):
        tz = "Europe/Paris"
        listing = self.create_listing(timezone=tz)
        unit = self.add_unit(listing, quantity=3)
        start = today_in(tz) + timedelta(days=10)
        r = self.internal("POST", "/internal/holds", self.hold_body(listing, unit, days(start, 1), days(start, 3),
                                                                    quantity=2, guests=4))
        self.assertEqual(r.status, 201, r)
        rows_before = self.calendar_rows(unit)
        avail_before = self.availability(listing, f"?from={start}&to={days(start, 4)}")
        r = self.put_calendar(listing, unit, {"from": start.isoformat(), "to": days(start, 4), "quantity": 1,
                                              "price": {"amount": 1, "currency": "EUR"}})
        problem(self, r, 409, "calendar_conflict")
        self.assertEqual(self.calendar_rows(unit), rows_before)
        self.assertEqual(self.availability(listing, f"?from={start}&to={days(start, 4)}"), avail_before)
        # Down to exactly what is held is fine: nothing left to sell on the held nights.
        r = self.put_calendar(listing, unit, {"from": start.isoformat(), "to": days(start, 4), "quantity": 2})
        self.assertEqual(r.status, 200, r)
        self.assertEqual([i["available"] for i in r.json()["items"]], [2, 0, 0, 2])

    # -- quotes -----------------------------------------------------------------------

    def test_quote_prices_a_stay_in_the_listings_time_zone(self):
        tz = "America/New_York"
        listing = self.create_listing(timezone=tz, currency="USD",
                                      cancellation_policy={"free_cancellation_hours": 30, "refund_percent_after": 20})
        unit = self.add_unit(listing, max_guests=3, quantity=4, base_price={"amount": 10000, "currency": "USD"})
        check_in = today_in(tz) + timedelta(days=20)
        r = self.put_calendar(listing, unit, {"from": days(check_in, 1), "to": days(check_in, 2),
                                              "price": {"amount": 12550, "currency": "USD"}})
        self.assertEqual(r.status, 200, r)
        r = self.quote(listing, unit, check_in.isoformat(), days(check_in, 3), guests=5, quantity=2)
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(set(doc), {"available", "total", "nights", "free_cancellation_until"})
        self.assertTrue(doc["available"])
        self.assertEqual(doc["nights"], [
            {"date": days(check_in, 0), "price": {"amount": 10000, "currency": "USD"}},
            {"date": days(check_in, 1), "price": {"amount": 12550, "currency": "USD"}},
            {"date": days(check_in, 2), "price": {"amount": 10000, "currency": "USD"}},
        ])
        self.assertEqual(doc["total"], {"amount": 2 * (10000 + 12550 + 10000), "currency": "USD"})
        self.assertEqual(doc["free_cancellation_until"], free_cancellation_until(check_in, tz, 30))
        # Defaults: one guest, one unit.
        r = self.quote(listing, unit, check_in.isoformat(), days(check_in, 1))
        self.assertEqual(r.json()["total"], {"amount": 10000, "currency": "USD"})
        # Nothing was held.
        self.assertEqual(set(self.available_by_date(listing, unit, check_in, 3).values()), {4})

    def test_quote_is_unavailable_not_an_error(self):
        tz = "Europe/Lisbon"
        listing = self.create_listing(timezone=tz, cancellation_policy={"free_cancellation_hours": 0,
                                                                         "refund_percent_after": 0})
        unit = self.add_unit(listing, max_guests=2, quantity=2)
        check_in = today_in(tz) + timedelta(days=7)
        q = lambda **kw: self.quote(listing, unit, kw.pop("ci", check_in.isoformat()),
                                    kw.pop("co", days(check_in, 3)), **kw).json()
        doc = q()
        self.assertTrue(doc["available"])
        self.assertIsNone(doc["free_cancellation_until"])
        self.assertFalse(q(guests=3)["available"])  # 2 per unit
        self.assertTrue(q(guests=3, quantity=2)["available"])
        self.assertFalse(q(quantity=3)["available"])  # only 2 units
        r = self.put_calendar(listing, unit, {"from": days(check_in, 1), "to": days(check_in, 2), "closed": True})
        self.assertEqual(r.status, 200, r)
        doc = q()
        self.assertFalse(doc["available"])  # closed in the middle of the stay
        self.assertEqual(len(doc["nights"]), 3)
        self.assertTrue(q(co=days(check_in, 1))["available"])  # the night before is open
        # Yesterday (listing time) is within the contract's window but not bookable.
        yesterday = today_in(tz) - timedelta(days=1)
        r = self.quote(listing, unit, yesterday.isoformat(), days(yesterday, 1))
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json()["available"])

    def test_every_quote_rule_answers_422_naming_the_field(self):
        listing = self.create_listing(timezone="UTC")
        unit = self.add_unit(listing)
        today = utc_today()
        lid, uid = listing["id"], unit["id"]
        ci, co = days(today, 5), days(today, 7)
        cases = [
            (f"unit_id={uid}&check_in={ci}&check_out={ci}", "check_out"),
            (f"unit_id={uid}&check_in={co}&check_out={ci}", "check_out"),
            (f"unit_id={uid}&check_in={ci}&check_out={days(today, 36)}", "check_out"),  # 31 nights
            (f"unit_id={uid}&check_in={days(today, -2)}&check_out={ci}", "check_in"),
            (f"unit_id={uid}&check_in={days(today, 380)}&check_out={days(today, 381)}", "check_out"),
            (f"unit_id={uid}&check_in=2026-02-29&check_out={co}", "check_in"),
            (f"unit_id={uid}&check_out={co}", "check_in"),
            (f"unit_id={uid}&check_in={ci}", "check_out"),
            (f"check_in={ci}&check_out={co}", "unit_id"),
            (f"unit_id=abc&check_in={ci}&check_out={co}", "unit_id"),
            (f"unit_id={uid}&check_in={ci}&check_out={co}&guests=0", "guests"),
            (f"unit_id={uid}&check_in={ci}&check_out={co}&guests=two", "guests"),
            (f"unit_id={uid}&check_in={ci}&check_out={co}&quantity=0", "quantity"),
            (f"unit_id={uid}&check_in={ci}&check_out={co}&quantity=1001", "quantity"),
            (f"unit_id={uid}&check_in={ci}&check_out={co}&quantity=1.5", "quantity"),
        ]
        for query, field in cases:
            with self.subTest(query=query):
                self.assert_invalid(self.api("GET", f"/listings/{lid}/quote?{query}"), field)
        # 30 nights are fine; an unknown unit is 404.
        self.assertEqual(self.api("GET", f"/listings/{lid}/quote?unit_id={uid}&check_in={ci}"
                                         f"&check_out={days(today, 35)}").status, 200)
        problem(self, self.api("GET", f"/listings/{lid}/quote?unit_id={uuid.uuid4()}&check_in={ci}&check_out={co}"),
                404, "not_found")

    def test_today_is_the_listings_date_around_the_date_line(self):
        """Kiritimati (UTC+14) and Pago Pago (UTC-11): at any moment at least one of them is not on UTC's date."""
        utc = utc_today()
        discriminated = False
        for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
            with self.subTest(tz=tz):
                local = today_in(tz)
                discriminated |= local != utc
                listing = self.create_listing(timezone=tz, currency="USD")
                unit = self.add_unit(listing, quantity=1, base_price={"amount": 500, "currency": "USD"})
                # Availability starts at the listing's today.
                self.assertEqual(self.availability(listing)[0]["date"], local.isoformat())
                # The calendar accepts today and refuses yesterday, in the listing's time.
                r = self.put_calendar(listing, unit, {"from": local.isoformat(), "to": days(local, 1),
                                                      "price": {"amount": 700, "currency": "USD"}})
                self.assertEqual(r.status, 200, r)
                self.assert_invalid(self.put_calendar(listing, unit, {"from": days(local, -1),
                                                                      "to": days(local, 1), "closed": True}), "from")
                # A stay from the listing's today is bookable, one from the day before is not.
                r = self.quote(listing, unit, local.isoformat(), days(local, 1))
                self.assertEqual(r.status, 200, r)
                self.assertTrue(r.json()["available"], r)
                self.assertEqual(r.json()["total"]["amount"], 700)
                r = self.quote(listing, unit, days(local, -1), local.isoformat())
                if local - timedelta(days=1) < utc - timedelta(days=1):
                    self.assert_invalid(r, "check_in")  # before yesterday in UTC: the contract's 422
                else:
                    self.assertEqual(r.status, 200, r)
                    self.assertFalse(r.json()["available"], r)
                # Holds follow the same date.
                r = self.internal("POST", "/internal/holds", self.hold_body(listing, unit, days(local, -1),
                                                                            local.isoformat()))
                problem(self, r, 409, "sold_out")
                r = self.internal("POST", "/internal/holds", self.hold_body(listing, unit, local.isoformat(),
                                                                            days(local, 1)))
                self.assertEqual(r.status, 201, r)
                # The last bookable night is today + 365, listing time.
                r = self.quote(listing, unit, days(local, 365), days(local, 366))
                self.assertTrue(r.json()["available"], r)
                r = self.quote(listing, unit, days(local, 365), days(local, 367))
                if local + timedelta(days=366) > utc + timedelta(days=366):
                    # East of UTC's date (Kiritimati from 10:00 UTC): that last night is more than 366 days
                    # after UTC's today, past the contract's window for everyone (422), not just this listing's.
                    self.assert_invalid(r, "check_out")
                else:
                    self.assertEqual(r.status, 200, r)
                    self.assertFalse(r.json()["available"], r)
        self.assertTrue(discriminated, "one of the two zones must be on another date than UTC")

    # -- holds ------------------------------------------------------------------------

    def test_fifty_concurrent_holds_never_oversell(self):
        tz = "Europe/Berlin"
        listing = self.create_listing(timezone=tz)
        unit = self.add_unit(listing, quantity=10)
        start = today_in(tz) + timedelta(days=30)
        r = self.put_calendar(listing, unit, {"from": start.isoformat(), "to": days(start, 3), "quantity": 3})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(self.available_by_date(listing, unit, start, 3).values()), {3})

        n = 50
        barrier = threading.Barrier(n)
        results = [None] * n

        def client(i):
            body = self.hold_body(listing, unit, start.isoformat(), days(start, 3))
            barrier.wait()
            try:
                results[i] = self.internal("POST", "/internal/holds", body, timeout=30)
            except Exception as e:  # noqa: BLE001 - recorded and asserted below
                results[i] = e

        threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        statuses = sorted(getattr(r, "status", repr(r)) for r in results)
        self.assertEqual(statuses.count(201), 3, statuses)
        self.assertEqual(statuses.count(409), n - 3, statuses)
        for r in results:
            if r.status == 409:
                self.assertEqual(r.json()["code"], "sold_out", r)
        self.assertEqual(self.available_by_date(listing, unit, start, 3), {d: 0 for d in dates(start, 3)})
        self.assertEqual(self.calendar_rows(unit), {d: (3, 3, 0) for d in dates(start, 3)})
        self.assertEqual(self.stack.psql_value(f"SELECT count(*) FROM inventory.holds WHERE unit_id = '{unit['id']}'"),
                         "3")

    def test_a_repeated_hold_holds_once(self):
        tz = "Europe/Rome"
        listing = self.create_listing(timezone=tz)
        unit = self.add_unit(listing, quantity=5, max_guests=2)
        start = today_in(tz) + timedelta(days=12)
        body = self.hold_body(listing, unit, start.isoformat(), days(start, 2), quantity=2, guests=3)
        r1 = self.internal("POST", "/internal/holds", body)
        self.assertEqual(r1.status, 201, r1)
        doc = r1.json()
        self.assertEqual(set(doc), HOLD_KEYS, doc)
        self.assertEqual(doc["hold_id"], body["hold_id"])
        self.assertEqual(doc["status"], "held")
        self.assertEqual(doc["listing"], {"id": listing["id"], "title": listing["title"],
                                          "operator_id": self.op_a["id"], "currency": "EUR", "timezone": tz,
                                          "cancellation_policy": listing["cancellation_policy"]})
        self.assertEqual(doc["unit"], {"id": unit["id"], "name": unit["name"], "max_guests": 2})
        self.assertEqual((doc["check_in"], doc["check_out"], doc["guests"], doc["quantity"]),
                         (start.isoformat(), days(start, 2), 3, 2))
        self.assertEqual(doc["nights"], [{"date": d, "price": {"amount": 12000, "currency": "EUR"}}
                                         for d in dates(start, 2)])
        self.assertEqual(doc["total"], {"amount": 48000, "currency": "EUR"})
        self.assertEqual(doc["free_cancellation_until"], free_cancellation_until(start, tz, 48))
        self.assertEqual(set(self.available_by_date(listing, unit, start, 2).values()), {3})

        # The same call again (a retry): the same body, nothing more held, even after a price change.
        r = self.put_calendar(listing, unit, {"from": start.isoformat(), "to": days(start, 2),
                                              "price": {"amount": 1, "currency": "EUR"}})
        self.assertEqual(r.status, 200, r)
        r2 = self.internal("POST", "/internal/holds", body)
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(r2.json(), doc)
        self.assertEqual(set(self.available_by_date(listing, unit, start, 2).values()), {3})
        self.assertEqual(self.internal("GET", f"/internal/holds/{body['hold_id']}").json(), doc)
        # The same id for something else is refused, and holds nothing.
        for change in ({"quantity": 1}, {"check_out": days(start, 3)}, {"guests": 4}):
            r = self.internal("POST", "/internal/holds", dict(body, **change))
            problem(self, r, 409, "hold_mismatch")
        self.assertEqual(set(self.available_by_date(listing, unit, start, 3).values()), {3, 5})

    def test_release_and_confirm_move_units_once(self):
        tz = "Australia/Sydney"
        listing = self.create_listing(timezone=tz, currency="AUD")
        unit = self.add_unit(listing, quantity=4, base_price={"amount": 20000, "currency": "AUD"})
        start = today_in(tz) + timedelta(days=40)
        avail = lambda: self.available_by_date(listing, unit, start, 3)
        first = self.hold_body(listing, unit, start.isoformat(), days(start, 3), quantity=2, guests=2)
        second = self.hold_body(listing, unit, start.isoformat(), days(start, 2), quantity=1)
        self.assertEqual(self.internal("POST", "/internal/holds", first).status, 201)
        self.assertEqual(self.internal("POST", "/internal/holds", second).status, 201)
        self.assertEqual(list(avail().values()), [1, 1, 2])

        # Confirm: held -> booked; availability stays down; again is a no-op.
        for _ in range(2):
            r = self.internal("POST", f"/internal/holds/{first['hold_id']}/confirm")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["status"], "booked")
            self.assertEqual(list(avail().values()), [1, 1, 2])
        rows = self.calendar_rows(unit)
        self.assertEqual([rows[d] for d in dates(start, 3)], [(4, 1, 2), (4, 1, 2), (4, 0, 2)])

        # Release of a held hold returns its units; again is a no-op.
        for _ in range(2):
            r = self.internal("POST", f"/internal/holds/{second['hold_id']}/release")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["status"], "released")
            self.assertEqual(list(avail().values()), [2, 2, 2])
        problem(self, self.internal("POST", f"/internal/holds/{second['hold_id']}/confirm"), 409, "hold_released")

        # Release of a booked hold (a cancellation) returns its units too.
        for _ in range(2):
            r = self.internal("POST", f"/internal/holds/{first['hold_id']}/release")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(list(avail().values()), [4, 4, 4])
        self.assertEqual(set(self.calendar_rows(unit).values()), {(4, 0, 0)})
        self.assertEqual(self.internal("GET", f"/internal/holds/{first['hold_id']}").json()["status"], "released")

        for path in (f"/internal/holds/{uuid.uuid4()}/release", f"/internal/holds/{uuid.uuid4()}/confirm",
                     "/internal/holds/nope/release"):
            problem(self, self.internal("POST", path), 404, "not_found")
        problem(self, self.internal("GET", f"/internal/holds/{uuid.uuid4()}"), 404, "not_found")

    def test_holds_refuse_what_cannot_be_sold(self):
        tz = "Asia/Kolkata"
        listing = self.create_listing(timezone=tz, currency="INR")
        unit = self.add_unit(listing, quantity=2, max_guests=2, base_price={"amount": 500000, "currency": "INR"})
        other = self.create_listing(timezone=tz, currency="INR")
        other_unit = self.add_unit(other, base_price={"amount": 1, "currency": "INR"})
        today = today_in(tz)
        start = today + timedelta(days=3)
        r = self.put_calendar(listing, unit, {"from": days(start, 1), "to": days(start, 2), "closed": True})
        self.assertEqual(r.status, 200, r)
        def hold(**kw):
            body = self.hold_body(listing, unit, start.isoformat(), days(start, 1))
            body.update(kw)
            return self.internal("POST", "/internal/holds", body)

        problem(self, hold(check_out=days(start, 3)), 409, "sold_out")  # a closed night inside
        problem(self, hold(quantity=3, guests=1), 409, "sold_out")  # more units than exist
        problem(self, hold(unit_id=other_unit["id"]), 409, "sold_out")  # another listing's unit
        problem(self, hold(check_in=days(today, -1), check_out=today.isoformat()), 409, "sold_out")
        problem(self, hold(check_in=days(today, 366), check_out=days(today, 367)), 409, "sold_out")
        problem(self, hold(listing_id=str(uuid.uuid4())), 404, "not_found")
        problem(self, hold(unit_id=str(uuid.uuid4())), 404, "not_found")
        self.assert_invalid(hold(guests=5, quantity=2), "guests")
        self.assert_invalid(hold(check_out=start.isoformat()), "check_out")
        self.assert_invalid(hold(check_out=days(start, 31)), "check_out")
        self.assert_invalid(hold(check_in="2026-02-30"), "check_in")
        self.assert_invalid(hold(hold_id="h-1"), "hold_id")
        self.assert_invalid(hold(quantity=0), "quantity")
        # Nothing of it held anything, and nothing was written to the calendar but the closed date.
        self.assertEqual(self.calendar_rows(unit), {days(start, 1): (2, 0, 0)})
        self.assertEqual(self.stack.psql_value(f"SELECT count(*) FROM inventory.holds WHERE listing_id = "
                                               f"'{listing['id']}'"), "0")
        # The last bookable night (today + 365) is fine; a stay may straddle a row and a missing row.
        r = hold(check_in=days(today, 365), check_out=days(today, 366))
        self.assertEqual(r.status, 201, r)
        r = hold(check_in=start.isoformat(), check_out=days(start, 1), quantity=2, guests=4)
        self.assertEqual(r.status, 201, r)

    def test_internal_routes_are_hidden(self):
        listing = self.create_listing()
        for method, path in (("POST", "/internal/holds"), ("GET", f"/internal/holds/{uuid.uuid4()}"),
                             ("GET", f"/internal/listings/{listing['id']}"),
                             ("POST", f"/internal/holds/{uuid.uuid4()}/release")):
            with self.subTest(path=path):
                # Through the gateway, with or without a token: the route does not exist.
                problem(self, self.api(method, path, {} if method == "POST" else None, self.op_a), 404, "not_found")
                # Directly, without the secret or with a wrong one: it does not exist either.
                r = http(method, self.inventory.url + path, {} if method == "POST" else None)
                problem(self, r, 404, "not_found")
                r = http(method, self.inventory.url + path, {} if method == "POST" else None,
                         headers={"X-Roam-Internal": "x" * 48})
                problem(self, r, 404, "not_found")
        self.assertEqual(self.internal("GET", f"/internal/listings/{listing['id']}").status, 200)
