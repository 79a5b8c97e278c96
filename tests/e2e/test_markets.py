"""EU_EQ, JP_EQ and FX_GLOB end to end through the command line: ``ingest synthetic --market M`` then
``backtest --market M`` (regime, stability, fragility, assessment, universe, portfolio, scenarios, simulated
execution) on a small synthetic market of each; every fact is checked against that market's calendar.

One data root holds the three markets, built once per module (30 names x 3 years, one month of backtest, about
30 s each); the multi-currency view then puts their books together in USD with the FX_GLOB market's rates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables import backtest_daily, cash, fills, positions, target_portfolios
from prometheus_cli import app

MARKETS = [Market.EU_EQ, Market.JP_EQ, Market.FX_GLOB]
CURRENCY = {Market.EU_EQ: "EUR", Market.JP_EQ: "JPY", Market.FX_GLOB: "USD"}
#: 3 years: the regime model of 2016 trains on 2014-2015 (it needs 400 sessions); 30 names: the assessment needs
#: 20 labelled names per session and equities list late or delist.
NAMES, YEARS, SEED = 30, 3, 5
START, END = date(2016, 11, 1), date(2016, 11, 30)
BAR_DELAY = timedelta(minutes=5)  # the settings' default bar_delay_seconds


@dataclass(frozen=True)
class Chain:
    """A market ingested and backtested in its own data root."""

    market: Market
    root: Path
    ingest_output: str
    backtest_output: str

    def lake(self) -> HistoricalStore:
        return HistoricalStore(self.root / "lake")

    def runtime(self, table: sa.Table) -> pl.DataFrame:
        store = RuntimeStore(f"sqlite:///{self.root / 'runtime.sqlite'}")
        query = sa.select(table).where(table.c.experiment == "bt", table.c.market == self.market.value)
        with store.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        return pl.DataFrame(rows, infer_schema_length=None)


def _invoke(root: Path, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"PROMETHEUS_DATA_ROOT": str(root)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def chains(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Market], Chain]:
    """Every market in one data root, as a deployment trading them together holds them (the multi-currency view
    reads the FX_GLOB bars beside the equity markets' books)."""
    cache: dict[Market, Chain] = {}
    root = tmp_path_factory.mktemp("chains")

    def get(market: Market) -> Chain:
        if market not in cache:
            ingested = _invoke(root, "ingest", "synthetic", "--market", market.value, "--names", str(NAMES),
                               "--years", str(YEARS), "--seed", str(SEED))  # fmt: skip
            tested = _invoke(root, "backtest", "--market", market.value, "--start", START.isoformat(), "--end",
                             END.isoformat(), "--experiment", "bt")  # fmt: skip
            cache[market] = Chain(market, root, ingested, tested)
        return cache[market]

    return get


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.value)
def test_ingest_when_synthetic_uses_the_markets_sessions_closes_and_currency(chains, market: Market) -> None:
    chain = chains(market)
    assert f"vendor/{market.value.lower()}" in chain.ingest_output
    cal = get_calendar()
    lake = chain.lake()
    bars = lake.read(Table.PRICES_DAILY, market=market.value)
    sessions = cal.sessions(market, date(2014, 1, 2), date(2016, 12, 31))  # the generator's default start
    assert sorted(bars["date"].unique()) == sessions
    # known_at: the market's close of the session, in UTC, plus the bar delay.
    stamps = bars.select("date", "known_at").unique(subset="date").sort("date")
    assert all(k == cal.close_at(market, d) + BAR_DELAY for d, k in stamps.iter_rows())
    instruments = lake.read(Table.INSTRUMENTS, market=market.value)
    if market is Market.FX_GLOB:
        assert all(c == s[3:] for s, c in instruments.select("symbol", "currency").iter_rows())
        assert lake.read(Table.CORPORATE_ACTIONS, market=market.value).is_empty()
    else:
        assert set(instruments["currency"]) == {CURRENCY[market]}
    row = lake.read(Table.MARKETS, market=market.value).row(0, named=True)
    assert row["currency"] == CURRENCY[market]
    assert row["tz"] == str(cal.tz(market))


def test_sessions_when_markets_differ_have_their_own_holidays(chains) -> None:
    """Xetra trades on US Thanksgiving and closes on Christmas Eve; Tokyo closes on Culture Day (3 Nov) and
    Labour Thanksgiving (23 Nov); FX trades every weekday."""
    days = {m: set(chains(m).runtime(backtest_daily)["session"]) for m in MARKETS}
    assert date(2016, 11, 24) in days[Market.EU_EQ]
    assert date(2016, 11, 3) not in days[Market.JP_EQ]
    assert date(2016, 11, 23) not in days[Market.JP_EQ]
    assert date(2016, 11, 3) in days[Market.EU_EQ]
    weekdays = {date(2016, 11, d) for d in range(1, 31) if date(2016, 11, d).weekday() < 5}
    assert days[Market.FX_GLOB] == weekdays


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.value)
def test_backtest_when_run_fills_only_on_the_markets_sessions(chains, market: Market) -> None:
    chain = chains(market)
    assert "stage 7/7 outcomes" in chain.backtest_output
    sessions = get_calendar().sessions(market, START, END)
    daily = chain.runtime(backtest_daily).sort("session")
    assert daily["session"].to_list() == sessions
    assert daily["equity"].is_finite().all()
    done = chain.runtime(fills)
    assert done.height > 0
    assert set(done["session"]) <= set(sessions)
    symbols = set(chain.lake().read(Table.INSTRUMENTS, market=market.value)["symbol"])
    assert set(done["instrument"]) <= symbols
    # Every fill is inside its session's traded range (give or take half a spread and the impact).
    bars = chain.lake().read(Table.PRICES_DAILY, market=market.value).select("date", "symbol", "low", "high")
    joined = done.join(bars, left_on=["session", "instrument"], right_on=["date", "symbol"], how="left")
    assert joined["low"].is_not_null().all()
    assert ((joined["price"] >= joined["low"] * 0.98) & (joined["price"] <= joined["high"] * 1.02)).all()


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.value)
def test_portfolio_when_decided_is_not_empty_and_positions_reconcile_the_equity(chains, market: Market) -> None:
    chain = chains(market)
    targets = chain.runtime(target_portfolios)
    assert targets.filter(pl.col("weight").abs() > 1e-6).height > 0
    daily = chain.runtime(backtest_daily).sort("session")
    held = chain.runtime(positions)
    money = chain.runtime(cash)
    assert set(money["currency"]) == {CURRENCY[market]}
    bars = chain.lake().read(Table.PRICES_DAILY, market=market.value)
    close = {(d, s): c for d, s, c in bars.select("date", "symbol", "close").iter_rows()}
    balance = dict(money.select("session", "balance").iter_rows())
    for row in daily.iter_rows(named=True):
        day = row["session"]
        book = held.filter(pl.col("session") == day)
        value = sum(q * close[(day, s)] for s, q in book.select("instrument", "quantity").iter_rows())
        assert row["equity"] == pytest.approx(balance[day] + value, rel=1e-9), day
    assert held.filter(pl.col("session") == daily["session"][-1]).height > 0


def test_portfolio_view_when_markets_combined_converts_each_book_with_the_fx_close_known_at_its_close(chains) -> None:
    """The whole pipeline's books in one currency: each session's EUR and JPY equity is converted with the
    synthetic FX_GLOB close of the day before (17:00 New York is after the Xetra and Tokyo closes of the same
    date), read from the lake; the total is the sum of the markets' USD NAVs."""
    for market in MARKETS:
        chains(market)
    root = chains(Market.EU_EQ).root
    out = _invoke(root, "portfolio-view", "--markets", ",".join(m.value for m in MARKETS), "--experiment", "bt",
                  "--base", "USD", "--csv", "--frame", "markets")  # fmt: skip
    view = pl.read_csv(out.encode(), try_parse_dates=True)
    view = view.with_columns(pl.col("session", "fx_date").cast(pl.Date))
    assert set(view["market"]) == {m.value for m in MARKETS}
    fx = chains(Market.FX_GLOB).lake().read(Table.PRICES_DAILY, market=Market.FX_GLOB.value)
    fx_close = {(d, s): c for d, s, c in fx.select("date", "symbol", "close").iter_rows()}
    fx_days = sorted({d for d, _ in fx_close})
    cal = get_calendar()
    for market, pair, invert in ((Market.EU_EQ, "EURUSD", False), (Market.JP_EQ, "USDJPY", True)):
        daily = dict(chains(market).runtime(backtest_daily).select("session", "equity").iter_rows())
        rows = view.filter(pl.col("market") == market.value).sort("session")
        assert rows.height == len(daily)
        for row in rows.iter_rows(named=True):
            day = row["session"]
            # The latest FX session whose bar was known at the market's close.
            known = [d for d in fx_days if cal.close_at(Market.FX_GLOB, d) + BAR_DELAY <= cal.close_at(market, day)]
            rate = fx_close[(known[-1], pair)]
            assert known[-1] < day
            expected = daily[day] / rate if invert else daily[day] * rate
            assert row["fx_date"] == known[-1]
            assert row["equity_local"] == pytest.approx(daily[day], rel=1e-9)
            assert row["equity"] == pytest.approx(expected, rel=1e-9), (market, day)
    total_csv = _invoke(root, "portfolio-view", "--markets", ",".join(m.value for m in MARKETS), "--experiment", "bt",
                        "--csv", "--frame", "total")  # fmt: skip
    total = pl.read_csv(total_csv.encode(), try_parse_dates=True)
    total = total.with_columns(pl.col("date").cast(pl.Date))
    assert total.height > 0
    assert total["equity"].is_finite().all()
    last = view.filter(pl.col("session") <= total["date"].max()).sort("session").group_by("market").last()
    assert total.sort("date")["equity"][-1] == pytest.approx(last["equity"].sum(), rel=1e-9)
