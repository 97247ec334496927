#!/bin/sh
# Builds the staff app (crate app/) into static/public/staff/: release wasm (opt-level z, LTO),
# wasm-bindgen --target web (the pinned CLI = Cargo.lock's wasm-bindgen), wasm-opt -Oz from the
# npm binaryen, content-hashed file names, the shell, manifest, icons and service worker.
# Run after Hugo (`make site` empties static/public). Writes target/app-size.json (gzipped
# first-load bytes) for `make bench`.
set -eu
cd "$(dirname "$0")/.."
SAFEMARKET_ENV_SELF="$(pwd)/scripts/env.sh"
. "$SAFEMARKET_ENV_SELF"
out=static/public/staff
work=target/app-build
cargo build --quiet --profile app-release -p safemarket-app --target wasm32-unknown-unknown
rm -rf "$work" && mkdir -p "$work"
"$WASM_BINDGEN_BIN" --target web --no-typescript --out-dir "$work" --out-name app \
    target/wasm32-unknown-unknown/app-release/safemarket_app.wasm
"$WASM_OPT_BIN" -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$work/app_bg.opt.wasm" "$work/app_bg.wasm"
hash() { sha256sum "$1" | cut -c1-12; }
rm -rf "$out" && mkdir -p "$out"
wasm="app-$(hash "$work/app_bg.opt.wasm").wasm"
cp "$work/app_bg.opt.wasm" "$out/$wasm"
js="app-$(hash "$work/app.js").js"
cp "$work/app.js" "$out/$js"
css="style-$(hash app/static/style.css).css"
cp app/static/style.css "$out/$css"
sed -e "s|__JS__|$js|" -e "s|__WASM__|$wasm|" app/static/boot.js > "$work/boot.js"
boot="boot-$(hash "$work/boot.js").js"
cp "$work/boot.js" "$out/$boot"
sed -e "s|__CSS__|$css|" -e "s|__JS__|$js|g" -e "s|__WASM__|$wasm|" -e "s|__BOOT__|$boot|" \
    app/static/index.html > "$out/index.html"
cp app/static/manifest.webmanifest app/static/icon-192.png app/static/icon-512.png "$out/"
build="$(cat "$out/index.html" "$out/$wasm" "$out/$js" | sha256sum | cut -c1-12)"
files="[\"/staff/$css\",\"/staff/$js\",\"/staff/$wasm\",\"/staff/$boot\",\"/staff/manifest.webmanifest\",\"/staff/icon-192.png\",\"/staff/icon-512.png\"]"
sed -e "s|__CACHE__|staff-$build|" -e "s|__FILES__|$files|" app/static/sw.js > "$out/sw.js"
gz() { gzip -9 -c "$1" | wc -c | tr -d ' '; }
w=$(gz "$out/$wasm"); j=$(gz "$out/$js"); c=$(gz "$out/$css"); b=$(gz "$out/$boot"); h=$(gz "$out/index.html")
total=$((w + j + c + b + h))
printf '{"wasm_gzip":%s,"js_gzip":%s,"css_gzip":%s,"boot_gzip":%s,"html_gzip":%s,"total_gzip":%s}\n' \
    "$w" "$j" "$c" "$b" "$h" "$total" > target/app-size.json
echo "staff app: $out (first load $total bytes gzipped: wasm $w, js $j, css $c)"
