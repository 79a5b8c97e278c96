"""Strip outputs and execution counts from notebooks before they are committed (``make notebooks-strip``).

Usage: ``python notebooks/strip.py [NOTEBOOK ...]`` (default: every notebook beside this file). Prints the
notebooks it changed; the test suite fails on a committed notebook with outputs (tests/notebooks).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

#: Per-cell metadata JupyterLab records while running (timings, scroll state): not part of the source.
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled")


def strip(notebook: nbformat.NotebookNode) -> bool:
    """Clear outputs, execution counts and volatile metadata in place; True when anything changed."""
    changed = False
    for cell in notebook.cells:
        for key in VOLATILE_CELL_METADATA:
            changed |= cell.metadata.pop(key, None) is not None
        if cell.cell_type != "code":
            continue
        changed |= bool(cell.outputs) or cell.execution_count is not None
        cell.outputs, cell.execution_count = [], None
    changed |= notebook.metadata.pop("widgets", None) is not None
    return changed


def main(paths: list[str]) -> int:
    """Strip each notebook in ``paths`` (default: the notebooks beside this file) in place."""
    targets = [Path(p) for p in paths] or sorted(Path(__file__).resolve().parent.glob("*.ipynb"))
    for path in targets:
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        if strip(notebook):
            nbformat.write(notebook, path)
            print(f"stripped {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
