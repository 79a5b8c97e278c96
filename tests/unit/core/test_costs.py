"""IBKR commissions and regulatory fees against hand-computed values (to the cent), spread and impact."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from prometheus.core.costs import CommissionSchedule, CostConfig, CostModel
from prometheus.core.errors import ConfigError

FIXED = CostModel(CostConfig(schedule=CommissionSchedule.FIXED))
TIERED = CostModel(CostConfig(schedule=CommissionSchedule.TIERED))


def _total(model: CostModel, shares: float, price: float, sale: bool, mtd: float = 0.0) -> float:
    s, p = np.array([shares]), np.array([price])
    return float(model.commission(s, p, mtd)[0] + model.regulatory_fees(s, p, np.array([sale]))[0])


@pytest.mark.parametrize(
    ("shares", "price", "sale", "expected"),
    [
        # small, minimum hit: 100 x 0.005 = 0.50 -> min 1.00
        (100, 50.0, False, 1.00),
        # small sale: 1.00 + SEC 5,000 x 0.0000278 = 0.139 + TAF 100 x 0.000166 = 0.0166 -> 1.1556
        (100, 50.0, True, 1.1556),
        # large sale: 20,000 x 0.005 = 100.00 + SEC 2,000,000 x 0.0000278 = 55.60 + TAF 3.32 -> 158.92
        (20_000, 100.0, True, 158.92),
        # 1 % cap beats the minimum: 10 x 5 = 50 value -> 0.50
        (10, 5.0, False, 0.50),
    ],
)
def test_fixed_when_hand_computed_matches_to_the_cent(shares, price, sale, expected) -> None:
    assert _total(FIXED, shares, price, sale) == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize(
    ("shares", "price", "sale", "mtd", "expected"),
    [
        # small, minimum hit: 100 x 0.0035 = 0.35 (= min 0.35) + clearing 100 x 0.0002 = 0.02 -> 0.37
        (100, 50.0, False, 0, 0.37),
        # min hit: 50 x 0.0035 = 0.175 -> 0.35 + clearing 0.01 -> 0.36
        (50, 50.0, False, 0, 0.36),
        # large sale in band 2 (month-to-date 1,000,000): 20,000 x 0.002 = 40.00 + clearing 4.00
        # + SEC 55.60 + TAF 3.32 -> 102.92
        (20_000, 100.0, True, 1_000_000, 102.92),
        # large sale, TAF capped: 60,000 x 0.0035 = 210 + 12 clearing + SEC 16.68 + TAF min(9.96, 8.30) -> 246.98
        (60_000, 10.0, True, 0, 246.98),
        # 1 % cap: 1,000 x 0.0035 = 3.50 > 1 % of 1,000 x 0.2 = 2.00 -> 2.00 + clearing 0.20 -> 2.20
        (1_000, 0.2, False, 0, 2.20),
        # top band: 200M this month -> 10,000 x 0.0005 = 5.00 + 2.00 clearing -> 7.00
        (10_000, 20.0, False, 200_000_000, 7.00),
    ],
)
def test_tiered_when_hand_computed_matches_to_the_cent(shares, price, sale, mtd, expected) -> None:
    assert _total(TIERED, shares, price, sale, mtd) == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize(
    ("mtd", "rate"), [(0, 0.0035), (299_999, 0.0035), (300_000, 0.0020), (3_000_000, 0.0015), (1e9, 0.0005)]
)
def test_tier_rate_when_month_volume_crosses_band_uses_next_rate(mtd: float, rate: float) -> None:
    assert TIERED.tier_rate(np.array([mtd]))[0] == rate


def test_commission_when_zero_shares_is_zero() -> None:
    assert FIXED.commission(np.array([0.0]), np.array([10.0]))[0] == 0.0


def test_impact_when_hand_computed_is_y_sigma_sqrt_participation() -> None:
    model = CostModel(CostConfig(impact_coefficient=0.5))
    got = model.impact_fraction(np.array([10_000.0]), np.array([1_000_000.0]), np.array([0.02]))[0]
    assert got == pytest.approx(0.5 * 0.02 * 0.1)


def test_expected_cost_when_buying_sums_spread_impact_commission() -> None:
    model = CostModel(CostConfig(half_spread_bps=10.0, impact_coefficient=0.5))
    got = model.expected_cost(np.array([10_000.0]), np.array([10.0]), np.array([1e6]), np.array([0.02]))[0]
    # spread 100,000 x 0.001 = 100; impact 100,000 x 0.001 = 100; commission 35 + clearing 2
    assert got == pytest.approx(237.0)


def test_borrow_fee_when_one_day_is_rate_over_360() -> None:
    assert CostModel(CostConfig(borrow_rate_annual=0.036)).borrow_fee(-10_000.0, 1)[()] == pytest.approx(1.0)


@pytest.mark.parametrize("tiers", [[[300_000, 0.0035], [100, 0.002], [math.inf, 0.001]], [[300_000, 0.0035]], []])
def test_config_when_tiers_not_ascending_to_infinity_raises_naming_tiers(tiers: list[list[object]]) -> None:
    with pytest.raises(ConfigError, match=r"costs config key 'tiers': .*ascend") as info:
        CostConfig.from_mapping({"tiers": tiers})
    assert info.value.setting == "tiers"


def test_config_when_tiers_written_in_yaml_accepts_dot_inf(tmp_path: Path) -> None:
    path = tmp_path / "costs.yaml"
    path.write_text("tiers:\n  - [1000, 0.004]\n  - [.inf, 0.001]\n")
    assert CostConfig.from_yaml(path).tiers == ((1000.0, 0.004), (math.inf, 0.001))
