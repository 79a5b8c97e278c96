"""``prometheus ingest ib`` end to end: the fake IB Gateway, ib_async, the raw delivery, the ingestion job."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from typer.testing import CliRunner

from prometheus.core.log_masking import remove_log_masking
from prometheus.data.ingest import delivery_received_at
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus_cli.ingest import app
from tests.support.fake_ib_gateway import FakeIbGateway, SymbolSpec
from tests.support.fake_ib_history import Bar, FakeHistory
from tests.support.ingest_kit import SESSIONS, clean_prices, close_at
from tests.support.pg import fresh_pg_database

SYMBOLS = ("AAA", "BBB")
BAD = SESSIONS[20]


@pytest.fixture
def gateway() -> Iterator[tuple[FakeIbGateway, FakeHistory]]:
    frame = clean_prices(symbols=SYMBOLS)
    table: dict[str, list[Bar]] = {}
    for r in frame.iter_rows(named=True):
        d = next(s for s in SESSIONS if s.isoformat() == r["date"])
        high = r["low"] - 0.5 if (r["symbol"], d) == ("BBB", BAD) else r["high"]  # high < low: QC must catch it
        table.setdefault(r["symbol"], []).append(Bar(d, r["open"], high, r["low"], r["close"], r["volume"]))
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
    args = ["ib", "--symbols", "AAA,BBB", "--start", SESSIONS[0].isoformat(), "--end", SESSIONS[-1].isoformat()]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "high_low_inconsistent" in result.output
    assert [r.answer for r in gateway[1].requests] == ["bars", "bars"]

    # The raw delivery is kept, every bar as IB sent it (the bad one included).
    (directory,) = (tmp_path / "data" / "vendor" / "ib" / "us_eq").iterdir()
    raw = pl.read_csv(directory / "prices.csv")
    assert raw.height == 2 * len(SESSIONS)
    assert set(pl.read_csv(directory / "instruments.csv")["name"]) == {"AAA FAKE INC", "BBB FAKE INC"}
    received = delivery_received_at(directory)
    assert received is not None

    lake = HistoricalStore(tmp_path / "data" / "lake")
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
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"prometheus/market": "US_EQ"}))
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


def test_ib_command_when_gateway_not_running_says_where_it_looked(tmp_path: Path) -> None:
    env = {"PROMETHEUS_DATA_ROOT": str(tmp_path / "data"), "PROMETHEUS_IB_PORT": "1"}
    result = CliRunner().invoke(app, ["ib", "--symbols", "AAA", "--start", "2024-01-02", "--end", "2024-01-05"],
                                env=env)  # fmt: skip
    assert result.exit_code == 2
    assert "cannot connect to IB at 127.0.0.1:1" in result.output
