# SafeMarket: `make dev` serves site + API on 127.0.0.1:$(PORT); `make test` runs every check.
# Tools are installed by scripts/setup.sh (pinned in scripts/versions.env and package.json).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PORT ?= 8787
PERSIST ?= .wrangler/state
# `make deploy ENV=staging|production` names the environment on the command line, where it
# would replace the recipe prefix below: keep its value, then take the name back.
DEPLOY_ENV := $(if $(filter command line,$(origin ENV)),$(ENV))
override ENV := SAFEMARKET_ENV_SELF=$(CURDIR)/scripts/env.sh . $(CURDIR)/scripts/env.sh

.PHONY: dev test bench capacity capacity-smoke mock setup site app wasm migrate reset fmt lint unit blackbox clean envcheck actionlint deploy-check deploy

## dev: install what is missing, build, migrate, seed a demo and serve until Ctrl-C
dev: setup site app
	@$(ENV); PORT=$(PORT) PERSIST=$(PERSIST) bash scripts/dev.sh

## test: the same setup, then fmt, clippy, native tests, the capacity model on a small scenario,
## the shipping checks (wrangler environments, workflows, deploy dry-runs with the size limit),
## the wasm build and, last, so that the run ends with their summary, the black-box and browser
## tests
test: setup site app fmt lint unit capacity-smoke envcheck actionlint deploy-check wasm blackbox

setup:
	@bash scripts/setup.sh

## site: the Hugo site, plus the OpenAPI document and Swagger UI under /api-docs/, plus the
## zone tables under /tz/ (derived from the pinned chrono-tz; the Worker compiles in none)
site:
	@$(ENV); hugo --source static --minify --quiet --cleanDestinationDir
	@bash scripts/api-docs.sh
	@$(ENV); cargo run --quiet -p safemarket-engine --bin tzdata -- static/public/tz

## app: the staff app (crate app/) into static/public/staff/ and the booking page (crate book/)
## into static/public/book/, after Hugo (which empties static/public)
app:
	@bash scripts/build-app.sh
	@bash scripts/build-book.sh

fmt:
	@$(ENV); cargo fmt --all -- --check

lint:
	@$(ENV); cargo clippy --quiet --workspace --all-targets -- -D warnings
	@$(ENV); cargo clippy --quiet -p safemarket --lib --target wasm32-unknown-unknown -- -D warnings

unit:
	@$(ENV); cargo test --quiet --workspace --exclude safemarket-blackbox
	@$(ENV); cargo test --quiet -p safemarket-blackbox --lib

wasm:
	@$(ENV); mkdir -p target; WRANGLER_COMMAND=dev sh scripts/build-worker.sh >target/wasm-build.log 2>&1 || { cat target/wasm-build.log; exit 1; }

## blackbox: starts its own `wrangler dev` on a free port with throw-away state
blackbox:
	@$(ENV); cargo test --quiet -p safemarket-blackbox --test api

## envcheck: every top-level binding, var and cron of wrangler.toml restated in each environment
envcheck:
	@python3 scripts/check-envs.py --self-test >/dev/null
	@python3 scripts/check-envs.py wrangler.toml

actionlint:
	@$(ENV); "$$ACTIONLINT_VENV/bin/actionlint" .github/workflows/*.yml

## deploy-check: release build, `wrangler deploy --dry-run` per environment, bundle-size limit
deploy-check:
	@$(ENV); bash scripts/deploy-check.sh

## deploy: what .github/workflows/deploy.yml does, from an operator's machine:
## `make deploy ENV=staging|production` (make test, D1 migrations, deploy, smoke test)
deploy: test
	@$(ENV); bash scripts/deploy.sh $(DEPLOY_ENV)

## bench: builds the optimised Worker, runs it on fresh state, prints a table and writes
## target/bench/latest.json (profile wasm-dev: opt-level 1, no LTO, quick to build)
bench: setup site app
	@$(ENV); cargo run --quiet --profile wasm-dev -p safemarket-bench

## capacity: the capacity model (README "Scaling") for the town, city and country presets, or
## a scenario given as CAPACITY_ARGS (e.g. CAPACITY_ARGS="--stores 2000 --bookings-per-day 1e6")
capacity:
	@$(ENV); cargo run --quiet -p safemarket-bench --bin capacity -- $(CAPACITY_ARGS)

capacity-smoke:
	@$(ENV); cargo run --quiet -p safemarket-bench --bin capacity -- --stores 5 --bookings-per-day 1000 >/dev/null

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
