#!/usr/bin/env bash
# Installs what building and running diming needs on Debian, if it is missing:
# PROJ (linked by the proj crate) with pkg-config and libclang for its bindings.
# With --test, also what the test suite needs: Debian's Chromium, CJK fonts for
# the page's screenshots, Node.js, the browser tests' npm packages, and GDAL
# (ogrinfo/ogr2ogr) and OWSLib (in target/clients-venv) as real OGC API Features
# clients; PostGIS for a local PostgreSQL 15 and psql for the PostgreSQL pass.
# Idempotent and quiet when everything is there; needs root (or sudo) only when
# something must be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have_pkg() { dpkg -s "$1" >/dev/null 2>&1; }
have_pkg libproj-dev || need+=(libproj-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
have_pkg libclang-dev || need+=(libclang-dev)
command -v clang >/dev/null 2>&1 || need+=(clang)
if [[ "${1:-}" == "--test" ]]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  have_pkg fonts-noto-cjk || need+=(fonts-noto-cjk)
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
  # GDAL's OGC API Features client (ogrinfo, ogr2ogr) for the interoperability tests.
  command -v ogr2ogr >/dev/null 2>&1 || need+=(gdal-bin)
  # PostGIS for the PostgreSQL pass, where a local PostgreSQL 15 server is installed.
  if have_pkg postgresql-15 && ! have_pkg postgresql-15-postgis-3; then need+=(postgresql-15-postgis-3); fi
  command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
  # The contract test: schemathesis in a virtualenv (scripts/contract.sh), driven with curl.
  command -v python3 >/dev/null 2>&1 || need+=(python3)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
  command -v curl >/dev/null 2>&1 || need+=(curl)
fi

if ((${#need[@]})); then
  echo "setup: installing ${need[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo (the Rust toolchain, 1.85 or newer) is required and was not found on PATH" >&2
  exit 1
fi

if [[ "${1:-}" == "--test" ]]; then
  # OWSLib, a real OGC API Features client (Part 4 editing), for tests/clients/.
  if [[ ! -x target/clients-venv/bin/python ]] || ! target/clients-venv/bin/python -c 'import owslib' >/dev/null 2>&1; then
    python3 -m venv target/clients-venv
    target/clients-venv/bin/pip install -q --disable-pip-version-check 'OWSLib==0.35.0'
  fi
  # puppeteer-core drives the system Chromium; it must not download a browser.
  if [[ ! -d tests/browser/node_modules/puppeteer-core ]] || [[ tests/browser/package-lock.json -nt tests/browser/node_modules ]]; then
    (cd tests/browser && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    touch tests/browser/node_modules
  fi
fi
