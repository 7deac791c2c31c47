# cookiecutter-gitops-ml: development commands. Every target sets up .venv on first use.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
BUILD := build
DEMO := $(BUILD)/my-ml-project
PYTEST_ARGS ?=

export PATH := $(BIN):$(PATH)
export UV_PYTHON_DOWNLOADS := never
export DVC_NO_ANALYTICS := 1
export GX_ANALYTICS_ENABLED := False
export DO_NOT_TRACK := 1
export ITERATIVE_DO_NOT_TRACK := 1
export MPLBACKEND := Agg

.PHONY: help env demo demo-pipeline test test-fast lint docs lock bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# requirements-nodeps.txt: hash-pinned packages installed without their dependencies.
$(STAMP): requirements-dev.lock requirements-nodeps.txt pyproject.toml
	@echo "Creating $(VENV) (uv, or pip when uv cannot be installed)"
	"$(PYTHON)" -m venv "$(VENV)"
	@if "$(BIN)/python" -m pip install --quiet "uv>=0.8"; then \
	  "$(BIN)/uv" pip install --quiet --python "$(BIN)/python" -r requirements-dev.lock; \
	  "$(BIN)/uv" pip install --quiet --python "$(BIN)/python" --no-deps --require-hashes -r requirements-nodeps.txt; \
	  "$(BIN)/uv" pip install --quiet --python "$(BIN)/python" --no-deps -e .; \
	else \
	  "$(BIN)/python" -m pip install --quiet -r requirements-dev.lock; \
	  "$(BIN)/python" -m pip install --quiet --no-deps --require-hashes -r requirements-nodeps.txt; \
	  "$(BIN)/python" -m pip install --quiet --no-deps -e .; \
	fi
	@touch "$@"

env: $(STAMP) ## Create the development environment

demo: $(STAMP) ## Play the GitOps loop offline: PR, merge, release, drift alert, each workflow through act
	python -m demo --work "$(BUILD)/loop-demo"

demo-pipeline: $(STAMP) ## Generate a project with the defaults into build/my-ml-project and run its pipeline
	rm -rf "$(DEMO)" "$(DEMO)-dvc-storage"
	mkdir -p "$(BUILD)"
	cookiecutter --no-input --output-dir "$(BUILD)" .
	$(MAKE) -C "$(DEMO)" demo VENV="$(abspath $(VENV))"
	@echo
	@echo "Demo project: $(DEMO)"
	@echo "  metrics:    $(DEMO)/reports/metrics.json"
	@cat "$(DEMO)/reports/metrics.json"
	@echo "  plots:      $(DEMO)/reports/plots/"
	@echo "  validation: $(DEMO)/reports/validation.html"

# Two workers, one test file each at a time (module fixtures such as prepared act repos are
# built once); PYTEST_ARGS="-n 0 -k name" runs serially.
PYTEST := python -m pytest -n 2 --dist loadfile --durations=20

test: $(STAMP) ## Run the whole test suite (slow end-to-end tests included)
	$(PYTEST) $(PYTEST_ARGS)

test-fast: $(STAMP) ## Run the suite without the slow end-to-end tests
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

# Explicit paths: the template directory holds a Jinja pyproject.toml ruff cannot parse
# (rendered projects are linted by the tests instead).
LINT_PATHS := src hooks scripts tests benchmarks actions .github harness demo

lint: $(STAMP) ## Lint this repository's Python
	ruff check $(LINT_PATHS)
	ruff format --check $(LINT_PATHS)

docs: $(STAMP) ## Regenerate docs/options.md from cookiecutter.json
	python scripts/options_doc.py > docs/options.md

lock: $(STAMP) ## Re-pin the generated project's and this repo's dependencies
	python scripts/lock.py

bench: $(STAMP) ## Run the benchmarks in benchmarks/
	@status=0; for b in benchmarks/bench_*.py; do python "$$b" || status=1; done; \
	  if [ $$status -ne 0 ]; then echo "make bench: at least one goal missed (FAIL above)"; fi; exit $$status

clean: ## Remove build outputs and the environment
	rm -rf "$(BUILD)" "$(VENV)" .pytest_cache .ruff_cache
