# Two commands for a newcomer: `make run` and `make test`. Everything else is for developers.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint format messages install clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) messages

# Compiled translations are build output (*.mo is ignored): Babel compiles them without GNU gettext.
messages: $(STAMP)
	@for po in $$(find . -path ./$(VENV) -prune -o -name django.po -print); do \
	  $(VENV)/bin/pybabel compile -f -i $$po -o $${po%.po}.mo >/dev/null || exit 1; \
	done

run: install
	$(PY) manage.py migrate --no-input
	# The demo's emails and webhooks link to the address the server is about to listen on.
	# Development (DEBUG on, as scripts/run.sh serves it): load_demo refuses a portal with DEBUG off.
	DEBUG=$${DEBUG:-1} SITE_URL=$${SITE_URL:-http://$${HOST:-127.0.0.1}:$${PORT:-8000}} $(PY) manage.py load_demo
	./scripts/run.sh

test: install
	$(VENV)/bin/pytest -p xdist -n 2 --dist loadgroup

bench: install
	$(PY) bench/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var/
