"""Tests mirror the package tree: a module's tests live under the matching path and are named after it.

``tests/unit/<path>/test_<module>[_<aspect>].py`` tests ``prometheus/<path>/<module>.py`` (or the package
``<module>/``, or ``__init__`` as ``init``); ``tests/integration/<path>/`` does the same for ``prometheus_assets``
``tests/cli/`` for the command line (``prometheus_cli``) and ``tests/dashboard/`` for the operator dashboard
(``prometheus_dashboard``).
Builders and fixtures shared by several test modules live in ``tests/support/`` only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIRRORS = {
    ROOT / "tests" / "unit": ROOT / "prometheus",
    ROOT / "tests" / "integration": ROOT / "prometheus_assets",
    ROOT / "tests" / "cli": ROOT / "prometheus_cli",
    ROOT / "tests" / "dashboard": ROOT / "prometheus_dashboard",
}


def _test_modules() -> list[tuple[Path, Path]]:
    return [(path, source) for tests, source in MIRRORS.items() for path in sorted(tests.rglob("test_*.py"))]


def _names_in(folder: Path) -> set[str]:
    modules = {p.stem.lstrip("_") for p in folder.glob("*.py") if p.stem != "__init__"}
    packages = {p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    return modules | packages | {"init"}


@pytest.mark.parametrize(("path", "source"), _test_modules(), ids=lambda v: str(v.relative_to(ROOT)))
def test_test_module_when_placed_mirrors_its_source(path: Path, source: Path) -> None:
    tests_root = next(t for t, s in MIRRORS.items() if s == source)
    folder = source / path.parent.relative_to(tests_root)
    assert folder.is_dir(), f"{path.relative_to(ROOT)}: no package {folder.relative_to(ROOT)} to mirror"
    stem = path.stem.removeprefix("test_")
    names = _names_in(folder)
    assert any(stem == n or stem.startswith(f"{n}_") for n in names), (
        f"{path.relative_to(ROOT)}: name it test_<module>[_<aspect>].py after one of {sorted(names)}"
    )


def test_kits_when_shared_live_only_in_support() -> None:
    kits = [
        p
        for p in (ROOT / "tests").rglob("*_kit.py")
        if p.parent != ROOT / "tests" / "support" and not p.name.startswith("test_")
    ]
    assert not kits, f"test kits outside tests/support: {kits}"
