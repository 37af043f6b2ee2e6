# The two commands a newcomer needs: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install browser run test lint format clean

$(INSTALLED): requirements.txt requirements-dev.txt sdk/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

## Run the product: embedded PostgreSQL and Redis, worker, demo data, dashboard at http://127.0.0.1:8000
## (`make run ARGS=--no-demo` skips the demo data, `make run ARGS="--port 8010"` serves on another port)
run: install
	$(BIN)/python -m convosensei.launch $(ARGS)

## Debian's Chromium for the browser tests (tests/browser), installed where root and apt-get are at hand.
## Elsewhere (or if apt-get fails) it only says so: those tests then skip, but fail under CI (CI=true).
browser:
	@command -v chromium >/dev/null 2>&1 || test -n "$$CHROMIUM_PATH" || \
	  { command -v apt-get >/dev/null 2>&1 && test "$$(id -u)" = 0 && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "make browser: no Chromium installed (needs root and apt-get): the browser tests will skip, or fail under CI"

## Run the whole test suite against real PostgreSQL and Redis (started by the suite when absent),
## then the SDK's own suite (no Django) from its directory.
test: install browser
	$(BIN)/python -m pytest
	cd sdk/python && ../../$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var/staticfiles
