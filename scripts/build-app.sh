#!/bin/sh
# Builds the staff app (crate app/) into static/public/staff/: release wasm (opt-level z, LTO),
# wasm-bindgen --target web (the pinned CLI = Cargo.lock's wasm-bindgen), wasm-opt -Oz from the
# npm binaryen, content-hashed file names (scripts/wasm-app.sh, shared with the booking page),
# then the manifest, icons and service worker. Run after Hugo (`make site` empties
# static/public). Writes target/app-size.json (gzipped first-load bytes) for `make bench`.
set -eu
cd "$(dirname "$0")/.."
SAFEMARKET_ENV_SELF="$(pwd)/scripts/env.sh"
. "$SAFEMARKET_ENV_SELF"
. scripts/wasm-app.sh
out=static/public/staff
wasm_app safemarket-app app "$out" /staff
cp app/static/manifest.webmanifest app/static/icon-192.png app/static/icon-512.png "$out/"
build="$(cat "$out/index.html" "$out/$wasm" "$out/$js" | sha256sum | cut -c1-12)"
files="[\"/staff/$css\",\"/staff/$js\",\"/staff/$wasm\",\"/staff/$boot\",\"/staff/manifest.webmanifest\",\"/staff/icon-192.png\",\"/staff/icon-512.png\"]"
sed -e "s|__CACHE__|staff-$build|" -e "s|__FILES__|$files|" app/static/sw.js > "$out/sw.js"
echo "$size_json" > target/app-size.json
echo "staff app: $out (first load $total bytes gzipped: wasm $w, js $j, css $c)"
