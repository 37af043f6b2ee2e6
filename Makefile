# The two commands a newcomer needs: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NPM ?= npm
SDK_JS := sdk/js
SDK_JS_INSTALLED := $(SDK_JS)/node_modules/.installed

.PHONY: install browser sdk-js run test lint format clean

$(INSTALLED): requirements.txt requirements-dev.txt sdk/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

# The JavaScript SDK's build tools (TypeScript; devDependencies only), from its package-lock.json.
$(SDK_JS_INSTALLED): $(SDK_JS)/package.json $(SDK_JS)/package-lock.json
	@command -v $(NPM) >/dev/null 2>&1 || { echo "make: npm (Node 18+) is needed to build and test sdk/js"; exit 1; }
	cd $(SDK_JS) && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

## Build the JavaScript SDK into sdk/js/dist (the Django suite's end-to-end test runs it with node)
sdk-js: $(SDK_JS_INSTALLED)
	cd $(SDK_JS) && $(NPM) run --silent build

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
## then each SDK's own suite (no Django) from its directory. The JavaScript SDK is built first, because
## the Django suite sends a conversation through it.
test: install browser sdk-js
	$(BIN)/python -m pytest
	cd sdk/python && ../../$(BIN)/python -m pytest -q
	cd $(SDK_JS) && $(NPM) test --silent

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var/staticfiles $(SDK_JS)/node_modules $(SDK_JS)/dist
