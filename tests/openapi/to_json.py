#!/usr/bin/python3
"""Converts docs/openapi.yaml to compact JSON.

    /usr/bin/python3 tests/openapi/to_json.py INPUT.yaml OUTPUT.json

OUTPUT may be `-` or /dev/stdout for standard output.

The gateway's build runs this and compiles the result in; it is served at
GET /api/v1/openapi.json. Needs only the standard library and PyYAML (Debian
package python3-yaml, installed by deploy/dev/install-deps), which the
system Python sees (a pyenv `python3` may not: use /usr/bin/python3).

The YAML is read as YAML 1.2 reads it, the way the linter (Redocly, js-yaml)
does: only true/false are booleans (`on`, `no`, `y` stay strings) and dates
stay strings. A duplicate key is an error rather than a silent overwrite.
Key order is kept; the output is UTF-8 without a trailing newline.
"""
import json
import os
import re
import stat
import sys
import tempfile

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("to_json.py: PyYAML is missing: apt-get install python3-yaml "
             "(deploy/dev/install-deps), and run it with /usr/bin/python3")


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans, no timestamps, no duplicate keys."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def _mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    out = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "found duplicate key %r" % (key,), key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(path):
    """Returns the document at path (YAML, or JSON, which is YAML) as plain data."""
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


def to_json(doc):
    """Compact JSON text of doc; raises ValueError on values JSON cannot hold."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def main(argv):
    if len(argv) != 3:
        print("usage: to_json.py INPUT.yaml OUTPUT.json", file=sys.stderr)
        return 2
    src, dst = argv[1], argv[2]
    try:
        doc = load(src)
        if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.1"):
            raise ValueError("not an OpenAPI 3.1 document (no 'openapi: 3.1.x' at the top)")
        text = to_json(doc)
    except (OSError, yaml.YAMLError, ValueError, TypeError) as e:
        print("to_json.py: %s: %s" % (src, e), file=sys.stderr)
        return 1
    if dst == "-" or (os.path.lexists(dst) and not stat.S_ISREG(os.lstat(dst).st_mode)):
        # `-`, or anything but a plain file (a symlink such as /dev/stdout, a
        # device, a pipe): write through it; renaming would replace it.
        if dst == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            with open(dst, "w", encoding="utf-8") as f:
                f.write(text)
        return 0
    # Write next to the output and rename, so a build never sees half a file.
    folder = os.path.dirname(os.path.abspath(dst))
    fd, tmp = tempfile.mkstemp(prefix=".openapi-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        os.unlink(tmp)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
