#!/usr/bin/env bash
# Facility writes on a large registry (issue 15): start-up time and resident memory
# of `serve`, then N facility creations and N moves, one client, each timed from
# the request to the answer (the write is in the snapshot when it is answered),
# then 8 clients creating N each at once (the sustained write rate), and listing
# pages deep in the registry (by offset and by cursor). Prints one table row per
# measure.
#
#   scripts/bench_writes.sh DATABASE_URL [N]
#
# DATABASE_URL: a registry to write into (e.g. one `scripts/bench_region.sh` or
# `diming init --region all` made); it is copied first when it is a SQLite file, so
# the original is not changed. Builds release.
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:?usage: scripts/bench_writes.sh DATABASE_URL [N]}"
n="${2:-200}"
cargo build --release --quiet
bin=target/release/diming
dir=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT
db="$src"
if [[ "$src" == sqlite://* ]]; then
  # With its WAL: committed pages not yet checkpointed live there.
  cp "${src#sqlite://}" "$dir/registry.db"
  if [[ -f "${src#sqlite://}-wal" ]]; then cp "${src#sqlite://}-wal" "$dir/registry.db-wal"; fi
  db="sqlite://$dir/registry.db"
fi
password='bench writes password'
DIMING_PASSWORD="$password" "$bin" user add bench_editor --role editor --database "$db" >/dev/null 2>&1 || true
start=$(date +%s.%N)
"$bin" serve --database "$db" --listen 127.0.0.1:0 >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 1 6000); do grep -q '^listening on ' "$dir/out" 2>/dev/null && break; sleep 0.05; done
base=$(sed -n 's/^listening on //p' "$dir/out")
[[ -n $base ]] || { cat "$dir/err" >&2; echo "bench_writes: the server did not start" >&2; exit 1; }
ready=$(date +%s.%N)
rss=$(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$pid/status")
echo "| measure | median | p99 | note |"
echo "|---|---:|---:|---|"
echo "| start-up to listening | $(python3 -c "print(f'{$ready-$start:.1f} s')") | | resident memory then: $rss |"
BASE="$base" PASSWORD="$password" N="$n" PYTHONPATH=scripts python3 - <<'EOF'
import json, os, random, statistics, time, urllib.parse, urllib.request

base, n = os.environ["BASE"], int(os.environ["N"])
def call(method, path, body=None, headers=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"content-type": "application/json", **(headers or {})})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        data, etag = r.read(), r.headers.get("etag")
    return (time.perf_counter() - t) * 1000, json.loads(data), etag

from bench_client import Session
session = Session(base, "bench_editor", os.environ["PASSWORD"])
write = session.write

# Points inside townships: the seats of the registry's settlements.
_, page, _ = call("GET", "/api/v1/settlements?limit=10000")
seats = [f["geometry"]["coordinates"] for f in page["features"] if f.get("geometry")]
rng = random.Random(15)
created, moved, ids = [], [], []
for i in range(n):
    lon, lat = rng.choice(seats)
    ms, f, etag = write("POST", "/api/v1/facilities", {"name": f"基准设施{i}", "kind": "care_home", "lon": lon, "lat": lat})
    created.append(ms)
    ids.append((f["properties"]["id"], etag))
for fid, etag in ids:
    lon, lat = rng.choice(seats)
    ms, _, _ = write("PATCH", f"/api/v1/facilities/{fid}", {"lon": lon, "lat": lat}, {"if-match": etag})
    moved.append(ms)
def row(name, xs, note=""):
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
    print(f"| {name} | {statistics.median(xs):.1f} ms | {p99:.1f} ms | {note} |")
row(f"facility create, visible to the next read ({n}, one client)", created)
row(f"facility move ({n}, one client)", moved)
# Eight clients at once, each with its own session, each creating n facilities:
# the sustained rate the registry keeps, and each write's latency under it.
import threading
def client(k, out):
    own = Session(base, "bench_editor", os.environ["PASSWORD"])
    crng = random.Random(100 + k)
    barrier.wait()
    for i in range(n):
        lon, lat = crng.choice(seats)
        ms, _, _ = own.write("POST", "/api/v1/facilities", {"name": f"并发设施{k}-{i}", "kind": "day_care", "lon": lon, "lat": lat})
        out.append(ms)
clients = 8
barrier = threading.Barrier(clients + 1)
lat8 = [[] for _ in range(clients)]
threads = [threading.Thread(target=client, args=(k, lat8[k])) for k in range(clients)]
for t in threads:
    t.start()
barrier.wait()
t0 = time.perf_counter()
for t in threads:
    t.join()
wall = time.perf_counter() - t0
every = [x for xs in lat8 for x in xs]
row(f"facility create, {clients} clients at once ({clients}×{n})", every, f"**{len(every) / wall:.0f} writes/s** sustained")
_, first, _ = call("GET", "/api/v1/facilities?limit=1")
total = first["numberMatched"]
deep = [call("GET", f"/api/v1/facilities?limit=100&offset={max(0, total - 100)}")[0] for _ in range(20)]
row(f"`GET /facilities?limit=100` at the last page (of {total})", deep)
mid = [call("GET", f"/api/v1/facilities?limit=100&offset={total // 2}")[0] for _ in range(20)]
row(f"`GET /facilities?limit=100&offset={total // 2}`", mid)
_, at_mid, _ = call("GET", f"/api/v1/facilities?limit=1&offset={total // 2}")
cursor = at_mid["features"][0]["id"]
by_cursor = [call("GET", f"/api/v1/facilities?limit=100&after={urllib.parse.quote(cursor)}")[0] for _ in range(20)]
row(f"`GET /facilities?limit=100&after=…` (the same depth)", by_cursor)
# OGC items in a 0.5° box around the first settlement seat, CRS84 and Gauss-Krüger.
lon, lat = seats[0]
box = f"{lon - 0.25},{lat - 0.25},{lon + 0.25},{lat + 0.25}"
gk = urllib.parse.quote("http://www.opengis.net/def/crs/EPSG/0/4538")
ogc84 = [call("GET", f"/ogc/collections/facilities/items?bbox={box}&limit=100")[0] for _ in range(20)]
ogc4538 = [call("GET", f"/ogc/collections/facilities/items?bbox={box}&limit=100&crs={gk}")[0] for _ in range(20)]
_, box_page, _ = call("GET", f"/ogc/collections/facilities/items?bbox={box}&limit=100")
row(f"OGC `items?bbox=…&limit=100`, CRS84 ({box_page['numberMatched']} in the box)", ogc84)
row(f"the same in EPSG:4538", ogc4538, f"{statistics.median(ogc4538) / statistics.median(ogc84):.2f}× CRS84")
EOF
echo "| resident memory after the writes | $(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$pid/status") | | |"
