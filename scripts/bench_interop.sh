#!/usr/bin/env bash
# Interoperability benchmarks (issue 7): import, export and OGC API Features, each
# against a baseline measured in the same run.
#
#   scripts/bench_interop.sh          # from anywhere; runs from the repo root
#
# 1. Import: a seeded 100,000-row facilities CSV (GBK, EPSG:4538, 名称,类型,X,Y,床位; made by
#    scripts/make_import_bench.py from diming's own 4538 export of the settlements, every
#    point kept inside its township), timed with hyperfine:
#      - `diming import --dry-run` (read, decode GBK, reproject, validate every row);
#      - the real import into a fresh copy of a loaded database (hyperfine --prepare);
#        the same file with an 编号 (id) column, because rows without an id are numbered by
#        a query per row that reads every facility id (quadratic: see NOID_ROWS below);
#        once more pinned to one CPU (taskset -c 0): the import hands every statement to
#        sqlx's SQLite thread, and waking the other, idle vCPU is what costs most;
#      - baselines: `iconv GBK→UTF-8 | ogr2ogr` to GeoJSON and to a GeoPackage (GDAL's CSV
#        driver reads UTF-8 only), and ogr2ogr alone on a UTF-8 copy.
#    Rows without an id: real imports of the first NOID_ROWS rows, once each, with the
#    same rows with ids beside them.
# 2. Export: `diming export --layer facilities --format csv --crs EPSG:4538 --encoding gbk`
#    on the database holding the 100k imported facilities, the start-up floor (exporting
#    the 222 settlements from the same database: open, read 100k facilities, build the
#    snapshot), and the baseline `ogr2ogr` GeoJSON→CSV in EPSG:4538 `| iconv UTF-8→GB18030`
#    on the same rows (diming's CRS84 GeoJSON export of that database).
# 3. OGC API Features over HTTP: `wrk -t2 -c64 -d15s --latency` on the bundled data (180
#    facilities) and on the 100k database: items?limit=100 (CRS84), the same in EPSG:4538,
#    with a bbox, and the REST listing /api/v1/facilities?limit=100 as the baseline.
#
# Override: ROWS (100000), RUNS (hyperfine runs, 5), NOID_ROWS ("2000 5000 10000"; "" skips),
# WRK_THREADS / WRK_CONNECTIONS / WRK_DURATION / WRK_TIMEOUT, KEEP=1 keeps the temp dir.
set -euo pipefail

cd "$(dirname "$0")/.."

ROWS="${ROWS:-100000}"
RUNS="${RUNS:-5}"
NOID_ROWS="${NOID_ROWS-2000 5000 10000}"
THREADS="${WRK_THREADS:-2}"
CONNS="${WRK_CONNECTIONS:-64}"
DURATION="${WRK_DURATION:-15s}"
TIMEOUT="${WRK_TIMEOUT:-10s}"

missing=()
for t in hyperfine wrk ogr2ogr iconv python3 curl taskset; do command -v "$t" >/dev/null || missing+=("$t"); done
if ((${#missing[@]})); then
  apt-get update && apt-get install -y hyperfine wrk gdal-bin libc-bin python3 curl util-linux
fi

cargo build --release
bin="$PWD/target/release/diming"

tmp="$(mktemp -d)"
server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
cleanup() {
  stop_server
  if [[ -n "${KEEP:-}" ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
echo "work dir: $tmp"
load_start="$(cut -d" " -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- data
# An empty file loaded with the bundled dataset (644 records) by a first command.
"$bin" export --layer facilities --database "sqlite://$tmp/base.db" >/dev/null
"$bin" export --layer settlements --format csv --crs EPSG:4538 --database "sqlite://$tmp/base.db" >"$tmp/settlements_4538.csv"
"$bin" export --layer divisions --format csv --crs EPSG:4538 --database "sqlite://$tmp/base.db" >"$tmp/divisions_4538.csv"
gen() { python3 scripts/make_import_bench.py --settlements "$tmp/settlements_4538.csv" \
  --divisions "$tmp/divisions_4538.csv" --rows "$ROWS" "$@"; }
gen --out "$tmp/fac.csv"
gen --out "$tmp/fac_ids.csv" --ids
iconv -f GB18030 -t UTF-8 "$tmp/fac.csv" >"$tmp/fac_utf8.csv"
echo "generated $ROWS rows: $(wc -c <"$tmp/fac.csv") bytes GBK; md5 $(md5sum "$tmp/fac.csv" | cut -d' ' -f1)"

# Every row must be accepted (inside the county, valid) before anything is timed.
for f in fac fac_ids; do
  out="$("$bin" import "$tmp/$f.csv" --layer facilities --crs EPSG:4538 --dry-run --database "sqlite://$tmp/base.db" 2>&1)" || {
    echo "$out" | tail -n 20 >&2
    echo "dry run of $f.csv failed" >&2
    exit 1
  }
  echo "$out"
  grep -q "新增 created $ROWS," <<<"$out" || { echo "dry run did not accept all $ROWS rows" >&2; exit 1; }
done

# ---------------------------------------------------------------- 1. import
gdal_in="-oo X_POSSIBLE_NAMES=X -oo Y_POSSIBLE_NAMES=Y -s_srs EPSG:4538 -t_srs EPSG:4490"
fresh="rm -f $tmp/run.db $tmp/run.db-wal $tmp/run.db-shm && cp $tmp/base.db $tmp/run.db"
hyperfine --runs "$RUNS" --warmup 1 --export-json "$tmp/import.json" \
  --prepare true --prepare true --prepare "$fresh" --prepare "$fresh" --prepare "rm -f $tmp/out.gpkg" --prepare true --prepare true \
  -n "diming import --dry-run" \
  "$bin import $tmp/fac.csv --layer facilities --crs EPSG:4538 --dry-run --database sqlite://$tmp/base.db" \
  -n "diming import --dry-run (with ids)" \
  "$bin import $tmp/fac_ids.csv --layer facilities --crs EPSG:4538 --dry-run --database sqlite://$tmp/base.db" \
  -n "diming import (with ids), fresh db" \
  "$bin import $tmp/fac_ids.csv --layer facilities --crs EPSG:4538 --database sqlite://$tmp/run.db" \
  -n "diming import (with ids), fresh db, taskset -c 0" \
  "taskset -c 0 $bin import $tmp/fac_ids.csv --layer facilities --crs EPSG:4538 --database sqlite://$tmp/run.db" \
  -n "iconv | ogr2ogr -> GPKG" \
  "iconv -f GB18030 -t UTF-8 $tmp/fac.csv | ogr2ogr -f GPKG $tmp/out.gpkg CSV:/vsistdin/ $gdal_in -nln facilities" \
  -n "iconv | ogr2ogr -> GeoJSON" \
  "iconv -f GB18030 -t UTF-8 $tmp/fac.csv | ogr2ogr -f GeoJSON /vsistdout/ CSV:/vsistdin/ $gdal_in > $tmp/out.geojson" \
  -n "ogr2ogr -> GeoJSON (UTF-8 copy)" \
  "ogr2ogr -f GeoJSON /vsistdout/ $tmp/fac_utf8.csv $gdal_in > $tmp/out.geojson"
n_gdal="$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['features']))" "$tmp/out.geojson")"
[[ "$n_gdal" == "$ROWS" ]] || { echo "GDAL wrote $n_gdal features, not $ROWS" >&2; exit 1; }

# Rows without an id: each is numbered by reading every facility id (store::sql::next_number).
: >"$tmp/noid.tsv"
for n in $NOID_ROWS; do
  head -n $((n + 1)) "$tmp/fac.csv" >"$tmp/noid_$n.csv"
  head -n $((n + 1)) "$tmp/fac_ids.csv" >"$tmp/id_$n.csv"
  hyperfine --runs 1 --export-json "$tmp/noid_$n.json" --prepare "$fresh" \
    -n "no id, $n rows" "$bin import $tmp/noid_$n.csv --layer facilities --crs EPSG:4538 --database sqlite://$tmp/run.db" \
    -n "ids, $n rows" "$bin import $tmp/id_$n.csv --layer facilities --crs EPSG:4538 --database sqlite://$tmp/run.db"
done

# ---------------------------------------------------------------- 2. export
rm -f "$tmp"/big.db*
cp "$tmp/base.db" "$tmp/big.db"
"$bin" import "$tmp/fac_ids.csv" --layer facilities --crs EPSG:4538 --database "sqlite://$tmp/big.db" >/dev/null 2>&1
total=$((ROWS + 180))
"$bin" export --layer facilities --database "sqlite://$tmp/big.db" --output "$tmp/big.geojson"
hyperfine --runs "$RUNS" --warmup 1 --export-json "$tmp/export.json" \
  -n "diming export csv 4538 gbk" \
  "$bin export --layer facilities --format csv --crs EPSG:4538 --encoding gbk --database sqlite://$tmp/big.db --output $tmp/exp_diming.csv" \
  -n "diming start-up floor (export 222 settlements)" \
  "$bin export --layer settlements --format csv --database sqlite://$tmp/big.db --output $tmp/exp_floor.csv" \
  -n "ogr2ogr GeoJSON -> CSV 4538 | iconv GB18030" \
  "ogr2ogr -f CSV /vsistdout/ $tmp/big.geojson -t_srs EPSG:4538 -lco GEOMETRY=AS_XY | iconv -f UTF-8 -t GB18030 > $tmp/exp_gdal.csv" \
  -n "ogr2ogr GeoJSON -> CSV 4538 (UTF-8)" \
  "ogr2ogr -f CSV /vsistdout/ $tmp/big.geojson -t_srs EPSG:4538 -lco GEOMETRY=AS_XY > $tmp/exp_gdal_utf8.csv"
for f in exp_diming exp_gdal; do
  lines="$(wc -l <"$tmp/$f.csv")"
  [[ "$lines" == $((total + 1)) ]] || { echo "$f.csv has $lines lines, not $((total + 1))" >&2; exit 1; }
done

# ---------------------------------------------------------------- 3. OGC API Features over HTTP
start_server() { # database file
  "$bin" serve --listen 127.0.0.1:0 --database "sqlite://$1" >"$tmp/server.out" 2>"$tmp/server.err" &
  server_pid=$!
  addr=""
  for _ in $(seq 1 600); do
    addr="$(sed -n 's/^listening on http:\/\/\([^ ]*\).*$/\1/p' "$tmp/server.out" | head -n1)"
    [[ -n "$addr" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.err" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n "$addr" ]] || { echo "diming did not start" >&2; exit 1; }
  base="http://$addr"
  for _ in $(seq 1 100); do curl -fsS "$base/health" >/dev/null 2>&1 && break; sleep 0.1; done
}

declare -A paths=(
  [ogc_items]="/ogc/collections/facilities/items?limit=100"
  [ogc_items_4538]="/ogc/collections/facilities/items?limit=100&crs=http://www.opengis.net/def/crs/EPSG/0/4538"
  [ogc_items_bbox]="/ogc/collections/facilities/items?limit=100&bbox=86.1,44.2,86.3,44.45"
  [rest_list]="/api/v1/facilities?limit=100"
)
http_names=(ogc_items ogc_items_4538 ogc_items_bbox rest_list)
for db in small big; do
  if [[ $db == small ]]; then cp "$tmp/base.db" "$tmp/serve.db"; else cp "$tmp/big.db" "$tmp/serve.db"; fi
  rm -f "$tmp"/serve.db-wal "$tmp"/serve.db-shm
  start_server "$tmp/serve.db"
  echo "diming listening on $base ($db database)"
  for name in "${http_names[@]}"; do
    url="$base${paths[$name]}"
    curl -fsS "$url" -o "$tmp/body_${db}_$name.json"
    python3 - "$tmp/body_${db}_$name.json" >"$tmp/meta_${db}_$name.txt" <<'EOF'
import json, os, sys
d = json.load(open(sys.argv[1]))
print(os.path.getsize(sys.argv[1]), d.get("numberMatched", "-"), len(d["features"]))
EOF
    echo
    echo "=== $db $name: wrk -t$THREADS -c$CONNS -d$DURATION --timeout $TIMEOUT --latency $url"
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout "$TIMEOUT" --latency "$url" | tee "$tmp/wrk_${db}_$name.txt"
  done
  stop_server
done

# ---------------------------------------------------------------- summary
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.2f", n
  }'
}
field() { awk -v re="$2" -v f="$3" '$0 ~ re { print $f; exit }' "$1"; }

echo
echo "=== Summary ($(nproc) CPUs; $(uname -m); hyperfine $RUNS runs, medians; $(date -u +%FT%TZ); load average at start $load_start, at end $(cut -d" " -f1-3 /proc/loadavg))"
python3 - "$tmp" "$ROWS" "$total" "$NOID_ROWS" <<'EOF'
import json, sys
tmp, rows, total, noid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
def load(f):
    return {r["command"]: r for r in json.load(open(f"{tmp}/{f}"))["results"]}
def line(name, r, n, base=None):
    med = r["median"]
    ratio = "" if base is None else f"{base / med:6.2f}x"
    print(f"  {name:<48} {med:8.3f} s  (min {r['min']:.3f}, max {r['max']:.3f})  {n / med:>11,.0f} rows/s  {ratio}")
imp = load("import.json")
print(f"1. import, {rows:,} rows (GBK CSV, EPSG:4538); ratio = baseline time / this time")
gj = imp["iconv | ogr2ogr -> GeoJSON"]["median"]
gp = imp["iconv | ogr2ogr -> GPKG"]["median"]
for k in imp:
    b = gj if k.startswith("diming import --dry") else gp if k.startswith("diming import (") else None
    line(k, imp[k], rows, b)
print("   dry runs vs iconv|ogr2ogr->GeoJSON; the real import vs iconv|ogr2ogr->GPKG")
for n in noid:
    r = load(f"noid_{n}.json")
    a, b = r[f"no id, {n} rows"], r[f"ids, {n} rows"]
    print(f"   real import, {n:>6} rows: without ids {a['median']:7.2f} s ({int(n) / a['median']:>8,.0f} rows/s), "
          f"with ids {b['median']:6.2f} s ({int(n) / b['median']:>8,.0f} rows/s)")
exp = load("export.json")
print(f"2. export, {total:,} facilities (CSV, EPSG:4538, GB18030); ratio = baseline time / this time")
g = exp["ogr2ogr GeoJSON -> CSV 4538 | iconv GB18030"]["median"]
for k in exp:
    line(k, exp[k], total, g if k == "diming export csv 4538 gbk" else None)
d, f = exp["diming export csv 4538 gbk"]["median"], exp["diming start-up floor (export 222 settlements)"]["median"]
print(f"   diming export minus the start-up floor: {d - f:.3f} s ({total / (d - f):,.0f} rows/s), {g / (d - f):.2f}x vs the baseline")
EOF
echo "3. HTTP (wrk -t$THREADS -c$CONNS -d$DURATION, server and wrk on the same machine)"
printf "  %-6s %-16s %11s %9s %9s %9s %8s %9s %8s %12s\n" db endpoint requests/s p50_ms p99_ms non2xx errors bytes matched "ratio/REST"
for db in small big; do
  rest="$(field "$tmp/wrk_${db}_rest_list.txt" '^Requests/sec:' 2)"
  for name in "${http_names[@]}"; do
    f="$tmp/wrk_${db}_$name.txt"
    rps="$(field "$f" '^Requests/sec:' 2)"
    p50="$(to_ms "$(field "$f" '^ +50%' 2)")"
    p99="$(to_ms "$(field "$f" '^ +99%' 2)")"
    non2xx="$(field "$f" 'Non-2xx or 3xx responses:' 5)"
    errs="$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10; exit }' "$f")"
    read -r bytes matched _ <"$tmp/meta_${db}_$name.txt"
    ratio="$(awk -v a="$rps" -v b="$rest" 'BEGIN { printf "%.2f", a / b }')"
    printf "  %-6s %-16s %11s %9s %9s %9s %8s %9s %8s %12s\n" "$db" "$name" "$rps" "$p50" "$p99" "${non2xx:-0}" "${errs:-0}" "$bytes" "$matched" "$ratio"
  done
done
