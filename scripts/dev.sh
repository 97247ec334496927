#!/usr/bin/env bash
# `make dev`: apply D1 migrations to the persistent local state, start `wrangler dev`, seed the
# demo once the API is healthy, print where everything is, and serve until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8787}"
PERSIST="${PERSIST:-.wrangler/state}"
base="http://127.0.0.1:$PORT"

wrangler d1 migrations apply DB --local --persist-to "$PERSIST" >/dev/null

# Vars the environment may override for this run (`PUBLIC_WRITE_RATE_PER_MINUTE=100000 make dev`).
vars=()
for name in PUBLIC_WRITE_RATE_PER_MINUTE PUBLIC_RATE_PER_MINUTE COST_METER; do
    if [ -n "${!name:-}" ]; then vars+=(--var "$name:${!name}"); fi
done

# Own process group, so Ctrl-C (or any exit) stops wrangler and workerd together.
set -m
wrangler dev --ip 127.0.0.1 --port "$PORT" --persist-to "$PERSIST" \
    --show-interactive-dev-session=false --log-level warn \
    --var WEBHOOK_ALLOW_LOOPBACK:1 "${vars[@]}" </dev/null &
wrangler_pid=$!
set +m
stop() { kill -TERM -- "-$wrangler_pid" 2>/dev/null || true; wait "$wrangler_pid" 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM

# Node is always there (curl may not be on a fresh machine).
healthy() { node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$base/api/health"; }
for _ in $(seq 1 600); do
    if healthy; then break; fi
    if ! kill -0 "$wrangler_pid" 2>/dev/null; then echo "dev: wrangler dev exited" >&2; exit 1; fi
    sleep 0.5
done
healthy || { echo "dev: API not healthy after 300 s" >&2; exit 1; }

if [ -x scripts/seed.sh ]; then
    bash scripts/seed.sh "$base"
fi

cat <<MSG

SafeMarket is running (Ctrl-C stops it; data persists in $PERSIST, \`make reset\` wipes it):
  site     $base/
  API      $base/api/v1
  health   $base/api/health
  docs     $base/api/docs
  staff    $base/staff/   (the staff app: sign in with the demo account above)
  book     $base/book/<store id>   (a store's booking page for shoppers: each demo store's above)
MSG
wait "$wrangler_pid"
