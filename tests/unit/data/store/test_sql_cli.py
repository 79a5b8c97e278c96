"""``prometheus sql``: CSV output from the historical catalog and the runtime store; writes refused."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prometheus.cli.sql import app
from prometheus.data.store import HistoricalStore


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Settings pointing at a temporary data root (runtime store: the default SQLite file in it)."""
    return {"PROMETHEUS_DATA_ROOT": str(tmp_path)}


def _invoke(env: dict[str, str], *args: str):
    return CliRunner().invoke(app, list(args), env=env)


def test_sql_when_historical_query_prints_csv_with_header(env, tmp_path, prices) -> None:
    HistoricalStore(tmp_path / "lake").write_frame("prices_daily", prices(start=date(2024, 1, 2), days=2))

    result = _invoke(
        env, "SELECT symbol, date, known_at, NULL AS missing FROM prices_daily WHERE symbol = 'S000' ORDER BY date"
    )

    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.stdout))) == [
        ["symbol", "date", "known_at", "missing"],
        ["S000", "2024-01-02", "2024-01-02T21:05:00+00:00", ""],
        ["S000", "2024-01-03", "2024-01-03T21:05:00+00:00", ""],
    ]


def test_sql_when_lake_is_empty_still_queries_typed_views(env) -> None:
    result = _invoke(env, "SELECT count(*) AS n FROM quarantine")

    assert result.exit_code == 0, result.output
    assert result.stdout == "n\n0\n"


def test_sql_when_text_has_commas_and_quotes_quotes_csv_fields(env) -> None:
    result = _invoke(env, """SELECT 'a,b' AS x, 'say "hi"' AS y""")

    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.stdout))) == [["x", "y"], ["a,b", 'say "hi"']]


@pytest.mark.parametrize("runtime", [False, True])
@pytest.mark.parametrize("sql", ["DELETE FROM prices_daily", "CREATE TABLE t (a INTEGER)", "SELECT 1; DROP TABLE t"])
def test_sql_when_statement_writes_exits_2_with_clear_error(env, sql, runtime) -> None:
    result = _invoke(env, *(["--runtime"] if runtime else []), sql)

    assert result.exit_code == 2
    assert "refused" in result.stderr
    assert result.stdout == ""


def test_sql_when_query_is_invalid_exits_2_with_duckdb_message(env) -> None:
    result = _invoke(env, "SELECT * FROM no_such_table")

    assert result.exit_code == 2
    assert "no_such_table" in result.stderr


def test_sql_when_runtime_flag_queries_runtime_store(env) -> None:
    result = _invoke(env, "--runtime", "SELECT 1 AS a, 'x' AS b")

    assert result.exit_code == 0, result.output
    assert result.stdout == "a,b\n1,x\n"


def test_sql_when_help_requested_describes_read_only_csv(env) -> None:
    result = _invoke(env, "--help")

    assert result.exit_code == 0
    assert "--runtime" in result.stdout
    assert "read-only" in result.stdout
