#!/usr/bin/env bash
# Vector tiles (issue 16) against PostGIS making the same tile from the same rows in
# the same run: martin's and pg_tileserv's query — `ST_AsMVT` over `ST_AsMVTGeom` of
# the rows whose geometry meets `ST_TileEnvelope` (GiST index), as those servers do.
#
#   scripts/bench_tiles.sh POSTGRES_URL [N]
#
# POSTGRES_URL: a diming registry on PostgreSQL/PostGIS (e.g. `diming init --region all
# --sample-facilities --database postgres://…/bench_nation`). Builds release, starts
# `serve` on it, then for each tile times N (default 20) requests from one client to
# diming (`GET /tiles/…`, the whole body read, no validators sent) and N runs of the
# PostGIS query (psql `\timing`, output discarded), and prints a table: medians, p90,
# tile sizes and the ratio. diming's `coverage` tiles have no PostGIS counterpart
# (the coverage answer is diming's); their first request (the coverage computed) and
# the median of the rest (cached) are shown.
set -euo pipefail
cd "$(dirname "$0")/.."
db="${1:?usage: scripts/bench_tiles.sh POSTGRES_URL [N]}"
n="${2:-20}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/diming"
dir=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$bin" serve --database "$db" --listen 127.0.0.1:0 >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 1 12000); do grep -q '^listening on ' "$dir/out" 2>/dev/null && break; sleep 0.05; done
base=$(sed -n 's/^listening on //p' "$dir/out")
[[ -n $base ]] || { cat "$dir/err" >&2; echo "bench_tiles: the server did not start" >&2; exit 1; }
echo "registry: $(psql "$db" -X -A -t -c "SELECT (SELECT count(*) FROM facilities) || ' facilities, ' || (SELECT count(*) FROM settlements) || ' settlements, ' || (SELECT count(*) FROM divisions WHERE level IN ('county','township')) || ' county and township polygons'")"
echo
echo "| tile | diming median | p90 | size | PostGIS median | p90 | size | PostGIS / diming |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
BASE="$base" DB="$db" N="$n" python3 - <<'PY'
import os, statistics, subprocess, time, urllib.request

base, db, n = os.environ["BASE"], os.environ["DB"], int(os.environ["N"])

def fetch(path):
    t = time.perf_counter()
    with urllib.request.urlopen(base + path) as r:
        body = r.read()
    return (time.perf_counter() - t) * 1000, len(body)

def diming(path):
    fetch(path)  # warm: the first request pays for nothing the later ones skip, but for a cold cache
    xs, size = [], 0
    for _ in range(n):
        ms, size = fetch(path)
        xs.append(ms)
    return xs, size

# One table's tile, as martin and pg_tileserv make it from a PostGIS table.
def postgis_sql(layer, z, x, y, where, cols):
    return f"""WITH b AS (SELECT ST_TileEnvelope({z},{x},{y}) AS e, ST_Transform(ST_TileEnvelope({z},{x},{y}, margin => 64.0/4096), 4490) AS g),
m AS (SELECT ST_AsMVTGeom(ST_Transform(t.geom, 3857), b.e, 4096, 64, true) AS geom, {cols}
      FROM {layer} t, b WHERE t.geom && b.g{where})
SELECT ST_AsMVT(m, '{layer}', 4096, 'geom') FROM m"""

def postgis(sql):
    script = "\\timing on\n\\o /dev/null\n" + (sql + ";\n") * (n + 1)
    out = subprocess.run(["psql", db, "-X", "-q", "-v", "ON_ERROR_STOP=1"], input=script, capture_output=True, text=True, check=True)
    xs = [float(l.split()[1]) for l in out.stdout.splitlines() if l.startswith("Time:")][1:]
    size = subprocess.run(["psql", db, "-X", "-A", "-t", "-c", f"SELECT length(({sql}))"], capture_output=True, text=True, check=True).stdout.strip()
    return xs, int(size or 0)

def p90(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.9))]

FAC = "id, name, kind, status, township_code, capacity_beds, provenance"
SET = "code, name, township_code, population, provenance, location_provenance"
DIV = "code, name, level, provenance, geometry_provenance"
tiles = [
    ("facilities z8 over Manas (189/92)", "facilities", 8, 189, 92, "", "", FAC),
    ("facilities z12 over Beijing (3372/1553)", "facilities", 12, 3372, 1553, "", "", FAC),
    ("facilities z7 over Beijing (105/48)", "facilities", 7, 105, 48, "", "", FAC),
    ("care homes z7 over Beijing (`?kind=care_home`)", "facilities", 7, 105, 48, "?kind=care_home", " AND t.kind = 'care_home'", FAC),
    ("settlements z8 over Manas", "settlements", 8, 189, 92, "", "", SET),
    ("settlements z12 over Beijing", "settlements", 12, 3372, 1553, "", "", SET),
    ("divisions z10 over Beijing (counties and townships)", "divisions", 10, 843, 388, "", " AND t.level IN ('county','township')", DIV),
    ("divisions z8 over Manas", "divisions", 8, 189, 92, "", " AND t.level IN ('county','township')", DIV),
    ("divisions z5 over north China (counties)", "divisions", 5, 26, 12, "", " AND t.level = 'county'", DIV),
    ("divisions z3 over China (counties)", "divisions", 3, 6, 3, "", " AND t.level = 'county'", DIV),
]
for name, layer, z, x, y, q, where, cols in tiles:
    d, dsize = diming(f"/tiles/{layer}/{z}/{x}/{y}.mvt{q}")
    p, psize = postgis(postgis_sql(layer, z, x, y, where, cols))
    dm, pm = statistics.median(d), statistics.median(p)
    print(f"| {name} | {dm:.1f} ms | {p90(d):.1f} ms | {dsize/1000:.1f} kB | {pm:.1f} ms | {p90(p):.1f} ms | {psize/1000:.1f} kB | {pm/dm:.1f}× |", flush=True)

for name, path in [
    ("coverage z8 over Manas, care homes (townships)", "/tiles/coverage/8/189/92.mvt?kind=care_home"),
    ("coverage z5 over north China, care homes (counties)", "/tiles/coverage/5/26/12.mvt?kind=care_home"),
]:
    first, _ = fetch(path)
    xs, size = [], 0
    for _ in range(n):
        ms, size = fetch(path)
        xs.append(ms)
    print(f"| {name} | {statistics.median(xs):.1f} ms | {p90(xs):.1f} ms | {size/1000:.1f} kB | — | — | — | first request (coverage of the whole registry computed): {first:.0f} ms |", flush=True)
PY
