#!/usr/bin/env bash
# Vendors the page's map library into web/vendor/ from the npm registry, with its
# licence. The page has no build step and works offline; re-run this to upgrade.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${MAPLIBRE_VERSION:-6.17.0}"
dest="web/vendor/maplibre-gl-$VERSION"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "maplibre-gl@$VERSION" >/dev/null && tar xzf "maplibre-gl-$VERSION.tgz")
rm -rf "$dest"
mkdir -p "$dest"
for f in maplibre-gl.mjs maplibre-gl-worker.mjs maplibre-gl.css; do
  cp "$tmp/package/dist/$f" "$dest/"
done
cp "$tmp/package/LICENSE.txt" "$dest/LICENSE.txt"
echo "maplibre-gl $VERSION (npm), BSD-3-Clause; vendored by scripts/vendor_web.sh" > "$dest/SOURCE.txt"
echo "vendored maplibre-gl $VERSION into $dest"
