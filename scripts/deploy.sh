#!/usr/bin/env bash
# Deploys one environment, as .github/workflows/deploy.yml does after `make test`:
#   1. apply the D1 migrations to that environment's remote database;
#   2. `wrangler deploy --env <env>` (release build with wasm-opt, the site and API docs as
#      assets; `make site` must have run);
#   3. smoke test: `GET /api/health` must answer 200 with `"status":"ok"`, and with
#      HEALTH_TOKEN set also the deep check (write + read round trips of D1, KV and the object).
# Needs CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID when the token spans several accounts).
# The URL smoke-tested is SAFEMARKET_URL when set, else the workers.dev URL wrangler printed.
# Usage: scripts/deploy.sh staging|production
set -euo pipefail
cd "$(dirname "$0")/.."
SAFEMARKET_ENV_SELF="$(pwd)/scripts/env.sh"
. "$SAFEMARKET_ENV_SELF"
env="${1:-}"
case "$env" in
    staging | production) ;;
    *) echo "usage: $0 staging|production" >&2; exit 2 ;;
esac
python3 scripts/check-envs.py wrangler.toml

echo "deploy: applying D1 migrations to $env"
wrangler d1 migrations apply DB --remote --env "$env"

echo "deploy: deploying $env"
mkdir -p target/deploy
log="target/deploy/deploy-$env.log"
wrangler deploy --env "$env" 2>&1 | tee "$log"
url="${SAFEMARKET_URL:-$(grep -o 'https://[^ ]*workers\.dev' "$log" | head -1 || true)}"
[ -n "$url" ] || { echo "deploy: no URL to smoke-test (set SAFEMARKET_URL)" >&2; exit 1; }

echo "deploy: smoke-testing $url/api/health"
ok=""
for _ in $(seq 1 12); do
    if curl -fsS --max-time 10 "$url/api/health" | grep -q '"status":"ok"'; then ok=1; break; fi
    sleep 5
done
[ -n "$ok" ] || { echo "deploy: $url/api/health is not ok" >&2; exit 1; }
if [ -n "${HEALTH_TOKEN:-}" ]; then
    curl -fsS --max-time 20 -H "authorization: Bearer $HEALTH_TOKEN" "$url/api/health?deep=1" \
        | grep -q '"status":"ok"' || { echo "deploy: deep health check failed" >&2; exit 1; }
fi
echo "deploy: $env is live at $url"
