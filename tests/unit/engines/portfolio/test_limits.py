"""PortfolioLimits: every key required, null switches a rule off, unknown keys and impossible bands are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from prometheus.core.errors import ConfigError
from prometheus.engines.portfolio.limits import PortfolioLimits

EXAMPLE = Path(__file__).resolve().parents[4] / "docs" / "risk_limits.example.yaml"

VALUES: dict[str, Any] = {
    "max_gross": 1.0,
    "max_net": 1.0,
    "min_net": None,
    "max_weight": 0.05,
    "max_sector": 0.25,
    "beta_band": [0.8, 1.2],
    "max_turnover": 0.5,
    "long_only": True,
}


def _write(tmp_path: Path, values: dict[str, Any]) -> Path:
    path = tmp_path / "portfolio.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_load_when_example_file_section_read_validates() -> None:
    limits = PortfolioLimits.from_yaml(EXAMPLE, section="portfolio")
    assert limits.max_weight == 0.05
    assert limits.long_only is True
    assert len(limits.config_version) == 64


def test_load_when_unknown_key_raises_naming_it(tmp_path: Path) -> None:
    path = _write(tmp_path, VALUES | {"max_weigth": 0.1})
    with pytest.raises(ConfigError, match="portfolio_limits config key 'max_weigth': Extra inputs") as info:
        PortfolioLimits.from_yaml(path)
    assert info.value.setting == "max_weigth"


@pytest.mark.parametrize("key", sorted(VALUES))
def test_load_when_key_missing_raises_naming_it(tmp_path: Path, key: str) -> None:
    path = _write(tmp_path, {k: v for k, v in VALUES.items() if k != key})
    with pytest.raises(ConfigError, match=rf"'{key}': Field required"):
        PortfolioLimits.from_yaml(path)


def test_load_when_rules_null_switches_them_off() -> None:
    values = {k: None for k in VALUES} | {"long_only": False}
    limits = PortfolioLimits.from_mapping(values)
    assert (limits.max_gross, limits.beta_band, limits.max_turnover) == (None, None, None)


@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_load_when_limit_infinite_or_nan_raises(value: float) -> None:
    with pytest.raises(ConfigError, match="'max_gross': Input should be a finite number"):
        PortfolioLimits.from_mapping(VALUES | {"max_gross": value})


@pytest.mark.parametrize(
    ("change", "key", "says"),
    [
        ({"beta_band": [1.2, 0.8]}, "beta_band", "lo 1.2 exceeds hi 0.8"),
        ({"min_net": 0.5, "max_net": 0.2}, "min_net", "exceeds max_net"),
        ({"min_net": 1.5, "max_net": None}, "min_net", "exceeds max_gross"),
        ({"max_weight": 0.0}, "max_weight", "greater than 0"),
        ({"max_turnover": -0.1}, "max_turnover", "greater than 0"),
    ],
)
def test_load_when_limits_impossible_raises_naming_key(change: dict[str, Any], key: str, says: str) -> None:
    with pytest.raises(ConfigError, match=rf"'{key}': .*{says}") as info:
        PortfolioLimits.from_mapping(VALUES | change)
    assert info.value.setting == key


def test_load_when_negative_min_net_accepted_as_net_short_floor() -> None:
    limits = PortfolioLimits.from_mapping(VALUES | {"min_net": -0.3, "long_only": False})
    assert limits.min_net == -0.3
