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
	DAGSTER_HOME=$${DAGSTER_HOME:-$(PROMETHEUS_DATA_ROOT)/dagster_home} ; mkdir -p $$DAGSTER_HOME ; \
	DAGSTER_HOME=$$DAGSTER_HOME $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

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
