#!/usr/bin/python3
"""Checks an OpenAPI document against a list of routes, both ways.

    /usr/bin/python3 tests/openapi/routes.py OPENAPI ROUTES [--ignore 'METHOD /path']...
    /usr/bin/python3 tests/openapi/routes.py --self-test

OPENAPI is docs/openapi.yaml (or its JSON). ROUTES has one route per line,
`METHOD /path/{param}`, without the /api/v1 prefix (as the gateway's
roam-gateway-routes prints them); blank lines and lines starting with `#` are
skipped. Reports every route of the list that the document lacks, and every
operation of the document that the list lacks. Path parameters are compared
by position only (`{id}` matches `{listing_id}`), methods case-insensitively.

Operations whose path item or operation has its own `servers` (the
operations endpoints /healthz, /readyz, /metrics, which are not under
/api/v1) are not API routes and are left out of the comparison. `--ignore`
leaves one more route out, on both sides.

Exit status: 0 when both sides match, 1 on a mismatch (with the list), 2 on
bad usage or an unreadable file.
"""
import os
import re
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from to_json import load  # noqa: E402  (PyYAML loader shared with the build)

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAM = re.compile(r"\{[^/{}]*\}")


def normalize(method, path):
    """(METHOD, path with every {param} as {}) of a route."""
    path = path.strip()
    if len(path) > 1:
        path = path.rstrip("/")
    return method.strip().upper(), _PARAM.sub("{}", path)


def parse_route(line):
    """`METHOD /path` -> (METHOD, /path); raises ValueError when malformed."""
    parts = line.split()
    if len(parts) != 2 or not parts[1].startswith("/") or not parts[0].isalpha():
        raise ValueError("expected 'METHOD /path', got %r" % line)
    return parts[0].upper(), parts[1]


def read_routes(path):
    """{normalized route: route as written} of a route list file."""
    routes = {}
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                method, p = parse_route(line)
            except ValueError as e:
                raise ValueError("%s:%d: %s" % (path, n, e)) from None
            routes.setdefault(normalize(method, p), "%s %s" % (method, p))
    return routes


def document_routes(doc):
    """({normalized: 'METHOD /path'} of the API operations, [skipped 'METHOD /path'])."""
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise ValueError("the document has no 'paths' object")
    ops, skipped = {}, []
    for path, item in doc["paths"].items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            shown = "%s %s" % (method.upper(), path)
            if "servers" in item or "servers" in op:
                skipped.append(shown)
                continue
            key = normalize(method, path)
            if key in ops:
                raise ValueError("%s and %s are the same route" % (ops[key], shown))
            ops[key] = shown
    return ops, skipped


def compare(doc_ops, listed, ignore=()):
    """(missing from the document, missing from the list), each sorted 'METHOD /path'."""
    ignored = {normalize(*parse_route(r)) for r in ignore}
    missing = sorted(v for k, v in listed.items() if k not in doc_ops and k not in ignored)
    extra = sorted(v for k, v in doc_ops.items() if k not in listed and k not in ignored)
    return missing, extra


def check(openapi_path, routes_path, ignore=(), out=sys.stdout, err=sys.stderr):
    """Runs the check and prints the outcome; returns the exit status."""
    try:
        doc_ops, skipped = document_routes(load(openapi_path))
        listed = read_routes(routes_path)
        missing, extra = compare(doc_ops, listed, ignore)
    except Exception as e:  # unreadable file, bad YAML, bad line: a usage problem
        print("routes.py: %s" % e, file=err)
        return 2
    if not missing and not extra:
        print("routes.py: the %d routes of %s match the document's operations "
              "(%d operations outside /api/v1 not compared: %s)"
              % (len(listed), routes_path, len(skipped), ", ".join(skipped) or "none"), file=out)
        return 0
    if missing:
        print("routes.py: %d route(s) of %s missing from %s:" % (len(missing), routes_path, openapi_path), file=err)
        for r in missing:
            print("  " + r, file=err)
    if extra:
        print("routes.py: %d operation(s) of %s not in %s:" % (len(extra), openapi_path, routes_path), file=err)
        for r in extra:
            print("  " + r, file=err)
    return 1


# --- Self-test -----------------------------------------------------------------

_DOC = """\
openapi: 3.1.0
info: {title: t, version: '1'}
servers: [{url: /api/v1}]
paths:
  /listings:
    parameters: []
    get: {responses: {'200': {description: ok}}}
    post: {responses: {'201': {description: ok}}}
  /listings/{listing_id}:
    get: {responses: {'200': {description: ok}}}
    delete: {responses: {'204': {description: ok}}}
  /listings/{id}/units/{unit_id}/calendar:
    put: {responses: {'200': {description: ok}}}
  /notifications/read-all:
    post: {responses: {'204': {description: ok}}}
  /healthz:
    servers: [{url: /}]
    get: {responses: {'200': {description: ok}}}
  /metrics:
    get:
      servers: [{url: /}]
      responses: {'200': {description: ok}}
"""

_ROUTES = """\
# the gateway's routes
GET /listings
POST /listings

get /listings/{id}
DELETE /listings/{id}
PUT /listings/{x}/units/{y}/calendar
POST /notifications/read-all
"""


def self_test():
    failures = []

    def expect(name, got, want):
        if got != want:
            failures.append("%s: got %r, want %r" % (name, got, want))

    class Sink:
        def __init__(self):
            self.text = ""

        def write(self, s):
            self.text += s

    with tempfile.TemporaryDirectory() as d:
        def write(name, text):
            p = os.path.join(d, name)
            with open(p, "w", encoding="utf-8") as f:
                f.write(text)
            return p

        def run(doc_text, routes_text, ignore=()):
            out, err = Sink(), Sink()
            rc = check(write("openapi.yaml", doc_text), write("routes.txt", routes_text), ignore, out, err)
            return rc, out.text + err.text

        expect("normalize", normalize("get", "/a/{id}/b/{unit_id}/"), ("GET", "/a/{}/b/{}"))
        expect("normalize root", normalize("GET", "/"), ("GET", "/"))

        rc, text = run(_DOC, _ROUTES)
        expect("match: status", rc, 0)
        expect("match: skipped ops named", "GET /healthz" in text and "GET /metrics" in text, True)

        rc, text = run(_DOC, _ROUTES + "GET /bookings/{id}\n")
        expect("route missing from document: status", rc, 1)
        expect("route missing from document: named", "  GET /bookings/{id}" in text, True)

        rc, text = run(_DOC, _ROUTES.replace("DELETE /listings/{id}\n", ""))
        expect("operation missing from list: status", rc, 1)
        expect("operation missing from list: named", "  DELETE /listings/{listing_id}" in text, True)

        rc, text = run(_DOC, _ROUTES.replace("POST /listings\n", "PATCH /listings\n"))
        expect("wrong method both ways: status", rc, 1)
        expect("wrong method both ways: named",
               "  PATCH /listings" in text and "  POST /listings" in text, True)

        rc, _ = run(_DOC, _ROUTES.replace("PUT /listings/{x}/units/{y}/calendar", "PUT /listings/{x}/units/calendar"))
        expect("parameter count matters", rc, 1)

        rc, _ = run(_DOC, _ROUTES + "GET /healthz\n")
        expect("operations endpoints are not API routes", rc, 1)

        rc, _ = run(_DOC, _ROUTES + "GET /openapi.json\n", ignore=["GET /openapi.json"])
        expect("--ignore", rc, 0)

        rc, text = run(_DOC, "GET\n")
        expect("malformed route line: status", rc, 2)
        expect("malformed route line: says where", "routes.txt:1:" in text, True)

        rc, _ = run("openapi: 3.1.0\npaths:\n  /a/{x}: {get: {}}\n  /a/{y}: {get: {}}\n", "GET /a/{id}\n")
        expect("ambiguous document paths", rc, 2)

        rc, _ = run(_DOC, _ROUTES.replace("POST /listings\n", "POST /listings/\n"))
        expect("trailing slash ignored", rc, 0)

    if failures:
        print("routes.py --self-test: %d failure(s):" % len(failures), file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print("routes.py --self-test: ok")
    return 0


def main(argv):
    args = argv[1:]
    if args == ["--self-test"]:
        return self_test()
    ignore, positional = [], []
    while args:
        a = args.pop(0)
        if a == "--ignore" and args:
            ignore.append(args.pop(0))
        elif a.startswith("--ignore="):
            ignore.append(a[len("--ignore="):])
        elif a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        elif a.startswith("-"):
            positional = None
            break
        else:
            positional.append(a)
    if positional is None or len(positional) != 2:
        print("usage: routes.py OPENAPI ROUTES [--ignore 'METHOD /path']... | routes.py --self-test",
              file=sys.stderr)
        return 2
    try:
        for r in ignore:
            parse_route(r)
    except ValueError as e:
        print("routes.py: --ignore: %s" % e, file=sys.stderr)
        return 2
    return check(positional[0], positional[1], ignore)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
