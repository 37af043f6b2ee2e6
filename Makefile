# The two commands a newcomer needs: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install run test lint format clean

$(INSTALLED): requirements.txt requirements-dev.txt sdk/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

## Run the product: embedded PostgreSQL and Redis, worker, demo data, dashboard at http://127.0.0.1:8000
## (`make run ARGS=--no-demo` skips the demo data)
run: install
	$(BIN)/python -m convosensei.launch $(ARGS)

## Run the whole test suite against real PostgreSQL and Redis (started by the suite when absent),
## then the SDK's own suite (no Django) from its directory.
test: install
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
