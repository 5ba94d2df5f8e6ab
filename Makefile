# The README names these targets. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PY := .venv/bin/python
export GOVOPS_CACHE ?= $(HOME)/.cache/govops
export UV_CACHE_DIR ?= $(GOVOPS_CACHE)/uv

.PHONY: deps run tools test unit integration e2e lint typecheck bench clean-lab

deps: .venv/.synced
.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m pip install -q uv
	uv sync --frozen --quiet
	@touch $@

run: deps          ## the embedded default: SQLite, the gateway and console, the sample district
	.venv/bin/govops serve

tools:             ## fetch or build every real component into $(GOVOPS_CACHE)
	tools/bootstrap.sh

test: deps tools   ## the one command CI runs: install, bootstrap, unit + integration tests
	.venv/bin/pytest -p no:cacheprovider tests/unit tests/integration tests/e2e

unit: deps
	.venv/bin/pytest tests/unit

integration: deps
	.venv/bin/pytest tests/integration

lint: deps
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: deps  ## mypy over every package: the kernel, the domains, the gateway and infra
	.venv/bin/mypy

bench: deps
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b; done
