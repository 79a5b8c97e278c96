"""One config system: every config is a VersionedConfig, loaded by one YAML loader and versioned by one hash."""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from prometheus.core.config import VersionedConfig
from prometheus.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "prometheus"
HOME = LIB / "core" / "config.py"

#: A valid file for configs with required keys (the others load from an empty file).
VALID: dict[str, Path] = {
    "RiskLimits": ROOT / "docs" / "risk_limits.example.yaml",
    "PortfolioLimits": ROOT / "docs" / "risk_limits.example.yaml",
}
#: Configs whose valid example is one top-level section of their VALID file (a config nested in another's file).
SECTION: dict[str, str] = {"PortfolioLimits": "portfolio"}
#: A value no config field accepts: scalars, enums, dates and tuples all refuse a mapping.
BAD_VALUE = {"not": "a value"}
#: Methods only VersionedConfig may define: the one loader and the one hash.
RESERVED = ("canonical_json", "config_version", "from_mapping", "from_yaml")


def _modules() -> list[Path]:
    return sorted(p for p in LIB.rglob("*.py") if "migrations" not in p.parts)


def _base_names(node: ast.ClassDef) -> set[str]:
    return {b.id if isinstance(b, ast.Name) else b.attr for b in node.bases if isinstance(b, ast.Name | ast.Attribute)}


def _is_candidate(node: ast.ClassDef) -> bool:
    """Declared as a VersionedConfig, or named like a config (``*Config``, ``*Limits``)."""
    return "VersionedConfig" in _base_names(node) or node.name.endswith(("Config", "Limits"))


def _candidates() -> list[type]:
    """Every class of ``prometheus/`` that is, or is named like, a config (found in the source, then imported)."""
    found: list[type] = []
    for path in _modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        names = [n.name for n in tree.body if isinstance(n, ast.ClassDef) and _is_candidate(n)]
        if names:
            module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
            found += [getattr(module, name) for name in names]
    return [cls for cls in found if cls is not VersionedConfig]


CANDIDATES = _candidates()
CONFIGS: list[type[VersionedConfig]] = [c for c in CANDIDATES if issubclass(c, VersionedConfig)]


def _valid(cls: type[VersionedConfig]) -> dict[str, Any]:
    path = VALID.get(cls.__name__)
    if path is None:
        return {}
    values = yaml.safe_load(path.read_text())
    section = SECTION.get(cls.__name__)
    return values if section is None else values[section]


def _write(tmp_path: Path, values: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


def test_config_classes_when_collected_include_every_result_shaping_config() -> None:
    names = {cls.__name__ for cls in CONFIGS}
    assert {
        "PlannerConfig", "SimulatorConfig", "CostConfig", "RiskLimits", "QcConfig", "SyntheticConfig",
        "NumericEncoderConfig", "TextEncoderConfig", "ProfileConfig",
    } <= names  # fmt: skip


@pytest.mark.parametrize("cls", CANDIDATES, ids=lambda c: c.__name__)
def test_class_when_named_like_a_config_is_a_versioned_config(cls: type) -> None:
    assert issubclass(cls, VersionedConfig), f"{cls.__module__}.{cls.__name__}: make it a VersionedConfig"


def test_config_kinds_when_collected_are_distinct_and_named() -> None:
    kinds = [cls.kind for cls in CONFIGS]
    assert len(set(kinds)) == len(kinds), sorted(kinds)
    assert VersionedConfig.kind not in kinds


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_config_when_defined_keeps_the_one_loader_and_hash(cls: type[VersionedConfig]) -> None:
    assert not set(RESERVED) & set(vars(cls)), f"{cls.__name__} redefines the loader or the hash"
    assert cls.model_config.get("frozen") is True
    assert cls.model_config.get("extra") == "forbid"


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_config_when_required_keys_exist_has_a_valid_example(cls: type[VersionedConfig]) -> None:
    required = sorted(name for name, field in cls.model_fields.items() if field.is_required())
    assert not required or cls.__name__ in VALID, f"{cls.__name__} requires {required}: add an example to VALID"


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_config_version_when_loaded_again_or_round_tripped_is_stable(
    cls: type[VersionedConfig], tmp_path: Path
) -> None:
    first = cls.from_mapping(_valid(cls))
    assert re.fullmatch(r"[0-9a-f]{64}", first.config_version)
    assert cls.from_mapping(_valid(cls)).config_version == first.config_version
    again = cls.from_yaml(_write(tmp_path, first.model_dump(mode="json")))
    assert again.config_version == first.config_version


def test_config_versions_when_computed_in_another_process_are_equal() -> None:
    # Another interpreter (another string-hash seed): a version must not depend on set or dict order.
    script = (
        "import importlib, json, sys, yaml\n"
        "out = {}\n"
        "for module, name, path, section in json.loads(sys.argv[1]):\n"
        "    cls = getattr(importlib.import_module(module), name)\n"
        "    values = yaml.safe_load(open(path).read()) if path else {}\n"
        "    values = values[section] if section else values\n"
        "    out[name] = cls.from_mapping(values).config_version\n"
        "print(json.dumps(out))\n"
    )
    spec = [
        [c.__module__, c.__name__, str(VALID[c.__name__]) if c.__name__ in VALID else "", SECTION.get(c.__name__, "")]
        for c in CONFIGS
    ]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script, json.dumps(spec)], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == {c.__name__: c.from_mapping(_valid(c)).config_version for c in CONFIGS}


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_from_yaml_when_key_unknown_raises_naming_file_and_key(cls: type[VersionedConfig], tmp_path: Path) -> None:
    path = _write(tmp_path, _valid(cls) | {"no_such_key": 1})
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: {cls.kind} config key 'no_such_key': Extra"):
        cls.from_yaml(path)


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_from_yaml_when_value_bad_raises_naming_file_and_key(cls: type[VersionedConfig], tmp_path: Path) -> None:
    key = next(iter(cls.model_fields))
    path = _write(tmp_path, _valid(cls) | {key: BAD_VALUE})
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: {cls.kind} config key '{key}") as info:
        cls.from_yaml(path)
    assert info.value.setting is not None
    assert info.value.setting.startswith(key)


def _hashes_a_config(scope: ast.AST) -> bool:
    """A function that both calls hashlib and dumps a pydantic model hashes a config."""
    names = {n.id for n in ast.walk(scope) if isinstance(n, ast.Name)}
    calls = {n.func.attr for n in ast.walk(scope) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    return "hashlib" in names and bool(calls & {"model_dump", "model_dump_json", "canonical_json"})


def test_modules_when_not_core_config_never_hash_a_config() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}::{scope.name}"
        for path in _modules()
        if path != HOME
        for scope in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef) and _hashes_a_config(scope)
    ]
    assert not offenders, f"{offenders} hash a config: use VersionedConfig.config_version"


def test_modules_when_not_core_config_never_read_yaml() -> None:
    readers = [
        str(path.relative_to(ROOT))
        for path in _modules()
        if path != HOME
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "yaml" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "yaml")
    ]
    assert not readers, f"{readers} read YAML: use VersionedConfig.from_yaml"
