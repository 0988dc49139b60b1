"""The web app (frontend/, Next.js) in a real browser against a real stack.

PostgreSQL, Redis, the Kafka dev broker, an SMTP sink and every daemon run
as in the other integration tests; an operator creates a listing
through the API; the app's standalone server (node .next/standalone/server.js,
built here when its sources are newer than the build) talks to the gateway;
Playwright drives Debian's chromium through frontend/e2e/*.spec.ts: search,
open the listing, price a stay, sign up, log in and out, silent refresh;
reserve a room, pay with a test card, see it confirmed without a reload, in
My trips and in the notification badge; and the whole journey of issue 6
(e2e/journey.spec.ts): book, decline, pay, cancel with the refund; an operator
creates a listing with a unit through the operator pages; a stay in it is
booked, checked out by the operator and reviewed from My trips; a listing's
reviews with "More reviews" and sorting, with and without JavaScript
(e2e/reviews.spec.ts, twelve reviews inserted with SQL); and the operator
pages (e2e/operator.spec.ts).

Screenshots of the main pages at desktop and phone widths are saved to
$ROAM_TEST_ARTIFACTS/screenshots (default tests/artifacts/screenshots,
git-ignored); the test prints the folder.

Skipped when chromium or frontend/node_modules is missing (deploy/dev/install-deps
installs both).

Run: tests/run --integration -k WebApp
"""

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import uuid
from pathlib import Path

from roamtest import StackTestCase, free_port, http, wait_until

API = "/api/v1"
REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "frontend"
SERVER = FRONTEND / ".next" / "standalone" / "server.js"
CHROMIUM = os.environ.get("ROAM_CHROMIUM", "/usr/bin/chromium")
CHEAP_ARGON2 = {"ROAM_ARGON2_MEMORY_KIB": "1024", "ROAM_ARGON2_ITERATIONS": "1"}
ARTIFACTS = Path(os.environ.get("ROAM_TEST_ARTIFACTS") or REPO / "tests" / "artifacts")
SCREENSHOTS = ARTIFACTS / "screenshots"
SOURCES = ("app", "components", "lib", "public", "proxy.ts", "next.config.ts", "package-lock.json")


def build_is_stale() -> bool:
    if not SERVER.exists():
        return True
    built = SERVER.stat().st_mtime
    for name in SOURCES:
        p = FRONTEND / name
        paths = [p] if p.is_file() else p.rglob("*") if p.is_dir() else []
        if any(f.is_file() and f.stat().st_mtime > built for f in paths):
            return True
    return False


@unittest.skipUnless(Path(CHROMIUM).exists(), f"no chromium at {CHROMIUM} (apt install chromium)")
@unittest.skipUnless((FRONTEND / "node_modules" / "@playwright" / "test").is_dir(),
                     "frontend/node_modules is missing (deploy/dev/install-deps)")
class WebAppTest(StackTestCase):
    @classmethod
    def setUpStack(cls, stack):
        env = dict(os.environ, NEXT_TELEMETRY_DISABLED="1")
        # One build at a time on this machine (two test runs would write .next together), and a private copy
        # of the standalone server, so that a later rebuild cannot change the files under this run's server.
        server_dir = stack.tmp / "webapp"
        with open(Path(tempfile.gettempdir()) / "roam-webapp-build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if build_is_stale():
                b = subprocess.run(["npm", "run", "build"], cwd=FRONTEND, env=env, capture_output=True, text=True,
                                   timeout=600)
                if b.returncode != 0:
                    raise RuntimeError(f"the web app's build failed:\n{b.stdout[-4000:]}\n{b.stderr[-2000:]}")
            shutil.copytree(SERVER.parent, server_dir, symlinks=True)
        stack.start_postgres()
        stack.start_redis()
        stack.start_broker()
        stack.start_smtp()
        stack.start_daemon("auth", CHEAP_ARGON2)
        stack.start_daemon("inventory")
        stack.start_daemon("booking")
        stack.start_daemon("payment")
        stack.start_daemon("review")
        stack.start_daemon("notification")
        cls.gateway = stack.start_daemon("gateway", {"ROAM_RATE_LIMIT_RPS": "100000"})

        r = http("POST", cls.gateway.url + API + "/auth/register",
                 {"email": f"op-{uuid.uuid4().hex[:12]}@example.com", "password": "correct horse battery",
                  "name": "Operator", "role": "operator"})
        assert r.status == 201, r
        op = {"Authorization": "Bearer " + r.json()["access_token"]}
        cls.city = f"Webville {uuid.uuid4().hex[:6]}"
        cls.title = "Harbour View Hotel"
        r = http("POST", cls.gateway.url + API + "/listings", {
            "title": cls.title, "type": "hotel", "description": "Rooms over the old harbour.", "city": cls.city,
            "country": "Portugal", "timezone": "Europe/Lisbon", "currency": "EUR", "amenities": ["wifi", "breakfast"],
            "photos": ["/demo/photos/hotel-2.svg", "/demo/photos/hotel-5.svg"],
            "cancellation_policy": {"free_cancellation_hours": 24, "refund_percent_after": 50}}, headers=op)
        assert r.status == 201, r
        listing = r.json()
        r = http("POST", cls.gateway.url + API + f"/listings/{listing['id']}/units",
                 {"name": "Double room", "max_guests": 2, "quantity": 3,
                  "base_price": {"amount": 12000, "currency": "EUR"}}, headers=op)
        assert r.status == 201, r

        cls.listing_id = listing["id"]
        # Reviews need a completed stay, which takes the booking and payment
        # services and days of waiting: two reviews, one answered, go in with SQL.
        operator_id = listing["operator_id"]
        stack.psql(f"""
            INSERT INTO review.reviews (id, listing_id, booking_id, user_id, operator_id, author_name, rating, title,
                                        body, reply_body, replied_at)
            VALUES (gen_random_uuid(), '{cls.listing_id}', gen_random_uuid(), gen_random_uuid(), '{operator_id}',
                    'Marta', 5, 'Woke up to the boats', 'Quiet room, lovely breakfast.', 'Thank you, Marta!', now()),
                   (gen_random_uuid(), '{cls.listing_id}', gen_random_uuid(), gen_random_uuid(), '{operator_id}',
                    'Jonas', 3, 'Fine but noisy', 'The street was loud at night.', NULL, NULL);
            INSERT INTO review.listing_ratings (listing_id, count, sum, n3, n5) VALUES ('{cls.listing_id}', 2, 8, 1, 1);
        """)

        # A second listing with twelve reviews (more than the listing page's ten), for "More reviews" and sorting.
        r = http("POST", cls.gateway.url + API + "/listings", {
            "title": "Quiet Courtyard Flats", "type": "apartment", "description": "Flats around a shaded courtyard.",
            "city": cls.city, "country": "Portugal", "timezone": "Europe/Lisbon", "currency": "EUR",
            "cancellation_policy": {"free_cancellation_hours": 48, "refund_percent_after": 0}}, headers=op)
        assert r.status == 201, r
        cls.reviews_listing_id = r.json()["id"]
        stack.psql(f"""
            INSERT INTO review.reviews (id, listing_id, booking_id, user_id, operator_id, author_name, rating, title,
                                        body, reply_body, replied_at, created_at)
            SELECT gen_random_uuid(), '{cls.reviews_listing_id}', gen_random_uuid(), gen_random_uuid(), '{operator_id}',
                   'Guest ' || i, i % 5 + 1, 'Visit ' || lpad(i::text, 2, '0'), 'Stay number ' || i || '.',
                   CASE WHEN i = 11 THEN 'Glad you came back!' END, CASE WHEN i = 11 THEN now() END,
                   now() - make_interval(hours => i)
            FROM generate_series(1, 12) AS i;
            INSERT INTO review.listing_ratings (listing_id, count, sum, n1, n2, n3, n4, n5)
            SELECT listing_id, count(*), sum(rating), count(*) FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = 2),
                   count(*) FILTER (WHERE rating = 3), count(*) FILTER (WHERE rating = 4), count(*) FILTER (WHERE rating = 5)
            FROM review.reviews WHERE listing_id = '{cls.reviews_listing_id}' GROUP BY listing_id;
        """)

        # A city with more listings than a page of results (12), for "Load more results".
        cls.many_city = f"Manyville {uuid.uuid4().hex[:6]}"
        for i in range(23):
            r = http("POST", cls.gateway.url + API + "/listings", {
                "title": f"Manyville Inn {i + 1:02d}", "type": "hotel", "description": "A room for the night.",
                "city": cls.many_city, "country": "Portugal", "timezone": "Europe/Lisbon", "currency": "EUR",
                "cancellation_policy": {"free_cancellation_hours": 24, "refund_percent_after": 0}}, headers=op)
            assert r.status == 201, r
            r = http("POST", cls.gateway.url + API + f"/listings/{r.json()['id']}/units",
                     {"name": "Room", "max_guests": 2, "quantity": 1,
                      "base_price": {"amount": 9000 + 100 * i, "currency": "EUR"}}, headers=op)
            assert r.status == 201, r

        port = free_port()
        cls.web_url = f"http://127.0.0.1:{port}"
        stack._spawn("webapp", ["node", str(server_dir / "server.js")], dict(
            env, PORT=str(port), HOSTNAME="127.0.0.1", ROAM_GATEWAY_URL=cls.gateway.url))
        wait_until(lambda: http("GET", cls.web_url + "/").status == 200 if _port_answers(port) else False,
                   timeout=30, message="the web app did not answer on /")

    def test_browser_flows(self):
        # Screenshots of this run only: the previous run's are removed first.
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        print(f"\nweb app screenshots: {SCREENSHOTS}", file=sys.stderr, flush=True)
        env = dict(os.environ, WEB_URL=self.web_url, WEB_CITY=self.city, WEB_TITLE=self.title, WEB_LISTING_ID=self.listing_id,
                   WEB_REVIEWS_LISTING_ID=self.reviews_listing_id, WEB_MANY_CITY=self.many_city,
                   WEB_SCREENSHOTS=str(SCREENSHOTS), NEXT_TELEMETRY_DISABLED="1", ROAM_CHROMIUM=CHROMIUM)
        node = shutil.which("node") or "node"
        # ROAM_WEB_SPECS narrows the run while working on one spec (e.g. "journey"); all of them by default.
        specs = os.environ.get("ROAM_WEB_SPECS", "").split()
        p = subprocess.run([node, "node_modules/@playwright/test/cli.js", "test", "--output",
                            str(self.stack.tmp / "playwright"), *specs],
                           cwd=FRONTEND, env=env, capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, f"Playwright failed:\n{p.stdout[-6000:]}\n{p.stderr[-2000:]}")
        # Which specs ran, and how long each took, in the test log.
        print(p.stdout[-4000:], file=sys.stderr, flush=True)

    def test_pages_answer_without_javascript(self):
        r = http("GET", self.web_url + "/search?city=" + self.city.replace(" ", "%20"))
        self.assertEqual(r.status, 200)
        self.assertIn(self.title, r.text)
        self.assertIn("€120", r.text)  # the cheapest night, formatted from 12000 minor units
        r = http("GET", self.web_url + f"/listings/{self.listing_id}")
        self.assertEqual(r.status, 200)
        page = r.text
        for text in ("Harbour View Hotel", "Woke up to the boats", "Thank you, Marta!", "Reply from the host",
                     "Fine but noisy", "4.0</strong> out of 5", "Free cancellation until 1 day before"):
            self.assertIn(text, page)
        # A reviews cursor the service refuses (an old or edited link) shows the first page, not an error.
        r = http("GET", self.web_url + f"/listings/{self.listing_id}?reviews_cursor=not-a-cursor")
        self.assertEqual(r.status, 200)
        self.assertIn("Woke up to the boats", r.text)
        self.assertNotIn("Showing later reviews", r.text)
        self.assertNotIn("Reviews cannot be shown", r.text)
        r = http("GET", self.web_url + "/listings/00000000-0000-4000-8000-000000000000")
        self.assertEqual(r.status, 404)
        r = http("GET", self.web_url + "/demo/photos/hotel-2.svg")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("image/svg+xml"))


def _port_answers(port: int) -> bool:
    from roamtest import port_open
    return port_open(port)
