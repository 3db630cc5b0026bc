# 南岭明珠 Nanling Pearl — the two commands: `make run` and `make test` (and `make lint`).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

## Start everything on this machine: embedded PostgreSQL (unless DATABASE_URL), migrations,
## demo data into an empty database, a Celery worker + beat, and the web server.
run: install
	$(BIN)/app serve --host $(HOST) --port $(PORT)

## The whole test suite, against TEST_DATABASE_URL when set, else the embedded PostgreSQL.
test: install
	$(BIN)/pytest

## Static checks (CI runs them too): ruff, mypy, and bandit failing on any high-severity finding
## (README "Static checks": how the medium ones are handled, and pip-audit where advisories can be fetched).
lint: install
	$(BIN)/ruff check app tests bench migrations
	$(BIN)/mypy app
	$(BIN)/bandit -q -r app --severity-level high

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
