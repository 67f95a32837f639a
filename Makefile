# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export OMS_HOME ?= $(CURDIR)/var/demo

.PHONY: demo test lint bench bench-quick bench-tui clean

$(BIN)/oms: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

## demo: set up, seed a demo store in var/demo (once) and open the operator TUI on it
demo: $(BIN)/oms
	$(BIN)/oms demo

## test: set up, type-check, and run every test (SQLite and PostgreSQL)
test: $(BIN)/oms
	$(BIN)/mypy
	TEXTUAL_ANIMATIONS=none $(BIN)/pytest -q

lint: $(BIN)/oms
	$(BIN)/mypy

## bench: the figures the issues ask for, as JSON lines
bench: $(BIN)/oms
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/race.py
	$(BIN)/python bench/edi.py
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/routing.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/tui.py

## bench-tui: the operator TUI on 1,000,000 orders (first paint, filters, keys, memory)
bench-tui: $(BIN)/oms
	$(BIN)/python bench/tui.py

bench-quick: $(BIN)/oms
	$(BIN)/python bench/intake.py --quick
	$(BIN)/python bench/race.py --quick
	$(BIN)/python bench/edi.py --quick
	$(BIN)/python bench/gateway.py --quick
	$(BIN)/python bench/routing.py --quick
	$(BIN)/python bench/sync.py --quick
	$(BIN)/python bench/tui.py --quick

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .mypy_cache
