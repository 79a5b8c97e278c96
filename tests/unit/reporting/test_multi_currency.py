"""The multi-currency portfolio view on a tiny FX_GLOB market and round per-market books (tests.support.fx_kit),
with the runtime store on PostgreSQL: values by hand, the FX close of D-1 for a close of D, future poisoning, the
missing-rate error, the P&L split and the currency exposure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pydantic import ValidationError

from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.fx import FxRateMissingError
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import TimeMachine
from prometheus.reporting.multi_currency import (
    CURRENCY_COLUMNS,
    MARKET_VIEW_COLUMNS,
    TOTAL_COLUMNS,
    PortfolioView,
    PortfolioViewRequest,
    build_portfolio_view,
)
from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables import cash, positions
from tests.support import fx_kit as kit
from tests.support.pg import fresh_pg_database

LATER = datetime(2024, 6, 1, tzinfo=UTC)
MARKETS = (Market.US_EQ, Market.EU_EQ, Market.JP_EQ)
D = date(2024, 3, 6)
ACCOUNT = "account-test"


@pytest.fixture(scope="module")
def runtime() -> Iterator[RuntimeStore]:
    with fresh_pg_database("prometheus_fx") as url:
        store = RuntimeStore(url)
        kit.seed_books(store)
        kit.seed_account(store, ACCOUNT)
        yield store
        store.close()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> HistoricalStore:
    root = tmp_path_factory.mktemp("fx")
    store = kit.fx_store(root)
    kit.add_jp_bars(store, root)
    return store


def _view(runtime: RuntimeStore, lake: HistoricalStore, as_of: datetime = LATER, **config: object) -> PortfolioView:
    request = PortfolioViewRequest(**({"experiment": kit.EXPERIMENT, "markets": MARKETS} | config))
    return build_portfolio_view(runtime, TimeMachine(lake, as_of), kit.CAL, request)


def _row(frame: pl.DataFrame, market: str, session: date) -> dict[str, object]:
    return frame.filter((pl.col("market") == market) & (pl.col("session") == session)).row(0, named=True)


def test_view_when_built_has_the_documented_columns(runtime: RuntimeStore, lake: HistoricalStore) -> None:
    view = _view(runtime, lake)
    assert view.markets.columns == list(MARKET_VIEW_COLUMNS)
    assert view.total.columns == list(TOTAL_COLUMNS)
    assert view.currencies.columns == list(CURRENCY_COLUMNS)
    assert view.markets.height == 12
    assert view.total["date"].to_list() == kit.SESSIONS


def test_view_when_converted_matches_hand_computed_values(runtime: RuntimeStore, lake: HistoricalStore) -> None:
    view = _view(runtime, lake)
    # EU 03-07: 1100 EUR at EURUSD of 03-06 (1.25); JP 03-05: 100,000 JPY at 1/USDJPY of 03-04 (1/100).
    eu = _row(view.markets, "EU_EQ", date(2024, 3, 7))
    assert (eu["fx_rate"], eu["fx_route"], eu["equity"]) == (1.25, "direct", pytest.approx(1375.0))
    assert eu["gross_value"] == pytest.approx(1100 * 1.2 * 1.25)
    assert eu["market_value"] == pytest.approx(1100 * 1.0 * 1.25)
    assert (eu["gross_exposure"], eu["net_exposure"]) == (pytest.approx(1.2), pytest.approx(1.0))
    jp = _row(view.markets, "JP_EQ", date(2024, 3, 5))
    assert (jp["fx_rate"], jp["fx_route"]) == (pytest.approx(0.01), "inverted")
    assert (jp["equity"], jp["cash"]) == (pytest.approx(1000.0), pytest.approx(100.0))
    us = _row(view.markets, "US_EQ", date(2024, 3, 8))
    assert (us["fx_rate"], us["fx_route"], us["equity"]) == (1.0, "identity", 1030.0)
    # Totals per date: US + EU + JP in USD.
    assert view.total["equity"].to_list() == pytest.approx([3100.0, 3090.0, 3275.0, 3660.0])
    first = view.total.row(0, named=True)
    assert first["gross_value"] == pytest.approx(1000.0 + 1320.0 + 900.0)
    assert first["market_value"] == pytest.approx(900.0 + 1100.0 + 500.0)
    assert first["gross_exposure"] == pytest.approx(3220.0 / 3100.0)


def test_view_when_jp_closes_on_d_uses_the_fx_close_of_d_minus_one(
    runtime: RuntimeStore, lake: HistoricalStore
) -> None:
    view = _view(runtime, lake)
    jp = _row(view.markets, "JP_EQ", D)
    # The JP close of D (06:00 UTC) precedes D's FX close (22:05 UTC with the delay): USDJPY of D-1 = 125, not 125's
    # successor of D; on 03-08 the rate is that of 03-07 (USDJPY 100), not of 03-08 (80).
    assert jp["valuation_time"] == datetime(2024, 3, 6, 6, tzinfo=UTC)
    assert jp["fx_date"] == date(2024, 3, 5)
    assert jp["fx_known_at"] == datetime(2024, 3, 5, 22, 5, tzinfo=UTC)
    last = _row(view.markets, "JP_EQ", date(2024, 3, 8))
    assert (last["fx_date"], last["fx_rate"]) == (date(2024, 3, 7), pytest.approx(0.01))
    assert (view.markets["fx_known_at"] <= view.markets["valuation_time"]).all()


def test_view_when_base_is_jpy_triangulates_eur_and_inverts_usd(runtime: RuntimeStore, lake: HistoricalStore) -> None:
    view = _view(runtime, lake, base="jpy")
    assert view.base == "JPY"
    eu = _row(view.markets, "EU_EQ", D)
    # EUR -> JPY through USD with the FX closes of 03-05: EURUSD 1.20 x USDJPY 125.
    assert (eu["fx_route"], eu["fx_rate"]) == ("triangulated", pytest.approx(150.0))
    assert eu["equity"] == pytest.approx(1000 * 150.0)
    us = _row(view.markets, "US_EQ", D)
    assert (us["fx_route"], us["fx_rate"]) == ("direct", 125.0)
    jp = _row(view.markets, "JP_EQ", D)
    assert (jp["fx_route"], jp["equity"]) == ("identity", 110_000.0)


def test_pnl_when_split_sums_to_total_and_matches_hand_values(runtime: RuntimeStore, lake: HistoricalStore) -> None:
    view = _view(runtime, lake)
    m = view.markets.filter(pl.col("pnl").is_not_null())
    assert m.height == 9
    assert (m["local_pnl"] + m["fx_pnl"]).to_list() == pytest.approx(m["pnl"].to_list())
    # JP on D: 100,000 -> 110,000 JPY while JPY->USD fell from 0.01 to 0.008.
    jp = _row(view.markets, "JP_EQ", D)
    assert (jp["pnl_local_ccy"], jp["local_pnl"], jp["fx_pnl"], jp["pnl"]) == pytest.approx((10_000, 80, -200, -120))
    eu = _row(view.markets, "EU_EQ", date(2024, 3, 7))
    assert (eu["local_pnl"], eu["fx_pnl"]) == pytest.approx((125.0, 50.0))
    total = view.total
    assert (total["local_pnl"] + total["fx_pnl"]).to_list() == pytest.approx(total["pnl"].to_list())
    assert total["pnl"].to_list()[1:] == pytest.approx(total["equity"].diff().to_list()[1:])
    assert total.row(1, named=True)["fx_pnl"] == pytest.approx(100.0 - 200.0)


def test_currency_exposure_when_summed_equals_the_gross_and_the_nav(
    runtime: RuntimeStore, lake: HistoricalStore
) -> None:
    view = _view(runtime, lake)
    by_date = view.currencies.group_by("date").agg(
        pl.col("gross_value").sum(), pl.col("equity").sum(), pl.col("gross_weight").sum(), pl.col("equity_weight").sum()
    )
    joined = by_date.join(view.total, on="date", suffix="_total").sort("date")
    assert joined["gross_value"].to_list() == pytest.approx(joined["gross_value_total"].to_list())
    assert joined["equity"].to_list() == pytest.approx(joined["equity_total"].to_list())
    assert joined["gross_weight"].to_list() == pytest.approx([1.0] * 4)
    assert joined["equity_weight"].to_list() == pytest.approx([1.0] * 4)
    first = view.currencies.filter(pl.col("date") == kit.SESSIONS[0])
    assert dict(zip(first["currency"], first["gross_weight"], strict=True)) == pytest.approx(
        {"EUR": 1320 / 3220, "JPY": 900 / 3220, "USD": 1000 / 3220}
    )


def _upto(view: PortfolioView, day: date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return (
        view.markets.filter(pl.col("session") <= day),
        view.total.filter(pl.col("date") <= day),
        view.currencies.filter(pl.col("date") <= day),
    )


def test_view_when_fx_known_after_valuations_poisoned_is_unchanged_up_to_d(
    runtime: RuntimeStore, lake: HistoricalStore, tmp_path: Path
) -> None:
    # Every FX bar known after the last valuation of D (US close 21:00 UTC) changes: the bars of D and later, and
    # a late correction of D-1's bars (dated before D, known after it).
    poisoned_fx = {s: [c if d < D else c * 1.5 for d, c in zip(kit.FX_SESSIONS, v, strict=True)]
                   for s, v in kit.FX.items()}  # fmt: skip
    late_fix = kit.fx_prices({"EURUSD": [1.23], "USDJPY": [130.0]}, [date(2024, 3, 5)])
    poisoned = kit.fx_store(tmp_path, poisoned_fx, [(datetime(2024, 3, 6, 21, 30, tzinfo=UTC), late_fix)])
    kit.add_jp_bars(poisoned, tmp_path)
    clean, dirty = _view(runtime, lake), _view(runtime, poisoned)
    for a, b in zip(_upto(clean, D), _upto(dirty, D), strict=True):
        assert_frame_equal(a, b)
    # The poisoning did reach the view after D (so the comparison above could fail).
    assert (
        _row(dirty.markets, "EU_EQ", date(2024, 3, 7))["fx_rate"]
        != _row(clean.markets, "EU_EQ", date(2024, 3, 7))["fx_rate"]
    )


def test_view_when_fx_known_before_a_valuation_changes_that_valuation_changes(
    runtime: RuntimeStore, lake: HistoricalStore, tmp_path: Path
) -> None:
    # A correction of EURUSD of 03-05 known at 10:00 UTC on D: after D's JP close, before D's EU close.
    fix = kit.fx_prices({"EURUSD": [1.21], "USDJPY": [126.0]}, [date(2024, 3, 5)])
    revised = kit.fx_store(tmp_path, kit.FX, [(datetime(2024, 3, 6, 10, tzinfo=UTC), fix)])
    kit.add_jp_bars(revised, tmp_path)
    clean, changed = _view(runtime, revised), _view(runtime, lake)
    eu = _row(clean.markets, "EU_EQ", D)
    assert (eu["fx_rate"], eu["equity"]) == (1.21, pytest.approx(1210.0))
    assert _row(changed.markets, "EU_EQ", D)["fx_rate"] == 1.20
    # The JP close of D came before the correction was known: it still converts at USDJPY 125.
    assert _row(clean.markets, "JP_EQ", D)["fx_rate"] == pytest.approx(1 / 125.0)
    assert (
        clean.total.filter(pl.col("date") == D)["equity"][0] != changed.total.filter(pl.col("date") == D)["equity"][0]
    )


def test_view_when_no_rate_known_at_a_close_names_the_pair_and_the_instant(
    runtime: RuntimeStore, tmp_path: Path
) -> None:
    # FX bars only from 03-05 (known 22:05 UTC): nothing is known at the JP close of 03-05 (06:00 UTC).
    late_start = kit.fx_store(tmp_path, {s: v[1:] for s, v in kit.FX.items()}, sessions=kit.FX_SESSIONS[1:])
    with pytest.raises(FxRateMissingError, match=r"JPY->USD known at 2024-03-05T06:00:00\+00:00 \(pair USDJPY"):
        _view(runtime, late_start)
    # Never a silent 1.0 nor a later rate: from 03-06 on every rate is known.
    view = _view(runtime, late_start, start=date(2024, 3, 7))
    assert _row(view.markets, "JP_EQ", date(2024, 3, 7))["fx_rate"] == pytest.approx(1 / 125.0)


def test_view_when_start_given_keeps_the_pnl_of_its_first_session(runtime: RuntimeStore, lake: HistoricalStore) -> None:
    view = _view(runtime, lake, start=date(2024, 3, 7), end=date(2024, 3, 7))
    assert view.markets["session"].unique().to_list() == [date(2024, 3, 7)]
    assert _row(view.markets, "EU_EQ", date(2024, 3, 7))["pnl"] == pytest.approx(175.0)
    assert view.total["pnl"].to_list() == pytest.approx([175.0 + 0.0 + 10.0])


def test_view_when_as_of_before_a_close_leaves_that_session_out(runtime: RuntimeStore, lake: HistoricalStore) -> None:
    # At 12:00 UTC on D the JP session of D is closed (06:00) but EU (16:30) and US (21:00) are not.
    view = _view(runtime, lake, as_of=datetime(2024, 3, 6, 12, tzinfo=UTC))
    last = view.markets.group_by("market").agg(pl.col("session").max()).sort("market")
    assert dict(last.iter_rows()) == {"EU_EQ": date(2024, 3, 5), "JP_EQ": D, "US_EQ": date(2024, 3, 5)}
    # On D the total carries EU and US at their 03-05 values.
    assert view.total.filter(pl.col("date") == D)["equity"][0] == pytest.approx(1100.0 + 880.0 + 1000.0)


def test_view_when_account_has_positions_marks_them_at_the_close(runtime: RuntimeStore, lake: HistoricalStore) -> None:
    view = _view(runtime, lake, experiment=ACCOUNT, markets=(Market.JP_EQ,))
    jp = _row(view.markets, "JP_EQ", date(2024, 3, 7))
    # 200 shares x 2050 JPY - 5,000 JPY cash, at USDJPY of 03-06 (125).
    assert jp["equity_local"] == pytest.approx(200 * 2050.0 - 5000.0)
    assert jp["market_value"] == pytest.approx(200 * 2050.0 / 125.0)
    assert jp["cash"] == pytest.approx(-5000.0 / 125.0)


def test_request_when_unknown_key_or_bad_currency_is_rejected() -> None:
    with pytest.raises(ValidationError):
        PortfolioViewRequest(experiment="x", markets=(Market.US_EQ,), bse="USD")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="ISO 4217"):
        PortfolioViewRequest(experiment="x", markets=(Market.US_EQ,), base="US")


def test_view_when_a_position_has_no_close_names_the_instrument(runtime: RuntimeStore, lake: HistoricalStore) -> None:
    ids = {"market": "JP_EQ", "experiment": "no-close", "config_version": "v1", "session": kit.SESSIONS[0],
           "as_of": kit.CAL.close_at("JP_EQ", kit.SESSIONS[0])}  # fmt: skip
    runtime.upsert(cash, [ids | {"currency": "JPY", "balance": 1000.0, "equity": None}])
    runtime.upsert(positions, [ids | {"instrument": "9999", "quantity": 10.0, "cost_basis": 100.0}])
    with pytest.raises(DataError, match=r"JP_EQ: no close known .* for 9999 on or before 2024-03-05"):
        _view(runtime, lake, experiment="no-close", markets=(Market.JP_EQ,))
