#!/bin/sh
# The wrangler [build] command. Under `wrangler dev` it builds a fast unoptimised Worker
# (profile wasm-dev, no wasm-opt: ~1 s incremental rebuilds); everything else (`wrangler deploy`,
# `make bench`, SAFEMARKET_OPTIMIZED=1) gets the release profile with wasm-opt.
set -eu
cd "$(dirname "$0")/.."
SAFEMARKET_ENV_SELF="$(pwd)/scripts/env.sh"
. "$SAFEMARKET_ENV_SELF"
# The black-box harness builds once and starts several servers from that build.
if [ -n "${SAFEMARKET_PREBUILT:-}" ] && [ -f build/index.js ]; then
    exit 0
fi
if [ "${WRANGLER_COMMAND:-}" = "dev" ] && [ -z "${SAFEMARKET_OPTIMIZED:-}" ]; then
    exec worker-build --profile wasm-dev --no-opt
else
    exec worker-build --release
fi
