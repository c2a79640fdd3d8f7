#!/usr/bin/env bash
# HTTP load test of a release build of diming with wrk.
#
#   scripts/bench_http.sh            # from anywhere; runs from the repo root
#
# Starts `diming serve` on a free port with a fresh SQLite database in a temporary
# directory (loaded with the bundled Manas dataset on first start), then runs, one
# after the other:
#   1. GET /health                                             (the floor: routing + HTTP)
#   2. GET /api/v1/facilities/nearest?lon=..&lat=..&limit=5    (random points, Manas bbox)
#   3. the same with &kind=care_home
#   4. the same with limit=1 and limit=10 (how the answer's size weighs)
# each `wrk -t2 -c64 -d15s --latency`, and prints a summary table. The server is
# stopped on exit. Override the load with WRK_THREADS / WRK_CONNECTIONS / WRK_DURATION.
set -euo pipefail

cd "$(dirname "$0")/.."

THREADS="${WRK_THREADS:-2}"
CONNS="${WRK_CONNECTIONS:-64}"
DURATION="${WRK_DURATION:-15s}"

command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)

cargo build --release

tmp_dir="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp_dir"
}
trap cleanup EXIT

target/release/diming serve --listen 127.0.0.1:0 --database "sqlite://$tmp_dir/bench.db" \
  >"$tmp_dir/server.out" 2>"$tmp_dir/server.err" &
server_pid=$!

addr=""
for _ in $(seq 1 600); do
  addr="$(sed -n 's/^listening on http:\/\/\([^ ]*\).*$/\1/p' "$tmp_dir/server.out" | head -n1)"
  [[ -n "$addr" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "diming exited before listening:" >&2
    cat "$tmp_dir/server.err" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$addr" ]]; then
  echo "diming did not print 'listening on' within 60 s" >&2
  cat "$tmp_dir/server.err" >&2
  exit 1
fi
base="http://$addr"
echo "diming listening on $base (pid $server_pid)"

# Wait until it answers, and check the endpoints work before loading them.
for _ in $(seq 1 100); do
  curl -fsS "$base/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$base/health" >/dev/null
curl -fsS "$base/api/v1/facilities/nearest?lon=86.2&lat=44.3&limit=5" >/dev/null
curl -fsS "$base/api/v1/facilities/nearest?lon=86.2&lat=44.3&limit=5&kind=care_home" >/dev/null

run_wrk() { # name, then wrk arguments
  local name="$1"
  shift
  echo
  echo "=== $name: wrk -t$THREADS -c$CONNS -d$DURATION --latency $*"
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@" | tee "$tmp_dir/wrk_$name.txt"
}

run_wrk health "$base/health"
run_wrk nearest -s scripts/wrk_nearest.lua "$base"
run_wrk nearest_care_home -s scripts/wrk_nearest.lua "$base" -- care_home
# The answer's size matters on a shared 2-core box: one and ten features.
run_wrk nearest_limit1 -s scripts/wrk_nearest.lua "$base" -- "" 1
run_wrk nearest_limit10 -s scripts/wrk_nearest.lua "$base" -- "" 10

# wrk prints latencies as e.g. 812.00us, 1.23ms, 1.02s: convert to ms.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n
  }'
}
field() { # file, regex of the line, awk field number
  awk -v re="$2" -v f="$3" '$0 ~ re { print $f; exit }' "$1"
}

echo
echo "=== Summary ($(nproc) CPUs, wrk -t$THREADS -c$CONNS -d$DURATION, server on the same machine)"
printf "%-20s %12s %10s %10s %10s\n" "endpoint" "requests/s" "p50 ms" "p99 ms" "non-2xx"
declare -A rps
for name in health nearest nearest_care_home nearest_limit1 nearest_limit10; do
  f="$tmp_dir/wrk_$name.txt"
  rps[$name]="$(field "$f" '^Requests/sec:' 2)"
  p50="$(to_ms "$(field "$f" '^ +50%' 2)")"
  p99="$(to_ms "$(field "$f" '^ +99%' 2)")"
  errs="$(field "$f" 'Non-2xx or 3xx responses:' 5)"
  printf "%-20s %12s %10s %10s %10s\n" "$name" "${rps[$name]}" "$p50" "$p99" "${errs:-0}"
done
for name in nearest nearest_care_home nearest_limit1 nearest_limit10; do
  awk -v n="${rps[$name]}" -v h="${rps[health]}" -v name="$name" 'BEGIN { printf "ratio %-18s / health: %.3f\n", name, n / h }'
done
