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

test: $(VENV)
	$(BIN)/python -m pytest -q --durations=15

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
