# Two commands: `make run` (set up and serve the app with demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Changes with the pinned requirements and with the interpreter `python3` resolves to.
STAMP := $(VENV)/.installed-$(shell (cat requirements-dev.txt; $(PYTHON) -V 2>&1) | cksum | cut -d' ' -f1)
FIXTURES := fixtures/review_cycles.json fixtures/norway-2024.json
# axe-core for the accessibility test (tests/test_accessibility.py): from npm, at the version
# package-lock.json pins (with its SHA-512), into node_modules/.
AXE := node_modules/axe-core/axe.min.js

.PHONY: run test test-deep lint messages-check deploy-check load-check bench bench-smoke bench-public setup db axe

$(STAMP): requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python >= 3.12 is needed (Django 6.1); set PYTHON=python3.13")'
	[ "$$($(BIN)/python -V 2>&1)" = "$$($(PYTHON) -V 2>&1)" ] || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --ignore-scripts && touch $@; \
	else echo "npm is missing: the accessibility test is skipped (.ci/run installs npm)"; fi

axe: $(AXE)

# A first run builds db.sqlite3 from the canonical fixtures and demo data; later runs keep it
# (and whatever was edited in admin) and only apply new migrations. Delete it to start over.
db: $(STAMP) .env
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --no-input
	@if [ -z "$$(DJANGO_DEBUG=1 $(BIN)/python manage.py shell --no-imports -v 0 -c 'from recommendations.models import Report; print(Report.objects.exists() or "")' 2>/dev/null)" ]; then \
		set -e; \
		DJANGO_DEBUG=1 $(BIN)/python manage.py loaddata $(FIXTURES); \
		DJANGO_DEBUG=1 $(BIN)/python manage.py verify_evidence; \
		DJANGO_DEBUG=1 $(BIN)/python manage.py load_demo_data; \
	else \
		echo "Database already holds data; keeping it (delete db.sqlite3 to start over)."; \
	fi

# Development settings for every command run in this checkout (tracker/settings.py reads .env;
# the environment wins over it). Written once; edit it freely, it is not committed.
.env:
	printf '# Development settings (written by make run; see the README, Configuration).\nDJANGO_DEBUG=1\n' > $@

PORT ?= 8000
run: db
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_DEBUG=1 $(BIN)/mypy
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	$(MAKE) messages-check

# The committed Norwegian catalogue (locale/nb) compiles without errors and the committed .mo is
# what it compiles to (tests/test_i18n.py checks that every entry is translated, none fuzzy).
# After editing django.po: `DJANGO_DEBUG=1 .venv/bin/python manage.py compilemessages -l nb`.
messages-check:
	@command -v msgfmt >/dev/null || { echo "msgfmt is missing: apt-get install gettext"; exit 1; }
	msgfmt --check -o $(VENV)/nb-check.mo locale/nb/LC_MESSAGES/django.po
	cmp $(VENV)/nb-check.mo locale/nb/LC_MESSAGES/django.mo || { echo "locale/nb/LC_MESSAGES/django.mo is out of date: run compilemessages -l nb"; exit 1; }
	rm -f $(VENV)/nb-check.mo

# Production settings (DEBUG off, a real secret key, a host name) must pass Django's deploy checks.
deploy-check: $(STAMP)
	DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=tracker.example.org \
	DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

test: lint deploy-check $(AXE)
	$(BIN)/python -m pytest

# Nightly-style: the whole suite with the hypothesis profile "deep" (tests/conftest.py), each
# property test on several times the examples `make test` runs (README, "Test it").
test-deep: lint deploy-check $(AXE)
	HYPOTHESIS_PROFILE=deep $(BIN)/python -m pytest

# N reviewers against gunicorn on the local PostgreSQL for a fixed time (see README).
LOAD_CLIENTS ?= 16
LOAD_SECONDS ?= 30
load-check: $(STAMP)
	$(BIN)/python bench/load_check.py --clients $(LOAD_CLIENTS) --seconds $(LOAD_SECONDS)

# The performance benchmark on the local PostgreSQL (see README, bench/RESULTS.md).
bench: $(STAMP)
	$(BIN)/python bench/benchmark.py --results bench/RESULTS.md

bench-smoke: $(STAMP)
	$(BIN)/python bench/benchmark.py --smoke
	$(BIN)/python bench/public_pages.py --smoke

# The public pages without a log-in, the page cache or a CDN (see README).
bench-public: $(STAMP)
	$(BIN)/python bench/public_pages.py
