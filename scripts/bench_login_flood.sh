#!/usr/bin/env bash
# /health latency while 32 connections flood the login endpoint (issue 12).
#
#   scripts/bench_login_flood.sh
#
# Starts a release `diming serve` on a fresh SQLite registry with one officer, then
# measures GET /health with a paced probe (scripts/wrk_probe.lua: 2 connections,
# one request per 5 ms each, so the probe never queues behind itself):
#   1. idle;
#   2. during a flood of *correct* logins from 32 connections — every request is a
#      real argon2 verification, the most expensive thing a client can ask without
#      an account of its own (argon2 runs on the blocking pool, one at a time);
#   3. during a flood of *wrong* passwords from 32 connections — after 5 tries per
#      account and 20 per address the throttle answers 429 before any hashing.
# Prints the probe's p50/p99 in each phase and the ratio to the idle p99.
# Override with FLOOD_DURATION (default 20s) and PROBE_DURATION (default 12s).
set -euo pipefail
cd "$(dirname "$0")/.."
FLOOD="${FLOOD_DURATION:-20s}"
PROBE="${PROBE_DURATION:-12s}"
command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
cargo build --release -q --bin diming

dir=$(mktemp -d)
pid=""
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
db="sqlite://$dir/flood.db"
DIMING_PASSWORD='flood test password' target/release/diming user add officer --role editor --database "$db" >/dev/null
target/release/diming serve --database "$db" --listen 127.0.0.1:0 >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 1 600); do grep -q '^listening on ' "$dir/out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*$/\1/p' "$dir/out" | head -n1)
[[ -n $base ]] || { cat "$dir/err" >&2; exit 1; }
curl -fsS "$base/health" >/dev/null

probe() { # name
  wrk -t1 -c2 -d"$PROBE" --latency -s scripts/wrk_probe.lua "$base/health" >"$dir/probe_$1.txt"
}
flood() { # name, password
  wrk -t1 -c32 -d"$FLOOD" -s scripts/wrk_login.lua "$base" -- officer "$2" >"$dir/flood_$1.txt" &
  local f=$!
  sleep 3
  probe "$1"
  wait "$f"
}

probe idle
flood correct 'flood test password'
probe idle_again
flood wrong 'not the password'

to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}
field() { awk -v re="$2" -v f="$3" '$0 ~ re { print $f; exit }' "$1"; }
idle99=$(to_ms "$(field "$dir/probe_idle.txt" '^ +99%' 2)")
echo "=== /health under a login flood ($(nproc) CPUs; probe wrk -t1 -c2 paced 5 ms; flood wrk -t1 -c32 -d$FLOOD)"
printf "%-26s %10s %10s %12s %14s  %s\n" phase "p50 ms" "p99 ms" "p99/idle" "flood req/s" "flood statuses"
for name in idle correct idle_again wrong; do
  f="$dir/probe_$name.txt"
  p50=$(to_ms "$(field "$f" '^ +50%' 2)")
  p99=$(to_ms "$(field "$f" '^ +99%' 2)")
  rps="-"; st="-"
  if [[ -f $dir/flood_$name.txt ]]; then
    rps=$(field "$dir/flood_$name.txt" '^Requests/sec:' 2)
    st=$(sed -n 's/^statuses: //p' "$dir/flood_$name.txt")
  fi
  label=$name
  [[ $name == correct ]] && label="flood, correct password"
  [[ $name == wrong ]] && label="flood, wrong password"
  printf "%-26s %10s %10s %12s %14s  %s\n" "$label" "$p50" "$p99" "$(awk -v a="$p99" -v b="$idle99" 'BEGIN { printf "%.2f", a / b }')" "$rps" "$st"
done
