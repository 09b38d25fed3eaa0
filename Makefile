# make run: the app on demo data at http://127.0.0.1:5000; make test: the whole suite.
VENV   := .venv
PYTHON ?= python3
FLASK  := $(VENV)/bin/flask --app dossiers
PIP    := $(VENV)/bin/pip -q --disable-pip-version-check

.PHONY: run test test-sqlite test-postgres lint serve clean

$(VENV)/.runtime: requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt 2>&1 | grep -v "is ignored" || true
	$(VENV)/bin/python -c "import flask, sqlalchemy, argon2"
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install -r requirements-dev.txt 2>&1 | grep -v "is ignored" || true
	$(VENV)/bin/python -c "import pytest, playwright"
	touch $@

run: $(VENV)/.runtime
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

test: $(VENV)/.dev test-sqlite test-postgres

test-sqlite: $(VENV)/.dev
	$(VENV)/bin/pytest

test-postgres: $(VENV)/.dev
	bash scripts/with-postgres $(VENV)/bin/pytest -m "not browser"

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check dossiers tests config.py
	$(VENV)/bin/ruff format --check dossiers tests config.py
	$(VENV)/bin/mypy dossiers

clean:
	rm -rf $(VENV) instance test-artifacts .pytest_cache
