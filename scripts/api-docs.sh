#!/usr/bin/env bash
# Part of `make site` (after Hugo): copies the OpenAPI document, Swagger UI from the npm package
# swagger-ui-dist (pinned in package.json) and its initialiser into static/public/api-docs/, where
# the Worker's GET /api/openapi.json and GET /api/docs read them through the ASSETS binding. The
# Worker itself does not grow by a byte.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=node_modules/swagger-ui-dist
out=static/public/api-docs
if [ ! -f "$dist/swagger-ui-bundle.js" ]; then
    echo "api-docs: $dist is missing; run make setup" >&2
    exit 1
fi
rm -rf "$out"
mkdir -p "$out"
cp openapi/openapi.json openapi/ui/index.html openapi/ui/swagger-initializer.js "$out/"
cp "$dist/swagger-ui-bundle.js" "$dist/swagger-ui.css" "$dist/index.css" \
    "$dist/favicon-32x32.png" "$dist/LICENSE" "$dist/NOTICE" "$out/"
