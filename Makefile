# The README names these targets. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PY := .venv/bin/python
export GOVOPS_CACHE ?= $(HOME)/.cache/govops
export UV_CACHE_DIR ?= $(GOVOPS_CACHE)/uv
VENDOR := gateway/static/vendor

.PHONY: deps run tools test unit integration e2e lint typecheck bench clean-lab

deps: .venv/.synced $(VENDOR)/.installed
.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m pip install -q uv
	uv sync --frozen --quiet
	@touch $@

# Web assets (map, charts, API docs) come from npm at set-up and are served by the gateway: a
# 视频专网 has no internet, so never a CDN; nothing third-party is committed (vendor/ is ignored).
$(VENDOR)/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo 'npm is missing: apt-get install npm (the console web assets come from npm)' >&2; exit 2; }
	npm ci --no-audit --no-fund --ignore-scripts --cache $(GOVOPS_CACHE)/npm --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/leaflet $(VENDOR)/supercluster $(VENDOR)/echarts $(VENDOR)/swagger-ui
	cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css node_modules/leaflet/dist/images node_modules/leaflet/LICENSE $(VENDOR)/leaflet/
	cp node_modules/supercluster/dist/supercluster.min.js node_modules/supercluster/LICENSE $(VENDOR)/supercluster/
	cp node_modules/echarts/dist/echarts.min.js node_modules/echarts/LICENSE $(VENDOR)/echarts/
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/favicon-32x32.png node_modules/swagger-ui-dist/LICENSE $(VENDOR)/swagger-ui/
	@touch $@

run: deps          ## the embedded default: SQLite, the gateway and console, the sample district
	.venv/bin/govops serve

tools:             ## fetch or build every real component into $(GOVOPS_CACHE)
	tools/bootstrap.sh

test: deps tools   ## the one command CI runs: install, bootstrap, unit + integration tests
	.venv/bin/pytest -p no:cacheprovider --durations=40 tests/unit tests/integration tests/e2e

unit: deps
	.venv/bin/pytest tests/unit

integration: deps
	.venv/bin/pytest tests/integration

e2e: deps          ## the console in headless Chromium; screenshots in .artifacts/e2e
	.venv/bin/pytest tests/e2e

lint: deps
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: deps  ## mypy over every package: the kernel, the domains, the gateway and infra
	.venv/bin/mypy

bench: deps
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b; done
