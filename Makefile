# OSE Service Mesh — every command a newcomer needs. `make help` lists them.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help install run test lint typecheck schema bench clean

help:
	@echo "make install   create .venv and install the server with its dev tools"
	@echo "make run       start the server with the demo topology on http://127.0.0.1:8000"
	@echo "make test      lint, type check, schema check and the whole test suite"
	@echo "make bench     run the benchmarks and write BENCHMARKS.md"

install: $(STAMP)

$(STAMP): pyproject.toml web/package-lock.json tests/node/package-lock.json
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@if [ -f web/package.json ]; then cd web && npm ci && npm run build; fi
	cd tests/node && npm ci --no-audit --no-fund
	touch $(STAMP)

run: install
	$(BIN)/ose-mesh serve --demo

lint: install
	$(BIN)/ruff format --check server tests benchmarks
	$(BIN)/ruff check server tests benchmarks

typecheck: install
	$(BIN)/mypy

schema: install
	$(BIN)/ose-mesh export-schema --check

test: lint typecheck schema
	$(BIN)/pytest

bench: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
