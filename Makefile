# Prometheus v2 - the README's commands.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PROMETHEUS_DATA_ROOT ?= $(CURDIR)/data

.PHONY: demo test ui bench lint fmt clean notebooks notebooks-strip dagster-daemon celery-workers

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

# Distributed execution (docs/distributed.md). DAGSTER_HOME must hold a PostgreSQL dagster.yaml (see
# docs/dagster/dagster.distributed.yaml) shared by the daemon, the webserver and the workers; the code location runs
# with PROMETHEUS_EXECUTOR=celery. The daemon dequeues runs (one per market at a time) and launches them.
DAGSTER_HOME ?= $(PROMETHEUS_DATA_ROOT)/dagster_home
dagster-daemon: $(VENV)
	test -f $(DAGSTER_HOME)/dagster.yaml || { echo "no $(DAGSTER_HOME)/dagster.yaml (docs/distributed.md)"; exit 1; }
	# The lake pool's row before any run claims it (two first claims at once race on PostgreSQL).
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster instance concurrency set prometheus_lake 1
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster-daemon run -w workspace.yaml

# N Celery workers (`dagster-celery worker start`, C steps at a time each) on PROMETHEUS_CELERY_QUEUE of
# PROMETHEUS_CELERY_BROKER, with the worker config written from the same settings as the executor's. Foreground:
# Ctrl-C stops them all. On another machine: the same command, the same settings and the same shared data root.
# A pool process is replaced after a step that left it above WORKER_MAX_MEM_MB (Celery's --max-memory-per-child):
# Python and Arrow keep the peak of a large step (the assessment fits) resident otherwise.
N ?= 2
C ?= 1
WORKER_MAX_MEM_MB ?= 3000
CELERY_CONFIG ?= $(DAGSTER_HOME)/celery.yaml
celery-workers: $(VENV)
	$(BIN)/python -m prometheus_assets.executors $(CELERY_CONFIG)
	export PATH="$(CURDIR)/$(BIN):$$PATH" DAGSTER_HOME=$(DAGSTER_HOME) PROMETHEUS_EXECUTOR=celery; \
	for i in $$(seq 1 $(N)); do \
		$(BIN)/dagster-celery worker start -A dagster_celery.app -y $(CELERY_CONFIG) \
			-q "$${PROMETHEUS_CELERY_QUEUE:-dagster}" -n "prometheus-$$i" -- --concurrency=$(C) \
			--max-memory-per-child=$$(( $(WORKER_MAX_MEM_MB) * 1024 )) & \
	done; wait

lint: $(VENV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(VENV)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache
