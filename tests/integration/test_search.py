"""Search (GET /listings) and destination suggestions (GET /listings/suggest).

Every call goes through the gateway to the real inventory daemon, backed by
PostgreSQL; listings, units and calendars are created through the API as an
operator would. Only ratings are written with SQL (they come from review
events, which these tests do not produce).

The tests share one database, so each one scopes its searches to listings
only it made: a city or a title word with a random token in it. Dates are
computed from today (UTC), at least ten days ahead so that every time zone
agrees on them.

Run: tests/run --integration -k Search
"""

import base64
import json
import urllib.parse
import uuid
from datetime import date, datetime, timedelta, timezone

from roamtest import StackTestCase, http

from tests.integration.test_platform import problem

API = "/api/v1"
PASSWORD = "correct horse battery"
CHEAP_ARGON2 = {"ROAM_ARGON2_MEMORY_KIB": "1024", "ROAM_ARGON2_ITERATIONS": "1"}
ITEM_KEYS = {"id", "title", "type", "city", "country", "rating", "price_from", "free_cancellation", "thumbnail_url"}


def token() -> str:
    """A random lower-case word, unique enough to scope a test's searches."""
    return "t" + uuid.uuid4().hex[:10]


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


def day(n: int) -> str:
    """Today (UTC) plus n days, YYYY-MM-DD."""
    return (utc_today() + timedelta(days=n)).isoformat()


class SearchTest(StackTestCase):
    @classmethod
    def setUpStack(cls, stack):
        stack.start_postgres()
        stack.start_redis()
        stack.start_broker(topics=["bookings", "payments", "reviews"])
        auth = stack.start_daemon("auth", CHEAP_ARGON2)
        cls.inventory = stack.start_daemon("inventory")
        upstreams = {f"ROAM_{n.upper()}_URL": auth.url for n in ("booking", "payment", "review", "notification")}
        cls.gateway = stack.start_daemon("gateway", dict(upstreams, ROAM_INVENTORY_URL=cls.inventory.url,
                                                         ROAM_RATE_LIMIT_RPS="100000"))
        r = http("POST", cls.gateway.url + API + "/auth/register",
                 {"email": f"op-{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD, "name": "Operator",
                  "role": "operator"})
        assert r.status == 201, r
        cls.op = {"Authorization": "Bearer " + r.json()["access_token"]}

    # -- helpers ------------------------------------------------------------

    def api(self, method, path, body=None, auth=False):
        return http(method, self.gateway.url + API + path, body, headers=self.op if auth else None)

    def listing(self, city, title="Hotel Central", units=((2, 3, 10000),), **over) -> dict:
        """Creates a listing with units (max_guests, quantity, base price); returns it with "units" filled."""
        body = {"title": title, "type": "hotel", "description": "A comfortable place to stay.", "city": city,
                "country": "Testland", "timezone": "UTC", "currency": "EUR", "photos": ["/demo/photos/a.svg"],
                "cancellation_policy": {"free_cancellation_hours": 24, "refund_percent_after": 50}}
        body.update(over)
        r = self.api("POST", "/listings", body, auth=True)
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        doc["units"] = [self.unit(doc, g, q, p) for g, q, p in units]
        return doc

    def unit(self, listing, max_guests=2, quantity=3, price=10000) -> dict:
        r = self.api("POST", f"/listings/{listing['id']}/units",
                     {"name": "Room", "max_guests": max_guests, "quantity": quantity,
                      "base_price": {"amount": price, "currency": listing["currency"]}}, auth=True)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def calendar(self, listing, unit, start, end, **fields):
        """PUT calendar over [start, end) (ints: days from today); price is an amount in the listing's currency."""
        body = {"from": day(start), "to": day(end)}
        if "price" in fields:
            body["price"] = {"amount": fields.pop("price"), "currency": listing["currency"]}
        body.update(fields)
        r = self.api("PUT", f"/listings/{listing['id']}/units/{unit['id']}/calendar", body, auth=True)
        self.assertEqual(r.status, 200, r)

    def rate(self, listing, count, total):
        """Sets a listing's rating totals (normally maintained from review events)."""
        self.stack.psql(f"UPDATE inventory.listings SET rating_count = {count}, rating_sum = {total} "
                        f"WHERE id = '{listing['id']}'")

    def get(self, path, **params):
        return http("GET", self.gateway.url + API + path + "?" + urllib.parse.urlencode(params))

    def search(self, **params) -> dict:
        r = self.get("/listings", **params)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        doc = r.json()
        self.assertEqual(set(doc), {"items", "next_cursor"}, doc)
        return doc

    def ids(self, **params) -> list[str]:
        params.setdefault("limit", 100)
        return [i["id"] for i in self.search(**params)["items"]]

    def walk(self, limit, **params) -> tuple[list[str], int]:
        """Every page of a search: the ids in order and the number of pages."""
        seen, cursor, pages = [], None, 0
        while True:
            q = dict(params, limit=limit)
            if cursor:
                q["cursor"] = cursor
            doc = self.search(**q)
            seen += [i["id"] for i in doc["items"]]
            pages += 1
            cursor = doc["next_cursor"]
            if cursor is None:
                return seen, pages
            self.assertLessEqual(pages, 100, "the pages never end")

    def assert_invalid(self, r, field):
        doc = problem(self, r, 422, "validation_failed")
        fields = [e.get("field") for e in doc.get("errors", [])]
        self.assertIn(field, fields, doc)
        return doc

    # -- text --------------------------------------------------------------------

    def test_accents_and_case_do_not_matter(self):
        t = token()
        zurich = self.listing("Zürich", title=f"Seehotel {t}", country="Switzerland")
        sao = self.listing("São Paulo", title=f"Pousada {t}", country="Brazil")
        for q in ("zurich", "Zürich", "ZÜRICH", "zur"):  # the last word also matches as a prefix
            self.assertEqual(self.ids(q=f"{t} {q}"), [zurich["id"]], q)
        for q in ("sao paulo", "São Paulo", "SAO PAULO", "paulo sao"):
            self.assertEqual(self.ids(q=f"{q} {t}"), [sao["id"]], q)
        # The city and country filters fold the same way.
        self.assertEqual(self.ids(q=t, city="zurich"), [zurich["id"]])
        self.assertEqual(self.ids(q=t, city="ZÜRICH"), [zurich["id"]])
        self.assertEqual(self.ids(q=t, city="sao paulo", country="brazil"), [sao["id"]])
        self.assertEqual(self.ids(q=t, city="sao"), [])  # the city filter is not a prefix search
        # Accents in the listing's title are folded too.
        cafe = self.listing(f"Lyon {t}", title="Café Crème Résidence")
        self.assertEqual(self.ids(q="cafe creme", city=f"lyon {t}"), [cafe["id"]])

    def test_text_searches_title_description_and_city_and_ranks_the_title_first(self):
        t = token()
        city = f"Rankton {t}"
        in_description = self.listing(city, title="Quiet rooms", description=f"Next to the lighthouse {t}.")
        in_title = self.listing(city, title=f"Lighthouse {t}", description="Rooms by the sea.")
        in_city = self.listing(f"Lighthouse {t} Bay", title="Harbour rooms")
        self.listing(city, title="Unrelated", description="Nothing to see.")
        found = self.ids(q=f"lighthouse {t}")
        self.assertEqual(set(found), {in_description["id"], in_title["id"], in_city["id"]})
        self.assertEqual(found[0], in_title["id"])  # title (A) before city (B) before description (C)
        self.assertEqual(found, [in_title["id"], in_city["id"], in_description["id"]])
        # Every word must match; none here is in any listing.
        self.assertEqual(self.ids(q=f"lighthouse {t} xylophone"), [])
        # A query of punctuation only finds nothing (and is not an error).
        self.assertEqual(self.ids(q="!!! ::", city=city), [])

    # -- filters -----------------------------------------------------------------

    def test_city_country_and_type_filters(self):
        t = token()
        a = self.listing(f"Alpha {t}", country=f"Westland {t}")
        b = self.listing(f"Beta {t}", country=f"Westland {t}", type="apartment")
        c = self.listing(f"Alpha {t}", country=f"Eastland {t}", type="tour")
        self.assertEqual(set(self.ids(city=f"alpha {t}")), {a["id"], c["id"]})
        self.assertEqual(set(self.ids(country=f"WESTLAND {t}")), {a["id"], b["id"]})
        self.assertEqual(self.ids(city=f"Alpha {t}", country=f"Eastland {t}"), [c["id"]])
        self.assertEqual(self.ids(country=f"Westland {t}", type="apartment"), [b["id"]])
        self.assertEqual(self.ids(country=f"Westland {t}", type="activity"), [])

    def test_guests_need_one_unit_big_enough(self):
        city = f"Guestville {token()}"
        small = self.listing(city, units=((2, 5, 10000),))
        family = self.listing(city, units=((2, 5, 9000), (4, 1, 20000)))
        self.assertEqual(set(self.ids(city=city)), {small["id"], family["id"]})
        self.assertEqual(self.ids(city=city, guests=3), [family["id"]])
        self.assertEqual(self.ids(city=city, guests=5), [])
        # price_from counts only the units that fit: the family room, not the cheaper double.
        item = self.search(city=city, guests=4)["items"][0]
        self.assertEqual(item["price_from"], {"amount": 20000, "currency": "EUR"})
        stay = self.search(city=city, guests=4, check_in=day(20), check_out=day(22))["items"]
        self.assertEqual([(i["id"], i["price_from"]["amount"]) for i in stay], [(family["id"], 40000)])
        self.assertEqual(self.ids(city=city, guests=5, check_in=day(20), check_out=day(22)), [])

    def test_price_range_needs_a_currency_and_currency_filters_alone(self):
        city = f"Pricetown {token()}"
        cheap = self.listing(city, units=((2, 1, 5000),))
        mid = self.listing(city, units=((2, 1, 10000),))
        dear = self.listing(city, units=((2, 1, 20000),))
        chf = self.listing(city, currency="CHF", units=((2, 1, 10000),))
        self.assertEqual(set(self.ids(city=city, currency="EUR")), {cheap["id"], mid["id"], dear["id"]})
        self.assertEqual(self.ids(city=city, currency="chf"), [chf["id"]])
        self.assertEqual(self.ids(city=city, currency="EUR", min_price=10000), [mid["id"], dear["id"]])
        self.assertEqual(self.ids(city=city, currency="EUR", max_price=10000), [cheap["id"], mid["id"]])
        self.assertEqual(self.ids(city=city, currency="EUR", min_price=6000, max_price=19999), [mid["id"]])
        self.assertEqual(self.ids(city=city, currency="CHF", min_price=10000, max_price=10000), [chf["id"]])
        # With dates the bounds apply to the stay's total.
        self.assertEqual(self.ids(city=city, currency="EUR", min_price=20000, max_price=20000, check_in=day(30),
                                  check_out=day(32)), [mid["id"]])
        self.assert_invalid(self.get("/listings", city=city, min_price=100), "currency")
        self.assert_invalid(self.get("/listings", city=city, max_price=100), "currency")

    def test_amenities_must_all_be_present(self):
        city = f"Amenityburg {token()}"
        wifi = self.listing(city, amenities=["wifi"])
        both = self.listing(city, amenities=["wifi", "pool", "spa"])
        pool = self.listing(city, amenities=["pool"])
        self.assertEqual(set(self.ids(city=city, amenities="wifi")), {wifi["id"], both["id"]})
        self.assertEqual(self.ids(city=city, amenities="wifi,pool"), [both["id"]])
        self.assertEqual(self.ids(city=city, amenities=" pool , WIFI ,"), [both["id"]])  # trimmed, any case
        self.assertEqual(set(self.ids(city=city, amenities="pool")), {both["id"], pool["id"]})
        self.assertEqual(self.ids(city=city, amenities="pool,gym"), [])

    def test_free_cancellation_filter(self):
        city = f"Flexton {token()}"
        free = self.listing(city, cancellation_policy={"free_cancellation_hours": 48, "refund_percent_after": 0})
        strict = self.listing(city, cancellation_policy={"free_cancellation_hours": 0, "refund_percent_after": 0})
        self.assertEqual(self.ids(city=city, free_cancellation="true"), [free["id"]])
        self.assertEqual(self.ids(city=city, free_cancellation="false"), [strict["id"]])
        items = {i["id"]: i["free_cancellation"] for i in self.search(city=city)["items"]}
        self.assertEqual(items, {free["id"]: True, strict["id"]: False})

    def test_bbox_restricts_to_a_map_area(self):
        city = f"Mapton {token()}"
        inside = self.listing(city, latitude=47.37, longitude=8.54)
        outside = self.listing(city, latitude=46.20, longitude=6.14)
        nowhere = self.listing(city)  # no coordinates: never inside an area
        self.assertEqual(set(self.ids(city=city)), {inside["id"], outside["id"], nowhere["id"]})
        self.assertEqual(self.ids(city=city, bbox="8.4,47.3,8.7,47.5"), [inside["id"]])
        self.assertEqual(set(self.ids(city=city, bbox="5,45,9,48")), {inside["id"], outside["id"]})
        self.assertEqual(self.ids(city=city, bbox="8.54,47.37,8.54,47.37"), [inside["id"]])  # edges count
        self.assertEqual(self.ids(city=city, bbox="-10,-10,-5,-5"), [])

    # -- dates, availability and prices --------------------------------------

    def test_a_closed_night_in_the_middle_excludes_the_stay(self):
        city = f"Closedville {token()}"
        hotel = self.listing(city)
        self.calendar(hotel, hotel["units"][0], 22, 23, closed=True)
        self.assertEqual(self.ids(city=city, check_in=day(20), check_out=day(25)), [])
        # Stays that end on the closed date or start after it are fine.
        self.assertEqual(self.ids(city=city, check_in=day(20), check_out=day(22)), [hotel["id"]])
        self.assertEqual(self.ids(city=city, check_in=day(23), check_out=day(25)), [hotel["id"]])
        # A second unit open every night brings the listing back, at that unit's price.
        self.unit(hotel, max_guests=2, quantity=1, price=15000)
        stay = self.search(city=city, check_in=day(20), check_out=day(25))["items"]
        self.assertEqual([(i["id"], i["price_from"]["amount"]) for i in stay], [(hotel["id"], 75000)])

    def test_a_night_with_no_unit_left_excludes_the_stay(self):
        city = f"Fullhouse {token()}"
        hotel = self.listing(city, units=((2, 2, 10000),))
        self.calendar(hotel, hotel["units"][0], 41, 42, quantity=0)
        self.assertEqual(self.ids(city=city, check_in=day(40), check_out=day(43)), [])
        self.assertEqual(self.ids(city=city, check_in=day(42), check_out=day(43)), [hotel["id"]])
        # A unit type with quantity 0 sells only the dates an operator opened.
        rare = self.listing(city, units=((2, 0, 30000),))
        self.assertNotIn(rare["id"], self.ids(city=city))
        self.calendar(rare, rare["units"][0], 50, 52, quantity=1)
        self.assertEqual(self.ids(city=city, check_in=day(50), check_out=day(52)), [hotel["id"], rare["id"]])
        self.assertEqual(self.ids(city=city, check_in=day(50), check_out=day(53)), [hotel["id"]])
        self.assertIn(rare["id"], self.ids(city=city))

    def test_held_units_are_not_for_sale(self):
        city = f"Holdham {token()}"
        hotel = self.listing(city, units=((2, 2, 10000),))
        u = hotel["units"][0]
        hold = {"hold_id": str(uuid.uuid4()), "listing_id": hotel["id"], "unit_id": u["id"], "check_in": day(71),
                "check_out": day(72), "guests": 2, "quantity": 2}
        r = http("POST", self.inventory.url + "/internal/holds", hold,
                 headers={"X-Roam-Internal": self.stack.internal_secret})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.ids(city=city, check_in=day(70), check_out=day(73)), [])  # both rooms held that night
        self.assertEqual(self.ids(city=city, check_in=day(72), check_out=day(73)), [hotel["id"]])
        r = http("POST", self.inventory.url + f"/internal/holds/{hold['hold_id']}/release",
                 headers={"X-Roam-Internal": self.stack.internal_secret})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.ids(city=city, check_in=day(70), check_out=day(73)), [hotel["id"]])

    def test_price_from_of_a_stay_is_the_sum_of_its_nights(self):
        city = f"Sumford {token()}"
        hotel = self.listing(city, units=((2, 3, 10000),))
        u = hotel["units"][0]
        self.calendar(hotel, u, 61, 63, price=14000)  # a weekend
        self.calendar(hotel, u, 63, 64, price=8000)  # a discount
        r = self.api("GET", f"/listings/{hotel['id']}/availability?from={day(60)}&to={day(65)}&unit_id={u['id']}")
        self.assertEqual(r.status, 200, r)
        nightly = [i["price"]["amount"] for i in r.json()["items"]]
        self.assertEqual(nightly, [10000, 14000, 14000, 8000, 10000])
        item = self.search(city=city, check_in=day(60), check_out=day(65))["items"][0]
        self.assertEqual(item["price_from"], {"amount": sum(nightly), "currency": "EUR"})
        item = self.search(city=city, check_in=day(62), check_out=day(64))["items"][0]
        self.assertEqual(item["price_from"]["amount"], 22000)

    def test_price_from_without_dates_is_the_cheapest_open_date(self):
        city = f"Cheapdate {token()}"
        hotel = self.listing(city, units=((2, 3, 10000), (3, 2, 12000)))
        a, b = hotel["units"]
        self.assertEqual(self.search(city=city)["items"][0]["price_from"], {"amount": 10000, "currency": "EUR"})
        self.calendar(hotel, b, 100, 101, price=7000)
        self.assertEqual(self.search(city=city)["items"][0]["price_from"]["amount"], 7000)
        self.assertEqual(self.search(city=city, guests=3)["items"][0]["price_from"]["amount"], 7000)
        self.calendar(hotel, b, 100, 101, closed=True)  # a closed date sells nothing
        self.assertEqual(self.search(city=city)["items"][0]["price_from"]["amount"], 10000)
        self.assertEqual(self.search(city=city, guests=3)["items"][0]["price_from"]["amount"], 12000)
        # The last bookable night, today + 365 in the listing's time zone, counts (as in quotes).
        self.calendar(hotel, a, 365, 366, price=6000)
        self.assertEqual(self.search(city=city)["items"][0]["price_from"]["amount"], 6000)

    def test_listings_with_nothing_to_sell_are_not_found(self):
        city = f"Emptyshire {token()}"
        bare = self.listing(city, units=())
        sold = self.listing(city, units=((2, 0, 10000),))
        self.assertEqual(self.ids(city=city), [])
        self.unit(bare, 2, 1, 9000)
        self.assertEqual(self.ids(city=city), [bare["id"]])
        self.assertNotIn(sold["id"], self.ids(city=city, check_in=day(15), check_out=day(16)))

    def test_archived_listings_are_not_found(self):
        t = token()
        city = f"Archiveton {t}"
        keep = self.listing(city, title=f"Keep {t}")
        gone = self.listing(city, title=f"Gone {t}")
        self.assertEqual(set(self.ids(city=city)), {keep["id"], gone["id"]})
        r = self.api("DELETE", f"/listings/{gone['id']}", auth=True)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.ids(city=city), [keep["id"]])
        self.assertEqual(self.ids(q=f"gone {t}"), [])
        self.assertEqual(self.ids(city=city, check_in=day(20), check_out=day(21)), [keep["id"]])
        r = self.get("/listings/suggest", q=t)
        self.assertEqual(r.json()["items"], [{"city": city, "country": "Testland", "listings": 1}])

    # -- sorts and pages ---------------------------------------------------------

    def test_price_sorts_order_by_currency_then_amount_then_id(self):
        city = f"Sortcity {token()}"
        made = [self.listing(city, currency=cur, units=((2, 1, amount),))
                for cur, amount in (("EUR", 300), ("EUR", 100), ("CHF", 200), ("EUR", 100), ("CHF", 50))]
        key = {m["id"]: (m["currency"], m["units"][0]["base_price"]["amount"], m["id"]) for m in made}
        asc = sorted(key, key=lambda i: key[i])
        self.assertEqual(self.ids(city=city), asc)  # the default without q
        self.assertEqual(self.ids(city=city, sort="price_asc"), asc)
        desc = sorted(key, key=lambda i: (key[i][0], -key[i][1], key[i][2]))
        self.assertEqual(self.ids(city=city, sort="price_desc"), desc)
        # Page by page, one at a time, the same order.
        self.assertEqual(self.walk(1, city=city, sort="price_desc")[0], desc)
        self.assertEqual(self.walk(2, city=city)[0], asc)

    def test_rating_sort_puts_unrated_last_and_breaks_ties_by_id(self):
        city = f"Ratingham {token()}"
        made = [self.listing(city) for _ in range(6)]
        ratings = [(10, 45), (4, 18), (0, 0), (2, 9), (3, 12), (0, 0)]  # 4.5, 4.5, none, 4.5, 4.0, none
        for m, (n, total) in zip(made, ratings):
            self.rate(m, n, total)
        items = self.search(city=city, sort="rating", limit=100)["items"]
        got = [(i["rating"]["average"], i["id"]) for i in items]
        rated = sorted([(round(t / n, 1), m["id"]) for m, (n, t) in zip(made, ratings) if n],
                       key=lambda x: (-x[0], x[1]))
        unrated = sorted((None, m["id"]) for m, (n, _) in zip(made, ratings) if not n)
        self.assertEqual(got, rated + unrated)
        self.assertEqual({i["id"]: i["rating"]["count"] for i in items}, {m["id"]: n for m, (n, _) in zip(made, ratings)})
        # Pages of one cross from the rated to the unrated without a gap.
        self.assertEqual(self.walk(1, city=city, sort="rating")[0], [i for _, i in rated + unrated])
        # The best rated listing with nothing to sell is skipped, on every page.
        empty = self.listing(city, units=())
        self.rate(empty, 5, 25)
        self.assertEqual(self.walk(1, city=city, sort="rating")[0], [i for _, i in rated + unrated])
        self.assertEqual(self.walk(4, city=city, sort="rating", check_in=day(20), check_out=day(22))[0],
                         [i for _, i in rated + unrated])

    def test_relevance_is_the_default_with_q_and_ties_break_by_id(self):
        t = token()
        same = [self.listing(f"Relev {t}", title=f"Twin {t}") for _ in range(4)]
        better = self.listing(f"Relev {t}", title=f"Twin {t} twin {t}")
        found = self.ids(q=f"twin {t}")
        self.assertEqual(found[0], better["id"])
        self.assertEqual(found[1:], sorted(m["id"] for m in same))
        self.assertEqual(self.ids(q=f"twin {t}", sort="relevance"), found)
        self.assertEqual(self.walk(2, q=f"twin {t}")[0], found)
        # A better match with nothing to sell is not found.
        self.listing(f"Relev {t}", title=f"Twin {t} twin {t} twin {t}", units=())
        self.assertEqual(self.ids(q=f"twin {t}"), found)
        self.assertEqual(self.walk(1, q=f"twin {t}", check_in=day(20), check_out=day(21))[0], found)
        # A forged rank that PostgreSQL could not read back is the client's mistake, not a 5xx.
        cursor = self.search(q=f"twin {t}", limit=1)["next_cursor"]
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        for rank in ("1e-50", "-1", "NaN"):
            doc["k"][0] = rank
            forged = base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
            self.assert_invalid(self.get("/listings", q=f"twin {t}", limit=1, cursor=forged), "cursor")
        # Another sort may be asked for with q.
        self.assertEqual(self.ids(q=f"twin {t}", sort="price_asc"),
                         sorted(m["id"] for m in same + [better]))

    def test_pages_neither_repeat_nor_skip_when_listings_are_added(self):
        city = f"Pageford {token()}"
        made = [self.listing(city, units=((2, 1, 1000 * (i + 1)),)) for i in range(6)]  # 1000 .. 6000
        first = self.search(city=city, limit=3)
        self.assertEqual([i["id"] for i in first["items"]], [m["id"] for m in made[:3]])
        cursor = first["next_cursor"]
        self.assertIsInstance(cursor, str)
        self.assertRegex(cursor, r"^[A-Za-z0-9_-]+$")  # URL-safe as it is
        # One listing sorts before the cursor, one after it.
        before = self.listing(city, units=((2, 1, 1500),))
        after = self.listing(city, units=((2, 1, 4500),))
        rest, cur = [], cursor
        while cur:
            doc = self.search(city=city, limit=3, cursor=cur)
            rest += [i["id"] for i in doc["items"]]
            cur = doc["next_cursor"]
        self.assertEqual(rest, [made[3]["id"], after["id"], made[4]["id"], made[5]["id"]])
        self.assertNotIn(before["id"], rest)
        # A fresh walk sees all eight exactly once, and the last page says so.
        walked, pages = self.walk(3, city=city)
        self.assertEqual(len(walked), 8)
        self.assertEqual(len(set(walked)), 8)
        self.assertEqual(pages, 3)
        self.assertIsNone(self.search(city=city, limit=8)["next_cursor"])
        self.assertIsNotNone(self.search(city=city, limit=7)["next_cursor"])

    def test_a_cursor_only_continues_its_own_search(self):
        city = f"Cursorville {token()}"
        for i in range(3):
            self.listing(city, units=((2, 1, 1000 + i),))
        cursor = self.search(city=city, limit=1)["next_cursor"]
        self.assertEqual(len(self.search(city=city, limit=1, cursor=cursor)["items"]), 1)
        for other in ({"city": city, "sort": "price_desc"}, {"city": city, "guests": 2},
                      {"city": city, "currency": "EUR"}, {"city": city + "x"}):
            self.assert_invalid(self.get("/listings", cursor=cursor, **other), "cursor")
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        doc["k"] = ["EUR", "1; DROP TABLE listings"]
        forged = base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
        self.assert_invalid(self.get("/listings", city=city, cursor=forged), "cursor")
        for bad in ("garbage!", "e30", "bm90IGpzb24", cursor[:-3]):
            self.assert_invalid(self.get("/listings", city=city, cursor=bad), "cursor")

    # -- shape -------------------------------------------------------------------

    def test_items_have_exactly_the_contract_shape(self):
        t = token()
        city = f"Shapeville {t}"
        with_photos = self.listing(city, title="Photos", photos=["/demo/photos/first.svg", "/demo/photos/b.svg"],
                                   units=((2, 1, 100),))
        without = self.listing(city, title="No photos", photos=[], units=((2, 1, 200),), type="activity",
                               country="Nowhere")
        self.rate(with_photos, 3, 13)
        items = self.search(city=city)["items"]
        for i in items:
            self.assertEqual(set(i), ITEM_KEYS, i)
        self.assertEqual(items[0], {
            "id": with_photos["id"], "title": "Photos", "type": "hotel", "city": city, "country": "Testland",
            "rating": {"average": 4.3, "count": 3}, "price_from": {"amount": 100, "currency": "EUR"},
            "free_cancellation": True, "thumbnail_url": "/demo/photos/first.svg"})
        self.assertEqual(items[1], {
            "id": without["id"], "title": "No photos", "type": "activity", "city": city, "country": "Nowhere",
            "rating": {"average": None, "count": 0}, "price_from": {"amount": 200, "currency": "EUR"},
            "free_cancellation": True, "thumbnail_url": None})
        self.assertIsNone(self.search(city=city)["next_cursor"])

    def test_zero_decimal_currencies_keep_whole_amounts(self):
        city = f"Yenmura {token()}"
        ryokan = self.listing(city, currency="JPY", timezone="Asia/Tokyo", units=((2, 2, 18000),))
        self.calendar(ryokan, ryokan["units"][0], 30, 31, price=24500)
        item = self.search(city=city, check_in=day(29), check_out=day(31))["items"][0]
        self.assertEqual(item["price_from"], {"amount": 42500, "currency": "JPY"})

    # -- suggest -----------------------------------------------------------------

    def test_suggest_matches_accent_insensitively_orders_and_caps_at_ten(self):
        t = token()
        counts = [3, 2, 2] + [1] * 9  # twelve destinations containing t
        for n, c in enumerate(counts):
            for _ in range(c):
                self.listing(f"Dest{n:02d}{t}", units=())
        r = self.get("/listings/suggest", q=t.upper())
        self.assertEqual(r.status, 200, r)
        items = r.json()["items"]
        self.assertEqual(len(items), 10)
        self.assertEqual([(i["city"], i["listings"]) for i in items[:3]],
                         [(f"Dest00{t}", 3), (f"Dest01{t}", 2), (f"Dest02{t}", 2)])
        self.assertEqual([i["city"] for i in items[3:]], [f"Dest{n:02d}{t}" for n in range(3, 10)])  # then by name
        for i in items:
            self.assertEqual(set(i), {"city", "country", "listings"})
            self.assertEqual(i["country"], "Testland")
        # Accents and case: "Zürich <t>" is found by "zurich", by its middle, and by the country.
        self.listing(f"Zürich {t}", country=f"Schweiz {t}", units=())
        for q in (f"zurich {t}", f"ZÜRICH {t}", f"rich {t}", f"schweiz {t}"):
            items = self.get("/listings/suggest", q=q).json()["items"]
            self.assertEqual(items, [{"city": f"Zürich {t}", "country": f"Schweiz {t}", "listings": 1}], q)
        # LIKE's wildcards are plain characters here.
        self.assertEqual(self.get("/listings/suggest", q=f"%{t}").json()["items"], [])
        self.assertEqual(self.get("/listings/suggest", q=f"Dest0_{t}").json()["items"], [])

    def test_suggest_needs_a_q_of_1_to_100_characters(self):
        for params in ({}, {"q": ""}, {"q": "   "}, {"q": "x" * 101}):
            self.assert_invalid(self.get("/listings/suggest", **params), "q")
        self.assertEqual(self.get("/listings/suggest", q="é" * 100).status, 200)  # characters, not bytes

    # -- validation --------------------------------------------------------------

    def test_every_search_rule_answers_422_naming_the_field(self):
        cases = [
            ({"check_in": day(12), "check_out": day(12)}, "check_out"),
            ({"check_in": day(12), "check_out": day(11)}, "check_out"),
            ({"check_in": day(-2), "check_out": day(1)}, "check_in"),
            ({"check_in": day(10), "check_out": day(41)}, "check_out"),
            ({"check_in": day(362), "check_out": day(368)}, "check_out"),  # the last night is today + 367
            ({"check_in": day(10)}, "check_out"),
            ({"check_out": day(10)}, "check_in"),
            ({"check_in": "2027-02-30", "check_out": "2027-03-02"}, "check_in"),
            ({"check_in": "tomorrow", "check_out": day(3)}, "check_in"),
            ({"check_in": day(10), "check_out": "2027-13-01"}, "check_out"),
            ({"guests": "0"}, "guests"),
            ({"guests": "101"}, "guests"),
            ({"guests": "two"}, "guests"),
            ({"guests": "-1"}, "guests"),
            ({"min_price": "-5", "currency": "EUR"}, "min_price"),
            ({"min_price": "1.5", "currency": "EUR"}, "min_price"),
            ({"max_price": "x", "currency": "EUR"}, "max_price"),
            ({"min_price": "500", "max_price": "100", "currency": "EUR"}, "max_price"),
            ({"min_price": "100"}, "currency"),
            ({"currency": "EURO"}, "currency"),
            ({"currency": "E1R"}, "currency"),
            ({"sort": "cheapest"}, "sort"),
            ({"sort": "relevance"}, "sort"),  # relevance needs q
            ({"limit": "0"}, "limit"),
            ({"limit": "101"}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"type": "castle"}, "type"),
            ({"free_cancellation": "yes"}, "free_cancellation"),
            ({"bbox": "1,2,3"}, "bbox"),
            ({"bbox": "1,2,3,4,5"}, "bbox"),
            ({"bbox": "a,b,c,d"}, "bbox"),
            ({"bbox": "10,0,5,1"}, "bbox"),
            ({"bbox": "0,10,1,5"}, "bbox"),
            ({"bbox": "-181,0,0,1"}, "bbox"),
            ({"bbox": "0,-91,1,1"}, "bbox"),
            ({"bbox": "nan,0,1,1"}, "bbox"),
            ({"q": "x" * 201}, "q"),
            ({"amenities": ",".join(f"a{i}" for i in range(21))}, "amenities"),
        ]
        for params, field in cases:
            with self.subTest(params=params):
                self.assert_invalid(self.get("/listings", **params), field)
        # Every mistake at once.
        r = self.get("/listings", guests="0", limit="0", sort="x")
        fields = {e["field"] for e in problem(self, r, 422, "validation_failed")["errors"]}
        self.assertEqual(fields, {"guests", "limit", "sort"})
        # Invalid UTF-8 is a client mistake too, never a 5xx.
        r = http("GET", self.gateway.url + API + "/listings?q=%C3%28")
        self.assert_invalid(r, "q")

    def test_the_edges_of_the_rules_are_accepted(self):
        ok = [
            {"check_in": day(-1), "check_out": day(0)},  # yesterday (UTC) is still allowed
            {"check_in": day(10), "check_out": day(40)},  # 30 nights
            {"check_in": day(366), "check_out": day(367)},  # the last night quotes accept too
            {"guests": "1"}, {"guests": "100"}, {"limit": "1"}, {"limit": "100"},
            {"min_price": "0", "max_price": "0", "currency": "eur"},
            {"bbox": "-180,-90,180,90"}, {"q": "x" * 200}, {"free_cancellation": "false"},
            {"q": "   ", "sort": "price_desc"},  # a blank q is no q
            {"guests": "", "limit": "", "city": "", "check_in": "", "check_out": "", "cursor": "", "sort": ""},
        ]
        for params in ok:
            with self.subTest(params=params):
                self.search(**params)
