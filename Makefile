# make run: the app on demo data at http://127.0.0.1:5000; make test: the whole suite.
VENV   := .venv
PYTHON ?= python3
FLASK  := $(VENV)/bin/flask --app dossiers
PIP    := $(VENV)/bin/pip -q --disable-pip-version-check

.PHONY: bench-retention run test test-sqlite test-postgres lint lock serve bench bench-load translations clean figures

# Exact versions, checked against their hashes: a build installs what was tested.
$(VENV)/.runtime: requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes -r requirements.txt > $(VENV)/pip.log 2>&1 || { grep -v "is ignored" $(VENV)/pip.log; exit 1; }
	$(VENV)/bin/python -c "import flask, sqlalchemy, argon2"
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install --require-hashes -r requirements-dev.txt > $(VENV)/pip.log 2>&1 || { grep -v "is ignored" $(VENV)/pip.log; exit 1; }
	$(VENV)/bin/python -c "import pytest, playwright"
	touch $@

# The app on the demo data, with the mail sender beside it: its mails are files under
# instance/mail, which an admin reads at /admin/mailbox.
run: $(VENV)/.runtime
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) notify --loop --interval 5 & sender=$$!; trap 'kill $$sender' EXIT INT TERM; \
		$(FLASK) run --host 127.0.0.1 --port 5000

# Production-like: gunicorn, the production configuration (SECRET_KEY must be set).
serve: $(VENV)/.runtime
	DOSSIERS_CONFIG=production $(FLASK) db upgrade
	DOSSIERS_CONFIG=production $(VENV)/bin/gunicorn -c gunicorn.conf.py "dossiers:create_app()"

test: $(VENV)/.dev test-sqlite test-postgres

# axe-core for the browser tests' accessibility checks, the version package-lock.json pins.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test-sqlite: $(VENV)/.dev node_modules/.installed
	$(VENV)/bin/pytest

test-postgres: $(VENV)/.dev
	bash scripts/with-postgres $(VENV)/bin/pytest -m "not browser"

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check dossiers tests bench config.py
	$(VENV)/bin/ruff format --check dossiers tests bench config.py
	$(VENV)/bin/mypy dossiers
	$(VENV)/bin/bandit -q -r dossiers config.py --severity-level medium

# Re-pin after editing requirements*.in (keeps current pins unless asked to upgrade).
lock: $(VENV)/.dev
	$(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras -o requirements-dev.txt requirements-dev.in

# A bounded mixed load on gunicorn + a throwaway PostgreSQL; counts lost writes.
# Every main page at F=1 and F=100 (10 years each) on SQLite and PostgreSQL; prints the
# table and keeps it in bench/RESULTS.md. About 25 minutes on 2 cores.
bench: $(VENV)/.dev
	command -v hey >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq hey >/dev/null; } \
	  || { echo "hey is not installed: apt-get install hey"; exit 1; }
	rm -rf bench/out && mkdir -p bench/out
	$(VENV)/bin/python bench/run.py --database sqlite --out bench/out/sqlite.json
	bash scripts/with-postgres $(VENV)/bin/python bench/run.py --database postgresql --out bench/out/postgresql.json
	$(VENV)/bin/python bench/table.py bench/out/*.json --results bench/RESULTS.md

# The demo data set against the centre's published yearly figures, through `flask stats`.
figures: $(VENV)/.dev
	bash scripts/published-figures

# After changing a message: extract it, merge it into the nl and fr catalogues, translate
# the new entries in dossiers/translations/*/LC_MESSAGES/messages.po, then compile.
translations: $(VENV)/.dev
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l --no-location --sort-output --omit-header -o dossiers/translations/messages.pot .
	$(VENV)/bin/pybabel -q update -i dossiers/translations/messages.pot -d dossiers/translations --width 100 --ignore-obsolete
	$(VENV)/bin/pybabel -q compile -d dossiers/translations

# A retention run over ten years at F=100, SQLite and PostgreSQL: time and peak memory.
bench-retention: $(VENV)/.dev
	bash scripts/with-postgres $(VENV)/bin/python bench/retention.py --factor 100

bench-load: $(VENV)/.dev
	bash scripts/with-postgres $(VENV)/bin/python bench/load.py --seconds 30

clean:
	rm -rf $(VENV) instance test-artifacts .pytest_cache node_modules
