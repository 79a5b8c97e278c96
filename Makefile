# Prometheus v2 - the README's commands.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PROMETHEUS_DATA_ROOT ?= $(CURDIR)/data

.PHONY: demo test ui bench lint fmt clean

$(VENV): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)

demo: $(VENV)
	$(BIN)/prometheus demo

# Two workers (pytest-xdist), one test file per worker at a time, so module fixtures are built once.
test: $(VENV)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15

ui: $(VENV)
	$(BIN)/prometheus ui

bench: $(VENV)
	$(BIN)/python benchmarks/run_all.py

lint: $(VENV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(VENV)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache
