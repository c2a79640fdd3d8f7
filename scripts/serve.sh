#!/usr/bin/env bash
# The run command: install what is missing, build, and serve the bundled Manas
# County dataset on http://127.0.0.1:8080 (SQLite file diming.db in the working
# directory, created and loaded on first start). Extra arguments go to
# `diming serve`, e.g. `scripts/serve.sh --listen 0.0.0.0:8080`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
profile="${DIMING_PROFILE:-release}"
exec cargo run --quiet --profile "$profile" --bin diming -- serve "$@"
