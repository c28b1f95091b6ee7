# cnnviz: `make run` serves the app, `make test` passes the tests. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test test-deep lint format bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Stamps: reinstall only when a requirements file changed since the last install.
$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(PY) -m streamlit run app.py --server.port=$(PORT)

test: $(VENV)/.dev
	$(PY) -m pytest

test-deep: $(VENV)/.dev
	HYPOTHESIS_PROFILE=deep $(PY) -m pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(VENV)/.dev
	for f in benchmarks/bench_*.py; do $(PY) $$f; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache test-artifacts
