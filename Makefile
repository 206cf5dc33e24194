# Two commands do all set-up on a fresh machine:
#   make up    - install into .venv, then run a local dev chain (citychain up)
#   make test  - install into .venv (plus solc-js for the contract check), then lint and test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: up test lint bench-execution

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

contracts/node_modules/.stamp: contracts/package-lock.json
	npm ci --prefix contracts --no-audit --no-fund --loglevel=error
	touch contracts/node_modules/.stamp

up: $(STAMP)
	$(BIN)/citychain up

lint: $(STAMP)
	$(BIN)/ruff check chain contracts bench tests anchoring license_registry trust_api credit_ledger audit_trail
	$(BIN)/lint-imports
	$(BIN)/mypy chain anchoring license_registry trust_api credit_ledger audit_trail

test: $(STAMP) contracts/node_modules/.stamp lint
	$(BIN)/python -m pytest

bench-execution: $(STAMP)
	$(BIN)/python -m bench.execution
