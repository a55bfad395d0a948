# Two commands for a newcomer: `make run` and `make test`. Everything else is for developers.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench lint format messages install clean node

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) messages node

# Test-only npm tools (axe-core for the browser tests' accessibility check), into node_modules/
# (ignored by git). Without npm the accessibility test skips and says why.
node:
	@if command -v npm >/dev/null 2>&1; then \
	  test node_modules/.package-lock.json -nt package-lock.json || npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: skipping axe-core (the accessibility test will be skipped)"; fi

# Compiled translations are build output (*.mo is ignored): Babel compiles them without GNU gettext.
messages: $(STAMP)
	@for po in $$(find . -path ./$(VENV) -prune -o -name django.po -print); do \
	  $(VENV)/bin/pybabel compile -f -i $$po -o $${po%.po}.mo >/dev/null || exit 1; \
	done

run: install
	$(PY) manage.py migrate --no-input
	# The demo's emails and webhooks link to the address the server is about to listen on.
	# Development (DEBUG on, as scripts/run.sh serves it): load_demo refuses a portal with DEBUG off.
	# It fetches from the local simulator and sends to the demo's receiver: exactly those two may be reached.
	# The demo app (demo/) owns load_demo and the simulator, so it is in even where DEMO=0 is exported.
	DEMO=1 DEBUG=$${DEBUG:-1} SITE_URL=$${SITE_URL:-http://$${HOST:-127.0.0.1}:$${PORT:-8000}} \
	  OUTBOUND_ALLOW=$${OUTBOUND_ALLOW:-127.0.0.1:$${SIMULATOR_PORT:-8001},127.0.0.1:8765} $(PY) manage.py load_demo
	./scripts/run.sh

test: install
	$(VENV)/bin/pytest -p xdist -n 2 --dist loadgroup

# The inner loop: everything but the tests that drive a browser or start a Celery worker.
test-fast: install
	$(VENV)/bin/pytest -p xdist -n 2 --dist loadgroup -m "not browser and not worker"

bench: install
	$(PY) bench/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var/
