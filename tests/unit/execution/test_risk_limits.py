"""The risk-limits file: validation, unknown and missing keys, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from prometheus.core.errors import ConfigError
from prometheus.core.settings import load_settings
from prometheus.execution import RiskLimits, TradingState, risk_limits_from_settings

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "risk_limits.example.yaml"


def test_load_when_example_file_validates_all_fields() -> None:
    limits = RiskLimits.from_yaml(EXAMPLE)
    assert limits.max_gross_exposure == 1.5
    assert limits.breach_state is TradingState.HALTED
    assert len(limits.config_version) == 64


def test_load_when_unknown_key_raises_naming_key(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text(EXAMPLE.read_text() + "\nmax_gross_exposur: 2\n")
    with pytest.raises(ConfigError, match="max_gross_exposur"):
        RiskLimits.from_yaml(path)


def test_load_when_key_missing_raises_naming_key(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    lines = [ln for ln in EXAMPLE.read_text().splitlines() if not ln.startswith("max_net_exposure")]
    path.write_text("\n".join(lines))
    with pytest.raises(ConfigError, match="max_net_exposure"):
        RiskLimits.from_yaml(path)


def test_load_when_value_negative_raises(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text(EXAMPLE.read_text().replace("max_order_notional: 250000", "max_order_notional: -1"))
    with pytest.raises(ConfigError, match="max_order_notional"):
        RiskLimits.from_yaml(path)


def test_load_when_not_a_mapping_raises(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        RiskLimits.from_yaml(path)


def test_from_settings_when_file_configured_loads_it() -> None:
    settings = load_settings({"PROMETHEUS_RISK_LIMITS_FILE": str(EXAMPLE)})
    assert risk_limits_from_settings(settings).max_orders_per_second == 20


def test_from_settings_when_no_file_raises() -> None:
    with pytest.raises(ConfigError, match="PROMETHEUS_RISK_LIMITS_FILE"):
        risk_limits_from_settings(load_settings({}))


def test_load_when_value_has_wrong_type_names_file_kind_and_key(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text(EXAMPLE.read_text().replace("max_gross_exposure: 1.5", "max_gross_exposure: lots"))
    with pytest.raises(
        ConfigError, match=r"limits\.yaml: risk_limits config key 'max_gross_exposure': Input should"
    ) as info:
        RiskLimits.from_yaml(path)
    assert info.value.setting == "max_gross_exposure"


def test_load_when_rule_is_null_switches_it_off(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text(EXAMPLE.read_text().replace("max_order_notional: 250000", "max_order_notional: null"))
    limits = RiskLimits.from_yaml(path)
    assert limits.max_order_notional is None
    assert limits.config_version != RiskLimits.from_yaml(EXAMPLE).config_version


def test_load_when_breach_state_omitted_defaults_to_halted(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    lines = [ln for ln in EXAMPLE.read_text().splitlines() if not ln.startswith("breach_state")]
    path.write_text("\n".join(lines))
    assert RiskLimits.from_yaml(path).breach_state is TradingState.HALTED


def test_version_when_same_file_loaded_twice_is_equal() -> None:
    assert RiskLimits.from_yaml(EXAMPLE).config_version == RiskLimits.from_yaml(EXAMPLE).config_version
