"""``prometheus ingest``: vendor, synthetic and reference commands print counts; bad files are clean errors."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import polars as pl
from typer.testing import CliRunner

from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus_cli.ingest import app
from tests.support.ingest_kit import SESSIONS, clean_prices, set_cell, write_vendor


def _env(tmp_path: Path) -> dict[str, str]:
    return {"PROMETHEUS_DATA_ROOT": str(tmp_path / "data")}


def test_vendor_command_when_faulty_row_prints_counts_per_rule(tmp_path: Path) -> None:
    directory = write_vendor(tmp_path / "v", set_cell(clean_prices(), SESSIONS[3], "AAA", close="abc"))
    result = CliRunner().invoke(app, ["vendor", str(directory), "--market", "US_EQ"], env=_env(tmp_path))
    assert result.exit_code == 0, result.output
    assert "unparsable_number" in result.output
    assert "quarantined 1 row(s)" in result.output
    markets = HistoricalStore(tmp_path / "data" / "lake").read(Table.MARKETS)
    assert markets["benchmark"].to_list() == [None]


def test_vendor_command_when_file_unreadable_exits_with_error_naming_file(tmp_path: Path) -> None:
    directory = write_vendor(tmp_path / "v")
    (directory / "instruments.csv").write_text('symbol,name\n"AAA,unterminated\n')
    result = CliRunner().invoke(app, ["vendor", str(directory)], env=_env(tmp_path))
    assert result.exit_code == 2
    assert "instruments.csv" in result.output


def test_synthetic_command_when_market_has_no_synthetic_profile_exits_2_naming_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synthetic", "--market", "US_FUT", "--names", "20", "--years", "1"],
                                env=_env(tmp_path))  # fmt: skip
    assert result.exit_code == 2
    assert "no synthetic market for US_FUT" in result.output
    unknown = CliRunner().invoke(app, ["synthetic", "--market", "XX_EQ"], env=_env(tmp_path))
    assert unknown.exit_code == 2
    assert "unknown market" in unknown.output


def test_synthetic_command_when_fx_asks_more_pairs_than_exist_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synthetic", "--market", "FX_GLOB", "--names", "500", "--years", "1"],
                                env=_env(tmp_path))  # fmt: skip
    assert result.exit_code == 2
    assert "pairs at most" in result.output
    assert not (tmp_path / "data" / "vendor" / "fx_glob").exists()


def test_synthetic_command_when_small_generates_files_and_ingests(tmp_path: Path) -> None:
    before = os.environ.get("DAGSTER_HOME")
    result = CliRunner().invoke(app, ["synthetic", "--names", "20", "--years", "1", "--seed", "3"], env=_env(tmp_path))
    assert result.exit_code == 0, result.output
    # The run is recorded in the data root's own instance, and the process environment is left alone.
    assert os.environ.get("DAGSTER_HOME") == before
    with dg.DagsterInstance.from_config(str(tmp_path / "data" / "dagster_home")) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"prometheus/command": "ingest synthetic"}))
        assert [r.job_name for r in runs] == ["us_eq_ingestion_job"]
    assert "loaded prices_daily" in result.output
    assert (tmp_path / "data" / "vendor" / "us_eq" / "prices.csv").is_file()
    lake = HistoricalStore(tmp_path / "data" / "lake")
    assert (
        lake.read(Table.PRICES_DAILY).height
        == pl.read_csv(tmp_path / "data" / "vendor" / "us_eq" / "prices.csv").height
    )
