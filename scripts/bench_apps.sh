#!/usr/bin/env bash
# What other applications call (issue 16), each against the REST answer to the same
# question in the same run: CQL2 filters on OGC `items` (a geodesic S_DWITHIN against
# `/facilities/within`, a BBOX against `bbox=`, an attribute filter, which scans),
# OGC API Features Part 4 writes against the REST writes, and the change feed
# (a page of 1,000 changes as JSON and as NDJSON). One client, each request timed
# from sending to the whole answer; medians and p99 of 50 (writes: N).
#
#   scripts/bench_apps.sh DATABASE_URL [N]
#
# DATABASE_URL: a registry (the bundled Manas one, or one `diming init --region all
# --sample-facilities` made); a SQLite file is copied first. Builds release.
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:?usage: scripts/bench_apps.sh DATABASE_URL [N]}"
n="${2:-100}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/diming"
dir=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT
db="$src"
if [[ "$src" == sqlite://* ]]; then
  cp "${src#sqlite://}" "$dir/registry.db"
  if [[ -f "${src#sqlite://}-wal" ]]; then cp "${src#sqlite://}-wal" "$dir/registry.db-wal"; fi
  db="sqlite://$dir/registry.db"
fi
password='bench apps password'
DIMING_PASSWORD="$password" "$bin" user add bench_apps --role editor --database "$db" >/dev/null 2>&1 || true
"$bin" serve --database "$db" --listen 127.0.0.1:0 >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 1 6000); do grep -q '^listening on ' "$dir/out" 2>/dev/null && break; sleep 0.05; done
base=$(sed -n 's/^listening on //p' "$dir/out")
[[ -n $base ]] || { cat "$dir/err" >&2; echo "bench_apps: the server did not start" >&2; exit 1; }
echo "| measure | median | p99 | the same question by REST (median) | note |"
echo "|---|---:|---:|---:|---|"
BASE="$base" PASSWORD="$password" N="$n" PYTHONPATH=scripts python3 - <<'EOF'
import json, os, random, statistics, time, urllib.parse, urllib.request

base, n = os.environ["BASE"], int(os.environ["N"])
def get(path, headers=None):
    req = urllib.request.Request(base + path, headers=headers or {})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        data = r.read()
    return (time.perf_counter() - t) * 1000, data

def times(paths):
    return [get(p)[0] for p in paths]

def stats(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(len(xs) * 0.99))]

def row(name, xs, rest=None, note=""):
    med, p99 = stats(xs)
    r = f"{statistics.median(rest):.2f} ms" if rest else ""
    ratio = f"{statistics.median(xs) / statistics.median(rest):.2f}× REST" if rest else ""
    print(f"| {name} | {med:.2f} ms | {p99:.2f} ms | {r} | {'; '.join(x for x in [ratio, note] if x)} |")

def ids(data):
    return sorted(f["id"] for f in json.loads(data)["features"])

q = urllib.parse.quote
_, page = get("/api/v1/settlements?limit=10000")
seats = [f["geometry"]["coordinates"] for f in json.loads(page)["features"] if f.get("geometry")]
rng = random.Random(16)
points = [rng.choice(seats) for _ in range(50)]
_, first = get("/api/v1/facilities?limit=1")
total = json.loads(first)["numberMatched"]

# S_DWITHIN in geodesic metres against /facilities/within (the same features).
cql = [f"/ogc/collections/facilities/items?limit=100&filter=" + q(f"kind = 'care_home' AND S_DWITHIN(geometry, POINT({x} {y}), 5000)") for x, y in points]
rest = [f"/api/v1/facilities/within?lon={x}&lat={y}&radius_m=5000&kind=care_home&status=open,planned,closed&limit=100" for x, y in points]
for a, b in zip(cql[:5], rest[:5]):
    assert ids(get(a)[1]) == ids(get(b)[1]), (a, b)
row(f"OGC `items?filter=kind = 'care_home' AND S_DWITHIN(geometry, POINT(…), 5000)&limit=100` ({total} facilities)", times(cql), times(rest), "the same features as `/facilities/within`")

# A BBOX filter against `bbox=`.
boxes = [f"{x - 0.1},{y - 0.1},{x + 0.1},{y + 0.1}" for x, y in points]
cql = [f"/ogc/collections/facilities/items?limit=100&filter=" + q(f"S_INTERSECTS(geometry, BBOX({b}))") for b in boxes]
plain = [f"/ogc/collections/facilities/items?limit=100&bbox={b}" for b in boxes]
row("OGC `items?filter=S_INTERSECTS(geometry, BBOX(…))&limit=100` (0.2° boxes)", times(cql), times(plain), "baseline: the same box as `bbox=`")

# An attribute filter: no index, every facility is tested (the cost follows the registry).
cql = ["/ogc/collections/facilities/items?limit=100&filter=" + q("capacity_beds >= 100 AND status = 'open'")] * 20
plain = ["/api/v1/facilities?status=open&limit=100"] * 20
_, m = get(cql[0])
row(f"OGC `items?filter=capacity_beds >= 100 AND status = 'open'&limit=100` ({json.loads(m)['numberMatched']} match)", times(cql), times(plain), "baseline: `/facilities?status=open&limit=100`; the filter scans every facility")

# The change feed: pages of 1,000.
_, h = get("/health")
seq = json.loads(h)["sequence"]
afters = [max(0, seq - 1000 * (i + 1)) for i in range(10)]
# A page ends with a whole change, so a page over `init`'s changes (a county each) holds
# more than 1,000 records: count what came.
pages = [f"/api/v1/changes?after={a}&limit=1000" for a in afters]
records = sum(len(json.loads(get(u)[1])["changes"]) for u in pages)
js = times(pages)
nd = times([u + "&format=ndjson" for u in pages])
row(f"`GET /changes?limit=1000` (10 pages, {records / len(pages):.0f} records each on average, JSON)", js, None, f"{records / (sum(js) / 1000):.0f} records/s")
row("the same as NDJSON", nd, None, f"{records / (sum(nd) / 1000):.0f} records/s")

# Part 4 writes against the REST writes: create, then change, one client.
from bench_client import Session
s = Session(base, "bench_apps", os.environ["PASSWORD"])
ogc_create, rest_create, ogc_patch, rest_patch = [], [], [], []
for i in range(n):
    x, y = rng.choice(seats)
    ms, f, etag = s.write("POST", "/ogc/collections/facilities/items",
                          {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
                           "properties": {"name": f"接口设施{i}", "kind": "day_care"}})
    ogc_create.append(ms)
    ms, _, _ = s.write("PATCH", f"/ogc/collections/facilities/items/{f['id']}",
                       {"type": "Feature", "properties": {"capacity_beds": 20}}, {"if-match": etag})
    ogc_patch.append(ms)
    ms, f, etag = s.write("POST", "/api/v1/facilities", {"name": f"接口设施R{i}", "kind": "day_care", "lon": x, "lat": y})
    rest_create.append(ms)
    ms, _, _ = s.write("PATCH", f"/api/v1/facilities/{f['properties']['id']}", {"capacity_beds": 20}, {"if-match": etag})
    rest_patch.append(ms)
row(f"OGC `POST items` (a facility, {n})", ogc_create, rest_create, "baseline: `POST /api/v1/facilities`")
row(f"OGC `PATCH items/{{id}}` ({n})", ogc_patch, rest_patch, "baseline: `PATCH /api/v1/facilities/{id}`")
EOF
