#!/bin/sh
# Builds the shoppers' booking page (crate book/) into static/public/book/ as
# scripts/build-app.sh builds the staff app (scripts/wasm-app.sh: release wasm, the pinned
# wasm-bindgen, wasm-opt -Oz, content-hashed names, the shell). No manifest or service worker:
# the page is opened from a link or a poster, not installed. Run after Hugo (`make site`
# empties static/public). Writes target/book-size.json (gzipped first-load bytes, budget
# 250 KB) for `make bench`.
set -eu
cd "$(dirname "$0")/.."
SAFEMARKET_ENV_SELF="$(pwd)/scripts/env.sh"
. "$SAFEMARKET_ENV_SELF"
. scripts/wasm-app.sh
out=static/public/book
wasm_app safemarket-book book "$out" /book
echo "$size_json" > target/book-size.json
echo "booking page: $out (first load $total bytes gzipped: wasm $w, js $j, css $c)"
