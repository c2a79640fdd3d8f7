#!/usr/bin/env bash
# The contract test: schemathesis (PyPI, in a virtualenv under target/) runs every
# operation of GET /api/v1/openapi.json against a real server with an admin token,
# `--checks all`, a fixed seed: the document must say exactly what the server does.
# Called by scripts/test.sh; needs the debug binary (cargo test builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/schemathesis-venv
if [[ ! -x $venv/bin/schemathesis ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'schemathesis==4.32.5'
fi
bin=target/debug/diming
[[ -x $bin ]] || cargo build -q --bin diming
dir=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT
db="sqlite://$dir/contract.db"
password='contract test password'
DIMING_PASSWORD="$password" "$bin" user add contract_admin --role admin --database "$db" >/dev/null
"$bin" serve --database "$db" --listen 127.0.0.1:0 >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 1 300); do grep -q '^listening on ' "$dir/out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$dir/out")
[[ -n $base ]] || { cat "$dir/err" >&2; echo "contract: the server did not start" >&2; exit 1; }
login=$(curl -sf -c "$dir/cookies" -H 'content-type: application/json' \
  -d "{\"username\":\"contract_admin\",\"password\":\"$password\"}" "$base/api/v1/session")
csrf=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])' <<<"$login")
token=$(curl -sf -b "$dir/cookies" -H "x-csrf-token: $csrf" -H 'content-type: application/json' \
  -d '{"name":"schemathesis"}' "$base/api/v1/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
echo "== contract: schemathesis against $base (seed 20261202) =="
"$venv/bin/schemathesis" run "$base/api/v1/openapi.json" \
  --checks all --seed 20261202 --generation-deterministic --max-examples "${CONTRACT_EXAMPLES:-30}" --workers 1 \
  --header "Authorization: Bearer $token" \
  --suppress-health-check all --request-timeout 30 --no-color "$@"
