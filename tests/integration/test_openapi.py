"""The OpenAPI document (docs/openapi.yaml) and the route tables cannot drift.

Every daemon prints its route table with --routes. Every public route of a
service must be routed by the gateway; the gateway's routes and the
document's operations must be the same set, both ways; nothing under
/internal is ever public.

Run: tests/run --integration -k OpenApi
"""

import re
import subprocess
import unittest

from roamtest import SERVICES, Stack

PREFIX = "/api/v1"


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def routes(binary) -> list[tuple[str, str, str]]:
    out = subprocess.run([str(binary), "--routes"], capture_output=True, text=True, check=True).stdout
    return [tuple(line.split(" ", 2)) for line in out.splitlines() if line]


def document() -> dict:
    import json
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    try:
        import yaml  # python3-yaml, installed by deploy/dev/install-deps
        return yaml.safe_load((root / "docs" / "openapi.yaml").read_text())
    except ImportError:
        out = subprocess.run(["/usr/bin/python3", str(root / "tests/openapi/to_json.py"),
                              str(root / "docs/openapi.yaml"), "/dev/stdout"], capture_output=True, text=True,
                             check=True).stdout
        return json.loads(out)


class OpenApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with Stack() as s:
            cls.gateway = [(m, p[len(PREFIX):]) for m, p, _ in routes(s.binary("gateway"))
                           if p.startswith(PREFIX) and m != "OPTIONS"]
            cls.services = {name: routes(s.binary(name)) for name in SERVICES}
        doc = document()
        methods = {"get", "put", "post", "delete", "patch", "options", "head"}
        # Operations with their own servers (/healthz, /readyz, /metrics) are not under /api/v1.
        cls.documented = {(m.upper(), normalise(p)) for p, ops in doc["paths"].items() if "servers" not in ops
                          for m, op in ops.items() if m in methods and "servers" not in op}

    def test_gateway_routes_equal_the_document(self):
        routed = {(m, normalise(p)) for m, p in self.gateway}
        missing_in_doc = sorted(routed - self.documented)
        not_routed = sorted(self.documented - routed)
        self.assertEqual(missing_in_doc, [], "routed by the gateway but not in docs/openapi.yaml")
        self.assertEqual(not_routed, [], "in docs/openapi.yaml but not routed by the gateway")

    def test_every_public_service_route_is_routed(self):
        routed = {(m, normalise(p)) for m, p in self.gateway}
        for name, table in self.services.items():
            for method, path, role in table:
                if role == "internal" or path in ("/healthz", "/readyz", "/metrics"):
                    continue
                with self.subTest(service=name, route=f"{method} {path}"):
                    self.assertIn((method, normalise(path)), routed)

    def test_nothing_internal_is_public(self):
        for method, path in self.gateway:
            self.assertFalse(path.startswith("/internal"), f"{method} {path}")
        for p in document()["paths"]:
            self.assertNotIn("/internal", p)


if __name__ == "__main__":
    unittest.main()
