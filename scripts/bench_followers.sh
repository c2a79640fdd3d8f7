#!/usr/bin/env bash
# Two instances on one PostgreSQL database (issue 15): how fast a write made through
# one instance is answered by the other. A fresh database gets the Manas registry
# (or REGION's, `diming init --region`), two `serve` processes start on it, and N
# facility creations then N moves go to the first; after each, the second is asked
# for the record until it answers with that version. Prints one table row per
# measure: the lag from the first instance's answer to the second's.
#
#   scripts/bench_followers.sh [N] [REGION]
#
# PG_ADMIN_URL: an administrator's URL without a database name (default
# postgres://postgres@127.0.0.1:5432). Builds release.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100}"
region="${2:-}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432}"
DB="diming_bench_followers"
db="$PG_ADMIN_URL/$DB"
cargo build --release --quiet
bin=target/release/diming
dir=$(mktemp -d)
cleanup() {
  kill "${pid_a:-}" "${pid_b:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -qX "$PG_ADMIN_URL/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
psql -qX "$PG_ADMIN_URL/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
psql -qX -v ON_ERROR_STOP=1 "$PG_ADMIN_URL/postgres" -c "CREATE DATABASE $DB" >/dev/null
if [[ -n "$region" ]]; then
  "$bin" init --region "$region" --database "$db" >/dev/null
else
  "$bin" init --database "$db" >/dev/null
fi
password='bench followers password'
DIMING_PASSWORD="$password" "$bin" user add bench_editor --role editor --database "$db" >/dev/null
start_instance() {
  "$bin" serve --database "$db" --listen 127.0.0.1:0 >"$dir/out-$1" 2>"$dir/err-$1" &
}
start_instance a
pid_a=$!
start_instance b
pid_b=$!
for which in a b; do
  for _ in $(seq 1 6000); do grep -q '^listening on ' "$dir/out-$which" 2>/dev/null && break; sleep 0.05; done
  grep -q '^listening on ' "$dir/out-$which" || { cat "$dir/err-$which" >&2; echo "instance $which did not start" >&2; exit 1; }
done
A=$(sed -n 's/^listening on //p' "$dir/out-a")
B=$(sed -n 's/^listening on //p' "$dir/out-b")
echo "| measure | median | p99 | max |"
echo "|---|---:|---:|---:|"
A="$A" B="$B" N="$n" PASSWORD="$password" PYTHONPATH=scripts python3 - <<'EOF'
import json, os, random, statistics, time, urllib.error, urllib.request

a, b, n = os.environ["A"], os.environ["B"], int(os.environ["N"])
from bench_client import Session
session = Session(a, "bench_editor", os.environ["PASSWORD"])
def write(method, path, body, extra=None):
    _, answer, etag = session.write(method, path, body, extra)
    return answer, etag
def seen_on_b(fid, version):
    """Seconds from now until instance b answers the record at `version`."""
    t = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(f"{b}/api/v1/facilities/{fid}") as resp:
                if json.loads(resp.read())["properties"]["version"] == version:
                    return (time.perf_counter() - t) * 1000
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise
        time.sleep(0.001)
with urllib.request.urlopen(a + "/api/v1/settlements?limit=10000") as resp:
    seats = [f["geometry"]["coordinates"] for f in json.loads(resp.read())["features"]]
rng = random.Random(15)
created, moved, ids = [], [], []
for i in range(n):
    lon, lat = rng.choice(seats)
    f, etag = write("POST", "/api/v1/facilities", {"name": f"跟随测试{i}", "kind": "care_home", "lon": lon, "lat": lat})
    created.append(seen_on_b(f["properties"]["id"], 1))
    ids.append((f["properties"]["id"], etag))
for fid, etag in ids:
    lon, lat = rng.choice(seats)
    f, _ = write("PATCH", f"/api/v1/facilities/{fid}", {"lon": lon, "lat": lat}, {"if-match": etag})
    moved.append(seen_on_b(fid, f["properties"]["version"]))
def row(name, xs):
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
    print(f"| {name} | {statistics.median(xs):.1f} ms | {p99:.1f} ms | {xs[-1]:.1f} ms |")
row(f"a create on instance A answered by instance B ({n})", created)
row(f"a move on instance A answered by instance B ({n})", moved)
EOF
