"""The auth service: accounts, logins, the failed-login limit, refresh-token
rotation and theft detection, logout, the JWKS and every kind of forged token.

The tests speak to the URL in `api` (the auth daemon itself here; point it at
the gateway, `http://gw/api/v1`, to run the same checks through it) plus the
contract's paths (`/auth/login`). Forged tokens are built with the standard
library, and ES256 signatures with `openssl dgst` and the stack's real key.

Run: tests/run --integration -k Auth
"""

import base64
import hashlib
import hmac
import json
import re
import subprocess
import threading
import time
import unittest
import uuid

from roamtest import StackTestCase, http

from tests.integration.test_platform import problem

PASSWORD = "correct horse battery"
MISSING = object()  # a member left out of a request body
ADMIN_EMAIL = "root@roam.example"
ADMIN_PASSWORD = "admin password 123"
# Cheap hashing for every test but the timing one (argon2id at 1 MiB, one pass).
CHEAP_ARGON2 = {"ROAM_ARGON2_MEMORY_KIB": "1024", "ROAM_ARGON2_ITERATIONS": "1"}
REUSE_INTERVAL_S = 1
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# SubjectPublicKeyInfo DER prefix of an uncompressed EC P-256 point (id-ecPublicKey, prime256v1).
P256_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token: str):
    h, p, _ = token.split(".")
    return json.loads(unb64url(h)), json.loads(unb64url(p))


def der_to_raw(der: bytes) -> bytes:
    """An ECDSA signature from DER (SEQUENCE of INTEGER r, s) to JOSE's raw R||S, 32 bytes each."""
    assert der[0] == 0x30, der
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02, der
        n = der[i + 1]
        out += der[i + 2:i + 2 + n].lstrip(b"\x00").rjust(32, b"\x00")
        i += 2 + n
    return out


def raw_to_der(raw: bytes) -> bytes:
    def integer(b: bytes) -> bytes:
        b = b.lstrip(b"\x00") or b"\x00"
        if b[0] & 0x80:
            b = b"\x00" + b
        return bytes([0x02, len(b)]) + b
    body = integer(raw[:32]) + integer(raw[32:])
    return bytes([0x30, len(body)]) + body


def es256_sign(key_file, signing_input: bytes) -> bytes:
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key_file)], input=signing_input,
                         capture_output=True, check=True).stdout
    return der_to_raw(der)


def public_pem(key_file) -> bytes:
    return subprocess.run(["openssl", "pkey", "-in", str(key_file), "-pubout"], capture_output=True,
                          check=True).stdout


def craft(header: dict, claims: dict, how: str, key_file=None, secret: bytes | None = None) -> str:
    """A compact JWT from header and claims, signed "es256" (with key_file), "hs256" (with secret) or "none"."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    if how == "es256":
        sig = es256_sign(key_file, signing_input.encode())
    elif how == "hs256":
        sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    else:
        sig = b""
    return f"{signing_input}.{b64url(sig)}"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def new_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


class AuthTest(StackTestCase):
    """The auth daemon against PostgreSQL and Redis."""

    api: str = ""  # base URL the tests call: "<scheme>://<host>:<port>[/api/v1]"

    @classmethod
    def setUpStack(cls, stack):
        stack.start_postgres()
        stack.start_redis()
        cls.auth = stack.start_daemon("auth", dict(CHEAP_ARGON2, ROAM_REFRESH_REUSE_INTERVAL_S=str(REUSE_INTERVAL_S),
                                                   ROAM_ADMIN_EMAIL=ADMIN_EMAIL, ROAM_ADMIN_PASSWORD=ADMIN_PASSWORD))
        cls.api = cls.auth.url

    # -- helpers ------------------------------------------------------------

    def post(self, path, body=None, headers=None, **kw):
        return http("POST", self.api + path, body, headers=headers, **kw)

    def get(self, path, headers=None, **kw):
        return http("GET", self.api + path, headers=headers, **kw)

    def register(self, email=None, password=PASSWORD, name="Test User", role=None) -> dict:
        body = {"email": email or new_email(), "password": password, "name": name}
        if role is not None:
            body["role"] = role
        r = self.post("/auth/register", body)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def login(self, email, password=PASSWORD, headers=None):
        return self.post("/auth/login", {"email": email, "password": password}, headers=headers)

    def refresh(self, token):
        return self.post("/auth/refresh", {"refresh_token": token})

    def assert_invalid(self, r, field):
        doc = problem(self, r, 422, "validation_failed")
        fields = [e.get("field") for e in doc.get("errors", [])]
        self.assertIn(field, fields, doc)

    def redis_dump(self) -> str:
        """Every key of Redis with its string or hash values, as text."""
        script = ("local out = {} for _, k in ipairs(redis.call('KEYS', '*')) do "
                  "local t = redis.call('TYPE', k).ok table.insert(out, k) "
                  "if t == 'string' then table.insert(out, redis.call('GET', k)) "
                  "elseif t == 'hash' then for _, v in ipairs(redis.call('HGETALL', k)) do table.insert(out, v) end "
                  "end end return out")
        return subprocess.run(["redis-cli", "-p", str(self.stack.redis_port), "EVAL", script, "0"],
                              capture_output=True, text=True, check=True).stdout

    def valid_claims(self, user_id, **over) -> dict:
        now = int(time.time())
        claims = {"iss": "roam", "aud": "roam-api", "sub": user_id, "role": "traveller",
                  "jti": str(uuid.uuid4()), "iat": now, "exp": now + 600}
        claims.update(over)
        return claims

    # -- register -----------------------------------------------------------

    def test_register_returns_the_user_and_a_token_pair(self):
        email = new_email("Mixed.Case")
        r = self.post("/auth/register", {"email": email.upper(), "password": PASSWORD, "name": "  Ada Lovelace "})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.headers.get("Cache-Control"), "no-store")
        doc = r.json()
        self.assertEqual(set(doc), {"user", "access_token", "refresh_token", "token_type", "expires_in"}, doc)
        user = doc["user"]
        self.assertEqual(set(user), {"id", "email", "name", "role", "created_at"}, user)
        self.assertEqual(str(uuid.UUID(user["id"])), user["id"])
        self.assertEqual(user["email"], email.lower())
        self.assertEqual(user["name"], "Ada Lovelace")
        self.assertEqual(user["role"], "traveller")
        self.assertRegex(user["created_at"], RFC3339_UTC)
        self.assertEqual(doc["token_type"], "Bearer")
        self.assertEqual(doc["expires_in"], 900)
        self.assertRegex(doc["refresh_token"], r"^[A-Za-z0-9_-]{43}$")
        header, claims = jwt_parts(doc["access_token"])
        self.assertEqual(header["alg"], "ES256")
        self.assertTrue(header.get("kid"))
        self.assertEqual(claims["sub"], user["id"])
        self.assertEqual(claims["role"], "traveller")
        self.assertEqual((claims["iss"], claims["aud"]), ("roam", "roam-api"))
        self.assertEqual(claims["exp"] - claims["iat"], 900)
        self.assertLessEqual(abs(claims["iat"] - time.time()), 60)
        uuid.UUID(claims["jti"])
        # The refresh token is stored only as a hash: it appears in no Redis key or value.
        dump = self.redis_dump()
        self.assertIn(hashlib.sha256(doc["refresh_token"].encode()).hexdigest(), dump)
        self.assertNotIn(doc["refresh_token"], dump)

    def test_operator_can_register(self):
        self.assertEqual(self.register(role="operator")["user"]["role"], "operator")

    def test_duplicate_email_in_another_case_is_409(self):
        email = new_email()
        self.register(email=email)
        r = self.post("/auth/register", {"email": email.upper(), "password": PASSWORD, "name": "Twin"})
        problem(self, r, 409, "email_taken")

    def test_concurrent_registrations_of_one_email_create_one_account(self):
        email = new_email()
        barrier = threading.Barrier(6)
        statuses = []

        def go(i):
            barrier.wait()
            statuses.append(self.post("/auth/register", {"email": email if i % 2 else email.upper(),
                                                         "password": PASSWORD, "name": "Racer"}).status)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(statuses), [201] + [409] * 5, statuses)

    def test_each_validation_rule_is_422_naming_the_field(self):
        ok = {"password": PASSWORD, "name": "Valid Name"}
        cases = [
            ("email", {"email": MISSING}),
            ("email", {"email": 42}),
            ("email", {"email": "no-at-sign.example.com"}),
            ("email", {"email": "two@@example.com"}),
            ("email", {"email": "a@b@example.com"}),
            ("email", {"email": "@example.com"}),
            ("email", {"email": "someone@"}),
            ("email", {"email": "someone@localhost"}),
            ("email", {"email": "some one@example.com"}),
            ("email", {"email": "a@example..com"}),
            ("email", {"email": "x" * 243 + "@example.com"}),  # 255 characters
            ("password", {"password": "short1234"}),  # 9 characters
            ("password", {"password": "x" * 129}),
            ("password", {"password": "é" * 9}),  # 18 bytes, but 9 characters
            ("password", {"password": 1234567890}),
            ("password", {"password": MISSING}),
            ("name", {"name": ""}),
            ("name", {"name": "    "}),
            ("name", {"name": "n" * 101}),
            ("name", {"name": ["Ada"]}),
            ("name", {"name": MISSING}),
            ("role", {"role": None}),
            ("role", {"role": "admin"}),
            ("role", {"role": "superuser"}),
            ("role", {"role": 1}),
        ]
        for field, change in cases:
            with self.subTest(field=field, change=repr(change)[:60]):
                body = dict(ok, email=new_email())
                body.update(change)
                body = {k: v for k, v in body.items() if v is not MISSING}
                self.assert_invalid(self.post("/auth/register", body), field)
        # Several problems at once are all reported.
        r = self.post("/auth/register", {"email": "nope", "password": "short", "name": ""})
        doc = problem(self, r, 422, "validation_failed")
        self.assertEqual({e["field"] for e in doc["errors"]}, {"email", "password", "name"}, doc)
        # A JSON value of the wrong shape is 422 too.
        problem(self, self.post("/auth/register", raw="[1, 2]", headers={"Content-Type": "application/json"}), 422,
                "validation_failed")

    def test_lengths_count_characters_not_bytes(self):
        exact = "x" * 242 + "@example.com"  # 254 characters
        self.assertEqual(len(exact), 254)
        self.register(email=exact)
        user = self.register(password="é" * 128, name="名" * 100)["user"]  # 256 and 300 bytes
        self.assertEqual(user["name"], "名" * 100)
        self.assertEqual(self.login(user["email"], "é" * 128).status, 200)

    def test_admin_cannot_be_registered(self):
        self.assert_invalid(self.post("/auth/register", {"email": new_email(), "password": PASSWORD, "name": "Eve",
                                                         "role": "admin"}), "role")

    # -- login --------------------------------------------------------------

    def test_login_returns_the_same_shape_as_register(self):
        email = new_email()
        user = self.register(email=email)["user"]
        r = self.login(email.upper())
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc["user"], user)
        self.assertEqual(doc["token_type"], "Bearer")
        self.assertEqual(self.get("/auth/me", headers=bearer(doc["access_token"])).json(), user)

    def test_login_needs_both_fields(self):
        self.assert_invalid(self.post("/auth/login", {"email": new_email()}), "password")
        self.assert_invalid(self.post("/auth/login", {"password": PASSWORD}), "email")
        self.assert_invalid(self.post("/auth/login", {"email": ["x"], "password": PASSWORD}), "email")

    def test_wrong_password_and_unknown_email_get_the_same_answer(self):
        email = new_email()
        self.register(email=email)
        wrong = self.login(email, "not the password")
        unknown = self.login(new_email("ghost"), "not the password")
        problem(self, wrong, 401, "invalid_credentials")
        problem(self, unknown, 401, "invalid_credentials")
        self.assertEqual(wrong.json(), unknown.json())
        for r in (wrong, unknown):
            self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer")
            self.assertIsNone(r.headers.get("Retry-After"))

    def test_sixth_failed_login_is_429_even_with_the_right_password(self):
        email = new_email()
        self.register(email=email)
        for i in range(5):
            problem(self, self.login(email, f"wrong password {i}"), 401, "invalid_credentials")
        r = self.login(email)
        problem(self, r, 429, "rate_limited")
        retry = int(r.headers["Retry-After"])
        self.assertTrue(1 <= retry <= 900, retry)
        # The count is per email (in any case) and address: it covers the upper-case spelling too,
        problem(self, self.login(email.upper()), 429, "rate_limited")
        # ... an unknown email gets it as well (the limit says nothing about existence),
        ghost = new_email("ghost")
        for i in range(5):
            problem(self, self.login(ghost, "x" * 12), 401, "invalid_credentials")
        problem(self, self.login(ghost, "x" * 12), 429, "rate_limited")
        # ... and another email from the same address is not affected.
        other = new_email()
        self.register(email=other)
        self.assertEqual(self.login(other).status, 200)

    def test_another_client_address_is_counted_apart(self):
        # Through the internal secret the service trusts X-Forwarded-For, as the gateway sends it.
        email = new_email()
        self.register(email=email)
        for i in range(5):
            problem(self, self.login(email, "wrong password!"), 401, "invalid_credentials")
        problem(self, self.login(email), 429, "rate_limited")
        via_gateway = {"X-Roam-Internal": self.stack.internal_secret, "X-Forwarded-For": "203.0.113.7"}
        r = http("POST", self.auth.url + "/auth/login", {"email": email, "password": PASSWORD}, headers=via_gateway)
        self.assertEqual(r.status, 200, r)
        # A client cannot pick its own address without the secret.
        r = http("POST", self.auth.url + "/auth/login", {"email": email, "password": PASSWORD},
                 headers={"X-Forwarded-For": "198.51.100.9"})
        problem(self, r, 429, "rate_limited")

    def test_a_successful_login_resets_the_count(self):
        email = new_email()
        self.register(email=email)
        for i in range(4):
            problem(self, self.login(email, "wrong password!"), 401, "invalid_credentials")
        self.assertEqual(self.login(email).status, 200)
        for i in range(5):
            problem(self, self.login(email, "wrong password!"), 401, "invalid_credentials")
        problem(self, self.login(email), 429, "rate_limited")

    # -- refresh ------------------------------------------------------------

    def test_refresh_rotates_and_replays_the_same_pair_within_the_interval(self):
        first = self.register()
        r = self.refresh(first["refresh_token"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Cache-Control"), "no-store")
        second = r.json()
        self.assertEqual(second["token_type"], "Bearer")
        self.assertNotEqual(second["refresh_token"], first["refresh_token"])
        self.assertNotEqual(second["access_token"], first["access_token"])
        self.assertEqual(self.get("/auth/me", headers=bearer(second["access_token"])).json(), first["user"])
        _, c1 = jwt_parts(first["access_token"])
        _, c2 = jwt_parts(second["access_token"])
        self.assertEqual(c1["sub"], c2["sub"])
        self.assertNotEqual(c1["jti"], c2["jti"])
        # The old token, again at once: the same pair (a client that retried or raced itself).
        again = self.refresh(first["refresh_token"])
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json(), second)
        # The new one rotates on.
        third = self.refresh(second["refresh_token"])
        self.assertEqual(third.status, 200, third)
        self.assertNotEqual(third.json()["refresh_token"], second["refresh_token"])

    def test_concurrent_refreshes_with_one_token_get_the_same_pair(self):
        token = self.register()["refresh_token"]
        n = 8
        barrier = threading.Barrier(n)
        results = [None] * n

        def go(i):
            barrier.wait()
            results[i] = self.refresh(token)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([r.status for r in results], [200] * n, results)
        pairs = {(r.json()["access_token"], r.json()["refresh_token"]) for r in results}
        self.assertEqual(len(pairs), 1, pairs)
        # ... and that pair is live: it rotates once more.
        self.assertEqual(self.refresh(pairs.pop()[1]).status, 200)

    def test_replaying_a_rotated_token_after_the_interval_revokes_the_family(self):
        first = self.register()
        second = self.refresh(first["refresh_token"]).json()
        third = self.refresh(second["refresh_token"]).json()
        time.sleep(REUSE_INTERVAL_S + 0.3)
        problem(self, self.refresh(first["refresh_token"]), 401, "unauthorized")
        # Theft detected: the newest token of the family stops working too.
        problem(self, self.refresh(third["refresh_token"]), 401, "unauthorized")
        # Other sessions of the same user are untouched.
        other = self.login(first["user"]["email"])
        self.assertEqual(self.refresh(other.json()["refresh_token"]).status, 200)

    def test_unknown_or_malformed_refresh_tokens_are_401_or_422(self):
        problem(self, self.refresh(b64url(b"\x00" * 32)), 401, "unauthorized")
        problem(self, self.refresh("x"), 401, "unauthorized")
        self.assert_invalid(self.post("/auth/refresh", {}), "refresh_token")
        self.assert_invalid(self.refresh(12345), "refresh_token")
        # An access token is not a refresh token.
        problem(self, self.refresh(self.register()["access_token"]), 401, "unauthorized")

    # -- logout and me ------------------------------------------------------

    def test_logout_revokes_the_access_token_and_the_session(self):
        session = self.register()
        auth = bearer(session["access_token"])
        self.assertEqual(self.get("/auth/me", headers=auth).status, 200)
        r = self.post("/auth/logout", {}, headers=auth)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"")
        problem(self, self.get("/auth/me", headers=auth), 401, "unauthorized")
        problem(self, self.post("/auth/logout", {}, headers=auth), 401, "unauthorized")
        # The session's refresh token is revoked although it was not sent.
        problem(self, self.refresh(session["refresh_token"]), 401, "unauthorized")
        # The account itself still works.
        self.assertEqual(self.login(session["user"]["email"]).status, 200)

    def test_logout_with_a_refresh_token_also_ends_that_session(self):
        first = self.register()
        second = self.login(first["user"]["email"]).json()  # another device
        r = self.post("/auth/logout", {"refresh_token": second["refresh_token"]}, headers=bearer(first["access_token"]))
        self.assertEqual(r.status, 204, r)
        problem(self, self.refresh(first["refresh_token"]), 401, "unauthorized")
        problem(self, self.refresh(second["refresh_token"]), 401, "unauthorized")
        self.assert_invalid(self.post("/auth/logout", {"refresh_token": 7}, headers=bearer(second["access_token"])),
                            "refresh_token")

    def test_logout_cannot_end_another_users_session(self):
        victim = self.register()
        attacker = self.register()
        r = self.post("/auth/logout", {"refresh_token": victim["refresh_token"]},
                      headers=bearer(attacker["access_token"]))
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.refresh(victim["refresh_token"]).status, 200)

    def test_logout_needs_a_token(self):
        r = self.post("/auth/logout", {})
        problem(self, r, 401, "unauthorized")
        self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer")

    def test_me_returns_the_bare_user(self):
        session = self.register(role="operator")
        r = self.get("/auth/me", headers=bearer(session["access_token"]))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), session["user"])
        r = self.get("/auth/me")
        problem(self, r, 401, "unauthorized")
        self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer")

    def test_client_identity_headers_are_ignored(self):
        me = self.register()
        other = self.register(role="operator")
        spoof = {"X-User-Id": other["user"]["id"], "X-Roam-Role": "admin", "X-Roam-User": other["user"]["id"],
                 "X-Forwarded-User": other["user"]["email"]}
        r = self.get("/auth/me", headers=dict(spoof, **bearer(me["access_token"])))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), me["user"])
        problem(self, self.get("/auth/me", headers=spoof), 401, "unauthorized")

    # -- keys and forged tokens ---------------------------------------------

    def test_jwks_publishes_the_key_that_verifies_tokens(self):
        token = self.register()["access_token"]
        r = self.get("/auth/jwks.json")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Cache-Control"), "public, max-age=300")
        keys = r.json()["keys"]
        header, _ = jwt_parts(token)
        jwk = next(k for k in keys if k["kid"] == header["kid"])
        self.assertEqual((jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]), ("EC", "P-256", "ES256", "sig"))
        self.assertNotIn("d", jwk)  # never the private part
        # The default kid is the RFC 7638 thumbprint of the key.
        canon = json.dumps({"crv": "P-256", "kty": "EC", "x": jwk["x"], "y": jwk["y"]}, separators=(",", ":"))
        self.assertEqual(jwk["kid"], b64url(hashlib.sha256(canon.encode()).digest()))
        # The token verifies with that key alone (openssl, from the JWK's coordinates).
        spki = P256_SPKI_PREFIX + b"\x04" + unb64url(jwk["x"]) + unb64url(jwk["y"])
        pem = self.stack.tmp / f"jwk-{uuid.uuid4().hex}.pem"
        pem.write_text("-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(spki).decode() + "\n-----END PUBLIC KEY-----\n")
        sig = self.stack.tmp / f"sig-{uuid.uuid4().hex}.der"
        signing_input, _, signature = token.rpartition(".")
        sig.write_bytes(raw_to_der(unb64url(signature)))
        res = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(pem), "-signature", str(sig)],
                             input=signing_input.encode(), capture_output=True)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def test_forged_and_invalid_tokens_are_401(self):
        user = self.register()["user"]
        key = self.stack.jwt_key_file()
        kid = jwt_parts(self.login(user["email"]).json()["access_token"])[0]["kid"]
        es = {"alg": "ES256", "typ": "JWT", "kid": kid}
        now = int(time.time())
        # The recipe itself is sound: a token crafted here with the real key and right claims is accepted.
        good = craft(es, self.valid_claims(user["id"]), "es256", key)
        self.assertEqual(self.get("/auth/me", headers=bearer(good)).status, 200)

        real = self.login(user["email"]).json()["access_token"]
        h, p, s = real.split(".")
        claims = json.loads(unb64url(p))
        tampered = ".".join([h, b64url(json.dumps(dict(claims, role="admin")).encode()), s])
        cases = {
            "alg none": craft({"alg": "none", "typ": "JWT", "kid": kid}, self.valid_claims(user["id"]), "none"),
            "alg none, signature kept": craft({"alg": "none", "typ": "JWT", "kid": kid},
                                              self.valid_claims(user["id"]), "none") + s,
            "HS256 keyed with the public key PEM": craft({"alg": "HS256", "typ": "JWT", "kid": kid},
                                                         self.valid_claims(user["id"]), "hs256",
                                                         secret=public_pem(key)),
            "alg in lower case": craft(dict(es, alg="es256"), self.valid_claims(user["id"]), "es256", key),
            "unknown kid": craft(dict(es, kid="not-a-key"), self.valid_claims(user["id"]), "es256", key),
            "no kid": craft({"alg": "ES256", "typ": "JWT"}, self.valid_claims(user["id"]), "es256", key),
            "expired": craft(es, self.valid_claims(user["id"], iat=now - 7200, exp=now - 3600), "es256", key),
            "no exp": craft(es, {k: v for k, v in self.valid_claims(user["id"]).items() if k != "exp"}, "es256", key),
            "wrong issuer": craft(es, self.valid_claims(user["id"], iss="evil"), "es256", key),
            "wrong audience": craft(es, self.valid_claims(user["id"], aud="another-api"), "es256", key),
            "tampered payload": tampered,
            "signature of another token": ".".join([h, p, good.split(".")[2]]),
            "garbage": "not.a.token",
        }
        for name, token in cases.items():
            with self.subTest(name):
                r = self.get("/auth/me", headers=bearer(token))
                problem(self, r, 401, "unauthorized")
                self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer")
        # The real token is still fine.
        self.assertEqual(self.get("/auth/me", headers=bearer(real)).status, 200)

    # -- operations ---------------------------------------------------------

    def test_redis_outage_answers_503_never_a_free_pass(self):
        session = self.register()
        self.stack.stop_redis()
        try:
            problem(self, self.login(session["user"]["email"]), 503, "upstream_unavailable")
            problem(self, self.refresh(session["refresh_token"]), 503, "upstream_unavailable")
            # The denylist cannot be checked, so a token is not taken on trust.
            problem(self, self.get("/auth/me", headers=bearer(session["access_token"])), 503, "upstream_unavailable")
        finally:
            self.stack.start_redis()
        # Back (empty: the test Redis keeps nothing): new logins work at once.
        self.assertEqual(self.login(session["user"]["email"]).status, 200)

    def test_logs_hold_no_passwords_or_tokens(self):
        password = f"s3cret-{uuid.uuid4().hex}"
        first = self.register(password=password)
        second = self.login(first["user"]["email"], password).json()
        self.login(first["user"]["email"], password + "-wrong")
        third = self.refresh(second["refresh_token"]).json()
        self.post("/auth/logout", {"refresh_token": third["refresh_token"]}, headers=bearer(third["access_token"]))
        self.get("/auth/me", headers=bearer(third["access_token"]))
        log = self.auth.log_path.read_text()
        for secret in (password, first["access_token"], first["refresh_token"], second["refresh_token"],
                       third["access_token"], third["refresh_token"]):
            self.assertNotIn(secret, log)
            self.assertNotIn(secret.split(".")[-1], log)  # not even a token's signature

    def test_key_rotation_keeps_tokens_of_the_previous_key_valid(self):
        # The old deployment signs with key B, given inline.
        old_key = self.stack.tmp / "old-signing-key.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                        str(old_key)], check=True, capture_output=True)
        old = self.stack.start_daemon("auth", dict(CHEAP_ARGON2, ROAM_JWT_PRIVATE_KEY=old_key.read_text()))
        try:
            email = new_email()
            http("POST", old.url + "/auth/register", {"email": email, "password": PASSWORD, "name": "Rotator"})
            old_token = http("POST", old.url + "/auth/login", {"email": email, "password": PASSWORD}).json()
            old_jwks = http("GET", old.url + "/auth/jwks.json").body
        finally:
            old.stop()
        old_kid = jwt_parts(old_token["access_token"])[0]["kid"]
        # The new one signs with the stack's key under a chosen kid and still publishes B.
        previous = self.stack.tmp / "previous-jwks.json"
        previous.write_bytes(old_jwks)
        new = self.stack.start_daemon("auth", dict(CHEAP_ARGON2, ROAM_JWT_KID="key-2", ROAM_JWT_PREVIOUS_JWKS_FILE=previous))
        try:
            kids = [k["kid"] for k in http("GET", new.url + "/auth/jwks.json").json()["keys"]]
            self.assertEqual(kids, ["key-2", old_kid])
            fresh = http("POST", new.url + "/auth/login", {"email": email, "password": PASSWORD}).json()
            self.assertEqual(jwt_parts(fresh["access_token"])[0]["kid"], "key-2")
            for token in (old_token["access_token"], fresh["access_token"]):
                r = http("GET", new.url + "/auth/me", headers=bearer(token))
                self.assertEqual(r.status, 200, r)
            # Sessions survive the rotation as well.
            self.assertEqual(http("POST", new.url + "/auth/refresh",
                                  {"refresh_token": old_token["refresh_token"]}).status, 200)
        finally:
            new.stop()
        # A daemon that does not publish B refuses B's tokens.
        problem(self, self.get("/auth/me", headers=bearer(old_token["access_token"])), 401, "unauthorized")

    # -- admin --------------------------------------------------------------

    def test_the_configured_admin_can_log_in(self):
        r = self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc["user"]["role"], "admin")
        self.assertEqual(jwt_parts(doc["access_token"])[1]["role"], "admin")
        self.assertEqual(self.get("/auth/me", headers=bearer(doc["access_token"])).json()["role"], "admin")
        # Its email is taken for registration.
        problem(self, self.post("/auth/register", {"email": ADMIN_EMAIL.upper(), "password": PASSWORD, "name": "X"}),
                409, "email_taken")

    def test_a_second_replica_does_not_duplicate_the_admin(self):
        second = self.stack.start_daemon("auth", dict(CHEAP_ARGON2, ROAM_ADMIN_EMAIL=ADMIN_EMAIL,
                                                      ROAM_ADMIN_PASSWORD="another password 456"))
        try:
            n = self.stack.psql(f"SELECT count(*) FROM auth.users WHERE email = '{ADMIN_EMAIL}'")
            self.assertEqual(n, [("1",)])
            # The existing account keeps its password.
            self.assertEqual(http("POST", second.url + "/auth/login",
                                  {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).status, 200)
        finally:
            second.stop()

    def test_bad_configuration_stops_the_daemon(self):
        cases = {
            "ROAM_ADMIN_PASSWORD": {"ROAM_ADMIN_EMAIL": "boss@example.com"},
            "ROAM_ADMIN_EMAIL": {"ROAM_ADMIN_PASSWORD": "long enough password"},
            "ROAM_JWT_PRIVATE_KEY_FILE": {"ROAM_JWT_PRIVATE_KEY_FILE": None},
            "ROAM_JWT_PRIVATE_KEY": {"ROAM_JWT_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nnope\n"},
            "ROAM_ARGON2_MEMORY_KIB": {"ROAM_ARGON2_MEMORY_KIB": "lots"},
        }
        for var, env in cases.items():
            with self.subTest(var):
                d = self.stack.start_daemon("auth", dict(CHEAP_ARGON2, **env), wait=False)
                rc = d.proc.wait(20)
                self.assertEqual(rc, 2, d)
                self.assertIn(var, d._log_since_spawn())


class AuthThroughGatewayTest(AuthTest):
    """Every rule above again, as clients meet it: through the gateway at /api/v1."""

    @classmethod
    def setUpStack(cls, stack):
        super().setUpStack(stack)
        upstreams = {f"ROAM_{n.upper()}_URL": cls.auth.url
                     for n in ("inventory", "booking", "payment", "review", "notification")}
        cls.gateway = stack.start_daemon("gateway", dict(upstreams, ROAM_RATE_LIMIT_RPS="100000"))
        cls.api = cls.gateway.url + "/api/v1"


class AuthTimingTest(StackTestCase):
    """Login timing with the default argon2id cost: an unknown email costs what a wrong password costs."""

    api: str = ""

    @classmethod
    def setUpStack(cls, stack):
        stack.start_postgres()
        stack.start_redis()
        cls.auth = stack.start_daemon("auth", {"ROAM_LOGIN_MAX_FAILURES": "1000"})
        cls.api = cls.auth.url

    def test_unknown_email_takes_about_as_long_as_a_wrong_password(self):
        email = new_email()
        r = http("POST", self.api + "/auth/register", {"email": email, "password": PASSWORD, "name": "Timed"})
        self.assertEqual(r.status, 201, r)

        def timed(login_email):
            t0 = time.perf_counter()
            r = http("POST", self.api + "/auth/login", {"email": login_email, "password": "wrong password!"})
            elapsed = time.perf_counter() - t0
            problem(self, r, 401, "invalid_credentials")
            return elapsed

        known, unknown = [], []
        timed(email)  # warm-up
        for _ in range(6):
            known.append(timed(email))
            unknown.append(timed(new_email("ghost")))
        k, u = sum(known) / len(known), sum(unknown) / len(unknown)
        print(f"\nlogin with a wrong password: {k * 1000:.1f} ms, with an unknown email: {u * 1000:.1f} ms (averages)")
        self.assertGreater(k, 0.005, "the default argon2id cost should take milliseconds")
        self.assertGreaterEqual(u, 0.5 * k, (known, unknown))


if __name__ == "__main__":
    unittest.main()
