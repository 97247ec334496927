# SafeMarket: `make dev` serves site + API on 127.0.0.1:$(PORT); `make test` runs every check.
# Tools are installed by scripts/setup.sh (pinned in scripts/versions.env and package.json).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PORT ?= 8787
PERSIST ?= .wrangler/state
ENV := SAFEMARKET_ENV_SELF=$(CURDIR)/scripts/env.sh . $(CURDIR)/scripts/env.sh

.PHONY: dev test bench mock setup site app wasm migrate reset fmt lint unit blackbox clean

## dev: install what is missing, build, migrate, seed a demo and serve until Ctrl-C
dev: setup site app
	@$(ENV); PORT=$(PORT) PERSIST=$(PERSIST) bash scripts/dev.sh

## test: the same setup, then fmt, clippy, native tests, the wasm build and the black-box tests
test: setup site app fmt lint unit wasm blackbox

setup:
	@bash scripts/setup.sh

## site: the Hugo site, plus the OpenAPI document and Swagger UI under /api-docs/
site:
	@$(ENV); hugo --source static --minify --quiet --cleanDestinationDir
	@bash scripts/api-docs.sh

## app: the staff app (crate app/) into static/public/staff/, after Hugo (which empties static/public)
app:
	@bash scripts/build-app.sh

fmt:
	@$(ENV); cargo fmt --all -- --check

lint:
	@$(ENV); cargo clippy --quiet --workspace --all-targets -- -D warnings
	@$(ENV); cargo clippy --quiet -p safemarket --lib --target wasm32-unknown-unknown -- -D warnings

unit:
	@$(ENV); cargo test --quiet --workspace --exclude safemarket-blackbox

wasm:
	@$(ENV); mkdir -p target; WRANGLER_COMMAND=dev sh scripts/build-worker.sh >target/wasm-build.log 2>&1 || { cat target/wasm-build.log; exit 1; }

## blackbox: starts its own `wrangler dev` on a free port with throw-away state
blackbox:
	@$(ENV); cargo test --quiet -p safemarket-blackbox --test api

## bench: builds the optimised Worker, runs it on fresh state, prints a table and writes
## target/bench/latest.json (profile wasm-dev: opt-level 1, no LTO, quick to build)
bench: setup site app
	@$(ENV); cargo run --quiet --profile wasm-dev -p safemarket-bench

## mock: a mock server of openapi/openapi.json (Prism) on 127.0.0.1:4010 until Ctrl-C
mock: setup
	@$(ENV); prism mock -h 127.0.0.1 -p 4010 openapi/openapi.json

migrate:
	@$(ENV); wrangler d1 migrations apply DB --local --persist-to $(PERSIST) >/dev/null

## reset: wipe the local data of `make dev`
reset:
	rm -rf $(PERSIST)

clean: reset
	rm -rf target build node_modules static/public static/resources
