#!/usr/bin/python3
"""Search throughput: the service against PostgreSQL running the same SQL.

Starts its own stack with the test harness (PostgreSQL, Redis, the Kafka dev
broker, auth, inventory, gateway), loads the 10,000-listing data set
(tests/bench/datagen.py), then measures in the same run, in alternating
rounds:

  service   wrk through the gateway: GET /api/v1/listings?city=&check_in=
            &check_out=&guests=2&sort=price_asc&limit=20, rotating over 32
            city and date combinations (a small wrk Lua script)
  pgbench   pgbench -n -M extended -f search.sql: the very statement the
            service ran for each of those 32 requests, with the values it
            bound, one picked at random per transaction (\\set and \\if)

with the same number of clients and the same duration. The statements are
not retyped: the benchmark turns on statement logging, sends each of the 32
requests once, and takes the statement and its parameters from PostgreSQL's
log (the parameters become literals, as pgbench variables are numbers only;
PostgreSQL plans an unnamed statement with its bound values anyway, so the
plans are the same). pgbench connects with the options the service's pool
uses (search_path=inventory, jit=off).

Prints a table of requests per second and p99 latency, medians over the
rounds, and the ratio service/pgbench, then the EXPLAIN (ANALYZE, BUFFERS)
of the first statement.

Usage: tests/bench/search.py [BUILD_DIR]
Environment: BENCH_DURATION (10s), BENCH_ROUNDS (3), BENCH_CONNECTIONS (8),
BENCH_LISTINGS (10000).
"""

import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "harness"))
sys.path.insert(0, str(ROOT / "tests" / "bench"))
import datagen  # noqa: E402
from roamtest import Stack, http, pg_bindir  # noqa: E402

DURATION = os.environ.get("BENCH_DURATION", "10s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
LISTINGS = int(os.environ.get("BENCH_LISTINGS", "10000"))
CITIES = ["Paris", "London", "Zürich", "Tokyo", "New York", "Rome", "Barcelona", "Lisbon"]
STAYS = [(14, 2), (30, 3), (45, 2), (60, 4)]  # (days from today to check-in, nights)


def seconds(duration: str) -> int:
    return int(duration.rstrip("s"))


def paths() -> list[str]:
    today = datetime.now(timezone.utc).date()
    out = []
    for city in CITIES:
        for ahead, nights in STAYS:
            ci = today + timedelta(days=ahead)
            q = {"city": city, "check_in": ci.isoformat(), "check_out": (ci + timedelta(days=nights)).isoformat(),
                 "guests": "2", "sort": "price_asc", "limit": "20"}
            out.append("/api/v1/listings?" + urllib.parse.urlencode(q))
    return out


def capture_statements(s: Stack, gw_url: str, targets: list[str]) -> list[str]:
    """Sends each request once with statement logging on; returns the statements with their values inlined."""
    log = s.log_files()["postgres"]
    start = log.stat().st_size
    s.psql("ALTER SYSTEM SET log_min_duration_statement = 0", db="postgres")
    s.psql("SELECT pg_reload_conf()", db="postgres")
    try:
        for p in targets:
            r = http("GET", gw_url + p)
            assert r.status == 200 and r.json()["items"], (p, r)
    finally:
        s.psql("ALTER SYSTEM RESET log_min_duration_statement", db="postgres")
        s.psql("SELECT pg_reload_conf()", db="postgres")
    with open(log, encoding="utf-8") as f:
        f.seek(start)
        lines = f.read().splitlines()
    out = []
    for i, line in enumerate(lines):
        m = re.search(r"execute <unnamed>: (SELECT .* FROM listings l .*)$", line)
        if not m:
            continue
        detail = next(l for l in lines[i + 1:i + 4] if "DETAIL:  parameters:" in l)
        values = dict(re.findall(r"\$(\d+) = (NULL|'(?:[^']|'')*')", detail))
        out.append(re.sub(r"\$(\d+)", lambda v: values[v.group(1)], m.group(1)))
    if len(out) != len(targets):
        raise SystemExit(f"bench: captured {len(out)} statements for {len(targets)} requests")
    return out


def pgbench_script(statements: list[str]) -> str:
    lines = [f"\\set r random(0, {len(statements) - 1})"]
    for i, sql in enumerate(statements):
        lines.append(f"\\{'if' if i == 0 else 'elif'} :r = {i}")
        lines.append(sql + ";")
    lines.append("\\endif")
    return "\n".join(lines) + "\n"


def wrk(url: str, script: Path):
    cmd = ["wrk", "-t2", f"-c{CONNS}", f"-d{DURATION}", "--latency", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"bench: {non2xx.group(1)} requests failed:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", out)
    v, unit = float(m.group(1)), m.group(2)
    p99 = v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    return rps, p99


def pgbench(db_url: str, script: Path, tmp: Path, env: dict):
    for old in glob.glob(str(tmp / "pgbench_log*")):
        os.unlink(old)
    cmd = [str(pg_bindir() / "pgbench"), "-n", "-M", "extended", "-c", str(CONNS), "-j", "2", "-T",
           str(seconds(DURATION)), "-f", str(script), "-l", "--log-prefix", str(tmp / "pgbench_log"), db_url]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp)
    if res.returncode != 0:
        raise SystemExit(f"bench: pgbench failed:\n{res.stdout}\n{res.stderr}")
    tps = float(re.search(r"tps = ([\d.]+)", res.stdout).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", res.stdout)
    if failed and int(failed.group(1)) > 0:
        raise SystemExit(f"bench: pgbench transactions failed:\n{res.stdout}")
    lat = []
    for f in glob.glob(str(tmp / "pgbench_log*")):
        with open(f) as fh:
            lat += [int(line.split()[2]) for line in fh if line.strip()]
    lat.sort()
    return tps, lat[int(len(lat) * 0.99)] / 1000


def main():
    build = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build"
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is missing (deploy/dev/install-deps installs it)")
    with Stack(build) as s, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        os.chmod(tmp, 0o755)
        s.start_postgres()
        s.start_redis()
        s.start_broker(topics=["bookings", "payments", "reviews"])
        quiet = {"ROAM_LOG_LEVEL": "warn"}
        auth = s.start_daemon("auth", quiet)
        inv = s.start_daemon("inventory", quiet)
        gw = s.start_daemon("gateway", {
            **quiet, "ROAM_INVENTORY_URL": inv.url, "ROAM_RATE_LIMIT_RPS": "0",
            **{f"ROAM_{n.upper()}_URL": auth.url for n in ("booking", "payment", "review", "notification")}})
        t0 = datetime.now()
        datagen.load(s.database_url, LISTINGS)
        print(f"loaded {LISTINGS} listings in {(datetime.now() - t0).total_seconds():.1f} s", flush=True)

        targets = paths()
        statements = capture_statements(s, gw.url, targets)
        lua = tmp / "search.lua"
        lua.write_text("local paths = {\n" + "".join(f'  "{p}",\n' for p in targets) + "}\n"
                       "local i = 0\n"
                       "request = function()\n"
                       "  i = i + 1\n"
                       "  return wrk.format(\"GET\", paths[(i % #paths) + 1])\n"
                       "end\n")
        sql = tmp / "search.sql"
        sql.write_text(pgbench_script(statements))
        env = dict(os.environ, PGOPTIONS="-c search_path=inventory -c jit=off")
        explain = s.psql("SET jit = off; SET search_path = inventory; EXPLAIN (ANALYZE, BUFFERS) " + statements[0])

        results = {"service": [], "pgbench": []}
        wrk(gw.url, lua)  # warm-up: caches, connection pools
        for _ in range(ROUNDS):
            results["service"].append(wrk(gw.url, lua))
            results["pgbench"].append(pgbench(s.database_url, sql, tmp, env))

    med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for k, v in results.items()}
    print()
    print(f"{'what':10} {'req/s':>10} {'p99 ms':>9}   rounds (req/s)")
    for k in ("service", "pgbench"):
        rounds = ", ".join(f"{r[0]:.0f}" for r in results[k])
        print(f"{k:10} {med[k][0]:10.0f} {med[k][1]:9.2f}   {rounds}")
    print(f"ratio service/pgbench: throughput {med['service'][0] / med['pgbench'][0]:.2f}, "
          f"p99 {med['service'][1] / med['pgbench'][1]:.2f}x")
    print(f"({CONNS} clients, {ROUNDS} x {DURATION} each, {len(targets)} city/date combinations, "
          f"{LISTINGS} listings, {os.cpu_count()} CPUs)")
    print("\nplan of " + targets[0] + ":\n" + "\n".join(r[0] for r in explain))


if __name__ == "__main__":
    main()
