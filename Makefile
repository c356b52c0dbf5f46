# OSE Service Mesh — every command a newcomer needs. `make help` lists them.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The web client, built by esbuild from web/src into the server's static folder.
WEB_OUT := server/ose_mesh/api/web/static/app/main.js
WEB_SRC := $(shell find web/src web/scripts -type f 2>/dev/null)

.PHONY: help install run check test lint typecheck schema migration bench clean

help:
	@echo "make install   create .venv and install the server with its dev tools"
	@echo "make run       start the server with the demo topology on http://127.0.0.1:8000"
	@echo "make check     the quick loop (under 30 s): format, lint, layers, types, unit and contract"
	@echo "               tests on the in-memory backends"
	@echo "make test      lint, type check, schema check and the whole test suite (browser included)"
	@echo "make bench     run the benchmarks and write BENCHMARKS.md"
	@echo "make migration MESSAGE=\"…\"  write the Alembic revision for a change to the tables"

install: $(STAMP) $(WEB_OUT)

$(STAMP): pyproject.toml web/package-lock.json tests/node/package-lock.json
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	cd web && npm ci --no-audit --no-fund
	cd tests/node && npm ci --no-audit --no-fund
	touch $(STAMP)

$(WEB_OUT): $(STAMP) $(WEB_SRC)
	cd web && npm run build

run: install
	$(BIN)/ose-mesh serve --demo

lint: install
	$(BIN)/ruff format --check server tests benchmarks
	$(BIN)/ruff check server tests benchmarks
	$(BIN)/lint-imports --no-cache
	cd web && npm run --silent lint

typecheck: install
	$(BIN)/mypy

schema: install
	$(BIN)/ose-mesh export-schema --check

# mypy and the tests run side by side (two cores): the loop stays under 30 s.
check: lint
	@$(BIN)/mypy & types=$$!; \
	$(BIN)/pytest -q tests/unit tests/contract -m "not postgres and not rabbitmq"; tests=$$?; \
	wait $$types && exit $$tests

test: lint typecheck schema
	$(BIN)/pytest --cov

migration: install
	$(BIN)/python -c 'import sys; from ose_mesh.adapters.db.migrate import new_revision; new_revision(sys.argv[1])' "$(MESSAGE)"

bench: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
