"""The risk-limits file: validation, unknown and missing keys, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from prometheus.core.errors import ConfigError
from prometheus.core.settings import load_settings
from prometheus.execution import TradingState, load_risk_limits, risk_limits_from_settings

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "risk_limits.example.yaml"


def test_load_when_example_file_validates_all_fields() -> None:
    limits = load_risk_limits(EXAMPLE)
    assert limits.max_gross_exposure == 1.5
    assert limits.breach_state is TradingState.HALTED
    assert len(limits.limits_id) == 64


def test_load_when_unknown_key_raises_naming_key(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text(EXAMPLE.read_text() + "\nmax_gross_exposur: 2\n")
    with pytest.raises(ConfigError, match="max_gross_exposur"):
        load_risk_limits(path)


def test_load_when_key_missing_raises_naming_key(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    lines = [ln for ln in EXAMPLE.read_text().splitlines() if not ln.startswith("max_net_exposure")]
    path.write_text("\n".join(lines))
    with pytest.raises(ConfigError, match="max_net_exposure"):
        load_risk_limits(path)


def test_load_when_value_negative_raises(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text(EXAMPLE.read_text().replace("max_order_notional: 250000", "max_order_notional: -1"))
    with pytest.raises(ConfigError, match="max_order_notional"):
        load_risk_limits(path)


def test_load_when_not_a_mapping_raises(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_risk_limits(path)


def test_from_settings_when_file_configured_loads_it() -> None:
    settings = load_settings({"PROMETHEUS_RISK_LIMITS_FILE": str(EXAMPLE)})
    assert risk_limits_from_settings(settings).max_orders_per_second == 20


def test_from_settings_when_no_file_raises() -> None:
    with pytest.raises(ConfigError, match="PROMETHEUS_RISK_LIMITS_FILE"):
        risk_limits_from_settings(load_settings({}))
