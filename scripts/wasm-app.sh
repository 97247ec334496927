# Sourced by scripts/build-app.sh and scripts/build-book.sh: `wasm_app <package> <crate dir>
# <out dir>` builds a Leptos app's release wasm (profile app-release: opt-level z,
# LTO), runs the pinned wasm-bindgen --target web and wasm-opt -Oz, and writes the
# content-hashed wasm, JS, CSS and boot script and the shell index.html into <out dir>. It sets
# $wasm, $js, $css, $boot (the hashed names) and $total, $w, $j, $c (gzipped first-load bytes).
wasm_app() {
    package=$1 dir=$2 out=$3
    work="target/$dir-build"
    cargo build --quiet --profile app-release -p "$package" --target wasm32-unknown-unknown
    rm -rf "$work" && mkdir -p "$work"
    "$WASM_BINDGEN_BIN" --target web --no-typescript --out-dir "$work" --out-name app \
        "target/wasm32-unknown-unknown/app-release/$(echo "$package" | tr - _).wasm"
    "$WASM_OPT_BIN" -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-mutable-globals --enable-reference-types --enable-multivalue \
        -o "$work/app_bg.opt.wasm" "$work/app_bg.wasm"
    rm -rf "$out" && mkdir -p "$out"
    wasm="app-$(hash "$work/app_bg.opt.wasm").wasm"
    cp "$work/app_bg.opt.wasm" "$out/$wasm"
    js="app-$(hash "$work/app.js").js"
    cp "$work/app.js" "$out/$js"
    css="style-$(hash "$dir/static/style.css").css"
    cp "$dir/static/style.css" "$out/$css"
    sed -e "s|__JS__|$js|" -e "s|__WASM__|$wasm|" "$dir/static/boot.js" > "$work/boot.js"
    boot="boot-$(hash "$work/boot.js").js"
    cp "$work/boot.js" "$out/$boot"
    sed -e "s|__CSS__|$css|" -e "s|__JS__|$js|g" -e "s|__WASM__|$wasm|" -e "s|__BOOT__|$boot|" \
        "$dir/static/index.html" > "$out/index.html"
    w=$(gz "$out/$wasm"); j=$(gz "$out/$js"); c=$(gz "$out/$css"); b=$(gz "$out/$boot"); h=$(gz "$out/index.html")
    total=$((w + j + c + b + h))
    size_json="{\"wasm_gzip\":$w,\"js_gzip\":$j,\"css_gzip\":$c,\"boot_gzip\":$b,\"html_gzip\":$h,\"total_gzip\":$total}"
}
hash() { sha256sum "$1" | cut -c1-12; }
gz() { gzip -9 -c "$1" | wc -c | tr -d ' '; }
