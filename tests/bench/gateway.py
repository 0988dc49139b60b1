#!/usr/bin/python3
"""Gateway pass-through overhead.

A trivial service route (the fixture daemon roam-testd standing in for a
service: GET /listings/{id} public, GET /bookings/{id} behind a token) is
measured three ways in the same run, with wrk on loopback:

  direct   wrk -> service
  gateway  wrk -> roam-gateway -> service       (token verified on the second route)
  nginx    wrk -> nginx proxy_pass -> service   (upstream keepalive; nginx checks nothing)

and login requests per second through the gateway (argon2id bounds it).
Each configuration runs BENCH_ROUNDS alternating rounds of BENCH_DURATION;
medians are reported. Prints a table and the ratios.

Besides rates and latencies it reports the CPU time each request cost the
proxy (gateway or nginx workers) and the service, from /proc: on a shared
machine the rates move with whatever else runs, the cost per request much
less.

Usage: tests/bench/gateway.py [BUILD_DIR]
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "harness"))
from roamtest import Stack, free_port, http  # noqa: E402

DURATION = os.environ.get("BENCH_DURATION", "5s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNS = os.environ.get("BENCH_CONNECTIONS", "64")


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """User and system CPU time of the processes, in seconds."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def wrk(url, headers=None, script=None, proxy=(), service=(), conns=CONNS):
    """Runs wrk; returns (rps, p50 ms, p99 ms, proxy CPU us/request, service CPU us/request)."""
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{DURATION}", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if script:
        cmd += ["-s", script]
    p0, s0 = cpu_seconds(proxy), cpu_seconds(service)
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    p1, s1 = cpu_seconds(proxy), cpu_seconds(service)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    n = max(1, int(re.search(r"(\d+) requests in", out).group(1)))

    def lat(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"bench: {url} answered {non2xx.group(1)} errors:\n{out}")
    return rps, lat(50), lat(99), (p1 - p0) * 1e6 / n, (s1 - s0) * 1e6 / n


def nginx_conf(tmp: Path, port: int, upstream_port: int) -> Path:
    workers = os.cpu_count() or 1
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
worker_processes {workers};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log {tmp}/access.log combined buffer=16k flush=200ms;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  keepalive_requests 1000000;
  upstream service {{ server 127.0.0.1:{upstream_port}; keepalive 128; keepalive_requests 1000000; }}
  server {{
    listen 127.0.0.1:{port};
    location /api/v1/ {{
      proxy_pass http://service/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
""")
    return conf


def main():
    build = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build"
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is missing (deploy/dev/install-deps installs it)")
    with Stack(build) as s, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        s.start_postgres()
        s.start_redis()
        quiet = {"ROAM_LOG_LEVEL": "warn"}
        s.start_daemon("auth", env=quiet)
        svc = s.start_daemon("testd", env={"ROAM_KAFKA_BROKERS": "127.0.0.1:9", **quiet}, wait_ready=False)
        gw = s.start_daemon("gateway", env={
            **quiet, "ROAM_INVENTORY_URL": svc.url, "ROAM_BOOKING_URL": svc.url,
            **{f"ROAM_{n.upper()}_URL": svc.url for n in ("payment", "review", "notification")},
            "ROAM_RATE_LIMIT_RPS": os.environ.get("BENCH_RATE_LIMIT_RPS", "1000000"),
        }, wait_ready=False)
        nport = free_port()
        nginx = subprocess.Popen(["nginx", "-c", str(nginx_conf(tmp, nport, svc.port)), "-p", str(tmp)])
        try:
            # Login is measured over 64 accounts: the auth service counts attempts per email and
            # address as they start, so one account logging in 64 times at once would be refused.
            token = None
            for i in range(64):
                r = http("POST", f"{gw.url}/api/v1/auth/register",
                         {"email": f"bench{i}@example.com", "password": "benchmark-password", "name": "Bench"})
                assert r.status == 201, r
                token = token or r.json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            for url in (f"{svc.url}/listings/abc", f"{gw.url}/api/v1/listings/abc",
                        f"http://127.0.0.1:{nport}/api/v1/listings/abc"):
                assert http("GET", url).status == 200, url
            assert http("GET", f"{gw.url}/api/v1/bookings/abc", headers=auth).status == 200
            assert http("GET", f"{gw.url}/api/v1/bookings/abc").status == 401

            with open(f"/proc/{nginx.pid}/task/{nginx.pid}/children") as f:
                nginx_workers = [int(p) for p in f.read().split()]
            procs = {"direct": (), "gateway": (gw.proc.pid,), "nginx": tuple(nginx_workers)}
            targets = {
                ("public", "direct"): (f"{svc.url}/listings/abc", None),
                ("public", "gateway"): (f"{gw.url}/api/v1/listings/abc", None),
                ("public", "nginx"): (f"http://127.0.0.1:{nport}/api/v1/listings/abc", None),
                ("token", "direct"): (f"{svc.url}/bookings/abc", auth),
                ("token", "gateway"): (f"{gw.url}/api/v1/bookings/abc", auth),
                ("token", "nginx"): (f"http://127.0.0.1:{nport}/api/v1/bookings/abc", auth),
            }
            results = {k: [] for k in targets}
            for _ in range(ROUNDS):
                for k, (url, hdr) in targets.items():
                    results[k].append(wrk(url, hdr, proxy=procs[k[1]], service=(svc.proc.pid,)))

            # The same routes at a steady, moderate load (16 connections, each waiting 10 ms after
            # every answer: about 1,500 requests/s, far from saturation), so that p99 shows what the
            # proxy adds to a request rather than how long requests queue at full throttle.
            paced_lua = tmp / "paced.lua"
            paced_lua.write_text("function delay()\n  return 10\nend\n")
            paced = {k: [] for k in targets}
            for _ in range(ROUNDS):
                for k, (url, hdr) in targets.items():
                    paced[k].append(wrk(url, hdr, script=str(paced_lua), conns=16))

            login_lua = tmp / "login.lua"
            login_lua.write_text(
                'local n = 0\n'
                'request = function()\n'
                '  n = n + 1\n'
                '  local body = string.format(\'{"email":"bench%d@example.com","password":"benchmark-password"}\', n % 64)\n'
                '  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)\n'
                'end\n')
            login = wrk(f"{gw.url}/api/v1/auth/login", script=str(login_lua))
        finally:
            nginx.terminate()
            nginx.wait()

    def med(k, i):
        return statistics.median(r[i] for r in results[k])

    print(f"{'route':8} {'path':8} {'rps':>10} {'p50 ms':>8} {'p99 ms':>8} {'proxy us/req':>13} {'service us/req':>15}")
    for k in targets:
        proxy = f"{med(k, 3):13.1f}" if k[1] != "direct" else f"{'-':>13}"
        print(f"{k[0]:8} {k[1]:8} {med(k, 0):10.0f} {med(k, 1):8.2f} {med(k, 2):8.2f} {proxy} {med(k, 4):15.1f}")
    for route in ("public", "token"):
        ratio = med((route, "gateway"), 0) / med((route, "nginx"), 0)
        added = med((route, "gateway"), 2) - med((route, "direct"), 2)
        cost = med((route, "gateway"), 3) / med((route, "nginx"), 3)
        print(f"{route}: gateway/nginx throughput {ratio:.2f}; gateway p99 over direct {added:+.2f} ms; "
              f"gateway/nginx CPU per request {cost:.2f}")
    print("steady load (16 connections, 10 ms between requests on each):")
    print(f"{'route':8} {'path':8} {'rps':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for k in targets:
        p50 = statistics.median(r[1] for r in paced[k])
        p99 = statistics.median(r[2] for r in paced[k])
        rps = statistics.median(r[0] for r in paced[k])
        print(f"{k[0]:8} {k[1]:8} {rps:10.0f} {p50:8.2f} {p99:8.2f}")
    for route in ("public", "token"):
        def p(path, i):
            return statistics.median(r[i] for r in paced[(route, path)])
        print(f"{route}: at steady load gateway p99 over direct {p('gateway', 2) - p('direct', 2):+.2f} ms "
              f"(nginx {p('nginx', 2) - p('direct', 2):+.2f} ms); p50 {p('gateway', 1) - p('direct', 1):+.2f} ms")
    print(f"login through the gateway: {login[0]:.0f} requests/s (p50 {login[1]:.1f} ms, p99 {login[2]:.1f} ms)")
    print(f"(wrk -t2 -c{CONNS}, {ROUNDS} x {DURATION} per configuration, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
