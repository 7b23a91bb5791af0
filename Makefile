# PRIM assistant — the front door. `make help` lists the targets.
# The two commands of the README are the contract: `make run` and `make test`.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV     := .venv
VPY      := $(VENV)/bin/python
RASA     := $(VENV)/bin/rasa
STAMP    := $(VENV)/.installed
MODEL    := models/current.tar.gz
PROFILE  ?= dev

# Rasa reads its training data from these folders only (test stories live apart).
TRAIN_DATA := nlu_data/nlu nlu_data/dialogue
TRAIN_INPUTS := config.yml domain.yml $(shell find nlu_data/nlu nlu_data/dialogue bot/nlu bot/rasa/nlu \
                  bot/language_data -type f 2>/dev/null | LC_ALL=C sort) bot/language.py bot/language_model.py bot/language_names.py

# A Python 3.10 for Rasa 3.6: python3.10 on PATH, else the newest pyenv-installed 3.10.
PYENV_ROOT_DIR := $(shell pyenv root 2>/dev/null || echo $${PYENV_ROOT:-$$HOME/.pyenv})
# A pyenv shim named python3.10 may exist yet fail, so each candidate is asked for its version.
PYTHON310 ?= $(shell for c in "$$(command -v python3.10 2>/dev/null)" \
               $$(ls -1d $(PYENV_ROOT_DIR)/versions/3.10.*/bin/python 2>/dev/null | sort -rV); do \
               [ -n "$$c" ] && "$$c" -c 'import sys; assert sys.version_info[:2] == (3, 10)' \
               >/dev/null 2>&1 && { echo "$$c"; break; }; done)

# Keep TensorFlow quiet and single-machine friendly.
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export SQLALCHEMY_WARN_20 := 0
export RASA_TELEMETRY_ENABLED := false

# Debian's browser for the playground's browser tests (tests/browser), installed when missing.
BROWSER_PACKAGES := chromium chromium-driver fonts-noto-color-emoji

.PHONY: help install lint validate train run test test-fast bench clean python-check browser-deps

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

python-check:
	@if [ -z "$(PYTHON310)" ] || ! "$(PYTHON310)" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then \
	  echo "ERROR: Python 3.10 is required (Rasa Open Source 3.6 supports no newer Python) and none was found."; \
	  echo "       Looked for 'python3.10' on PATH and for $(PYENV_ROOT_DIR)/versions/3.10.*/bin/python."; \
	  echo "       Install it with one of:"; \
	  echo "         pyenv install 3.10.13                       (https://github.com/pyenv/pyenv)"; \
	  echo "         apt-get install python3.10 python3.10-venv  (Debian/Ubuntu with 3.10 packages)"; \
	  echo "       or point the Makefile at one: make PYTHON310=/path/to/python3.10 $(MAKECMDGOALS)"; \
	  exit 1; \
	fi

install: $(STAMP) ## create .venv with Python 3.10 and install the project (only when pyproject.toml changed)

$(STAMP): pyproject.toml | python-check
	@echo "==> creating $(VENV) with $(PYTHON310)"
	@[ -x $(VPY) ] || "$(PYTHON310)" -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade "pip>=24,<27" "setuptools>=70,<76" wheel 2>&1 \
	  | { grep -v "^WARNING: Location 'file:" || true; }
	@echo "==> installing the project and its dev extra (Rasa and TensorFlow: a few minutes the first time)"
	@# This machine's pip.conf names local mirrors that may be absent: drop those warnings only.
	$(VPY) -m pip install --quiet --progress-bar off -e ".[dev]" 2>&1 \
	  | { grep -v "^WARNING: Location 'file:" || true; }
	@touch $(STAMP)

lint: $(STAMP) ## ruff on the Python code: the rules, and the formatting
	$(VENV)/bin/ruff check bot actions tests bench
	$(VENV)/bin/ruff format --check bot actions tests bench

validate: $(STAMP) ## validate training data, domain and the service directory
	$(RASA) data validate --data $(TRAIN_DATA) --domain domain.yml --config config.yml --fail-on-warnings
	@if [ -d bot/directory ] && [ -f bot/directory/cli.py ]; then $(VPY) -m bot directory validate; fi
	@$(VPY) -m bot directory coverage --summary || true

train: $(MODEL) ## train into models/ only when data, domain or config changed (Rasa, and the danger classifier)
	@$(VPY) -m bot safety prepare

$(MODEL): $(TRAIN_INPUTS) | $(STAMP)
	@mkdir -p models var
	@echo "==> training the model (a few minutes on two cores; log in var/train.log)"
	@start=$$(date +%s); \
	if ! $(RASA) train --data $(TRAIN_DATA) --domain domain.yml --config config.yml \
	     --out models --fixed-model-name current > var/train.log 2>&1; then \
	  grep -v "^WARNING: Location" var/train.log | tail -n 40; echo "Training failed: see var/train.log"; exit 1; \
	fi; echo "==> trained $(MODEL) in $$(( $$(date +%s) - start )) s"
	@touch $(MODEL)

run: $(STAMP) ## install, validate, train if needed, then serve the assistant (Ctrl-C stops it)
	@# An unsafe or wrong configuration is refused at once, not after validation and training.
	@PROFILE=$(PROFILE) $(VPY) -m bot.runner --check >/dev/null
	@$(MAKE) --no-print-directory validate
	@$(MAKE) --no-print-directory train
	@PROFILE=$(PROFILE) $(VPY) -m bot.runner

test: $(STAMP) ## lint, validate, train or reuse the model, rasa test, then pytest (last lines: its summary)
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory validate
	@$(MAKE) --no-print-directory train
	$(RASA) test core --e2e --model $(MODEL) --stories nlu_data/tests --fail-on-prediction-errors \
	  --out var/results/core 2>&1 | tail -n 25
	@$(MAKE) --no-print-directory browser-deps
	$(VPY) -m pytest

browser-deps: ## install chromium and chromedriver (apt-get) for the browser tests, if missing
	@if command -v dpkg-query >/dev/null 2>&1; then \
	  missing=$$(for p in $(BROWSER_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	else \
	  missing=$$(for c in chromium chromedriver; do command -v $$c >/dev/null || echo $$c; done); \
	fi; \
	missing=$$(echo $$missing); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "==> the browser tests need $$missing (as root: apt-get install $$missing); skipped meanwhile"; \
	  exit 0; \
	fi; \
	mkdir -p var; echo "==> installing $$missing for the browser tests (apt-get, log in var/apt.log)"; \
	if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; } \
	     > var/apt.log 2>&1; then \
	  tail -n 5 var/apt.log; echo "==> could not install them: the browser tests will be skipped"; \
	fi

test-fast: $(STAMP) ## pytest only, without the slow end-to-end tests
	$(VPY) -m pytest -m "not e2e"

bench: $(STAMP) $(MODEL) ## benchmarks: results in bench/results/*.json and a summary table
	$(VPY) bench/run_all.py

clean: ## remove trained models and local state (keeps .venv)
	rm -rf models var results .pytest_cache .ruff_cache
