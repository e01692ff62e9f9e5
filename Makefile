# Every target installs what it needs first, so each works on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk

# Node 20 is end-of-life; jsii and the CDK CLI otherwise print a banner on every run.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: dev test test-fast unit integration e2e infra lint format docs demo bench synth deploy destroy diff clean

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

dev: $(VENV)/.installed node_modules/.installed

# loadfile, not loadgroup: with pytest 9.2 xdist 3.8 silently ignores xdist_group marks
# (pytest-dev/pytest-xdist#1386). One worker per file lets each module-scoped deploy or synth run once.
test: dev
	$(PY) -m pytest -n 2 --dist loadfile

# Everything but the tests marked slow (deploys, benchmarks, the demo, a wheel build): while you work.
test-fast: dev
	$(PY) -m pytest -n 2 --dist loadfile -m "not slow"

unit: dev
	$(PY) -m pytest tests/unit

integration: dev
	$(PY) -m pytest -n 2 --dist loadfile tests/integration

e2e: dev
	$(PY) -m pytest tests/e2e

infra: dev
	$(PY) -m pytest tests/infrastructure

lint: dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: dev
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# The manual (docs/, mkdocs.yml) into site/. --strict: a broken link or anchor, or a page left out of
# nav, fails. NO_MKDOCS_2_WARNING: Material for MkDocs prints a banner on every build (its end of
# life is May 2027; Zensical is its successor).
docs: dev
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

# The demo and the benchmarks run as modules from the repository root (`-m` puts the current
# directory on sys.path), which is where the emulator package lives.
demo: dev
	$(PY) -m scripts.demo

# Minutes, not seconds: each size is swept three times against a fresh emulator (docs/develop/benchmarks.md).
bench: dev
	$(PY) -m bench.sweep_bench

synth: dev
	$(CDK) synth --no-notices

diff: dev
	$(CDK) diff --no-notices

deploy: dev
	$(CDK) deploy --no-notices

destroy: dev
	$(CDK) destroy --force --no-notices

clean:
	rm -rf $(VENV) node_modules cdk.out site .pytest_cache .mypy_cache .ruff_cache
