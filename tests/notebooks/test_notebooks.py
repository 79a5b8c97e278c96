"""The research notebooks run top to bottom on a small market with the project's kernel, show their figures and
tables, and are committed without outputs."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from notebooks.strip import strip
from tests.notebooks.conftest import NotebookMarket

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: Each notebook's least figures (PNG outputs) and tables (HTML outputs: polars frames) when it ran.
EXPECTED = {
    "01_point_in_time_store.ipynb": (1, 4),
    "02_regime_explorer.ipynb": (2, 3),
    "03_assessment_ic.ipynb": (2, 5),
    "04_backtest_comparison.ipynb": (7, 3),
    "05_kronos_review.ipynb": (1, 6),
    "06_execution_quality.ipynb": (2, 3),
}
#: Seconds a cell (or the kernel's start) may take; each notebook takes 5-15 s on the small market.
CELL_TIMEOUT_S = 300


def _outputs(notebook: nbformat.NotebookNode, mime: str) -> int:
    return sum(
        1 for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs if mime in out.get("data", {})
    )


def test_notebooks_when_listed_are_every_notebook_of_the_folder() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_when_committed_has_no_outputs_and_the_project_kernel(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code), f"run `make notebooks-strip` ({name})"
    assert notebook.metadata.kernelspec.name == "prometheus"


def test_strip_when_a_notebook_ran_clears_outputs_and_counts() -> None:
    ran = nbformat.read(NOTEBOOKS / sorted(EXPECTED)[0], as_version=4)
    cell = next(c for c in ran.cells if c.cell_type == "code")
    cell.execution_count, cell.outputs = 3, [nbformat.v4.new_output("stream", text="x")]
    cell.metadata["execution"] = {"iopub.status.idle": "2024-01-01T00:00:00Z"}
    assert strip(ran)
    assert cell.outputs == []
    assert cell.execution_count is None
    assert "execution" not in cell.metadata
    assert not strip(ran)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_when_run_on_the_small_market_shows_its_figures_and_tables(
    notebook_market: NotebookMarket, name: str
) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    km = KernelManager(kernel_name="prometheus", kernel_spec_manager=KernelSpecManager(
        kernel_dirs=[str(notebook_market.kernels)]))  # fmt: skip
    client = NotebookClient(notebook, km=km, timeout=CELL_TIMEOUT_S, startup_timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})  # fmt: skip
    t0 = time.perf_counter()
    client.execute(env=notebook_market.env)  # a failing cell raises CellExecutionError with its traceback
    print(f"\n{name}: {time.perf_counter() - t0:.1f}s")
    figures, tables = EXPECTED[name]
    assert _outputs(notebook, "image/png") >= figures
    assert _outputs(notebook, "text/html") >= tables
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
