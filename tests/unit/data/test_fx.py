"""Point-in-time FX rates: direct, inverted and USD-triangulated pairs, the latest bar known at the instant (never a
later one), late corrections of older sessions, and the error when no rate was known."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from prometheus.core.errors import DataError
from prometheus.data.fx import FxRateMissingError, FxRates
from prometheus.data.timemachine import TimeMachine
from tests.support import fx_kit as kit


def _bars(rows: list[tuple[str, date, float, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["symbol", "date", "close", "known_at"], orient="row")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


D1, D2, D3 = date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)
K1, K2, K3 = _utc(2024, 3, 4, 22, 5), _utc(2024, 3, 5, 22, 5), _utc(2024, 3, 6, 22, 5)
RATES = FxRates(
    _bars(
        [
            ("EURUSD", D1, 1.10, K1),
            ("EURUSD", D2, 1.20, K2),
            ("USDJPY", D1, 100.0, K1),
            ("USDJPY", D2, 125.0, K2),
            ("GBPUSD", D1, 1.25, K1),
            ("EURJPY", D1, 150.0, K1),
        ]
    )  # fmt: skip
)


def test_rate_when_pair_quoted_is_its_close() -> None:
    assert RATES.rate("EUR", "USD", K2) == 1.20
    assert RATES.rates("EUR", "USD", [K2])["route"].to_list() == ["direct"]


def test_rate_when_inverse_quoted_is_one_over_its_close() -> None:
    out = RATES.rates("JPY", "USD", [K1, K2])
    assert out["rate"].to_list() == pytest.approx([1 / 100.0, 1 / 125.0])
    assert out["route"].unique().to_list() == ["inverted"]


def test_rate_when_neither_quoted_triangulates_through_usd() -> None:
    # GBP -> JPY: GBPUSD (direct) x USDJPY (direct); JPY -> GBP: the inverse of both.
    assert RATES.rate("GBP", "JPY", K1) == pytest.approx(1.25 * 100.0)
    assert RATES.rate("JPY", "GBP", K1) == pytest.approx(1 / (1.25 * 100.0))
    # EUR -> GBP: EURUSD x 1/GBPUSD.
    out = RATES.rates("EUR", "GBP", [K1])
    assert out["rate"][0] == pytest.approx(1.10 / 1.25)
    assert out["route"][0] == "triangulated"


def test_rate_when_cross_quoted_prefers_the_cross_to_triangulation() -> None:
    assert RATES.rate("EUR", "JPY", K1) == 150.0
    assert RATES.rate("JPY", "EUR", K1) == pytest.approx(1 / 150.0)


def test_rate_when_triangulated_after_one_leg_moved_uses_each_legs_latest_known_bar() -> None:
    # EURJPY's direct quote is not updated on D2: the cross quote is used as it is (no triangulation mixes).
    out = RATES.rates("GBP", "JPY", [K2])
    assert out["rate"][0] == pytest.approx(1.25 * 125.0)
    assert out["fx_date"][0] == D1  # the oldest bar used
    assert out["fx_known_at"][0] == K2


def test_rate_when_asked_one_microsecond_before_a_bar_is_known_uses_the_previous_bar() -> None:
    assert RATES.rate("EUR", "USD", K2 - timedelta(microseconds=1)) == 1.10
    assert RATES.rate("EUR", "USD", K2) == 1.20


def test_rate_when_same_currency_is_exactly_one_without_bars() -> None:
    out = FxRates(_bars([])).rates("JPY", "JPY", [K1])
    assert out["rate"][0] == 1.0
    assert out["route"][0] == "identity"


def test_rates_when_instants_unordered_returns_them_in_the_order_asked() -> None:
    out = RATES.rates("USD", "JPY", [K2, K1, K2 + timedelta(days=3)])
    assert out["rate"].to_list() == [125.0, 100.0, 125.0]
    assert out["at"].to_list() == [K2, K1, K2 + timedelta(days=3)]


def test_rate_when_nothing_known_yet_names_the_pair_and_the_instant() -> None:
    early = K1 - timedelta(hours=1)
    with pytest.raises(FxRateMissingError, match=r"JPY->USD known at 2024-03-04T21:05:00\+00:00") as err:
        RATES.rates("JPY", "USD", [K2, early])
    assert "USDJPY (inverted)" in str(err.value)
    assert isinstance(err.value, DataError)


def test_rate_when_no_pair_routes_names_the_pair_and_what_is_quoted() -> None:
    with pytest.raises(FxRateMissingError, match=r"no FX rate CHF->USD.*quoted: EURJPY, EURUSD, GBPUSD, USDJPY"):
        RATES.rate("CHF", "USD", K2)
    with pytest.raises(FxRateMissingError, match=r"CHF->JPY"):
        RATES.rate("CHF", "JPY", K2)


def test_rate_when_older_session_corrected_later_keeps_the_latest_session_in_force() -> None:
    late = K3 + timedelta(hours=1)
    rates = FxRates(_bars([("EURUSD", D1, 1.10, K1), ("EURUSD", D2, 1.20, K2), ("EURUSD", D3, 1.25, K3),
                           ("EURUSD", D2, 9.99, late), ("EURUSD", D3, 1.26, late + timedelta(hours=1))]))  # fmt: skip
    # When the correction of D2 becomes known, D3's bar is already known: D3 stays the rate in force.
    assert rates.rate("EUR", "USD", late) == 1.25
    assert rates.rate("EUR", "USD", late + timedelta(hours=1)) == 1.26


def test_rate_when_latest_session_corrected_uses_the_correction_from_when_it_is_known() -> None:
    fix = K2 + timedelta(hours=3)
    rates = FxRates(_bars([("EURUSD", D1, 1.10, K1), ("EURUSD", D2, 1.20, K2), ("EURUSD", D2, 1.21, fix)]))
    assert rates.rate("EUR", "USD", fix - timedelta(seconds=1)) == 1.20
    assert rates.rate("EUR", "USD", fix) == 1.21


def test_from_timemachine_when_delivery_ingested_reads_fx_bars_known_at_the_view(tmp_path: Path) -> None:
    store = kit.fx_store(tmp_path)
    # The JP_EQ close of 2024-03-06 (06:00 UTC) precedes that day's FX close: the rate is the close of 03-05.
    jp_close = kit.CAL.close_at("JP_EQ", date(2024, 3, 6))
    assert jp_close == _utc(2024, 3, 6, 6)
    rates = FxRates.from_timemachine(TimeMachine(store, _utc(2024, 6, 1)))
    assert rates.symbols == ["EURUSD", "USDJPY"]
    out = rates.rates("JPY", "USD", [jp_close])
    assert out["rate"][0] == pytest.approx(1 / 125.0)
    assert out["fx_date"][0] == date(2024, 3, 5)
    assert out["fx_known_at"][0] == _utc(2024, 3, 5, 22, 5)
    # A view before the FX close of 03-06 has no bar of 03-06 at all.
    early = FxRates.from_timemachine(TimeMachine(store, _utc(2024, 3, 6, 22)))
    assert early.rate("EUR", "JPY", _utc(2024, 3, 7)) == pytest.approx(1.20 * 125.0)
