#!/usr/bin/env bash
# HTTP core benchmark: requests per second of the core's HTTP server on a
# trivial JSON route, against nginx returning the same body, both measured
# with wrk on loopback in the same run. Prints both figures and the ratio.
#
# Usage: tests/bench/http_core.sh [BUILD_DIR]
# Settings (environment): BENCH_DURATION (default 10s), BENCH_CONNECTIONS (64),
# BENCH_THREADS (wrk threads, 2), BENCH_WORKERS (server threads / nginx
# workers, default: the number of CPUs).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
duration=${BENCH_DURATION:-10s}
conns=${BENCH_CONNECTIONS:-64}
wthreads=${BENCH_THREADS:-2}
workers=${BENCH_WORKERS:-$(nproc)}

for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (deploy/dev/install-deps installs it)" >&2; exit 1; }
done
[ -x "$build/tests/roam-bench-http" ] || cmake --build "$build" --target roam-bench-http -j"$(nproc)" >/dev/null

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$1/hello" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "bench: server on port $1 did not come up" >&2; exit 1
}

# wrk's "Requests/sec:" line, as a number.
run_wrk() {
  wrk -t"$wthreads" -c"$conns" -d"$duration" --latency "http://127.0.0.1:$1/hello" > "$tmp/wrk.$1"
  awk '/Requests\/sec/ {print $2}' "$tmp/wrk.$1"
}

body='{"message":"hello"}'

# nginx: same body, same content type, an access log like ours, keep-alive without a request cap.
nport=$(free_port)
mkdir -p "$tmp/nginx"
cat > "$tmp/nginx/nginx.conf" <<CONF
worker_processes $workers;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log $tmp/nginx/access.log;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx;
  proxy_temp_path $tmp/nginx;
  fastcgi_temp_path $tmp/nginx;
  uwsgi_temp_path $tmp/nginx;
  scgi_temp_path $tmp/nginx;
  server {
    listen 127.0.0.1:$nport;
    location = /hello { default_type application/json; return 200 '$body'; }
  }
}
CONF
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" &
pids+=($!)
wait_port "$nport"
[ "$(curl -fsS "http://127.0.0.1:$nport/hello")" = "$body" ] || { echo "bench: nginx answers a different body" >&2; exit 1; }

rport=$(free_port)
"$build/tests/roam-bench-http" "$rport" "$workers" 2> "$tmp/roam.log" &
pids+=($!)
wait_port "$rport"
[ "$(curl -fsS "http://127.0.0.1:$rport/hello")" = "$body" ] || { echo "bench: roam answers a different body" >&2; exit 1; }

# Warm both up, then measure each once, nginx first.
wrk -t1 -c8 -d1s "http://127.0.0.1:$nport/hello" >/dev/null
wrk -t1 -c8 -d1s "http://127.0.0.1:$rport/hello" >/dev/null
nginx_rps=$(run_wrk "$nport")
roam_rps=$(run_wrk "$rport")
ratio=$(awk -v a="$roam_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')
p99() { awk '/ 99%/ {print $2}' "$tmp/wrk.$1"; }

printf '%-28s %12s %10s\n' "server (GET /hello)" "requests/s" "p99"
printf '%-28s %12s %10s\n' "nginx $(nginx -v 2>&1 | sed 's/.*\///')" "$nginx_rps" "$(p99 "$nport")"
printf '%-28s %12s %10s\n' "roam http core" "$roam_rps" "$(p99 "$rport")"
echo "ratio roam/nginx: $ratio  (wrk -t$wthreads -c$conns -d$duration, $workers server threads/workers, $(nproc) CPUs)"
