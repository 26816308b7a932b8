# cubeops — two commands on a fresh machine with Python 3.11+:
#   make run    creates .venv, installs cubeops, runs the quickstart project end to end (CPU, offline)
#   make test   installs the test extras and runs the suite

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
QUICKSTART := examples/quickstart/cubeops.yaml
PYTEST_ARGS ?=

.PHONY: install run test faults bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/cubeops run -c $(QUICKSTART)
	@$(BIN)/python -m flows.quickstart_info -c $(QUICKSTART)

test: install
	$(BIN)/python -m pytest -m "not faults" $(PYTEST_ARGS)

faults: install
	$(BIN)/python -m pytest -m faults $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf examples/quickstart/.cubeops .pytest_cache
