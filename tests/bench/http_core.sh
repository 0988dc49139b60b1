#!/usr/bin/env bash
# HTTP core benchmark: requests per second of the core's HTTP server on a
# trivial JSON route, against nginx returning the same body, both measured
# with wrk on loopback in the same run. Prints both figures and the ratio.
#
# Usage: tests/bench/http_core.sh [BUILD_DIR]
# nginx runs one worker per CPU; the core two threads per CPU (an event loop
# per thread; a daemon whose handlers block on PostgreSQL runs at least 8,
# set BENCH_ROAM_THREADS=8 to measure that). Loopback numbers
# on a 2-core machine swing by 15%, so the two servers are measured in
# alternating rounds and the medians are compared.
#
# Settings (environment): BENCH_DURATION per round (default 5s), BENCH_ROUNDS
# (3), BENCH_CONNECTIONS (64), BENCH_THREADS (wrk threads, 2),
# BENCH_ROAM_THREADS (the core's threads, default 2 per CPU).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
duration=${BENCH_DURATION:-5s}
rounds=${BENCH_ROUNDS:-3}
conns=${BENCH_CONNECTIONS:-64}
wthreads=${BENCH_THREADS:-2}
workers=$(nproc)
threads=${BENCH_ROAM_THREADS:-$((2 * workers))}

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

# nginx: same body, same content type, an access log buffered like ours, keep-alive
# without a request cap.
nport=$(free_port)
mkdir -p "$tmp/nginx"
cat > "$tmp/nginx/nginx.conf" <<CONF
worker_processes $workers;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
  # Buffered like the core's access log (16 KiB, flushed at least every 200 ms).
  access_log $tmp/nginx/access.log combined buffer=16k flush=200ms;
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
"$build/tests/roam-bench-http" "$rport" "$threads" 2> "$tmp/roam.log" &
pids+=($!)
wait_port "$rport"
[ "$(curl -fsS "http://127.0.0.1:$rport/hello")" = "$body" ] || { echo "bench: roam answers a different body" >&2; exit 1; }

# Warm both up, then alternate rounds.
wrk -t1 -c8 -d1s "http://127.0.0.1:$nport/hello" >/dev/null
wrk -t1 -c8 -d1s "http://127.0.0.1:$rport/hello" >/dev/null
n_all=() r_all=()
for _ in $(seq "$rounds"); do
  n_all+=("$(run_wrk "$nport")")
  r_all+=("$(run_wrk "$rport")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
nginx_rps=$(median "${n_all[@]}")
roam_rps=$(median "${r_all[@]}")
ratio=$(awk -v a="$roam_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')

printf '%-26s %12s   %s\n' "server (GET /hello)" "median rps" "rounds"
printf '%-26s %12s   %s\n' "nginx $(nginx -v 2>&1 | sed 's/.*\///')" "$nginx_rps" "${n_all[*]}"
printf '%-26s %12s   %s\n' "roam http core" "$roam_rps" "${r_all[*]}"
echo "ratio roam/nginx: $ratio  (wrk -t$wthreads -c$conns, $rounds x $duration each; nginx $workers workers, roam $threads threads; $(nproc) CPUs)"
