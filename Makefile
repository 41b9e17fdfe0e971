# ParkMe: `make run` starts the platform with demo data, `make test` runs the suite.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT
PYTEST_ARGS ?=

.PHONY: help run test e2e lint fmt lock migrate seed services-start services-stop bench bench-scale clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-16s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-dev: requirements/dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@touch $@

run: $(VENV)/.installed-dev ## run web, worker, beat and the demo webhook receiver with demo data on 127.0.0.1:$PORT (Ctrl-C stops all)
	@$(PY) -m parkme.devservices run -- bash -c '\
		set -e; \
		$(PY) manage.py migrate --no-input; \
		$(PY) manage.py seed_demo; \
		$(PY) manage.py setup_schedules; \
		echo; echo "ParkMe on http://127.0.0.1:$(PORT)/  admin: /admin/  API docs: /api/docs/  readiness: /health/ready/"; echo; \
		exec $(VENV)/bin/honcho start -f Procfile'

test: $(VENV)/.installed-dev ## run the whole test suite (embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set)
	$(PY) -m parkme.devservices run -- $(VENV)/bin/pytest $(PYTEST_ARGS)

e2e: $(VENV)/.installed-dev ## run only the browser tests (needs /usr/bin/chromium; screenshots in tests/e2e/artifacts/)
	$(PY) -m parkme.devservices run -- $(VENV)/bin/pytest -m e2e tests/e2e $(PYTEST_ARGS)

# Type-checked with mypy: the service layer, the selectors and the booking engine modules,
# those of them that exist. Add a module here once it is clean.
MYPY_FILES = $(sort $(wildcard \
	$(foreach app,parkme facilities vehicles bookings,$(app)/services.py $(app)/selectors.py) \
	parkme/errors.py parkme/tenancy.py \
	parkme/db.py parkme/cache_versions.py parkme/redis_roundtrip.py parkme/api/throttles.py parkme/api/response_cache.py parkme/api/views.py parkme/api/authentication.py parkme/monitoring.py parkme/checks.py parkme/backup_jobs.py parkme/request_metrics.py \
	bookings/states.py bookings/transitions.py bookings/sweeps.py bookings/gate.py \
	bookings/availability.py bookings/occupancy.py bookings/dashboard.py bookings/reports.py \
	bookings/metrics.py bookings/outbox.py bookings/allocations.py bookings/permit_hours.py \
	bookings/permits.py bookings/permit_sweeps.py bookings/entitlements.py facilities/windows.py \
	bookings/webhook_events.py facilities/rating.py facilities/boards.py facilities/quotes.py \
	$(foreach m,services selectors delivery transport addresses signing queue metrics,parkme/webhooks/$(m).py)))
# mypy's Django plugin loads config.settings.test: naming servers (never contacted) keeps
# it from starting the embedded PostgreSQL and Redis.
MYPY_ENV = DATABASE_URL=postgres://lint@127.0.0.1:5432/lint REDIS_URL=redis://127.0.0.1:6379/0 \
	DATABASE_REPLICA_URLS= SENTRY_DSN=

lint: $(VENV)/.installed-dev ## ruff lint and format check, import contracts, types
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo
	$(MYPY_ENV) $(VENV)/bin/mypy $(MYPY_FILES)

fmt: $(VENV)/.installed-dev ## format and auto-fix with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lock: | $(PY) ## recompile requirements/*.in into pinned requirements/*.txt
	$(PY) -m pip install --quiet pip-tools
	for r in base dev prod; do \
		$(VENV)/bin/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url \
			--no-emit-find-links --upgrade -o requirements/$$r.txt requirements/$$r.in; \
	done

migrate: $(VENV)/.installed-dev ## apply migrations (embedded database unless DATABASE_URL is set)
	$(PY) manage.py migrate

seed: $(VENV)/.installed-dev ## load the demo data (idempotent)
	$(PY) manage.py seed_demo

services-start: $(VENV)/.installed-dev ## start the embedded PostgreSQL and Redis in the background
	$(PY) -m parkme.devservices start

services-stop: $(VENV)/.installed-dev ## stop the embedded PostgreSQL and Redis
	$(PY) -m parkme.devservices stop

# wrk drives the load (Debian's package, installed like .ci/run installs chromium); without
# it (no apt-get, not root) the bench falls back to an aiohttp generator and its header says so.
bench: $(VENV)/.installed-dev ## benchmark with wrk against same-run floors (not part of make test; BENCH_SECONDS=12)
	@command -v wrk >/dev/null || ! command -v apt-get >/dev/null || \
		{ echo "== installing wrk"; apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } || \
		echo "== wrk could not be installed: falling back to aiohttp"
	$(PY) -m parkme.devservices run -- $(PY) -m tests.load.bench

BENCH_SCALE_SIZES ?= 0.2m,2m,10m
export BENCH_SCALE_SIZES
bench-scale: $(VENV)/.installed-dev ## cost vs data size: scenarios and sweeps at 0.2M/2M/10M bookings (not in CI; ~6 GB disk, seeded once)
	@command -v wrk >/dev/null || ! command -v apt-get >/dev/null || \
		{ echo "== installing wrk"; apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } || \
		echo "== wrk could not be installed: falling back to aiohttp"
	$(PY) -m parkme.devservices run -- $(PY) -m tests.load.bench_scale

clean: ## remove the virtualenv and embedded data (.local/)
	-$(PY) -m parkme.devservices stop
	rm -rf $(VENV) .local
