#!/usr/bin/env bash
# `diming init --region` at national scale (issue 14): time and peak memory of
# building every county-level unit of China into a fresh SQLite registry, then of
# the second run, which must add nothing.
#
#   scripts/bench_region.sh [REGION]      (default: all)
#
# Builds release, runs `/usr/bin/time -v diming init --region REGION` twice on a
# database in a temporary directory, and prints one table row per run: wall time,
# peak resident memory and what init said it added.
set -euo pipefail
cd "$(dirname "$0")/.."
region="${1:-all}"
command -v /usr/bin/time >/dev/null || { echo "bench_region: needs GNU time (Debian package 'time')" >&2; exit 1; }
cargo build --release --quiet
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "| run | wall time | peak RSS | said |"
echo "|---|---:|---:|---|"
for run in first second; do
  /usr/bin/time -v target/release/diming init --region "$region" --database "sqlite://$tmp/registry.db" >"$tmp/out" 2>"$tmp/err"
  wall=$(grep 'Elapsed (wall clock)' "$tmp/err" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$tmp/err" | awk '{printf "%.0f MB", $NF/1024}')
  said=$(grep -h '地区' "$tmp/out" "$tmp/err" | head -1 | sed 's/ (region.*//')
  echo "| $run | $wall | $rss | $said |"
done
echo "database: $(du -h "$tmp/registry.db" | cut -f1)"
