"""Import each named module first in an interpreter where none of the project's modules is loaded yet.

``python tests/architecture/import_each.py MODULE ...`` (run by ``test_imports.py``). An import cycle fails
with a partially initialised module only when the cycle is entered at a particular module, so every module
must be the first project module some interpreter imports. One interpreter per module would pay for
Dagster, pandas, polars and torch each time; instead this process imports the third-party packages the
modules import at module level, once, and forks a child per module. A child starts with no project module
loaded, which is all a cycle between project modules depends on, and imports its module first.

Prints one block per failure (module and traceback) and exits with the number of failures (at most 100).
"""

from __future__ import annotations

import ast
import importlib
import os
import sys
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"prometheus", "prometheus_assets", "prometheus_resources", "prometheus_cli", "prometheus_dashboard"}


def module_path(name: str) -> Path:
    """The source file of project module ``name`` (its ``__init__.py`` for a package)."""
    base = ROOT.joinpath(*name.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _module_level_imports(tree: ast.Module) -> Iterable[str]:
    # Imports inside functions are deliberately lazy (torch, sentence-transformers): leave them out.
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        stack.extend(ast.iter_child_nodes(node))


def third_party(modules: Sequence[str]) -> list[str]:
    """Modules outside the project that ``modules`` import at module level, sorted."""
    found: set[str] = set()
    for name in modules:
        tree = ast.parse(module_path(name).read_text(), filename=str(module_path(name)))
        found.update(n for n in _module_level_imports(tree) if n.split(".")[0] not in PROJECT)
    return sorted(found)


def preload(names: Iterable[str]) -> None:
    """Import ``names``; one that fails is left for the child that needs it to report."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the child importing the project module reports it with context
            continue


def import_first(name: str) -> str | None:
    """Import ``name`` in a forked child; the child's traceback, or None when it imported cleanly."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report through the pipe, leave without running the parent's exit handlers
        os.close(read)
        code = 0
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - any failure, SystemExit included, is the finding
            os.write(write, traceback.format_exc().encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        report = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return report or f"child exited with status {os.waitstatus_to_exitcode(status)}"
    return None


def main(modules: Sequence[str]) -> int:
    """Import each of ``modules`` first in its own child; print the failures and return how many."""
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in PROJECT)
    if loaded:
        print(f"project modules already loaded before forking: {loaded}")
        return 1
    preload(third_party(modules))
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in PROJECT)
    if loaded:  # a third-party import pulled in a project module: the children would not start fresh
        print(f"preloading third-party packages loaded project modules: {loaded}")
        return 1
    failures = 0
    for name in modules:
        report = import_first(name)
        if report is not None:
            failures += 1
            print(f"--- import {name} (first) failed:\n{report}", flush=True)
    return min(failures, 100)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
