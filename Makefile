# aagcn_lab: `make lab` sets everything up and runs the main job; `make test` runs the tests.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
# Extra arguments for the main job, e.g. make lab LAB_ARGS="-p epochs 5"
LAB_ARGS ?=

.PHONY: setup lab test test-quick test-browser lint bench mutation clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[notebooks,dev]"
	touch $(STAMP)

setup: $(STAMP)

lab: setup
	$(VENV)/bin/aagcn-lab lab $(LAB_ARGS)

test: setup
	$(PY) -m pytest

# The quick tier: unit tests only (no notebooks, no multi-process runs, no browser); what the mutation check runs.
test-quick: setup
	$(PY) -m pytest -m "not slow and not browser"

# Curated mutants (scripts/mutation.py): every one must make the quick tier fail.
mutation: setup
	$(PY) scripts/mutation.py

test-browser: setup
	$(PY) -m pip install -q "playwright>=1.45"
	$(PY) -m pytest -m browser tests/test_browser.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/nbstripout --verify notebooks/*.ipynb

bench: setup
	$(PY) -m aagcn_lab.bench all

clean:
	rm -rf runs .pytest_cache
