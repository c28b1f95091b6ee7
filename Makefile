# cnnviz: `make run` serves the app, `make test` passes the tests, `make class` serves a whole
# class (one app process per core behind HAProxy). Each sets everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-x -k output_size"`.
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one per core by default; TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= auto
# Debian packages the tests need: the browser and a font to render text with; HAProxy for the
# class server's tests.
TEST_DEBIAN := chromium fonts-dejavu-core haproxy
# If set, `make test` writes pytest's own exit code there when it fails (.ci/run uses it:
# make itself always exits 2 when a recipe fails).
PYTEST_RC_FILE ?=

.PHONY: run class test test-deep lint format bench clean screenshots

# The virtual environment gets uv (pinned) and uv installs the requirements: it unpacks wheels in
# parallel and keeps them in its cache, where pip unpacks one file at a time (a fresh install: 3 s
# against pip's 30 s here, 6 s with uv's cache empty). Like `pip install --no-compile`, uv leaves
# byte-compiling to Python, which compiles what is imported on first use and keeps it; so
# PYTHONDONTWRITEBYTECODE, if set, is not passed on. uv does not read pip's settings: the wheel
# folders pip is pointed at (PIP_FIND_LINKS, else pip's config; e.g. a machine's local torch CPU
# wheel) are passed on. (`=`, not `:=`: pip's config is read only when something is installed.)
UV_PIN := uv==0.13.9
UV := $(VENV)/bin/uv
FIND_LINKS = $(or $(PIP_FIND_LINKS),$(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null))
UV_INSTALL = $(UV) pip install --quiet --python $(PY) $(foreach d,$(FIND_LINKS),--find-links $(d))
unexport PYTHONDONTWRITEBYTECODE

$(PY):
	$(PYTHON) -m venv --without-pip $(VENV)

# The system pip puts uv into the environment (`pip --python`); where Python has no pip of its
# own, the environment's ensurepip does.
$(UV): | $(PY)
	$(PYTHON) -m pip --python $(PY) install --quiet $(UV_PIN) 2>/dev/null \
	  || { $(PY) -m ensurepip --default-pip && $(PY) -m pip install --quiet $(UV_PIN); }

# Stamps: reinstall only when a requirements file changed since the last install.
$(VENV)/.runtime: requirements.txt | $(UV)
	$(UV_INSTALL) -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(UV)
	$(UV_INSTALL) -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# Server settings come from .streamlit/config.toml (which hides Streamlit's own banner: it
# would look up this machine's public IP on the internet). The addresses are printed here.
run: $(VENV)/.runtime
	@echo "cnnviz on http://localhost:$(PORT)"; \
	ip=$$(hostname -I 2>/dev/null | cut -d' ' -f1); \
	[ -z "$$ip" ] || echo "on this network: http://$$ip:$(PORT)"; \
	echo "Ctrl+C stops it."
	@$(PY) -m cnnviz pretrain --quiet  # the Explore page's built-in nets: trained once, then cached
	$(PY) -m streamlit run app.py --server.port=$(PORT)

# A class on one machine: WORKERS app processes (default: one per core) behind HAProxy on PORT,
# sticky per browser. Installs Debian's haproxy when it can (root or passwordless sudo); else
# says the one command to run (scripts/debian-packages.sh). The launcher prints the addresses;
# Ctrl+C stops everything.
WORKERS ?=
# Extra app servers on other machines, "host:port host:port" (see README, Class server).
BACKENDS ?=
class: $(VENV)/.runtime
	@bash scripts/debian-packages.sh haproxy
	@$(PY) -m cnnviz pretrain --quiet
	$(PY) deploy/class_server.py --port $(PORT) $(if $(WORKERS),--workers $(WORKERS)) \
	  $(if $(BACKENDS),--backends "$(BACKENDS)")

test: $(VENV)/.dev
	@bash scripts/debian-packages.sh $(TEST_DEBIAN)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS) || { rc=$$?; [ -z "$(PYTEST_RC_FILE)" ] || echo $$rc > "$(PYTEST_RC_FILE)"; exit $$rc; }

test-deep: $(VENV)/.dev
	@bash scripts/debian-packages.sh $(TEST_DEBIAN)
	HYPOTHESIS_PROFILE=deep $(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# docs/screenshots/*.png (every page at 1280x720, normal and presenting, for the README), made
# by the browser tests that also check nothing on those pages is cut.
screenshots: $(VENV)/.dev
	CNNVIZ_SCREENSHOTS=1 $(PY) -m pytest tests/browser/test_pages.py \
	  tests/browser/test_presentation_browser.py -q -k "renders_from_the_menu or fits_a_720p"
	@du -ch docs/screenshots/*.png | tail -1

# Every benchmarks/bench_*.py, whatever exists (none yet is fine).
bench: $(VENV)/.dev
	@shopt -s nullglob; scripts=(benchmarks/bench_*.py); \
	[ $${#scripts[@]} -gt 0 ] || echo "no benchmarks/bench_*.py yet"; \
	for f in "$${scripts[@]}"; do \
	  echo "== $$f"; PYTHONPATH="$(CURDIR)" $(PY) "$$f" || exit $$?; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache test-artifacts
	find . -name __pycache__ -type d -prune -not -path "./.git/*" -exec rm -rf {} +
