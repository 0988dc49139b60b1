"""The README's run command: `deploy/dev/stack up` brings the whole system up
with its demo data, a traveller can search, book and pay on it, the mail
reaches the stack's Maildir, and `deploy/dev/stack down` stops everything.

Every port is a free one and the state lives in a temporary folder, so the
test never meets a developer's own stack. The web app is left out here (its
own tests cover it; building it would double this test's time).

Run: tests/run --integration -k LocalStack
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from datetime import date, timedelta
from pathlib import Path

from roamtest import REPO, free_port, http, wait_until

STACK = REPO / "deploy" / "dev" / "stack"
UP_TIMEOUT_S = 240


class LocalStackTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.state = Path(tempfile.mkdtemp(prefix="roam-stack-", dir="/tmp"))
        os.chmod(cls.state, 0o755)  # the postgres user keeps its data below it
        build = os.environ.get("ROAM_BUILD_DIR") or str(REPO / "build")
        if not os.path.isabs(build):
            build = str(REPO / build)
        ports = {name: free_port() for name in ("PG", "REDIS", "SMTP", "KAFKA_CONTROL", "GATEWAY", "AUTH",
                                                 "INVENTORY", "BOOKING", "PAYMENT", "REVIEW", "NOTIFICATION")}
        cls.env = dict(os.environ, ROAM_DEV_STATE_DIR=str(cls.state), ROAM_DEV_BUILD_DIR=build,
                       ROAM_DEV_SKIP_BUILD="1", ROAM_SKIP_INSTALL_DEPS="1", ROAM_DEV_SKIP_FRONTEND="1",
                       **{f"ROAM_DEV_{k}_PORT": str(v) for k, v in ports.items()})
        cls.gateway = f"http://127.0.0.1:{ports['GATEWAY']}/api/v1"
        cls.log = open(cls.state / "stack-up.out", "w+")
        cls.proc = subprocess.Popen([str(STACK), "up"], env=cls.env, stdout=cls.log, stderr=subprocess.STDOUT,
                                    start_new_session=True)

        deadline = time.monotonic() + UP_TIMEOUT_S
        try:
            while "Roam is up" not in cls.output():
                if cls.proc.poll() is not None:
                    raise AssertionError(f"stack up exited {cls.proc.returncode}:\n{cls.output()}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"stack up was not up after {UP_TIMEOUT_S} s:\n{cls.output()}")
                time.sleep(0.5)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def output(cls) -> str:
        cls.log.flush()
        return (cls.state / "stack-up.out").read_text(errors="replace")

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            subprocess.run([str(STACK), "down"], env=cls.env, timeout=120, capture_output=True)
            try:
                cls.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(cls.proc.pid, signal.SIGKILL)
                cls.proc.wait()
        cls.log.close()
        shutil.rmtree(cls.state, ignore_errors=True)

    def api(self, method, path, body=None, token=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        return http(method, self.gateway + path, body=body, headers=h)

    def test_a_traveller_books_and_pays_on_the_demo_catalogue(self):
        # The demo data was loaded: a city of the catalogue has listings.
        check_in = (date.today() + timedelta(days=40)).isoformat()
        check_out = (date.today() + timedelta(days=42)).isoformat()
        r = self.api("GET", f"/listings?city=zurich&check_in={check_in}&check_out={check_out}&guests=2")
        self.assertEqual(r.status, 200, r.text)
        items = r.json()["items"]
        self.assertTrue(items, "the demo catalogue has stays in Zürich")
        self.assertEqual(items[0]["city"], "Zürich")

        r = self.api("POST", "/auth/login", {"email": "alice@roam-demo.test", "password": "demo-traveller-pass"})
        self.assertEqual(r.status, 200, r.text)
        token = r.json()["access_token"]
        listing = self.api("GET", f"/listings/{items[0]['id']}").json()
        unit = next(u for u in listing["units"] if u["max_guests"] >= 2)

        r = self.api("POST", "/bookings", {"listing_id": listing["id"], "unit_id": unit["id"], "check_in": check_in,
                                           "check_out": check_out, "guests": 2},
                     token=token, headers={"Idempotency-Key": "stack-test-booking"})
        self.assertEqual(r.status, 201, r.text)
        booking = r.json()
        card = {"number": "4242424242424242", "exp_month": 12, "exp_year": date.today().year + 3, "cvc": "123"}
        r = self.api("POST", "/payments", {"booking_id": booking["id"], "card": card}, token=token,
                     headers={"Idempotency-Key": "stack-test-payment"})
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json()["status"], "succeeded")

        wait_until(lambda: self.api("GET", f"/bookings/{booking['id']}", token=token).json()["status"] == "confirmed",
                   timeout=5, message="the booking was not confirmed")

        # The confirmation email reaches the stack's Maildir (README: .roam/mail/new).
        def mail():
            new = self.state / "mail" / "new"
            return [p for p in new.iterdir() if booking["reference"] in p.read_text(errors="replace")] \
                if new.is_dir() else []

        # One to the traveller (confirmed) and one to the listing's operator (new booking).
        wait_until(lambda: len(mail()) >= 2, timeout=15,
                   message="no emails about the booking in the stack's Maildir")
        time.sleep(1)  # nothing more arrives
        to = sorted(line for p in mail() for line in p.read_text(errors="replace").splitlines()
                    if line.lower().startswith("to:"))
        self.assertEqual(len(to), 2, to)
        self.assertEqual(sum("alice@roam-demo.test" in line for line in to), 1, to)

    def test_status_names_every_daemon(self):
        r = subprocess.run([str(STACK), "status"], env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for name in ("gateway", "auth", "inventory", "booking", "payment", "review", "notification"):
            self.assertIn(name, r.stdout)


if __name__ == "__main__":
    unittest.main()
