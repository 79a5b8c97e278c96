"""``prometheus sql``: CSV from the historical catalog (latest views, --as-of) and the runtime store; writes refused."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from prometheus_cli.sql import app
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import TimeMachine
from prometheus.runtime.store import RuntimeStore


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


def test_sql_when_runtime_flag_queries_runtime_store(env, tmp_path) -> None:
    RuntimeStore(f"sqlite:///{tmp_path / 'runtime.sqlite'}").upgrade()

    result = _invoke(env, "--runtime", "SELECT 1 AS a, 'x' AS b")

    assert result.exit_code == 0, result.output
    assert result.stdout == "a,b\n1,x\n"


def test_sql_when_runtime_store_does_not_exist_exits_2_without_creating_it(env, tmp_path) -> None:
    result = _invoke(env, "--runtime", "SELECT 1")

    assert result.exit_code == 2
    assert "prometheus db upgrade" in result.stderr
    assert not (tmp_path / "runtime.sqlite").exists()


def test_sql_when_help_requested_describes_read_only_csv_latest_views_and_as_of(env) -> None:
    result = _invoke(env, "--help")

    assert result.exit_code == 0
    assert "--runtime" in result.stdout
    assert "read-only" in result.stdout
    assert "--as-of" in result.stdout
    assert "_latest" in result.stdout


LATEST_ADJUSTED = "SELECT * FROM prices_adjusted_latest ORDER BY market, date, symbol"


def _as_csv(frame: pl.DataFrame) -> list[list[str]]:
    """``frame`` as the CSV rows ``prometheus sql`` prints: header, nulls empty, times in ISO 8601."""

    def cell(value: object) -> str:
        if value is None:
            return ""
        return value.isoformat() if isinstance(value, date | datetime) else str(value)

    return [frame.columns, *([cell(v) for v in row] for row in frame.iter_rows())]


@pytest.mark.parametrize(
    ("as_of", "instant"),
    [
        # Before anything was known: header only.
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC)),
        # Exactly when a bar became known: it is included.
        ("2024-01-03T21:05:00+00:00", datetime(2024, 1, 3, 21, 5, tzinfo=UTC)),
        # One second before S000's re-adjustment (no offset: UTC).
        ("2024-01-04T11:59:59", datetime(2024, 1, 4, 11, 59, 59, tzinfo=UTC)),
        # The re-adjustment: S000's early bars halved.
        ("2024-01-04T12:00:00Z", datetime(2024, 1, 4, 12, tzinfo=UTC)),
        # S001's late 2024-01-03 bar arrives.
        ("2024-01-05T09:00:00Z", datetime(2024, 1, 5, 9, tzinfo=UTC)),
        # The second correction of S000 2024-01-02.
        ("2024-01-06T15:30:00Z", datetime(2024, 1, 6, 15, 30, tzinfo=UTC)),
    ],
)
def test_sql_when_as_of_given_latest_view_matches_time_machine(env, revised_store, as_of, instant) -> None:
    result = _invoke(env, "--as-of", as_of, LATEST_ADJUSTED)

    assert result.exit_code == 0, result.output
    expected = TimeMachine(revised_store, instant).table("prices_adjusted")
    assert list(csv.reader(io.StringIO(result.stdout))) == _as_csv(expected)


def test_sql_when_as_of_given_late_rows_and_revisions_resolve_as_known_then(env, revised_store) -> None:
    sql = "SELECT symbol, date, known_at FROM prices_adjusted_latest WHERE date <= DATE '2024-01-03' ORDER BY 1, 2"

    before = _invoke(env, "--as-of", "2024-01-04T11:00:00Z", sql)
    after = _invoke(env, "--as-of", "2024-01-05T09:00:00Z", sql)

    assert before.stdout.splitlines()[1:] == [
        "S000,2024-01-02,2024-01-02T21:05:00+00:00",
        "S000,2024-01-03,2024-01-03T21:05:00+00:00",
        "S001,2024-01-02,2024-01-02T21:05:00+00:00",
    ]
    assert after.stdout.splitlines()[1:] == [
        "S000,2024-01-02,2024-01-04T12:00:00+00:00",
        "S000,2024-01-03,2024-01-04T12:00:00+00:00",
        "S001,2024-01-02,2024-01-02T21:05:00+00:00",
        "S001,2024-01-03,2024-01-05T09:00:00+00:00",
    ]


def test_sql_when_as_of_is_a_date_or_has_an_offset_means_that_utc_instant(env, revised_store) -> None:
    as_date = _invoke(env, "--as-of", "2024-01-04", LATEST_ADJUSTED)
    midnight = _invoke(env, "--as-of", "2024-01-04T00:00:00Z", LATEST_ADJUSTED)
    offset = _invoke(env, "--as-of", "2024-01-04T07:00:00-05:00", LATEST_ADJUSTED)
    utc = _invoke(env, "--as-of", "2024-01-04T12:00:00Z", LATEST_ADJUSTED)

    assert as_date.exit_code == offset.exit_code == 0, as_date.output + offset.output
    assert as_date.stdout == midnight.stdout
    assert offset.stdout == utc.stdout
    assert as_date.stdout != utc.stdout


def test_sql_when_as_of_given_tables_without_known_at_are_unchanged(env, tmp_path) -> None:
    HistoricalStore(tmp_path / "lake").write_frame("ingestion_log", _ingestion_log())
    sql = "SELECT run_id FROM ingestion_log"

    result = _invoke(env, "--as-of", "2000-01-01", sql)

    assert result.exit_code == 0, result.output
    assert result.stdout == _invoke(env, sql).stdout == "run_id\nr1\n"


@pytest.mark.parametrize("as_of", ["yesterday", "2024-13-01", "2024-01-04 25:00", ""])
def test_sql_when_as_of_is_not_iso_exits_2_with_clear_error(env, as_of) -> None:
    result = _invoke(env, "--as-of", as_of, "SELECT 1")

    assert result.exit_code == 2
    assert "--as-of" in result.stderr
    assert "ISO 8601" in result.stderr
    assert result.stdout == ""


def test_sql_when_as_of_given_with_runtime_exits_2(env) -> None:
    result = _invoke(env, "--runtime", "--as-of", "2024-01-04", "SELECT 1")

    assert result.exit_code == 2
    assert "--as-of" in result.stderr
    assert "--runtime" in result.stderr


@pytest.mark.parametrize("sql", ["DROP VIEW prices_adjusted_latest", "SELECT 1; DELETE FROM prices_adjusted"])
def test_sql_when_as_of_given_still_refuses_writes(env, sql) -> None:
    result = _invoke(env, "--as-of", "2024-01-04", sql)

    assert result.exit_code == 2
    assert "refused" in result.stderr


def _ingestion_log() -> pl.DataFrame:
    started = datetime(2024, 6, 1, 12, tzinfo=UTC)
    return pl.DataFrame(
        {
            "market": ["US_EQ"],
            "run_id": ["r1"],
            "source": ["prices.csv"],
            "table_name": ["prices_daily"],
            "rows_read": [10],
            "rows_loaded": [10],
            "rows_quarantined": [0],
            "started_at": [started],
            "finished_at": [started],
            "status": ["succeeded"],
            "message": [None],
        },
        schema_overrides={"message": pl.String()},
    )


# --------------------------------------------------------------------------------------------- hostile SQL
# Each text below either wrote into the lake, read a host file or reached for an extension before the catalog
# was locked down; {lake} and {root} are the lake and the data root of the test. The first is the write that
# once got through: DuckDB nests block comments, so the old lexer saw a string where DuckDB saw COPY.
HOSTILE = [
    "EXPLAIN ANALYZE /* /* */ ' */ COPY (SELECT * FROM prices_daily) "
    "TO '{lake}/prices_daily/market=US_EQ/year=2030/part.parquet'",
    "COPY (SELECT * FROM prices_daily) TO '{lake}/prices_daily/market=US_EQ/year=2024/injected.parquet'",
    "-- a comment first\nCOPY prices_daily TO '{lake}/prices_daily/market=US_EQ/year=2024/part.parquet'",
    "SELECT $$'$$ AS x; COPY (SELECT 1 AS a) TO '{lake}/news/market=US_EQ/part.parquet' -- '",
    "EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{lake}/injected.csv'",
    "EXPLAIN (ANALYZE) COPY (SELECT 1 AS a) TO '{lake}/injected.csv'",
    "EXPORT DATABASE '{lake}/dump'",
    "ATTACH '{lake}/prices_daily/injected.duckdb' AS injected",
    "ATTACH '{root}/other.duckdb'",
    "SELECT * FROM read_csv('/etc/passwd', sep = ':')",
    "SELECT * FROM read_text('{lake}/../../../../../../etc/passwd')",
    "SELECT * FROM read_csv('{root}/secret.csv')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM read_parquet('https://example.com/prices.parquet')",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA enable_profiling",
    "PRAGMA threads = 1",
    "SET enable_external_access = true",
    "RESET lock_configuration",
    "CALL pragma_version()",
    "CREATE OR REPLACE VIEW prices_daily_latest AS SELECT 1 AS close",
    "CREATE TABLE injected AS SELECT * FROM prices_daily",
    "INSERT INTO prices_daily SELECT * FROM prices_daily",
    "SELECT 1; DROP VIEW prices_daily",
    "SELECT 1; SELECT 2",
    "",
    "-- nothing but a comment",
]


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes."""
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


@pytest.mark.parametrize("sql", HOSTILE)
def test_sql_when_query_is_hostile_exits_2_and_leaves_data_root_unchanged(env, tmp_path, prices, sql) -> None:
    lake = tmp_path / "lake"
    HistoricalStore(lake).write_frame("prices_daily", prices())
    (tmp_path / "secret.csv").write_text("password\nhunter2\n")
    before = _files(tmp_path)

    # "--" ends the options: two of the texts start with "--", a comment.
    result = _invoke(env, "--", sql.format(lake=lake, root=tmp_path))

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    assert "hunter2" not in result.output
    assert "root:" not in result.output
    assert _files(tmp_path) == before


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("COPY (SELECT 1) TO 'x.csv'", "refused: COPY statement"),
        ("ATTACH 'x.duckdb'", "refused: ATTACH statement"),
        ("SELECT 1; SELECT 2", "2 statements"),
        ("SELECT * FROM read_csv('/etc/passwd')", "reads the lake's tables and nothing else"),
        ("", "empty query"),
    ],
)
def test_sql_when_query_is_refused_message_says_why(env, sql, says) -> None:
    result = _invoke(env, sql)

    assert result.exit_code == 2
    assert "refused" in result.stderr
    assert says in result.stderr


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) AS n FROM prices_daily_latest",
        "SELECT count(*) AS n FROM read_parquet('{lake}/prices_daily/**/*.parquet')",
        "EXPLAIN SELECT * FROM prices_daily",
        "EXPLAIN ANALYZE SELECT count(*) FROM prices_daily",
        "/* a /* nested */ comment */ DESCRIBE prices_daily",
        "SUMMARIZE prices_daily",
        "SHOW TABLES",
        "FROM prices_daily LIMIT 1",
        "VALUES (1, 'a')",
        # Words that a keyword filter would have refused.
        "SELECT 1 AS load, 'COPY x TO y; DROP TABLE z' AS text -- ATTACH",
        'SELECT symbol AS "delete" FROM prices_daily LIMIT 1;',
    ],
)
def test_sql_when_query_only_reads_exits_0(env, tmp_path, prices, sql) -> None:
    HistoricalStore(tmp_path / "lake").write_frame("prices_daily", prices())

    result = _invoke(env, sql.format(lake=tmp_path / "lake"))

    assert result.exit_code == 0, result.output
    assert result.stdout


def test_sql_when_lake_path_is_a_prefix_of_a_sibling_sibling_stays_unreadable(env, tmp_path) -> None:
    sibling = tmp_path / "lake2"
    sibling.mkdir()
    (sibling / "secret.csv").write_text("password\nhunter2\n")

    result = _invoke(env, f"SELECT * FROM read_csv('{sibling}/secret.csv')")

    assert result.exit_code == 2
    assert "hunter2" not in result.output


def test_sql_when_as_of_given_hostile_query_is_refused_too(env, tmp_path, revised_store) -> None:
    before = _files(tmp_path)

    result = _invoke(env, "--as-of", "2024-01-04", HOSTILE[0].format(lake=tmp_path / "lake", root=tmp_path))

    assert result.exit_code == 2
    assert _files(tmp_path) == before
