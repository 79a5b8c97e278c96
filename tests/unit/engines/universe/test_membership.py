"""Universe maths on hand-computable cross-sections: screens, their order, ranks and the hysteresis step."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from prometheus.core.errors import ConfigError
from prometheus.engines.universe import UNRANKED, UniverseConfig, UniverseReason, screen, step

DAY = date(2024, 3, 4)
NAT = np.datetime64("NaT", "D")
#: Two-name-wide bands so every transition shows on five names; windows of four sessions.
CFG = UniverseConfig(price_floor=5.0, volume_window=4, volume_floor=100.0, history_window=4, min_history=3,
                     qc_window=2, enter_rank=2, leave_rank=3, warmup_sessions=0)  # fmt: skip


def _screen(dv: list[float], *, close: float = 10.0, bars: int = 4, delisted=NAT, quarantined: bool = False):
    """One name: dollar volume ``dv`` on each of its last ``bars`` sessions (NaN before)."""
    col = np.full(4, np.nan)
    col[4 - bars :] = dv[-bars:]
    prices = np.where(np.isfinite(col), close, np.nan)
    return screen(DAY, np.array(["A"]), col[:, None], prices[:, None], np.array([delisted], dtype="datetime64[D]"),
                  np.array([quarantined]), CFG)  # fmt: skip


def _cross_section(mdv: dict[str, float]):
    symbols = np.array(sorted(mdv))
    dv = np.tile(np.array([mdv[s] for s in symbols]), (4, 1))
    return screen(DAY, symbols, dv, np.full_like(dv, 10.0), np.full(len(symbols), NAT), np.zeros(len(symbols), bool),
                  CFG)  # fmt: skip


def test_screen_when_every_screen_passes_ranks_by_median_dollar_volume() -> None:
    s = _cross_section({"A": 300.0, "B": 900.0, "C": 500.0, "D": 500.0})
    assert s.failed == (None, None, None, None)
    assert s.rank.tolist() == [4, 1, 2, 3]  # C and D tie: the symbol breaks it


def test_median_when_a_bar_is_missing_counts_it_as_zero_volume() -> None:
    s = _screen([400.0, 400.0, 50.0, 50.0], bars=4)
    assert s.median_dollar_volume[0] == pytest.approx(225.0)
    gap = screen(DAY, np.array(["A"]), np.array([[400.0], [np.nan], [np.nan], [400.0]]), np.full((4, 1), 10.0),
                 np.array([NAT]), np.array([False]), CFG.model_copy(update={"min_history": 1}))  # fmt: skip
    assert gap.median_dollar_volume[0] == pytest.approx(200.0)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"delisted": np.datetime64(DAY, "D")}, UniverseReason.DELISTED),  # its last session: never a member on it
        ({"quarantined": True}, UniverseReason.QC),
        ({"bars": 2}, UniverseReason.HISTORY),
        ({"close": 4.99}, UniverseReason.PRICE),
        ({"dv": [99.0] * 4}, UniverseReason.VOLUME),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_screen_when_one_screen_fails_names_it_and_leaves_the_name_unranked(kwargs, reason) -> None:
    s = _screen(**({"dv": [200.0] * 4} | kwargs))
    assert s.failed == (reason,)
    assert s.rank.tolist() == [UNRANKED]


def test_screen_when_several_fail_names_the_first_in_order() -> None:
    s = _screen([1.0] * 4, close=1.0, quarantined=True)
    assert s.failed == (UniverseReason.QC,)


def test_screen_when_delisting_is_later_keeps_the_name() -> None:
    s = _screen([200.0] * 4, delisted=np.datetime64(date(2024, 3, 5), "D"))
    assert s.failed == (None,)


def _walk(days: list[dict[str, float]]) -> list[dict[str, tuple[int, UniverseReason]]]:
    members, out = frozenset[str](), []
    for mdv in days:
        members, rows = step(members, _cross_section(mdv), CFG)
        out.append({r.instrument: (r.rank, r.reason) for r in rows})
    return out


def test_step_when_ranks_cross_the_band_enters_at_two_and_leaves_above_three() -> None:
    E, S, R = UniverseReason.ENTERED, UniverseReason.STAYED, UniverseReason.RANK
    days = [
        {"A": 900, "B": 800, "C": 700, "D": 600},  # A, B enter (ranks 1, 2)
        {"A": 900, "B": 650, "C": 700, "D": 600},  # B falls to 3: in the band, stays; C (2) enters
        {"A": 900, "B": 500, "C": 700, "D": 600},  # B falls to 4 > 3: leaves on rank; D (3) does not enter
        {"A": 900, "B": 800, "C": 700, "D": 600},  # B back to 2: enters again
    ]
    got = _walk(days)
    assert got[0] == {"A": (1, E), "B": (2, E)}
    assert got[1] == {"A": (1, S), "B": (3, S), "C": (2, E)}
    assert got[2] == {"A": (1, S), "C": (2, S), "B": (4, R)}
    assert got[3] == {"A": (1, S), "B": (2, E), "C": (3, S)}


def test_step_when_a_member_is_no_longer_listed_exits_as_delisted() -> None:
    got = _walk([{"A": 900, "B": 800}, {"A": 900}])
    assert got[1] == {"A": (1, UniverseReason.STAYED), "B": (UNRANKED, UniverseReason.DELISTED)}


def test_config_when_bands_or_history_inconsistent_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="enter_rank"):
        UniverseConfig(enter_rank=600, leave_rank=550)
    with pytest.raises(ConfigError, match="min_history"):
        UniverseConfig(min_history=300, history_window=200)
    assert UniverseConfig().lookback_sessions == 252 + 189
