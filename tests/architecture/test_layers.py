"""Dependencies point one way: an AST walk over every module enforces the house layering."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "prometheus"

# Lowest first; a package may import only from its own layer or lower.
LAYERS: list[set[str]] = [
    {"core"},
    {"calendar", "data", "runtime"},
    {"encoders"},
    {"profiles"},
    {"features"},
    {"engines"},
    {"execution"},
    {"backtest"},
    {"reporting"},
    {"meta"},
    {"orchestration"},
]
RANK = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _modules() -> list[Path]:
    return sorted(p for p in LIB.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_library_module_when_imported_respects_layers(path: Path) -> None:
    parts = path.relative_to(LIB).parts
    own = parts[0] if len(parts) > 1 else None
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in {
            "dagster",
            "prometheus_assets",
            "prometheus_resources",
            "prometheus_cli",
            "prometheus_dashboard",
        }, f"{path} imports {name}"
        if top == "ib_async":
            assert "brokers" in parts, f"{path}: ib_async only under prometheus/execution/brokers/"
        if top != "prometheus" or own is None or own not in RANK:
            continue
        target = name.split(".")[1] if "." in name else None
        if target is None or target not in RANK:
            continue
        assert RANK[target] <= RANK[own] or target == own, f"{path}: layer {own} must not import {target}"
        if own == "engines":
            assert target != "execution", f"{path}: engines never import execution"


def test_layering_when_checked_covers_every_package() -> None:
    packages = {p.name for p in LIB.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(RANK), f"packages without a layer: {packages - set(RANK)}"


def _engine_packages() -> set[str]:
    return {p.name for p in (LIB / "engines").iterdir() if p.is_dir() and (p / "__init__.py").exists()}


@pytest.mark.parametrize("path", sorted((LIB / "engines").glob("*/*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_module_when_imported_never_imports_a_sibling_engine(path: Path) -> None:
    own = path.parent.name
    siblings = _engine_packages() - {own}
    for name in _imports(path):
        parts = name.split(".")
        if parts[:2] == ["prometheus", "engines"] and len(parts) > 2:
            assert parts[2] not in siblings, f"{path}: engine {own} imports engine {parts[2]}; share through the kit"
