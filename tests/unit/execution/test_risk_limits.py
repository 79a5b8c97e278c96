"""The risk-limits file: validation, unknown and missing keys, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from prometheus.core.errors import ConfigError
from prometheus.core.settings import load_settings
from prometheus.execution import RiskLimits, TradingState, risk_limits_from_settings, risk_limits_problems

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


@pytest.mark.parametrize("state", [TradingState.HALTED, TradingState.REDUCING])
def test_load_when_breach_state_halts_or_reduces_accepts(tmp_path: Path, state: TradingState) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text(EXAMPLE.read_text().replace("breach_state: HALTED", f"breach_state: {state.value}"))
    assert RiskLimits.from_yaml(path).breach_state is state


def test_load_when_breach_state_active_raises_because_trips_would_do_nothing(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text(EXAMPLE.read_text().replace("breach_state: HALTED", "breach_state: ACTIVE"))
    with pytest.raises(ConfigError, match="'breach_state': ACTIVE would leave trading on") as info:
        RiskLimits.from_yaml(path)
    assert info.value.setting == "breach_state"


@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf", ".Inf"])
@pytest.mark.parametrize("key", ["max_order_notional", "max_gross_exposure", "max_quote_age_seconds", "max_drawdown"])
def test_load_when_limit_is_infinite_or_nan_raises_naming_key(tmp_path: Path, key: str, value: str) -> None:
    path = tmp_path / "limits.yaml"
    lines = [f"{key}: {value}" if ln.startswith(f"{key}:") else ln for ln in EXAMPLE.read_text().splitlines()]
    path.write_text("\n".join(lines))
    with pytest.raises(ConfigError, match=rf"'{key}': Input should be"):
        RiskLimits.from_yaml(path)


def test_load_when_key_written_twice_raises_naming_key_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text(EXAMPLE.read_text() + "max_drawdown: 0.9\n")
    with pytest.raises(ConfigError, match="key 'max_drawdown' is written twice, on lines 13 and 25"):
        RiskLimits.from_yaml(path)


def test_problems_when_file_valid_is_empty() -> None:
    assert risk_limits_problems(load_settings({"PROMETHEUS_RISK_LIMITS_FILE": str(EXAMPLE)})) == []


@pytest.mark.parametrize(("mode", "count"), [("BACKTEST", 0), ("PAPER", 1)])
def test_problems_when_no_file_configured_counts_only_for_trading_modes(mode: str, count: int) -> None:
    assert len(risk_limits_problems(load_settings({"PROMETHEUS_MODE": mode}))) == count


def test_problems_when_several_limits_bad_lists_each(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    text = EXAMPLE.read_text().replace("max_daily_loss: 0.05", "max_daily_loss: .inf")
    path.write_text(text.replace("breach_state: HALTED", "breach_state: ACTIVE"))

    problems = risk_limits_problems(load_settings({"PROMETHEUS_RISK_LIMITS_FILE": str(path)}))

    assert [p.setting for p in problems] == ["max_daily_loss", "breach_state"]


def test_load_when_portfolio_section_has_unknown_key_raises_naming_its_dotted_path(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text(EXAMPLE.read_text().replace("  max_weight: 0.05", "  max_weigth: 0.05"))
    problems = RiskLimits.yaml_problems(path)
    assert [p.setting for p in problems] == ["portfolio.max_weight", "portfolio.max_weigth"]  # missing, unknown


def test_load_when_portfolio_section_missing_raises_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text(EXAMPLE.read_text().split("\nportfolio:")[0])
    with pytest.raises(ConfigError, match="'portfolio': Field required"):
        RiskLimits.from_yaml(path)


def test_load_when_example_file_read_carries_the_optimisers_limits() -> None:
    portfolio = RiskLimits.from_yaml(EXAMPLE).portfolio
    assert portfolio.max_weight == 0.05
    assert portfolio.max_weight <= RiskLimits.from_yaml(EXAMPLE).max_position_pct_equity  # the gate passes targets
