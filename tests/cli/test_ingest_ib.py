"""``prometheus ingest ib`` end to end: the fake IB Gateway, ib_async, the raw delivery, the ingestion job."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from prometheus.core.log_masking import remove_log_masking
from prometheus.core.time import utc_now
from prometheus.data.ingest import delivery_received_at, publish_market
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus_cli.ingest import app, last_known_session
from tests.support.fake_ib_gateway import FakeIbGateway, SymbolSpec
from tests.support.fake_ib_history import Bar, FakeHistory
from tests.support.ingest_kit import CAL, MARKET, close_at
from tests.support.pg import fresh_pg_database

SYMBOLS = ("AAA", "BBB")
# Recent sessions: the run covers the partitions up to the one holding the receipt (today), so bars from years
# ago would make it walk every month since.
LAST = last_known_session(CAL, MARKET, utc_now(), timedelta(seconds=300))
SESSIONS = CAL.sessions(MARKET, LAST - timedelta(days=80), LAST)
BAD = SESSIONS[20]


def _walk(symbol: str, base: float, seed: int) -> list[Bar]:
    """Cent-rounded random-walk bars (1 % daily sigma) over ``SESSIONS``; BBB's ``BAD`` bar has high < low."""
    rng = np.random.default_rng(seed)
    closes = base * np.exp(np.cumsum(rng.normal(0.0, 0.01, len(SESSIONS))))
    bars, prev = [], round(base, 2)
    for d, c in zip(SESSIONS, closes, strict=True):
        c = round(float(c), 2)
        high, low = round(max(prev, c) * 1.004, 2), round(min(prev, c) * 0.996, 2)
        if (symbol, d) == ("BBB", BAD):
            high = low - 0.5  # QC must catch it
        bars.append(Bar(d, prev, high, low, c, 10_000.0 + len(bars)))
        prev = c
    return bars


@pytest.fixture
def gateway() -> Iterator[tuple[FakeIbGateway, FakeHistory]]:
    table = {"AAA": _walk("AAA", 50.0, 1), "BBB": _walk("BBB", 80.0, 2)}
    with FakeIbGateway({"AAA": SymbolSpec(101, 50.0), "BBB": SymbolSpec(102, 80.0)}) as gw:
        yield gw, FakeHistory(table).install(gw)


@pytest.fixture
def env(tmp_path: Path, gateway: tuple[FakeIbGateway, FakeHistory]) -> Iterator[dict[str, str]]:
    with fresh_pg_database() as url:
        yield {"PROMETHEUS_DATA_ROOT": str(tmp_path / "data"), "PROMETHEUS_IB_PORT": str(gateway[0].port),
               "PROMETHEUS_RUNTIME_DB_URL": url, "PROMETHEUS_IB_CLIENT_ID": "21"}  # fmt: skip
    remove_log_masking()  # the command loaded the settings


def test_ib_command_when_bars_served_keeps_raw_file_and_ingests_through_qc(
    tmp_path: Path, env: dict[str, str], gateway: tuple[FakeIbGateway, FakeHistory]
) -> None:
    lake = HistoricalStore(tmp_path / "data" / "lake")
    publish_market(lake, MARKET, "SP500")  # configured earlier (ingest vendor --benchmark): the fetch keeps it
    args = ["ib", "--symbols", "AAA,BBB", "--start", SESSIONS[0].isoformat(), "--end", SESSIONS[-1].isoformat()]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "high_low_inconsistent" in result.output
    assert lake.read(Table.MARKETS)["benchmark"].to_list() == ["SP500"]
    assert [r.answer for r in gateway[1].requests] == ["bars", "bars"]

    # The raw delivery is kept, every bar as IB sent it (the bad one included).
    (directory,) = (tmp_path / "data" / "vendor" / "ib" / "us_eq").iterdir()
    raw = pl.read_csv(directory / "prices.csv")
    assert raw.height == 2 * len(SESSIONS)
    assert set(pl.read_csv(directory / "instruments.csv")["name"]) == {"AAA FAKE INC", "BBB FAKE INC"}
    received = delivery_received_at(directory)
    assert received is not None

    prices, quarantine = lake.read(Table.PRICES_DAILY), lake.read(Table.QUARANTINE)
    assert prices.height == 2 * len(SESSIONS) - 1
    assert quarantine.select("symbol", "date", "rule").rows() == [("BBB", BAD, "high_low_inconsistent")]
    assert quarantine["source"][0].endswith("/prices.csv")
    assert quarantine["ingested_at"][0] == received
    # Point in time as for any vendor bar: known at the close plus the bar delay (300 s by default).
    first = prices.filter((pl.col("symbol") == "AAA") & (pl.col("date") == SESSIONS[0]))
    assert first["known_at"][0] == close_at(SESSIONS[0]) + timedelta(seconds=300)
    assert lake.read(Table.PRICES_ADJUSTED).height == prices.height

    with dg.DagsterInstance.from_config(str(tmp_path / "data" / "dagster_home")) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"prometheus/command": "ingest ib"}))
        assert [r.job_name for r in runs] == ["us_eq_ingestion_job"]
        assert runs[0].run_config["ops"]["us_eq_vendor_ingest"]["config"]["vendor_dir"] == str(directory)


def test_ib_command_when_symbol_unknown_exits_naming_it_and_writes_nothing(
    tmp_path: Path, env: dict[str, str], gateway: tuple[FakeIbGateway, FakeHistory]
) -> None:
    args = ["ib", "--symbols", "AAA,ZZZZ", "--start", SESSIONS[0].isoformat(), "--end", SESSIONS[-1].isoformat()]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2
    assert "IB has no stock ZZZZ" in result.output
    assert gateway[1].requests == []
    assert not (tmp_path / "data" / "vendor").exists()


def test_ib_command_when_start_before_history_start_fails_before_asking_ib(tmp_path: Path) -> None:
    env = {"PROMETHEUS_DATA_ROOT": str(tmp_path / "data"), "PROMETHEUS_IB_PORT": "1"}
    result = CliRunner().invoke(app, ["ib", "--symbols", "AAA", "--start", "2010-01-04", "--end", "2010-01-08"],
                                env=env)  # fmt: skip
    assert result.exit_code == 2
    assert "PROMETHEUS_HISTORY_START=2010-01-01" in result.output
    assert "cannot connect" not in result.output


def test_ib_command_when_gateway_not_running_says_where_it_looked(tmp_path: Path) -> None:
    env = {"PROMETHEUS_DATA_ROOT": str(tmp_path / "data"), "PROMETHEUS_IB_PORT": "1"}
    result = CliRunner().invoke(app, ["ib", "--symbols", "AAA", "--start", "2024-01-02", "--end", "2024-01-05"],
                                env=env)  # fmt: skip
    assert result.exit_code == 2
    assert "cannot connect to IB at 127.0.0.1:1" in result.output


def test_ib_command_when_ib_restates_a_bar_publishes_a_revision_known_at_receipt(
    tmp_path: Path, env: dict[str, str], gateway: tuple[FakeIbGateway, FakeHistory]
) -> None:
    args = ["ib", "--symbols", "AAA", "--start", SESSIONS[0].isoformat(), "--end", SESSIONS[-1].isoformat()]
    assert CliRunner().invoke(app, args, env=env).exit_code == 0
    history = gateway[1]
    history.identical_gap_s = 0.0  # the same requests again at once: this test is not about pacing
    day = SESSIONS[5]
    bars = list(history.bars["AAA"])
    k = next(i for i, b in enumerate(bars) if b.session == day)
    restated = round((bars[k].high + bars[k].low) / 2, 2)
    bars[k] = Bar(day, bars[k].open, bars[k].high, bars[k].low, restated, bars[k].volume)
    history.bars = {**history.bars, "AAA": bars}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output

    second = max((tmp_path / "data" / "vendor" / "ib" / "us_eq").iterdir())
    received = delivery_received_at(second)
    rows = (
        HistoricalStore(tmp_path / "data" / "lake")
        .read(Table.PRICES_DAILY)
        .filter((pl.col("symbol") == "AAA") & (pl.col("date") == day))
        .sort("known_at")
    )
    # The original stays as it was known; the restated close is a revision known when we received it.
    assert rows["known_at"].to_list() == [close_at(day) + timedelta(seconds=300), received]
    assert rows["close"][1] == restated


def test_last_known_session_when_bar_delay_not_passed_is_the_session_before() -> None:
    day = SESSIONS[10]
    delay = timedelta(minutes=5)
    assert last_known_session(CAL, MARKET, close_at(day) + timedelta(minutes=4), delay) == SESSIONS[9]
    assert last_known_session(CAL, MARKET, close_at(day) - timedelta(hours=3), delay) == SESSIONS[9]
    assert last_known_session(CAL, MARKET, close_at(day) + delay, delay) == day
