"""``prometheus portfolio-view`` through typer's CliRunner on the tiny FX_GLOB market and books of tests.support.fx_kit
(runtime store on PostgreSQL): the summary, the CSV frames, --as-of, and the missing-rate error as exit code 2."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

import prometheus_cli.portfolio_view as cli
from prometheus.runtime import RuntimeStore
from tests.support import fx_kit as kit
from tests.support.pg import fresh_pg_database

runner = CliRunner()
MARKETS = "US_EQ,EU_EQ,JP_EQ"


def _app() -> typer.Typer:
    # Registered the way prometheus_cli's LazyCommand registers a command function: its module's HELP as help.
    host = typer.Typer(add_completion=False)
    host.command("portfolio-view", help=cli.HELP)(cli.portfolio_view)
    return host


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for key in [k for k in os.environ if k.startswith("PROMETHEUS_")]:
        monkeypatch.delenv(key)
    kit.fx_store(tmp_path / "data")
    with fresh_pg_database("prometheus_fxcli") as url:
        store = RuntimeStore(url)
        kit.seed_books(store)
        store.close()
        yield {"PROMETHEUS_RUNTIME_DB_URL": url, "PROMETHEUS_DATA_ROOT": str(tmp_path / "data")}


def test_help_when_asked_lists_the_options() -> None:
    result = runner.invoke(_app(), ["--help"])
    assert result.exit_code == 0
    for text in ("--markets", "--experiment", "--base", "--as-of", "--csv", "--frame"):
        assert text in result.output


def test_portfolio_view_when_run_prints_the_last_date_in_base(env: dict[str, str]) -> None:
    args = ["--markets", MARKETS, "--experiment", kit.EXPERIMENT, "--as-of", "2024-06-01"]
    result = runner.invoke(_app(), args, env=env)
    assert result.exit_code == 0, result.output
    assert "portfolio in USD on 2024-03-08" in result.output
    assert "TOTAL    NAV 3,660.00" in result.output
    assert "JP_EQ    2024-03-08 JPY @ 0.01 (inverted, FX 2024-03-07)" in result.output


def test_portfolio_view_when_csv_asked_prints_the_frame(env: dict[str, str]) -> None:
    args = ["--markets", MARKETS, "--experiment", kit.EXPERIMENT, "--as-of", "2024-06-01", "--csv"]
    total = pl.read_csv(io.StringIO(runner.invoke(_app(), args, env=env).stdout))
    assert total["equity"].to_list() == pytest.approx([3100.0, 3090.0, 3275.0, 3660.0])
    result = runner.invoke(_app(), [*args, "--frame", "currencies", "--base", "EUR"], env=env)
    assert result.exit_code == 0, result.output
    currencies = pl.read_csv(io.StringIO(result.stdout))
    assert sorted(set(currencies["currency"])) == ["EUR", "JPY", "USD"]


def test_portfolio_view_when_no_fx_rate_exits_2_naming_the_pair(env: dict[str, str]) -> None:
    # At 08:00 UTC on 03-05 the JP session of 03-05 is closed and the FX bar of 03-04 is known: the view works in
    # USD; FX_GLOB quotes no pound, so in GBP it is an error.
    args = ["--markets", "JP_EQ", "--experiment", kit.EXPERIMENT, "--as-of", "2024-03-05T08:00:00Z"]
    ok = runner.invoke(_app(), args, env=env)
    assert ok.exit_code == 0, ok.output
    assert "JP_EQ    2024-03-05" in ok.output
    bad = runner.invoke(_app(), [*args, "--base", "GBP"], env=env)
    assert bad.exit_code == 2
    assert "no FX rate JPY->GBP" in bad.output


def test_portfolio_view_when_frame_unknown_is_a_usage_error(env: dict[str, str]) -> None:
    result = runner.invoke(_app(), ["--markets", MARKETS, "--experiment", "x", "--csv", "--frame", "nope"], env=env)
    assert result.exit_code == 2
    assert "total, markets, currencies" in result.output
