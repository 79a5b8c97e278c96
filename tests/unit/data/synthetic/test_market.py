"""Determinism: the same config gives the same bytes of every file; another seed gives other bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from prometheus.core.errors import ConfigError
from prometheus.data.synthetic import SyntheticConfig, generate_market, write_vendor_files


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def _write(root: Path, seed: int) -> dict[str, str]:
    write_vendor_files(generate_market(SyntheticConfig(n_names=40, years=2, seed=seed)), root)
    return _digests(root)


def test_same_seed_when_generated_twice_writes_identical_bytes(tmp_path: Path) -> None:
    first, second = _write(tmp_path / "a", 7), _write(tmp_path / "b", 7)
    assert len(first) == 13  # 8 vendor files (signals.csv included) + 5 under truth/
    assert first == second


def test_other_seed_when_generated_writes_different_bytes(tmp_path: Path) -> None:
    first, other = _write(tmp_path / "a", 7), _write(tmp_path / "b", 8)
    assert first.keys() == other.keys()
    assert all(first[name] != other[name] for name in first if name != "macro_series.csv")


def test_config_when_given_unknown_key_is_rejected() -> None:
    with pytest.raises(ValidationError):
        SyntheticConfig(n_names=50, colour="blue")  # type: ignore[call-arg]


def test_config_version_when_fields_equal_is_equal_and_changes_with_seed() -> None:
    assert SyntheticConfig(seed=1).config_version == SyntheticConfig(seed=1).config_version
    assert SyntheticConfig(seed=1).config_version != SyntheticConfig(seed=2).config_version


def test_config_when_cross_field_rule_broken_in_yaml_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "market.yaml"
    path.write_text("beta_clip: [2.0, 1.0]\n")
    with pytest.raises(ConfigError, match=r"market\.yaml: synthetic_market config key 'beta_clip': beta_clip must"):
        SyntheticConfig.from_yaml(path)


def test_manifest_when_generated_records_config_version() -> None:
    cfg = SyntheticConfig(n_names=20, years=1, seed=1)
    assert generate_market(cfg).truth.manifest["config_version"] == cfg.config_version
