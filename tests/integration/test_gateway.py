"""The gateway: routing, what it never forwards, exact forwarding, a stuck or
stopped upstream, token checks, rate limits, CORS and request ids.

The real auth, booking, payment, review and notification daemons sit behind
the gateway. The inventory slot is taken by the fixture daemon roam-testd,
which answers the listing routes with what reached it (query string byte for
byte, headers) or after a delay: no real service can be made to hang, or to
show its raw request, on demand.

Run: tests/run --integration -k Gateway
"""

import json
import signal
import socket
import subprocess
import threading
import time
import unittest
import urllib.parse

from roamtest import StackTestCase, http, wait_until

from tests.integration.test_platform import problem

API = "/api/v1"


def upstream_saw(daemon, path: str) -> bool:
    """True if daemon's access log has a request for path."""
    return any(l.get("msg") == "request" and l.get("path") == path for l in daemon.logs())


class GatewayTest(StackTestCase):
    ORIGIN = "https://app.roam.example"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.stack
        s.start_postgres()
        s.start_redis()
        s.start_broker(topics=["bookings", "payments", "reviews"])
        cls.auth = s.start_daemon("auth", env={"ROAM_ARGON2_MEMORY_KIB": "1024", "ROAM_ARGON2_ITERATIONS": "1"})
        # Enough threads that the stuck-upstream test's sleepers do not queue later tests behind them.
        cls.inventory = s.start_daemon("testd", env={"ROAM_HTTP_THREADS": "48"})
        services = {}
        for name in ("booking", "payment", "review", "notification"):
            env = {"ROAM_INVENTORY_URL": cls.inventory.url} if name == "booking" else None
            services[name] = s.start_daemon(name, env=env)
        cls.services = services
        cls.gw = cls.start_gateway()

    @classmethod
    def start_gateway(cls, **extra):
        env = {
            "ROAM_INVENTORY_URL": cls.inventory.url,
            "ROAM_CORS_ORIGINS": cls.ORIGIN,
            "ROAM_UPSTREAM_TIMEOUT_MS": "3000",
            "ROAM_RATE_LIMIT_RPS": "100000",
        }
        env.update(extra)
        return cls.stack.start_daemon("gateway", env=env)

    def api(self, method, path, body=None, headers=None, gw=None, **kw):
        return http(method, (gw or self.gw).url + API + path, body=body, headers=headers, **kw)

    def register(self, role="traveller"):
        email = f"u{time.monotonic_ns()}@example.com"
        r = self.api("POST", "/auth/register", {"email": email, "password": "correct horse battery",
                                                 "name": "Test User", "role": role})
        self.assertEqual(r.status, 201, r)
        return r.json()

    # --- routing ---------------------------------------------------------------

    def test_most_specific_route_wins(self):
        cases = [
            ("/listings/abc/reviews", self.services["review"]),
            ("/bookings/abc/payments", self.services["payment"]),
            ("/operator/bookings", self.services["booking"]),
        ]
        token = self.register("operator")["access_token"]
        for path, daemon in cases:
            self.api("GET", path, headers={"Authorization": f"Bearer {token}"})
            wait_until(lambda: upstream_saw(daemon, path), timeout=5, message=f"{path} did not reach {daemon.name}")
        # ... while /listings/{id} itself goes to inventory (here the fixture).
        r = self.api("GET", "/listings/abc")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["path"], "/listings/abc")
        self.assertFalse(upstream_saw(self.services["review"], "/listings/abc"))

    def test_internal_is_never_forwarded(self):
        paths = ["/internal/holds", "/%69nternal/holds", "/internal%2Fholds", "//internal/holds",
                 "/listings/../internal/holds", "/listings/%2E%2E/internal/holds", "/listings/x%2F..%2F..%2Finternal",
                 "/listings/internal", "/listings/%2e%2e%2finternal%2fholds/quote", "/listings/a%5Cb"]
        for path in paths:
            r = self.api("GET", path)
            problem(self, r, 404, "not_found")
        for d in [self.inventory, *self.services.values()]:
            self.assertFalse(any("internal" in (l.get("path") or "") for l in d.logs() if l.get("msg") == "request"),
                             f"{d.name} received an internal path")

    def test_query_string_is_forwarded_exactly(self):
        raw = "q=caf%C3%A9+cr%C3%A8me&city=S%C3%A3o%20Paulo&x=%2B1&empty=&flag&a=1&a=2"
        r = http("GET", f"{self.gw.url}{API}/listings/suggest?{raw}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["query"], raw)

    def test_unknown_route_and_method(self):
        problem(self, self.api("GET", "/nothing/here"), 404, "not_found")
        r = self.api("DELETE", "/auth/login")
        problem(self, r, 405, "method_not_allowed")
        self.assertIn("POST", r.headers.get("Allow", ""))

    # --- forwarding hygiene ----------------------------------------------------

    def test_client_identity_headers_are_dropped(self):
        r = self.api("GET", "/listings/suggest", headers={
            "X-User-Id": "00000000-0000-0000-0000-000000000001", "X-Roam-Role": "admin",
            "X-Roam-Internal": "guess", "X-Forwarded-For": "6.6.6.6", "Cookie": "a=b"})
        seen = r.json()["headers"]
        for h in ("X-User-Id", "X-Roam-Role", "Cookie"):
            self.assertNotIn(h, seen)
        self.assertNotEqual(seen.get("X-Roam-Internal"), "guess")
        self.assertEqual(seen.get("X-Forwarded-For"), "127.0.0.1")
        self.assertEqual(r.json()["client"], "127.0.0.1")  # the service believes the gateway, not the client

    def test_request_id_reaches_the_service(self):
        rid = f"trace-{time.monotonic_ns()}"
        r = self.api("GET", "/listings/suggest", headers={"X-Request-Id": rid})
        self.assertEqual(r.headers.get("X-Request-Id"), rid)
        self.assertEqual(r.json()["headers"].get("X-Request-Id"), rid)
        r = self.api("GET", "/auth/jwks.json", headers={"X-Request-Id": rid + "-b"})
        wait_until(lambda: any(l.get("request_id") == rid + "-b" for l in self.auth.logs()), timeout=5)

    # --- upstream failures -----------------------------------------------------

    def test_stuck_upstream_stalls_nothing_else(self):
        stuck = []

        def hang():
            stuck.append(self.api("GET", "/listings/x/quote?ms=10000", timeout=30))

        threads = [threading.Thread(target=hang) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        results = []
        lock = threading.Lock()

        def burst(n):
            for _ in range(n):
                r = self.api("GET", "/auth/jwks.json")
                with lock:
                    results.append(r.status)

        workers = [threading.Thread(target=burst, args=(25,)) for _ in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        took = time.monotonic() - t0
        self.assertEqual(results.count(200), 200, results)
        self.assertLess(took, 5, f"200 requests to auth took {took:.1f}s behind a stuck upstream")
        for t in threads:
            t.join()
        # The stuck calls ended in a timeout answer, not a hang.
        for r in stuck:
            problem(self, r, 504, "upstream_timeout")
        # Let the fixture's sleepers finish before the next test uses it.
        time.sleep(7.5)

    def test_upstream_timeout_is_504(self):
        t0 = time.monotonic()
        r = self.api("GET", "/listings/x/quote?ms=6000")
        took = time.monotonic() - t0
        problem(self, r, 504, "upstream_timeout")
        self.assertLess(took, 4.5)

    def test_too_many_in_flight_is_503(self):
        gw = self.start_gateway(ROAM_GATEWAY_MAX_INFLIGHT="3")
        try:
            held = []
            threads = [threading.Thread(target=lambda: held.append(
                self.api("GET", "/listings/x/quote?ms=800", gw=gw, timeout=10))) for _ in range(3)]
            for t in threads:
                t.start()
            # 800 ms each stays under the 3 s timeout even if all three share one of the fixture's threads.
            time.sleep(0.3)
            problem(self, self.api("GET", "/listings/y/quote?ms=1", gw=gw), 503, "upstream_unavailable")
            for t in threads:
                t.join()
            self.assertEqual(sorted(r.status for r in held), [200, 200, 200])
        finally:
            gw.stop()

    def test_stopped_upstream_is_503(self):
        notif = self.services["notification"]
        token = self.register()["access_token"]
        notif.stop()
        try:
            t0 = time.monotonic()
            r = self.api("GET", "/notifications", headers={"Authorization": f"Bearer {token}"})
            problem(self, r, 503, "upstream_unavailable")
            self.assertLess(time.monotonic() - t0, 3)
        finally:
            notif.start()

    # --- connections to the services -------------------------------------------

    def test_large_answer_arrives_whole(self):
        # Echoed back, the query makes an answer several times the gateway's first read buffer.
        raw = "&".join(f"k{i}=" + "v" * 2000 for i in range(3))
        r = http("GET", f"{self.gw.url}{API}/listings/suggest?{raw}")
        self.assertEqual(r.status, 200, r)
        self.assertGreater(len(r.body), 6000)
        self.assertEqual(r.json()["query"], raw)

    def test_service_closing_idle_connections_is_harmless(self):
        # This service drops keep-alive connections after a second; the gateway must notice and not reuse them.
        svc = self.stack.start_daemon("testd", env={"ROAM_HTTP_IDLE_TIMEOUT_S": "1"})
        gw = self.start_gateway(ROAM_INVENTORY_URL=svc.url)
        try:
            for _ in range(3):
                statuses = [self.api("GET", "/listings/abc", gw=gw).status for _ in range(5)]
                self.assertEqual(statuses, [200] * 5)
                time.sleep(1.6)
            # A restart closes every connection at once.
            svc.restart()
            self.assertEqual([self.api("GET", "/listings/abc", gw=gw).status for _ in range(5)], [200] * 5)
        finally:
            gw.stop()
            svc.stop()

    def test_unresolvable_service_is_503(self):
        gw = self.stack.start_daemon("gateway", env={
            "ROAM_INVENTORY_URL": "http://no-such-service.invalid:8082", "ROAM_RATE_LIMIT_RPS": "0"},
            wait_ready=False)
        try:
            t0 = time.monotonic()
            problem(self, self.api("GET", "/listings/abc", gw=gw), 503, "upstream_unavailable")
            self.assertLess(time.monotonic() - t0, 2)
            self.assertEqual(self.api("GET", "/auth/jwks.json", gw=gw).status, 200)  # the others still work
        finally:
            gw.stop()

    # --- shutdown --------------------------------------------------------------

    def call_during_shutdown(self, gw, path):
        """Starts a call, sends SIGTERM while it is in flight; returns (response or error, exit status, seconds)."""
        outcome = {}

        def call():
            try:
                outcome["response"] = self.api("GET", path, gw=gw, timeout=15)
            except Exception as e:  # noqa: BLE001 - reported by the caller
                outcome["error"] = e

        t = threading.Thread(target=call)
        t.start()
        time.sleep(0.3)  # the call is with the service
        sent = time.monotonic()
        gw.proc.send_signal(signal.SIGTERM)

        def refused():
            try:
                with socket.create_connection(("127.0.0.1", gw.port), timeout=0.5):
                    return False
            except ConnectionRefusedError:
                return True

        wait_until(refused, timeout=3, interval=0.05, message="new connections refused after SIGTERM")
        t.join(15)
        rc = gw.proc.wait(10)
        return outcome, rc, time.monotonic() - sent

    def test_shutdown_lets_calls_in_flight_finish(self):
        gw = self.start_gateway()
        outcome, rc, took = self.call_during_shutdown(gw, "/listings/x/quote?ms=1500")
        self.assertNotIn("error", outcome, outcome)
        self.assertEqual(outcome["response"].status, 200, outcome["response"])
        self.assertEqual(outcome["response"].json()["slept_ms"], 1500)
        self.assertEqual(rc, 0, "exit status after SIGTERM")
        self.assertLess(took, 5)

    def test_shutdown_answers_a_stuck_call_when_its_time_is_up(self):
        gw = self.start_gateway(ROAM_SHUTDOWN_TIMEOUT_MS="500", ROAM_UPSTREAM_TIMEOUT_MS="10000")
        outcome, rc, took = self.call_during_shutdown(gw, "/listings/x/quote?ms=4000")
        self.assertNotIn("error", outcome, outcome)
        problem(self, outcome["response"], 503, "upstream_unavailable")
        self.assertEqual(rc, 0, "exit status after SIGTERM")
        self.assertLess(took, 3)
        time.sleep(4)  # the fixture's sleeper finishes before the next test uses it

    # --- tokens ----------------------------------------------------------------

    def test_protected_routes_need_a_valid_token(self):
        r = self.api("GET", "/auth/me")
        problem(self, r, 401, "unauthorized")
        self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer")
        problem(self, self.api("GET", "/bookings", headers={"Authorization": "Bearer not.a.token"}), 401)
        # The gateway answers before the service sees anything.
        self.assertFalse(upstream_saw(self.services["booking"], "/bookings"))

    def test_logout_revokes_the_token_at_gateway_and_service(self):
        user = self.register()
        auth = {"Authorization": f"Bearer {user['access_token']}"}
        self.assertEqual(self.api("GET", "/auth/me", headers=auth).status, 200)
        self.assertEqual(self.api("POST", "/auth/logout", {}, headers=auth).status, 204)
        problem(self, self.api("GET", "/auth/me", headers=auth), 401, "unauthorized")
        problem(self, self.api("GET", "/notifications", headers=auth), 401, "unauthorized")
        # ... and at a service called directly, without the gateway.
        problem(self, http("GET", self.auth.url + "/auth/me", headers=auth), 401, "unauthorized")

    def test_logout_reaches_every_gateway(self):
        # A second gateway learns of the logout only through the denylist channel.
        other = self.start_gateway()
        try:
            user = self.register()
            auth = {"Authorization": f"Bearer {user['access_token']}"}
            self.assertEqual(self.api("GET", "/auth/me", headers=auth, gw=other).status, 200)  # cached as valid
            self.assertEqual(self.api("POST", "/auth/logout", {}, headers=auth).status, 204)
            wait_until(lambda: self.api("GET", "/auth/me", headers=auth, gw=other).status == 401, timeout=2,
                       message="the other gateway still accepts a logged-out token")
            problem(self, self.api("GET", "/notifications", headers=auth, gw=other), 401, "unauthorized")
        finally:
            other.stop()

    # --- rate limits -----------------------------------------------------------

    def test_rate_limit_answers_429_with_retry_after(self):
        gw = self.start_gateway(ROAM_RATE_LIMIT_RPS="2", ROAM_RATE_LIMIT_BURST="5")
        try:
            statuses = [self.api("GET", "/auth/jwks.json", gw=gw).status for _ in range(8)]
            self.assertEqual(statuses[:5], [200] * 5, statuses)
            self.assertIn(429, statuses[5:])
            r = self.api("GET", "/auth/jwks.json", gw=gw)
            problem(self, r, 429, "rate_limited")
            self.assertGreaterEqual(int(r.headers.get("Retry-After", "0")), 1)
            time.sleep(1.2)  # two tokens a second come back
            self.assertEqual(self.api("GET", "/auth/jwks.json", gw=gw).status, 200)
        finally:
            gw.stop()

    def test_leased_tokens_never_exceed_the_shared_limit(self):
        # 40/s with a burst of 40: leases grow to 2 tokens; two gateways share one bucket.
        env = {"ROAM_RATE_LIMIT_RPS": "40", "ROAM_RATE_LIMIT_BURST": "40"}
        gws = [self.start_gateway(**env), self.start_gateway(**env)]
        try:
            t0 = time.monotonic()
            allowed = 0
            for i in range(160):
                allowed += self.api("GET", "/auth/jwks.json", gw=gws[i % 2]).status == 200
            elapsed = time.monotonic() - t0
            self.assertLessEqual(allowed, 40 + 40 * elapsed + 1, f"{allowed} allowed in {elapsed:.2f}s")
            self.assertGreaterEqual(allowed, 30, f"only {allowed} allowed in {elapsed:.2f}s")
        finally:
            for g in gws:
                g.stop()

    # --- CORS ------------------------------------------------------------------

    def test_cors_preflight_for_the_configured_origin_only(self):
        ask = {"Origin": self.ORIGIN, "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization, content-type"}
        r = self.api("OPTIONS", "/bookings", headers=ask)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), self.ORIGIN)
        self.assertIn("POST", r.headers.get("Access-Control-Allow-Methods", ""))
        self.assertIn("Authorization", r.headers.get("Access-Control-Allow-Headers", ""))
        other = dict(ask, Origin="https://evil.example")
        r = self.api("OPTIONS", "/bookings", headers=other)
        self.assertNotEqual(r.status, 204)
        self.assertIsNone(r.headers.get("Access-Control-Allow-Origin"))
        r = self.api("GET", "/auth/jwks.json", headers={"Origin": self.ORIGIN})
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), self.ORIGIN)
        r = self.api("GET", "/auth/jwks.json", headers={"Origin": "https://evil.example"})
        self.assertIsNone(r.headers.get("Access-Control-Allow-Origin"))

    # --- bodies ----------------------------------------------------------------

    def test_oversized_body_is_413_at_the_gateway(self):
        big = b'{"x":"' + b"a" * (1024 * 1024) + b'"}'
        r = self.api("POST", "/auth/login", raw=big, headers={"Content-Type": "application/json"})
        problem(self, r, 413, "payload_too_large")
        self.assertEqual(self.gw.get("/healthz").status, 200)

    def test_oversized_headers_are_431_problem_json(self):
        for daemon in (self.gw, self.stack.daemon("auth")):
            r = http("GET", daemon.url + ("/api/v1/listings/x" if daemon is self.gw else "/auth/me"),
                     headers={"X-Padding": "p" * 10000})
            problem(self, r, 431, "headers_too_large")
            self.assertEqual(r.headers.get("Connection"), "close")
        # Just under the limit is served as usual.
        r = self.api("GET", "/openapi.json", headers={"X-Padding": "p" * 6000})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.gw.get("/healthz").status, 200)

    def test_openapi_document_is_served(self):
        r = self.api("GET", "/openapi.json")
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertTrue(doc["openapi"].startswith("3.1"))
        self.assertIn("/auth/login", doc["paths"])


if __name__ == "__main__":
    unittest.main()
