"""SimulatorConfig: a VersionedConfig whose version and errors cover its nested cost config."""

from __future__ import annotations

from pathlib import Path

import pytest

from prometheus.core.costs import CostConfig
from prometheus.core.errors import ConfigError
from prometheus.execution import SimulatorConfig


def test_config_version_when_a_nested_cost_changes_changes() -> None:
    base = SimulatorConfig()
    assert SimulatorConfig(costs=CostConfig(half_spread_bps=6.0)).config_version != base.config_version
    assert SimulatorConfig(costs=None).config_version != base.config_version


def test_from_yaml_when_costs_null_turns_costs_off(tmp_path: Path) -> None:
    path = tmp_path / "sim.yaml"
    path.write_text("fill_price: CLOSE\ncosts: null\n")
    assert SimulatorConfig.from_yaml(path) == SimulatorConfig(fill_price="CLOSE", costs=None)


def test_from_yaml_when_nested_cost_key_bad_names_dotted_path(tmp_path: Path) -> None:
    path = tmp_path / "sim.yaml"
    path.write_text("costs:\n  half_spread_bps: -1\n")
    with pytest.raises(ConfigError, match=r"sim\.yaml: simulator config key 'costs\.half_spread_bps': Input") as info:
        SimulatorConfig.from_yaml(path)
    assert info.value.setting == "costs.half_spread_bps"


def test_from_yaml_when_nested_tiers_bad_names_dotted_path(tmp_path: Path) -> None:
    path = tmp_path / "sim.yaml"
    path.write_text("costs:\n  tiers: [[100, 0.01]]\n")
    with pytest.raises(ConfigError, match=r"simulator config key 'costs\.tiers': .*ascend"):
        SimulatorConfig.from_yaml(path)
