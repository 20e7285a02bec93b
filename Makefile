# gigcore — two commands on a fresh machine with Python >= 3.11 and make:
#   make run    start the HTTP API on the embedded default (SQLite, migrated automatically)
#   make test   the whole test suite (boundaries, lint, types, unit, contract)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck boundaries pytest bench lock openapi properties clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gigcore needs Python >= 3.11 (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/gigcore serve

test: boundaries lint typecheck pytest

boundaries: $(STAMP)
	$(BIN)/lint-imports

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

# The ledger state machines with many more examples than CI runs (see README).
properties: $(STAMP)
	GIGCORE_HYPOTHESIS_EXAMPLES=2000 $(BIN)/python -m pytest -q tests/unit/core/test_ledger_properties.py tests/unit/escrow/test_escrow_properties.py
	GIGCORE_HYPOTHESIS_EXAMPLES=200 $(BIN)/python -m pytest -q tests/contract/test_escrow_machine_sqlite.py tests/contract/test_escrow_machine_postgres.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks

openapi: $(STAMP)
	$(BIN)/python -c 'from entrypoints.http.openapi import export_openapi; export_openapi("architecture/openapi.json")'

# Re-pin every dependency (with hashes) from the ranges in pyproject.toml.
lock:
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --extra dev --strip-extras -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis var
