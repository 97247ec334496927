#!/usr/bin/env bash
# `make dev` demo data: scripts/dev.sh calls this with the API base URL once it is healthy.
# The Rust tool tests/src/bin/seed.rs creates (or logs in to) the demo owner and its four
# stores around Berlin through the API; reruns only log in and list. A failure is reported
# but does not stop `make dev`: the API keeps running without demo data.
set -uo pipefail
cd "$(dirname "$0")/.."
base="${1:-http://127.0.0.1:8787}"
if ! cargo run -q -p safemarket-blackbox --bin seed -- "$base"; then
    echo "seed: demo data could not be created (see above); the API is running anyway" >&2
fi
