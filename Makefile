# Two commands: `make demo` sets up and runs the kit; `make test` sets up and runs the tests.
# Needs only Python 3.11+ and make; everything installs into .venv (no root).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: demo test typecheck lint format bench clean

$(BIN)/python:
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

# mypy runs beside pytest at the lowest priority: it takes only the CPU the tests leave idle
# (most of them wait on servers and clocks), and its verdict counts as before.
test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# The kit's own modules compiled once: where PYTHONDONTWRITEBYTECODE is set (CI's is), each
	@# of the hundreds of processes the tests start would compile them from source again.
	$(BIN)/python -m compileall -q -j 0 edge simulators dashboards bench recipes > /dev/null
	nice -n 19 $(MAKE) --no-print-directory typecheck > .typecheck.log 2>&1 & tc=$$!; \
	$(BIN)/python -m pytest $(ARGS); rc=$$?; \
	if wait $$tc; then tail -n 1 .typecheck.log; else cat .typecheck.log; rc=1; fi; \
	exit $$rc

# mypy cannot follow the editable install's folder mapping (edge/ is `fieldlab`): it checks a
# tree of links laid out as the wheel installs the package.
typecheck: $(VENV)/.installed-test
	rm -rf .mypy-src && mkdir -p .mypy-src/fieldlab
	for f in edge/*; do ln -s "$$PWD/$$f" .mypy-src/fieldlab/; done
	for d in simulators dashboards bench recipes; do ln -s "$$PWD/$$d" .mypy-src/fieldlab/$$d; done
	cd .mypy-src && ../$(BIN)/mypy --config-file ../pyproject.toml -p fieldlab

lint format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed-test
	$(BIN)/fieldlab bench all

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .hypothesis .mypy-src .mypy_cache .typecheck.log
