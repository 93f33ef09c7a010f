# The two commands a newcomer types: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DYNAMODB_LOCAL_JAR := .local/dynamodb-local/DynamoDBLocal.jar

API_PORT ?= 8000
DYNAMODB_PORT ?= 4200
MOTO_PORT ?= 4566

.PHONY: install run manage test test-fast test-days lint format clean-data bench bench-countries capacity

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall when a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(DYNAMODB_LOCAL_JAR):
	bin/get-dynamodb-local

install: $(VENV)/.installed $(DYNAMODB_LOCAL_JAR)

# The local stage's keys (secret key, field encryption, e-mail index, export signing), made once and
# kept; phony so that a file from an older version gets the keys it lacks (bin/local-secrets is quiet otherwise).
.PHONY: .local/secrets.env
.local/secrets.env:
	@$(PYTHON) bin/local-secrets $@

# DynamoDB Local (data kept in .local/dynamodb-data), moto server (SQS, SNS), bootstrap, the API and a worker.
run: export STAGE ?= local
run: export API_PORT := $(API_PORT)
run: export DYNAMODB_PORT := $(DYNAMODB_PORT)
run: export MOTO_PORT := $(MOTO_PORT)
run: export DYNAMODB_ENDPOINT ?= http://127.0.0.1:$(DYNAMODB_PORT)
run: export AWS_ENDPOINT_URL_SQS ?= http://127.0.0.1:$(MOTO_PORT)
run: export AWS_ENDPOINT_URL_SNS ?= http://127.0.0.1:$(MOTO_PORT)
run: export AWS_ACCESS_KEY_ID ?= local
run: export AWS_SECRET_ACCESS_KEY ?= local
run: install .local/secrets.env
	@bin/check-ports
	@echo "Starting DynamoDB Local :$(DYNAMODB_PORT), moto :$(MOTO_PORT), the API on http://localhost:$(API_PORT) and a worker (Ctrl-C stops all)"
	exec $(BIN)/honcho start

# A management command against the local stack `make run` serves: make manage ARGS="seed_demo".
manage: export STAGE ?= local
manage: export DYNAMODB_ENDPOINT ?= http://127.0.0.1:$(DYNAMODB_PORT)
manage: export AWS_ENDPOINT_URL_SQS ?= http://127.0.0.1:$(MOTO_PORT)
manage: export AWS_ENDPOINT_URL_SNS ?= http://127.0.0.1:$(MOTO_PORT)
manage: export AWS_ACCESS_KEY_ID ?= local
manage: export AWS_SECRET_ACCESS_KEY ?= local
manage: install .local/secrets.env
	$(BIN)/python manage.py $(ARGS)

# Every tier: tests/unit, tests/integration and tests/system. DynamoDB Local and moto server start
# on free ports when the first test needs them (unless endpoints are given).
# Lint first (CI runs only this target, so the layering contracts and types are checked there too).
test: lint
	@bin/ensure-chromium
	$(BIN)/pytest $(PYTEST_ARGS)

# The unit tier only: no emulator, no browser, seconds.
test-fast: $(VENV)/.installed
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

# The unit and integration tiers as if on each day of a week and across two DST changes (faketime).
test-days: install
	bin/test-days $(PYTEST_ARGS)

# Costs of booking, listing and availability as ratios against a plain GetItem, measured together.
bench: install
	$(BIN)/python bench/booking.py

# Issue 18: countries added while the worker runs (10 → every code), a 60 s surge in one country
# (backlog, drain, duplicates), and the drain against the CPU-bound rate; about 8-10 minutes.
bench-countries: install
	$(BIN)/python bench/countries.py

# The busiest key of every table and index at 10,000 bookings/s, and the month's cost (arithmetic only).
capacity: install
	$(BIN)/python bench/capacity.py $(ARGS)

# Style, format, which way imports point (the contracts in pyproject.toml: no cycles, the platform
# never imports an app or the project), and types of the DynamoDB layer and the apps' services and
# selectors (mypy's files in pyproject.toml; the local stage lets the settings import without secrets:
# STAGE=test would not, outside pytest).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	STAGE=local LOCAL_SECRETS_FILE=/nonexistent $(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean-data:
	rm -rf .local/dynamodb-data
