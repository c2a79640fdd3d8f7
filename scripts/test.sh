#!/usr/bin/env bash
# The test command: install what is missing, then run every test (unit, doc,
# integration over HTTP and the CLI, the README's run command, spatial oracles,
# dataset checks against the real inputs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
cargo test --no-fail-fast "$@"
