#!/usr/bin/env bash
# The test command: install what is missing, then run every test (unit, doc,
# integration over HTTP and the CLI, the README's run command, spatial oracles,
# dataset checks against the real inputs, a real Chromium and GDAL) against the
# embedded SQLite store, and then the store-backed part of the suite once more
# against PostgreSQL/PostGIS, with the PostgreSQL-only tests.
#
# PostgreSQL: DIMING_TEST_POSTGRES (an administrator's URL; default
# postgres://postgres@127.0.0.1:5432/postgres, trust auth as on the project's
# machines). Every test makes and drops a database of its own. When no server
# answers, the PostgreSQL pass is reported as SKIPPED with the reason — never as
# passed — and the PostgreSQL-only tests show as ignored in the first pass.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test || exit 1

status=0
cargo test --no-fail-fast "$@" || status=1

# The contract: the OpenAPI document against the server, by schemathesis.
scripts/contract.sh || status=1

pg="${DIMING_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
if reason=$(psql "$pg" -X -q -t -A -c "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'" 2>&1) && [[ "$reason" == 1 ]]; then
  echo "== the suite against PostgreSQL ($(psql "$pg" -X -t -A -c 'SHOW server_version'), PostGIS) =="
  # The store-backed modules of the one integration binary (tests/it/), by name.
  DIMING_TEST_POSTGRES="$pg" cargo test --no-fail-fast --test it "$@" -- --include-ignored \
    answers:: api:: store:: facility_write:: incremental:: changes:: webhooks:: ogc_write:: places:: coverage:: interop:: postgres:: trust:: crash:: || status=1
else
  [[ "$reason" == "" ]] && reason="PostGIS is not installed on that server"
  echo "SKIPPED: the PostgreSQL pass — no PostgreSQL with PostGIS at ${pg%%\?*}: ${reason}" >&2
fi
exit $status
