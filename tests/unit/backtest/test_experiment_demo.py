"""The demo's backtest period: the market's last years, never closer to its start than the warm-up."""

from __future__ import annotations

from datetime import date

import pytest

from prometheus.backtest.experiment import demo_period
from prometheus.core.errors import ConfigError


def test_demo_period_when_market_is_long_backtests_its_last_years() -> None:
    assert demo_period(date(2015, 1, 2), date(2024, 12, 31)) == (date(2022, 1, 1), date(2024, 12, 31))


def test_demo_period_when_market_is_short_keeps_the_warm_up() -> None:
    # three years of market, two of warm-up: one year is left to backtest
    assert demo_period(date(2022, 1, 3), date(2024, 12, 31)) == (date(2024, 1, 3), date(2024, 12, 31))


def test_demo_period_when_warm_up_covers_the_market_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="leave no session"):
        demo_period(date(2023, 1, 3), date(2024, 12, 31), min_warmup_years=2)
    with pytest.raises(ConfigError):
        demo_period(date(2015, 1, 2), date(2024, 12, 31), backtest_years=0)


def test_demo_period_when_start_is_29_february_shifts_to_the_28th() -> None:
    assert demo_period(date(2016, 2, 29), date(2030, 1, 1), backtest_years=20)[0] == date(2018, 2, 28)
