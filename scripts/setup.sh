#!/usr/bin/env bash
# Installs what building and running diming needs on Debian, if it is missing:
# PROJ (linked by the proj crate) with pkg-config and libclang for its bindings.
# Idempotent and quiet when everything is there. Needs root (or sudo) only when
# something must be installed.
set -euo pipefail

need=()
dpkg -s libproj-dev >/dev/null 2>&1 || need+=(libproj-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
command -v clang >/dev/null 2>&1 || need+=(clang)
for extra in "$@"; do
  dpkg -s "$extra" >/dev/null 2>&1 || need+=("$extra")
done

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
