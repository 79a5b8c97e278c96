"""RuntimeStore on SQLite and PostgreSQL: upserts replace, read-only queries cannot write."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from prometheus.core.errors import StoreError
from prometheus.runtime import RuntimeStore, TradingState, check_read_only_sql
from prometheus.runtime import store as runtime_store
from prometheus.runtime.tables import engine_configs, engine_decisions, risk_state
from tests.support.fixtures import pg_url, runtime_db_url  # noqa: F401  (fixtures)

DECIDED = datetime(2024, 1, 2, 21, 5, tzinfo=UTC)


def _decision(payload: dict[str, Any], *, experiment: str = "exp-a", key: str = "") -> dict[str, Any]:
    return {
        "engine": "regime",
        "market": "US_EQ",
        "session": date(2024, 1, 2),
        "decision_time": DECIDED,
        "experiment": experiment,
        "config_version": "a" * 64,
        "decision_key": key,
        "payload": payload,
    }


@pytest.fixture
def store(runtime_db_url: str) -> Any:  # noqa: F811
    with RuntimeStore(runtime_db_url) as migrated:
        migrated.upgrade()
        yield migrated


def _count(store: RuntimeStore) -> int:
    with store.begin() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(engine_decisions)).scalar_one()


def test_upsert_when_same_key_written_twice_replaces_row(store: RuntimeStore) -> None:
    store.upsert(engine_decisions, [_decision({"regime": "calm"})])
    store.upsert(engine_decisions, [_decision({"regime": "crisis"})])
    with store.begin() as conn:
        rows = conn.execute(sa.select(engine_decisions.c.payload, engine_decisions.c.decision_time)).all()
    assert len(rows) == 1
    assert rows[0].payload == {"regime": "crisis"}
    assert rows[0].decision_time == DECIDED
    assert rows[0].decision_time.tzinfo is UTC


def test_upsert_when_experiment_differs_keeps_both_rows(store: RuntimeStore) -> None:
    store.upsert(engine_decisions, [_decision({"x": 1}, experiment="exp-a")])
    store.upsert(engine_decisions, [_decision({"x": 2}, experiment="exp-b")])
    assert _count(store) == 2


def test_upsert_when_rows_have_different_columns_raises(store: RuntimeStore) -> None:
    rows = [_decision({"x": 1}, key="a"), {k: v for k, v in _decision({}, key="b").items() if k != "payload"}]
    with pytest.raises(StoreError, match="row 1 has columns"):
        store.upsert(engine_decisions, rows)
    assert _count(store) == 0


def test_upsert_when_batch_given_inside_caller_transaction_commits_with_it(store: RuntimeStore) -> None:
    with store.begin() as conn:
        written = store.upsert(engine_decisions, [_decision({"i": i}, key=str(i)) for i in range(50)], connection=conn)
    assert written == 50
    assert _count(store) == 50


def test_begin_when_statement_violates_key_raises_store_error(store: RuntimeStore) -> None:
    with pytest.raises(StoreError, match="writing failed"), store.begin() as conn:
        conn.execute(sa.insert(engine_decisions), [_decision({"x": 1}), _decision({"x": 2})])
    assert _count(store) == 0


def test_read_only_query_when_select_returns_columns_and_rows(store: RuntimeStore) -> None:
    store.upsert(engine_decisions, [_decision({"x": 1}, key="k1"), _decision({"x": 2}, key="k2")])
    columns, rows = store.read_only_query(
        "SELECT decision_key, experiment FROM engine_decisions WHERE decision_key LIKE 'k%' ORDER BY decision_key"
    )
    assert columns == ["decision_key", "experiment"]
    assert rows == [("k1", "exp-a"), ("k2", "exp-a")]


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM engine_decisions",
        "  update engine_decisions SET experiment = 'x'",
        "/* hi */ DROP TABLE engine_decisions",
        "SELECT 1; DELETE FROM engine_decisions",
        "INSERT INTO risk_state (scope) VALUES ('x')",
    ],
)
def test_read_only_query_when_statement_writes_is_refused_and_data_unchanged(store: RuntimeStore, sql: str) -> None:
    store.upsert(engine_decisions, [_decision({"x": 1})])
    with pytest.raises(StoreError, match="refused"):
        store.read_only_query(sql)
    assert _count(store) == 1
    assert sa.inspect(store.engine).has_table("engine_decisions")


def test_read_only_query_when_running_transaction_is_read_only(store: RuntimeStore) -> None:
    probe = "SELECT query_only FROM pragma_query_only" if store.dialect == "sqlite" else "SHOW transaction_read_only"
    _, rows = store.read_only_query(probe)
    assert str(rows[0][0]) in {"1", "on"}


def test_read_only_query_when_write_hides_in_cte_is_refused_by_database(store: RuntimeStore) -> None:
    store.upsert(engine_decisions, [_decision({"x": 1})])
    if store.dialect == "postgresql":
        sql = "WITH d AS (DELETE FROM engine_decisions RETURNING id) SELECT count(*) FROM d"
    else:
        # SQLite: WITH ... INSERT passes the keyword check, so PRAGMA query_only must stop it.
        sql = (
            "WITH v(x) AS (SELECT 1) INSERT INTO risk_state (scope, state, reason, set_by, set_at) "
            "SELECT 'g', 'HALTED', 'r', 't', '2024-01-01' FROM v"
        )
    with pytest.raises(StoreError, match="refused, only one read-only query"):
        store.read_only_query(sql)
    assert _count(store) == 1
    with store.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(risk_state)).scalar_one() == 0


def test_read_only_query_when_done_leaves_pooled_connection_writable(store: RuntimeStore) -> None:
    for _ in range(3):
        store.read_only_query("SELECT 1")
    store.upsert(engine_decisions, [_decision({"x": 1})])
    with store.begin() as conn:
        conn.execute(
            sa.insert(risk_state),
            {
                "scope": "global",
                "state": TradingState.HALTED,
                "reason": "test",
                "set_by": "t",
                "set_at": DECIDED,
            },
        )
    assert _count(store) == 1


# Hostile statements, each of which some lexer trick gets past a keyword check; the keyword check is switched off
# below so that only the database's read-only modes stand between them and the store.
HOSTILE_COMMON = [
    "DELETE FROM engine_decisions",
    "UPDATE engine_decisions SET experiment = 'x'",
    "DROP TABLE engine_decisions",
    "CREATE TABLE injected (a INTEGER)",
    "SELECT 1; DELETE FROM engine_decisions",
    "WITH v(x) AS (SELECT 1) DELETE FROM engine_decisions",
]
HOSTILE_SQLITE = [
    "ATTACH '{tmp}/attached.sqlite' AS other",
    "VACUUM INTO '{tmp}/copy.sqlite'",
    "PRAGMA query_only = OFF",
    "PRAGMA user_version = 5",
    "PRAGMA journal_mode = DELETE",
    "BEGIN IMMEDIATE",
    "SELECT load_extension('anything')",
]
HOSTILE_POSTGRESQL = [
    "COPY (SELECT 1) TO '{server_tmp}'",
    "DO $$BEGIN DELETE FROM engine_decisions; END$$",
    "SET default_transaction_read_only = off",
    "SELECT 1; COMMIT; DELETE FROM engine_decisions",
    "SELECT * INTO injected FROM engine_decisions",
]


@pytest.fixture
def server_tmp() -> Iterator[Path]:
    """A path in the host's /tmp that a PostgreSQL server on this host could write (removed afterwards)."""
    path = Path("/tmp") / f"prometheus_read_only_{uuid.uuid4().hex}.csv"  # noqa: S108  (the server's view)
    yield path
    path.unlink(missing_ok=True)


def _hostile(store: RuntimeStore) -> list[str]:
    return HOSTILE_COMMON + (HOSTILE_SQLITE if store.dialect == "sqlite" else HOSTILE_POSTGRESQL)


def test_read_only_query_when_keyword_check_is_off_database_still_refuses_every_write(
    store: RuntimeStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server_tmp: Path
) -> None:
    store.upsert(engine_decisions, [_decision({"x": 1})])
    monkeypatch.setattr(runtime_store, "check_read_only_sql", lambda sql: None)

    for sql in _hostile(store):
        text = sql.format(tmp=tmp_path, server_tmp=server_tmp)
        with pytest.raises(StoreError, match="refused"):
            store.read_only_query(text)

    assert _count(store) == 1
    assert not sa.inspect(store.engine).has_table("injected")
    assert {p.name for p in tmp_path.iterdir()} <= {"store"}  # the SQLite store's folder, nothing attached or copied
    assert not server_tmp.exists()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        # E-strings: the lexer reads one literal up to the last quote, PostgreSQL three statements.
        "SELECT E'\\''; COMMIT; DELETE FROM engine_decisions; --'",
        # Nested comments: the lexer sees SELECT first, PostgreSQL a COPY that writes a server file.
        "/* /* */ SELECT */ COPY (SELECT 1) TO '{server_tmp}'",
        # Dollar quoting hides the separator from the lexer.
        "SELECT $a$'$a$; COMMIT; DELETE FROM engine_decisions; --'",
    ],
)
def test_read_only_query_when_lexer_is_fooled_on_postgresql_is_refused_and_nothing_changes(
    pg_url: str,  # noqa: F811
    server_tmp: Path,
    sql: str,
) -> None:
    with RuntimeStore(pg_url) as store:
        store.upgrade()
        store.upsert(engine_decisions, [_decision({"x": 1})])
        with pytest.raises(StoreError, match="refused"):
            store.read_only_query(sql.format(server_tmp=server_tmp))
        assert _count(store) == 1
    assert not server_tmp.exists()


@pytest.mark.postgres
def test_read_only_query_when_it_changes_its_session_writers_never_see_the_change(pg_url: str) -> None:  # noqa: F811
    with RuntimeStore(pg_url) as store:
        store.upgrade()
        _, rows = store.read_only_query("SELECT set_config('search_path', 'nowhere', false)")
        assert rows == [("nowhere",)]
        for _ in range(3):
            store.upsert(engine_decisions, [_decision({"x": 1})])
            with store.read() as conn:
                assert conn.exec_driver_sql("SHOW search_path").scalar_one() != "nowhere"


def test_read_only_query_when_sqlite_file_is_missing_refuses_without_creating_it(tmp_path: Path) -> None:
    path = tmp_path / "runtime.sqlite"
    with RuntimeStore(f"sqlite:///{path}") as store, pytest.raises(StoreError, match="prometheus db upgrade"):
        store.read_only_query("SELECT 1")
    assert not path.exists()


def test_read_only_query_when_table_valued_pragmas_read_schema_answers(store: RuntimeStore) -> None:
    if store.dialect == "sqlite":
        sql = "SELECT name FROM pragma_table_info('risk_state') WHERE name = 'scope'"
    else:
        sql = (
            "SELECT column_name AS name FROM information_schema.columns "
            "WHERE table_name = 'risk_state' AND column_name = 'scope'"
        )
    assert store.read_only_query(sql) == (["name"], [("scope",)])


def test_check_read_only_sql_when_keywords_hide_in_literals_and_comments_accepts() -> None:
    check_read_only_sql("-- delete everything\nSELECT 'DROP; TABLE' AS x /* ; */;")
    check_read_only_sql("(select 1)")
    check_read_only_sql("with t as (select 1) select * from t")
    with pytest.raises(StoreError, match="refused: \\(empty\\)"):
        check_read_only_sql("  -- nothing\n ")


def test_sqlite_store_when_opened_creates_folder_and_uses_wal(tmp_path: Path) -> None:
    with RuntimeStore(f"sqlite:///{tmp_path / 'a' / 'b' / 'runtime.sqlite'}") as store:
        store.upgrade()
        _, rows = store.read_only_query("SELECT journal_mode FROM pragma_journal_mode")
        _, timeout = store.read_only_query("SELECT timeout FROM pragma_busy_timeout")
    assert (tmp_path / "a" / "b" / "runtime.sqlite").is_file()
    assert rows == [("wal",)]
    assert timeout[0][0] > 0


def test_store_when_no_url_given_uses_settings_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_RUNTIME_DB_URL", raising=False)
    monkeypatch.setenv("PROMETHEUS_DATA_ROOT", str(tmp_path))
    with RuntimeStore() as store:
        assert store.url == f"sqlite:///{tmp_path.resolve() / 'runtime.sqlite'}"
        assert store.dialect == "sqlite"


def test_store_when_backend_unsupported_raises_store_error() -> None:
    with pytest.raises(StoreError, match="unsupported runtime store backend 'mysql'"):
        RuntimeStore("mysql://u:secret@localhost/db")


def test_store_when_repr_shown_masks_password() -> None:
    store = RuntimeStore("postgresql://u:secret@127.0.0.1:5432/db")
    assert "secret" not in repr(store)
    assert store.engine.dialect.driver == "psycopg"
    store.close()


def test_upsert_when_replace_false_keeps_existing_row(store: RuntimeStore) -> None:
    config = {"config_version": "b" * 64, "engine": "regime", "config": {"k": 2}}
    store.upsert(engine_configs, [config])
    store.upsert(engine_configs, [{**config, "config": {"k": 99}}], replace=False)
    with store.read() as conn:
        rows = conn.execute(sa.select(engine_configs.c.config)).all()
    assert rows == [({"k": 2},)]


def test_read_when_writer_holds_open_transaction_sees_committed_rows(store: RuntimeStore) -> None:
    store.upsert(engine_decisions, [_decision({"x": 1}, key="committed")])
    with store.begin() as writer:
        store.upsert(engine_decisions, [_decision({"x": 2}, key="pending")], connection=writer)
        with store.read() as reader:
            seen = reader.execute(sa.select(engine_decisions.c.decision_key)).scalars().all()
    assert seen == ["committed"]
    assert _count(store) == 2


def test_json_when_config_holds_non_finite_floats_round_trips_on_both_backends(store: RuntimeStore) -> None:
    """PostgreSQL's json type refuses the bare Infinity Python writes: a portfolio config with an unbounded cost
    tier must still be registered, and read back equal, as on SQLite."""
    import math

    from prometheus.engines.portfolio.config import PortfolioConfig
    from prometheus.runtime.decision_log import DecisionLog

    config = PortfolioConfig().model_dump(mode="json")
    log = DecisionLog(store)
    log.register_config("portfolio", "b" * 64, {"config": config, "extra": [math.inf, -math.inf, 1.5, math.nan]})
    back = log.config("b" * 64)
    assert back["config"] == config
    assert PortfolioConfig.model_validate(back["config"]).config_version == PortfolioConfig().config_version
    assert back["extra"][:3] == [math.inf, -math.inf, 1.5]
    assert math.isnan(back["extra"][3])
