# Two commands: `make demo` sets up and runs the kit; `make test` sets up and runs the tests.
# Needs only Python 3.11+ and make; everything installs into .venv (no root).

# The first Python 3.11 or newer on PATH (macOS's own python3 is 3.9: it would build a venv
# that cannot install the kit). `make PYTHON=/path/to/python3.12` chooses one.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && { echo $$p; break; }; done)
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: demo test check typecheck lint format catalogs bench clean

$(BIN)/python:
	@"$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "fieldlab-kit needs Python 3.11 or newer, and none was found on PATH."; \
	  echo "  macOS:   brew install python@3.12   (or the installer from python.org)"; \
	  echo "  Windows: winget install Python.Python.3.12   (then use the commands in README.md)"; \
	  echo "  Debian/Ubuntu: sudo apt install python3 python3-venv"; \
	  echo "Then run make again, or make PYTHON=/path/to/python3.12."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/fieldlab demo $(ARGS)

# The suite in three folders by what a test needs: tests/unit (no server, no process of its
# own), tests/server (one real server: Mosquitto, InfluxDB, a simulator face), tests/e2e (whole
# runs: simulators, gateway, store, browser, containers). Most tests wait on servers and clocks
# rather than compute, so `make test` runs them side by side (pytest-xdist: test by test, but a
# module whose tests share a fixture on one worker, `xdist_group`), then the `serial` ones on two
# workers: the `timing` group (demos, the fault suite, reconnect times, 1x runs, simulator pace,
# a drain rate) one after another on one, the `pages` group (the Chromium pages) on the other;
# neither shares its worker with the rest of the suite. (pytest 9.2 broke the groups without a
# word, xdist issue #1386: tests/unit/test_suite_groups.py now notices.) mypy runs beside the
# second part at the lowest priority: it takes only the CPU the tests leave idle, and the
# serial tests mostly wait on clocks and pages (the first part keeps both cores busy, so mypy
# beside it still held it up by seconds).
PYTEST  := $(BIN)/python -m pytest
WORKERS ?= 4

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# The kit's own modules compiled once: where PYTHONDONTWRITEBYTECODE is set (CI's is), each
	@# of the hundreds of processes the tests start would compile them from source again (the
	@# tests' helpers too; pytest rewrites the test modules themselves on collection anyway).
	$(BIN)/python -m compileall -q -j 0 edge simulators dashboards bench recipes tests > /dev/null
	@# pytest keeps the test modules it rewrote (their asserts) for the second part to reuse
	export PYTHONDONTWRITEBYTECODE=; \
	$(PYTEST) -n $(WORKERS) --dist loadgroup -m "not serial" $(ARGS); rc=$$?; \
	nice -n 19 $(MAKE) --no-print-directory typecheck > .typecheck.log 2>&1 & tc=$$!; \
	$(PYTEST) -n 2 --dist loadgroup -m serial $(ARGS); rc2=$$?; \
	if wait $$tc; then tail -n 1 .typecheck.log; else cat .typecheck.log; rc=1; fi; \
	[ $$rc -eq 0 ] && [ $$rc2 -eq 0 ]

# The inner loop, under a minute: lint, types (mypy keeps its cache) and the unit tests that
# take under 3 s each, side by side.
check: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory typecheck > .typecheck.log 2>&1 & tc=$$!; \
	$(PYTEST) tests/unit -n 2 -m "not slow and not serial" -q --durations=5 $(ARGS); rc=$$?; \
	if wait $$tc; then tail -n 1 .typecheck.log; else cat .typecheck.log; rc=1; fi; \
	exit $$rc

# mypy cannot follow the editable install's folder mapping (edge/ is `fieldlab`): it checks a
# tree of links laid out as the wheel installs the package.
typecheck: $(VENV)/.installed-test
	@# the links made anew, mypy's cache (.mypy-src/.mypy_cache) kept: a second run takes seconds
	rm -rf .mypy-src/fieldlab && mkdir -p .mypy-src/fieldlab
	for f in edge/*; do ln -s "$$PWD/$$f" .mypy-src/fieldlab/; done
	for d in simulators dashboards bench recipes; do ln -s "$$PWD/$$d" .mypy-src/fieldlab/$$d; done
	cd .mypy-src && ../$(BIN)/mypy --config-file ../pyproject.toml -p fieldlab

catalogs: $(VENV)/.installed-test
	@# new t("…") keys into edge/i18n/*.po (then translate them), the .mo files compiled
	$(BIN)/python -m fieldlab.i18n.catalogs

lint format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed-test
	$(BIN)/fieldlab bench all

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .hypothesis .mypy-src .mypy_cache .typecheck.log
