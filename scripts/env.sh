# Sourced (POSIX sh) by the Makefile recipes and the wrangler build command: puts the tools
# that scripts/setup.sh installs on PATH and tells worker-build where they are, so nothing is
# downloaded from outside the package registries.
_root="$(CDPATH= cd "$(dirname "${SAFEMARKET_ENV_SELF:-$0}")/.." 2>/dev/null && pwd)"
[ -f "$_root/scripts/versions.env" ] || _root="$(pwd)"
. "$_root/scripts/versions.env"

# Tools are cached per machine (outside the clone) so fresh clones and CI reuse them.
SAFEMARKET_TOOLS="${SAFEMARKET_TOOLS:-$HOME/.cache/safemarket}"
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$_root/Cargo.lock")"
WASM_BINDGEN_ROOT="$SAFEMARKET_TOOLS/wasm-bindgen-cli-$WASM_BINDGEN_VERSION"
WORKER_BUILD_ROOT="$SAFEMARKET_TOOLS/worker-build-$WORKER_BUILD_VERSION"
NODE_VENV="$SAFEMARKET_TOOLS/node-$NODE_WHEEL_VERSION"
NODE_SHIMS="$NODE_VENV/shims"
SCHEMATHESIS_VENV="$SAFEMARKET_TOOLS/schemathesis-$SCHEMATHESIS_VERSION"
ACTIONLINT_VENV="$SAFEMARKET_TOOLS/$ACTIONLINT_PACKAGE-$ACTIONLINT_VERSION"

# A Node from the wheel is used only when the machine's own is too old (setup decides and
# creates the shims); its shims then come first on PATH.
if [ -d "$NODE_SHIMS" ]; then
    PATH="$NODE_SHIMS:$PATH"
fi
PATH="$WORKER_BUILD_ROOT/bin:$WASM_BINDGEN_ROOT/bin:$_root/node_modules/.bin:$HOME/.cargo/bin:$PATH"

WASM_BINDGEN_BIN="$WASM_BINDGEN_ROOT/bin/wasm-bindgen"
WASM_OPT_BIN="$_root/node_modules/binaryen/bin/wasm-opt"
ESBUILD_BIN="$_root/node_modules/esbuild/bin/esbuild"
# Local runs never wait on the internet.
WRANGLER_SEND_METRICS=false
CLOUDFLARE_CF_FETCH_ENABLED=false
export PATH SAFEMARKET_TOOLS WASM_BINDGEN_VERSION WASM_BINDGEN_ROOT WORKER_BUILD_ROOT \
    NODE_VENV NODE_SHIMS SCHEMATHESIS_VENV ACTIONLINT_VENV WASM_BINDGEN_BIN WASM_OPT_BIN ESBUILD_BIN \
    WRANGLER_SEND_METRICS CLOUDFLARE_CF_FETCH_ENABLED
unset _root
