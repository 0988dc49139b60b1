"""Platform behaviour every service relies on, shown through real daemons.

Most tests use the fixture daemon roam-testd (tests/support/testd), built on
the core exactly as the services are; the last class boots the seven real
daemons together. Each class owns one Stack (PostgreSQL, Redis, the Kafka dev
broker) for all of its tests.

Run: tests/run --integration [-k PATTERN]
"""

import json
import signal
import socket
import subprocess
import threading
import time
import unittest

from roamtest import ALL_DAEMONS, SERVICES, StackTestCase, http, wait_until

TOPIC = "testd.events"
# Consumers need about 3 s to join their group; leave room for a slow machine.
DELIVERY_TIMEOUT = 40


def problem(test: unittest.TestCase, r, status: int, code: str | None = None):
    """Asserts that r is an application/problem+json answer with status (and code)."""
    test.assertEqual(r.status, status, r)
    test.assertTrue(r.headers.get("Content-Type", "").startswith("application/problem+json"),
                    f"Content-Type {r.headers.get('Content-Type')!r} in {r!r}")
    doc = r.json()
    test.assertEqual(doc.get("status"), status, doc)
    if code is not None:
        test.assertEqual(doc.get("code"), code, doc)
    return doc


def assert_not_ready_because(test: unittest.TestCase, r, failing: str):
    """Asserts that a /readyz answer is 503 and blames failing (and, if it lists checks, only failing)."""
    test.assertEqual(r.status, 503, r)
    test.assertIn(failing, r.text.lower(), r)
    try:
        checks = r.json().get("checks")
    except ValueError:
        checks = None
    if isinstance(checks, dict):
        test.assertNotEqual(checks.get(failing), "ok", checks)
        others = {k: v for k, v in checks.items() if k != failing and v != "ok"}
        test.assertEqual(others, {}, f"only {failing} should fail: {checks}")


def create_note(d, text: str) -> str:
    r = d.post("/notes", {"text": text})
    assert r.status == 201, r
    return r.json()["id"]


def received(consumer) -> dict:
    r = consumer.get("/received")
    assert r.status == 200, r
    return r.json()


def received_for(consumer, note_ids) -> list:
    wanted = set(note_ids)
    return [item for item in received(consumer)["items"] if item["note_id"] in wanted]


class FixtureDaemonTest(StackTestCase):
    """roam-testd against PostgreSQL, Redis and Kafka: storage, HTTP edges, outages, shutdown."""

    @classmethod
    def setUpStack(cls, stack):
        stack.start_postgres()
        stack.start_redis()
        stack.start_broker()
        cls.app = stack.start_daemon("testd")

    def setUp(self):
        if not self.app.running:  # a failed test may have stopped it
            self.app.start()

    # a. A note created through the daemon is stored in PostgreSQL.
    def test_note_is_stored_in_postgres(self):
        r = self.app.post("/notes", {"text": "Lisbon in spring"})
        self.assertEqual(r.status, 201, r)
        note = r.json()
        self.assertEqual(note["text"], "Lisbon in spring")
        self.assertTrue(note["id"])

        r = self.app.get(f"/notes/{note['id']}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["text"], "Lisbon in spring")

        rows = self.stack.psql(f"SELECT text FROM testd.notes WHERE id::text = '{note['id']}'")
        self.assertEqual(rows, [("Lisbon in spring",)])

    def test_unknown_note_is_404(self):
        problem(self, self.app.get("/notes/00000000-0000-4000-8000-000000000000"), 404, "not_found")

    def test_hello_and_echo(self):
        r = self.app.get("/hello")
        self.assertEqual((r.status, r.json()), (200, {"message": "hello"}), r)
        doc = {"a": [1, 2, {"b": "ü"}], "c": None}
        r = self.app.post("/echo", doc)
        self.assertEqual((r.status, r.json()), (200, doc), r)

    # b. /readyz names the dependency that is down and recovers by itself.
    def test_readyz_follows_redis(self):
        self.stack.stop_redis()
        try:
            r = wait_until(lambda: (r := self.app.get("/readyz")).status == 503 and r,
                           timeout=10, message="/readyz 503 with Redis down")
            assert_not_ready_because(self, r, "redis")
            self.assertEqual(self.app.get("/healthz").status, 200, "liveness must not depend on Redis")
        finally:
            self.stack.start_redis()
        wait_until(lambda: self.app.get("/readyz").status == 200, timeout=10,
                   message="/readyz 200 after Redis came back")

    def test_readyz_follows_postgres(self):
        self.stack.stop_postgres()
        try:
            r = wait_until(lambda: (r := self.app.get("/readyz")).status == 503 and r,
                           timeout=10, message="/readyz 503 with PostgreSQL down")
            assert_not_ready_because(self, r, "database")
            r = self.app.post("/notes", {"text": "while the database is down"})
            self.assertGreaterEqual(r.status, 500, r)
            self.assertEqual(self.app.get("/healthz").status, 200, "liveness must not depend on PostgreSQL")
        finally:
            self.stack.start_postgres()
        wait_until(lambda: self.app.get("/readyz").status == 200, timeout=10,
                   message="/readyz 200 after PostgreSQL came back")
        # The same process serves requests again: its pool reconnected.
        r = wait_until(lambda: (r := self.app.post("/notes", {"text": "back"})).status == 201 and r,
                       timeout=10, message="POST /notes 201 after PostgreSQL came back")
        self.assertEqual(self.app.get(f"/notes/{r.json()['id']}").status, 200)

    # e. Bad requests get precise problems, and the daemon keeps serving.
    def test_bad_requests_get_problem_documents(self):
        url = self.app.url
        responses = []

        def req(*a, **kw):
            r = http(*a, **kw)
            responses.append(r)
            return r

        # More than 1 MiB announced: refused before the body is read.
        r = req("POST", url + "/notes", raw=b"", headers={"Content-Type": "application/json",
                                                           "Content-Length": str(2 * 1024 * 1024)})
        problem(self, r, 413, "payload_too_large")
        # More than 1 MiB actually sent.
        big = json.dumps({"text": "x" * (1024 * 1024 + 10)}).encode()
        r = req("POST", url + "/notes", raw=big, headers={"Content-Type": "application/json"})
        problem(self, r, 413, "payload_too_large")

        problem(self, req("POST", url + "/notes", raw=b'{"text": ', headers={"Content-Type": "application/json"}),
                400, "malformed_json")
        problem(self, req("POST", url + "/notes", raw=b'{"text": "caf\xc3"}',
                          headers={"Content-Type": "application/json"}), 400)
        problem(self, req("POST", url + "/notes", raw=b'{"text": "hi"}', headers={"Content-Type": "text/plain"}),
                415, "unsupported_media_type")
        problem(self, req("POST", url + "/notes", body={}), 422, "validation_failed")
        problem(self, req("POST", url + "/notes", body={"text": 42}), 422, "validation_failed")
        problem(self, req("GET", url + "/no/such/route"), 404, "not_found")

        r = req("DELETE", url + "/hello")
        problem(self, r, 405)
        self.assertIn("GET", r.headers.get("Allow", ""), r.headers)

        self.assertEqual(req("GET", url + "/healthz").status, 200)
        self.assertEqual(req("GET", url + "/hello").status, 200)
        for r in responses:
            self.assertTrue(r.headers.get("X-Request-Id"), f"no X-Request-Id on {r!r}")

    def test_request_id_is_echoed_or_replaced(self):
        r = self.app.get("/hello", headers={"X-Request-Id": "trip-4711.alpha_beta"})
        self.assertEqual(r.headers.get("X-Request-Id"), "trip-4711.alpha_beta")
        too_long = "a" * 200
        r = self.app.get("/hello", headers={"X-Request-Id": too_long})
        self.assertEqual(r.status, 200, r)
        rid = r.headers.get("X-Request-Id")
        self.assertTrue(rid)
        self.assertNotEqual(rid, too_long)
        self.assertLessEqual(len(rid), 128)

    # f. SIGTERM lets in-flight requests finish, refuses new ones and exits 0.
    def test_graceful_shutdown(self):
        d = self.stack.start_daemon("testd")
        outcome = {}

        def slow():
            try:
                outcome["response"] = d.get("/slow?ms=1500", timeout=10)
            except Exception as e:  # noqa: BLE001 - reported below
                outcome["error"] = e

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)  # the request is being served
        sent = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)

        def refused():
            try:
                with socket.create_connection(("127.0.0.1", d.port), timeout=0.5):
                    return False
            except ConnectionRefusedError:
                return True

        wait_until(refused, timeout=3, interval=0.05, message="new connections refused after SIGTERM")
        t.join(10)
        self.assertNotIn("error", outcome, outcome)
        self.assertEqual(outcome["response"].status, 200, outcome["response"])
        rc = d.proc.wait(max(0.1, 5 - (time.monotonic() - sent)))
        self.assertEqual(rc, 0, "exit status after SIGTERM")
        self.assertLess(time.monotonic() - sent, 5)


class OutboxTest(StackTestCase):
    """Events leave through the transactional outbox and take effect exactly once."""

    @classmethod
    def setUpStack(cls, stack):
        stack.start_postgres()
        stack.start_redis()
        stack.start_broker()
        # Both instances share schema testd and so its outbox: only the
        # producer may relay it.
        cls.consumer = stack.start_daemon("testd", {"ROAM_TESTD_CONSUME": "true", "ROAM_OUTBOX_RELAY": "false"})
        cls.producer = stack.start_daemon("testd", {"ROAM_OUTBOX_RELAY": "false"})

    def relaying_producer(self):
        p = self.producer
        if not p.running or p.env.get("ROAM_OUTBOX_RELAY") != "true":
            p.restart(env={"ROAM_OUTBOX_RELAY": "true"})
        return p

    def published(self, note_id: str) -> list:
        return [m for m in self.stack.kafka_messages(TOPIC) if m.get("key") == note_id]

    def outbox_event_id(self, note_id: str) -> str:
        """The id of note_id's event as stored in testd.outbox."""
        rows = self.stack.psql("SELECT row_to_json(o)::text FROM testd.outbox o")
        for (doc,) in rows:
            row = json.loads(doc)
            if note_id not in doc:
                continue
            for col in ("event_id", "id"):
                if isinstance(row.get(col), str) and len(row[col]) == 36:
                    return row[col]
            for col in ("envelope", "payload", "value"):
                env = row.get(col)
                if isinstance(env, str):
                    env = json.loads(env)
                if isinstance(env, dict) and "id" in env:
                    return env["id"]
        self.fail(f"no outbox row for note {note_id}: {rows}")

    # c. Nothing is published while the relay is off, and a crash loses nothing.
    def test_exactly_once_through_the_outbox(self):
        if self.producer.env.get("ROAM_OUTBOX_RELAY") != "false" or not self.producer.running:
            self.producer.restart(env={"ROAM_OUTBOX_RELAY": "false"})
        before = received(self.consumer)["count"]
        note_id = create_note(self.producer, "exactly once")
        self.assertEqual(self.producer.kill(), -signal.SIGKILL)

        self.assertEqual(self.published(note_id), [], "published although the relay is off")
        event_id = self.outbox_event_id(note_id)

        self.relaying_producer()
        items = wait_until(lambda: received_for(self.consumer, [note_id]), timeout=DELIVERY_TIMEOUT,
                           message="the consumer to receive the event")
        self.assertEqual(len(items), 1, items)
        self.assertEqual(items[0]["event_id"], event_id)
        self.assertEqual(received(self.consumer)["count"], before + 1)

        # Kafka may deliver it again: the effect stays single.
        msgs = wait_until(lambda: self.published(note_id), timeout=10, message="the event in Kafka")
        self.assertEqual(len(msgs), 1, msgs)
        self.assertEqual(json.loads(msgs[0]["payload"])["id"], event_id)
        self.stack.kafka_produce(TOPIC, msgs[0]["payload"], key=note_id)
        wait_until(lambda: len(self.published(note_id)) == 2, timeout=10, message="the duplicate in Kafka")
        time.sleep(3)
        self.assertEqual(len(received_for(self.consumer, [note_id])), 1)
        self.assertEqual(received(self.consumer)["count"], before + 1)

    # d. A Kafka outage delays events but loses none and duplicates none.
    def test_kafka_outage_delays_but_loses_nothing(self):
        producer = self.relaying_producer()
        self.stack.broker_down()
        try:
            note_ids = []
            for i in range(5):
                r = producer.post("/notes", {"text": f"during outage {i}"}, timeout=10)
                self.assertEqual(r.status, 201, r)
                note_ids.append(r.json()["id"])
            r = wait_until(lambda: (r := producer.get("/readyz")).status == 503 and r, timeout=20,
                           message="/readyz 503 with Kafka down")
            assert_not_ready_because(self, r, "kafka")
        finally:
            self.stack.broker_up()
        wait_until(lambda: len(received_for(self.consumer, note_ids)) == len(note_ids), timeout=DELIVERY_TIMEOUT,
                   message="every event to arrive after the outage")
        wait_until(lambda: producer.get("/readyz").status == 200, timeout=20, message="/readyz 200 again")
        time.sleep(2)
        items = received_for(self.consumer, note_ids)
        self.assertEqual(sorted(i["note_id"] for i in items), sorted(note_ids), items)
        self.assertEqual(len({i["event_id"] for i in items}), len(note_ids), items)


class PlatformBootTest(StackTestCase):
    """The seven real daemons against one PostgreSQL, Redis, Kafka and SMTP."""

    @classmethod
    def setUpStack(cls, stack):
        stack.start_postgres()
        stack.start_redis()
        stack.start_broker()
        stack.start_smtp()
        cls.daemons = {name: stack.start_daemon(name, timeout=30) for name in ALL_DAEMONS}

    # g. Everything boots and migrates.
    def test_all_daemons_ready_and_migrated(self):
        for name, d in self.daemons.items():
            with self.subTest(daemon=name):
                self.assertEqual(d.get("/readyz").status, 200)
                self.assertEqual(d.get("/healthz").status, 200)
                self.assertEqual(d.get("/metrics").status, 200)
        for schema in SERVICES:
            with self.subTest(schema=schema):
                n = self.stack.psql_value(f"SELECT count(*) FROM {schema}.schema_migrations")
                self.assertGreater(int(n), 0, f"{schema}.schema_migrations is empty")

    def test_bad_setting_exits_2_naming_the_variable(self):
        for name in ("auth", "gateway"):
            with self.subTest(daemon=name):
                env = self.stack.daemon_env(name, 70000)
                res = subprocess.run([str(self.stack.binary(name))], env=env, capture_output=True, text=True,
                                     timeout=10, stdin=subprocess.DEVNULL)
                self.assertEqual(res.returncode, 2, res)
                lines = [line for line in res.stderr.splitlines() if line.strip()]
                self.assertEqual(len(lines), 1, res.stderr)
                self.assertIn("ROAM_HTTP_PORT", lines[0])

    # h. Replicas that start together on a fresh database migrate once.
    def test_concurrent_start_migrates_once(self):
        url = self.stack.create_database("concurrent_start")
        env = {"ROAM_DATABASE_URL": url}
        a = self.stack.start_daemon("inventory", env, wait=False)
        b = self.stack.start_daemon("inventory", env, wait=False)
        try:
            a.wait_healthy(timeout=30)
            b.wait_healthy(timeout=30)
        finally:
            codes = (a.stop(), b.stop())
        self.assertEqual(codes, (0, 0), "exit statuses after SIGTERM")
        # The reference: what one instance recorded on the shared database.
        single = int(self.stack.psql_value("SELECT count(*) FROM inventory.schema_migrations"))
        rows = self.stack.psql("SELECT version, count(*) FROM inventory.schema_migrations GROUP BY version",
                               db="concurrent_start")
        self.assertEqual(len(rows), single, rows)
        self.assertTrue(all(n == "1" for _, n in rows), rows)


if __name__ == "__main__":
    unittest.main()
