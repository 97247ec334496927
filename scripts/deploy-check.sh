#!/usr/bin/env bash
# `make deploy-check` (part of `make test`): builds the Worker once as a deploy does (release,
# wasm-opt), then `wrangler deploy --dry-run --outdir target/deploy/<env> --env <env>` for
# staging and production: wrangler resolves each environment's bindings and bundles exactly what
# it would upload, without an account. Fails when the compressed upload exceeds the Workers
# size limit of the Free plan, 3 MiB after gzip (the Paid plan allows 10 MiB): the town budget
# of README "What it costs" runs on the Free plan, so the bundle must deploy there too.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT_KIB=3072
mkdir -p target/deploy
SAFEMARKET_OPTIMIZED=1 sh scripts/build-worker.sh >target/deploy/build.log 2>&1 || { cat target/deploy/build.log; exit 1; }
for env in staging production; do
    log="target/deploy/$env.log"
    SAFEMARKET_PREBUILT=1 wrangler deploy --dry-run --outdir "target/deploy/$env" --env "$env" >"$log" 2>&1 \
        || { cat "$log"; exit 1; }
    # "Total Upload: 2482.54 KiB / gzip: 667.76 KiB"
    gzip_kib="$(sed -n 's/.*Total Upload: .* gzip: \([0-9.]*\) KiB.*/\1/p' "$log" | tail -1)"
    [ -n "$gzip_kib" ] || { echo "deploy-check: no upload size in $log" >&2; cat "$log"; exit 1; }
    if awk -v s="$gzip_kib" -v l="$LIMIT_KIB" 'BEGIN { exit !(s > l) }'; then
        echo "deploy-check: $env bundle is $gzip_kib KiB gzipped, over the $LIMIT_KIB KiB limit" >&2
        exit 1
    fi
    echo "deploy-check: $env bundle $gzip_kib KiB gzipped (limit $LIMIT_KIB KiB)"
done
