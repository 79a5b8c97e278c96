# Prometheus v2 - the README's commands.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PROMETHEUS_DATA_ROOT ?= $(CURDIR)/data

.PHONY: demo test ui bench lint fmt clean notebooks notebooks-strip

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

# JupyterLab on 127.0.0.1 with the project's kernel: this venv's python, installed as the kernel spec "prometheus"
# that the notebooks name. They read PROMETHEUS_DATA_ROOT (exported above; `make demo` fills it).
NOTEBOOKS_PORT ?= 8888
notebooks: $(VENV)
	test -x $(BIN)/jupyter-lab || $(BIN)/pip install --quiet -e '.[dev,notebooks]'
	$(BIN)/python -m ipykernel install --sys-prefix --name prometheus --display-name "Prometheus (.venv)"
	$(BIN)/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=$(NOTEBOOKS_PORT) \
		--ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# Clear the notebooks' outputs and execution counts before committing (the test suite fails on committed outputs).
notebooks-strip: $(VENV)
	$(BIN)/python notebooks/strip.py

lint: $(VENV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(VENV)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache
