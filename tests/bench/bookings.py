#!/usr/bin/python3
"""End-to-end bookings per second: the booking saga against pgbench's TPC-B.

Starts its own stack with the test harness (PostgreSQL, Redis, the Kafka dev
broker, an SMTP sink, auth, inventory, booking, payment, notification,
review, gateway), creates LISTINGS listings of one unit each (1000 rooms, so
nothing sells out) and one traveller per client, then runs CLIENTS threads
for DURATION seconds. Each iteration, on a keep-alive connection to the
gateway:

  POST /bookings   (Idempotency-Key; a random listing, check-in 20 to 300
                    days ahead, 1 to 3 nights)
  POST /payments   (the sandbox's 4242 4242 4242 4242)
  GET /bookings/{id} every 5 ms until the status is "confirmed"

so a booking counts once the payment event has gone through Kafka, the
booking service has confirmed it and inventory has booked its units (the
notification service consumes the same events meanwhile, and sends its
mail). Reports bookings/s (confirmed bookings whose request started inside
the window, divided by the window) and p50/p99 of the time from the payment
answer to the confirmation seen, and from the booking request to it.

Then, on the same PostgreSQL server, `pgbench -i -s 10` in a database of
its own and `pgbench -c CLIENTS -j 2 -T DURATION` (TPC-B-like), and prints
the ratio bookings/s / pgbench tps. A run takes about 75 s.

Usage: tests/bench/bookings.py [BUILD_DIR]
Environment: BENCH_DURATION (30, seconds), BENCH_CLIENTS (16),
BENCH_LISTINGS (64), BENCH_BOOKING_REPLICAS (1: more booking daemons join
the payments consumer group, which has 3 partitions; the gateway still calls
the first one).
"""

import http.client as httpclient
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "harness"))
from roamtest import Stack, http, pg_bindir  # noqa: E402

DURATION = int(os.environ.get("BENCH_DURATION", "30"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
LISTINGS = int(os.environ.get("BENCH_LISTINGS", "64"))
BOOKING_REPLICAS = int(os.environ.get("BENCH_BOOKING_REPLICAS", "1"))
API = "/api/v1"
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": datetime.now().year + 3, "cvc": "123"}


class Client:
    """One keep-alive connection to the gateway for one traveller."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.token = token
        self.conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method, path, body=None, key=None):
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key:
            headers["Idempotency-Key"] = key
        for attempt in range(2):
            try:
                self.conn.request(method, API + path, body=data, headers=headers)
                r = self.conn.getresponse()
                payload = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                return r.status, json.loads(payload) if payload else None
            except (httpclient.HTTPException, OSError):
                self.conn.close()
                self.conn = httpclient.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")


def register(gw_url: str, role: str) -> str:
    r = http("POST", gw_url + API + "/auth/register",
             {"email": f"{role}-{uuid.uuid4().hex[:12]}@example.com", "password": "correct horse battery",
              "name": f"Bench {role}", "role": role})
    if r.status != 201:
        raise SystemExit(f"bench: register {role}: {r!r}")
    return r.json()["access_token"]


def make_listings(c: Client) -> list[tuple[str, str]]:
    out = []
    for i in range(LISTINGS):
        status, listing = c.call("POST", "/listings", {
            "title": f"Bench Hotel {i}", "type": "hotel", "description": "Rooms.", "city": "Annecy",
            "country": "France", "timezone": "Europe/Paris", "currency": "EUR",
            "cancellation_policy": {"free_cancellation_hours": 48, "refund_percent_after": 50}})
        assert status == 201, (status, listing)
        status, unit = c.call("POST", f"/listings/{listing['id']}/units", {
            "name": "Room", "max_guests": 2, "quantity": 1000, "base_price": {"amount": 10000, "currency": "EUR"}})
        assert status == 201, (status, unit)
        out.append((listing["id"], unit["id"]))
    return out


def one_booking(c: Client, listings, rng: random.Random) -> tuple[float, float, float]:
    """Books, pays and waits for the confirmation; returns (started, paid, confirmed) monotonic times."""
    listing, unit = rng.choice(listings)
    ci = date.today() + timedelta(days=rng.randint(20, 300))
    co = ci + timedelta(days=rng.randint(1, 3))
    started = time.monotonic()
    status, b = c.call("POST", "/bookings", {"listing_id": listing, "unit_id": unit, "check_in": ci.isoformat(),
                                             "check_out": co.isoformat(), "guests": 2}, key=str(uuid.uuid4()))
    if status != 201:
        raise RuntimeError(f"POST /bookings: {status} {b}")
    status, p = c.call("POST", "/payments", {"booking_id": b["id"], "card": CARD}, key=str(uuid.uuid4()))
    if status != 201 or p["status"] != "succeeded":
        raise RuntimeError(f"POST /payments: {status} {p}")
    paid = time.monotonic()
    deadline = paid + 60
    while True:
        status, doc = c.call("GET", f"/bookings/{b['id']}")
        if status == 200 and doc["status"] == "confirmed":
            return started, paid, time.monotonic()
        if time.monotonic() > deadline:
            raise RuntimeError(f"booking {b['id']} not confirmed after 60 s: {status} {doc}")
        time.sleep(0.005)


def run_clients(gw_port: int, tokens: list[str], listings) -> tuple[list, list]:
    samples, errors = [], []
    lock = threading.Lock()
    stop_at = time.monotonic() + DURATION
    start_gate = threading.Barrier(len(tokens))

    def worker(i, token):
        c = Client(gw_port, token)
        rng = random.Random(i)
        start_gate.wait()
        while time.monotonic() < stop_at:
            try:
                s = one_booking(c, listings, rng)
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                samples.append(s)

    threads = [threading.Thread(target=worker, args=(i, t)) for i, t in enumerate(tokens)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [(a - t0, b - t0, c - t0) for a, b, c in samples], errors


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def pgbench(s: Stack) -> float:
    url = s.create_database("pgbench")
    tool = str(pg_bindir() / "pgbench")
    res = subprocess.run([tool, "-i", "-s", "10", "-q", url], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"bench: pgbench -i failed:\n{res.stderr}")
    res = subprocess.run([tool, "-c", str(CLIENTS), "-j", "2", "-T", str(DURATION), url],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"bench: pgbench failed:\n{res.stdout}\n{res.stderr}")
    return float(re.search(r"tps = ([\d.]+)", res.stdout).group(1))


def main():
    build = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build"
    with Stack(build) as s:
        s.start_postgres()
        s.start_redis()
        s.start_broker()
        s.start_smtp()
        quiet = {"ROAM_LOG_LEVEL": "warn"}
        s.start_daemon("auth", {**quiet, "ROAM_ARGON2_MEMORY_KIB": "1024", "ROAM_ARGON2_ITERATIONS": "1"})
        for name in ("inventory", "booking", "payment", "review", "notification"):
            s.start_daemon(name, quiet)
        gw = s.start_daemon("gateway", {**quiet, "ROAM_RATE_LIMIT_RPS": "0"})
        for _ in range(BOOKING_REPLICAS - 1):
            s.start_daemon("booking", quiet)

        op = Client(gw.port, register(gw.url, "operator"))
        listings = make_listings(op)
        tokens = [register(gw.url, "traveller") for _ in range(CLIENTS)]
        # Warm-up: the consumer groups join (seconds), pools fill.
        t0 = time.monotonic()
        one_booking(Client(gw.port, tokens[0]), listings, random.Random(-1))
        print(f"warm-up booking confirmed after {time.monotonic() - t0:.1f} s; "
              f"{CLIENTS} clients for {DURATION} s over {LISTINGS} listings, {BOOKING_REPLICAS} booking replica(s)",
              flush=True)

        samples, errors = run_clients(gw.port, tokens, listings)
        inside = [x for x in samples if x[0] < DURATION]
        rate = len(inside) / DURATION
        after_pay = [(c - p) * 1000 for _, p, c in samples]
        end_to_end = [(c - a) * 1000 for a, _, c in samples]
        confirmed = s.psql_value("SELECT count(*) FROM booking.bookings WHERE status = 'confirmed'")
        tps = pgbench(s)

    print()
    print(f"bookings confirmed end to end: {rate:.1f}/s ({len(inside)} in {DURATION} s, {CLIENTS} clients; "
          f"{len(errors)} errors; {confirmed} confirmed in the database)")
    print(f"  payment answer -> confirmed seen: p50 {pct(after_pay, 0.5):.0f} ms, p99 {pct(after_pay, 0.99):.0f} ms")
    print(f"  booking request -> confirmed seen: p50 {pct(end_to_end, 0.5):.0f} ms, "
          f"p99 {pct(end_to_end, 0.99):.0f} ms, mean {statistics.mean(end_to_end):.0f} ms")
    print(f"pgbench TPC-B-like (-s 10 -c {CLIENTS} -j 2 -T {DURATION}): {tps:.1f} tps")
    print(f"ratio bookings/s / pgbench tps: {rate / tps:.3f}")
    for e in sorted(set(errors))[:5]:
        print("error:", e)


if __name__ == "__main__":
    main()
