# Two commands matter: `make run` (the app, embedded defaults) and `make test` (the whole suite).
SHELL := /bin/bash
PY := .venv/bin/python
BOOT := var/bootstrap
UV := $(shell command -v uv 2>/dev/null || echo $(BOOT)/bin/uv)
PG_URL ?= postgres://postgres@127.0.0.1:5432/triage
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_WORKERS ?= 2

.PHONY: setup run test test-postgres test-sqlite lint clean

setup: .venv/.synced node_modules/.installed var/generated/css/pygments.css var/generated/vendor/mermaid/mermaid.min.js \
		var/generated/vendor/redoc/bundles/redoc.standalone.js \
		var/secret_key
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0

# Generated once and kept: settings read it when DJANGO_SECRET_KEY is not set (sessions survive restarts).
var/secret_key: | .venv/.synced
	mkdir -p var
	umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(64))" > $@

# uv comes from PATH, or is bootstrapped with pip into var/bootstrap.
$(BOOT)/bin/uv:
	python3 -m venv $(BOOT)
	$(BOOT)/bin/pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python 3.11
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# "xcode": every token colour keeps at least 4.5:1 contrast on the light code background (axe checks it).
var/generated/css/pygments.css: .venv/.synced Makefile
	mkdir -p var/generated/css
	.venv/bin/pygmentize -S xcode -f html -a .highlight > $@

# Mermaid's dist folder is ~80 MB of chunks; the tree diagrams need only its single-file bundle.
var/generated/vendor/mermaid/mermaid.min.js: node_modules/.installed
	mkdir -p $(@D)
	cp node_modules/mermaid/dist/mermaid.min.js $@

# Redoc's bundle fetches its footer logo from Redocly's CDN; pages make no third-party requests, so the copy we
# serve points the logo at an empty data: URL (Redoc then hides it).
var/generated/vendor/redoc/bundles/redoc.standalone.js: .venv/.synced
	mkdir -p $(@D)
	sed 's#https://cdn.redoc.ly/redoc/logo-mini.svg#data:,#g' \
		"$$($(PY) -c 'import drf_spectacular_sidecar, os; print(os.path.dirname(drf_spectacular_sidecar.__file__))')/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" > $@

run: setup
	$(PY) manage.py load_starter_content
	$(PY) manage.py ensure_demo_admin
	@echo "Triage is starting at http://$${TRIAGE_BIND:-127.0.0.1:8000}/  (health: /health/, API docs: /api/docs/)"
	.venv/bin/honcho start -f Procfile

test: setup test-postgres test-sqlite

# Everything, against real PostgreSQL and Redis.
test-postgres:
	DATABASE_URL=$(PG_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider $(PYTEST_ARGS)

# Again on the embedded default (SQLite, filesystem broker); the browser journeys ran above.
test-sqlite:
	DATABASE_URL= REDIS_URL= $(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider -m "not browser and not integration and not faults" $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check .

clean:
	rm -rf .venv node_modules var
