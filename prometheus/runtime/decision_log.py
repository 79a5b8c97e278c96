"""The decision log: engine configs by version, engine runs, decisions and engine outputs in the runtime store.

Re-running the same session, experiment and config version replaces rows (upserts on each table's unique key),
never duplicates them. Outputs are keyed by config version, so a later experiment that runs an engine with a
version already computed for the same sessions reuses those rows instead of recomputing them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from prometheus.core.errors import StoreError
from prometheus.core.types import Mode
from prometheus.runtime.enums import RunStatus
from prometheus.runtime.frames import frame_of, jsonable, rows_of
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables import metadata
from prometheus.runtime.tables.base import utc_now
from prometheus.runtime.tables.engine import engine_configs, engine_decisions, engine_runs

#: Columns of :meth:`DecisionLog.read_decisions` besides ``payload`` (JSON text).
DECISION_SCHEMA: dict[str, pl.DataType] = {
    "market": pl.String(), "session": pl.Date(), "decision_time": pl.Datetime("us", "UTC"),
    "experiment": pl.String(), "config_version": pl.String(), "decision_key": pl.String(),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One row of ``engine_decisions``."""

    session: date
    decision_time: datetime
    payload: Mapping[str, Any]
    key: str = ""


@dataclass
class RunHandle:
    """An engine run in progress; ``rows_written`` is recorded when it finishes."""

    run_key: str
    rows_written: int = 0


class DecisionLog:
    """Writer and reader of the engine tables of one runtime store."""

    def __init__(self, store: RuntimeStore) -> None:
        self.store = store

    def register_config(self, engine: str, config_version: str, config: Mapping[str, Any]) -> str:
        """Store ``config`` under its version (insert if absent); returns the version."""
        self.store.upsert(
            engine_configs,
            [{"config_version": config_version, "engine": engine, "config": dict(config), "created_at": utc_now()}],
            replace=False,
        )
        return config_version

    def config(self, config_version: str) -> dict[str, Any]:
        """The config stored under ``config_version``.

        Raises
        ------
        StoreError
            No config has that version.
        """
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(engine_configs.c.config).where(engine_configs.c.config_version == config_version)
            ).first()
        if row is None:
            raise StoreError(f"no engine config with version {config_version}")
        return dict(row[0])

    @contextmanager
    def run(
        self,
        *,
        run_key: str,
        engine: str,
        market: str,
        experiment: str,
        config_version: str,
        mode: Mode,
        sessions: Sequence[date],
    ) -> Iterator[RunHandle]:
        """Record an engine run: RUNNING on entry, SUCCEEDED or FAILED (with the error) on exit."""
        base = {
            "run_key": run_key,
            "engine": engine,
            "market": market,
            "experiment": experiment,
            "config_version": config_version,
            "mode": Mode(mode).value,
            "first_session": min(sessions),
            "last_session": max(sessions),
            "started_at": utc_now(),
        }
        self.store.upsert(
            engine_runs, [base | {"status": RunStatus.RUNNING.value, "finished_at": None, "rows_written": None,
                                  "error": None}]
        )  # fmt: skip
        handle = RunHandle(run_key)
        try:
            yield handle
        except Exception as exc:
            self._finish(base, RunStatus.FAILED, handle.rows_written, f"{type(exc).__name__}: {exc}")
            raise
        self._finish(base, RunStatus.SUCCEEDED, handle.rows_written, None)

    def _finish(self, base: dict[str, Any], status: RunStatus, rows: int, error: str | None) -> None:
        self.store.upsert(
            engine_runs,
            [base | {"status": status.value, "finished_at": utc_now(), "rows_written": rows, "error": error}],
        )

    def write_decisions(
        self, engine: str, *, market: str, experiment: str, config_version: str, decisions: Sequence[DecisionRow]
    ) -> int:
        """Upsert one ``engine_decisions`` row per decision."""
        rows = [
            {
                "engine": engine,
                "market": market,
                "session": d.session,
                "decision_time": d.decision_time,
                "experiment": experiment,
                "config_version": config_version,
                "decision_key": d.key,
                "payload": jsonable(d.payload),
                "created_at": utc_now(),
            }
            for d in decisions
        ]
        return self.store.upsert(engine_decisions, rows)

    def copy_decisions(
        self,
        engine: str,
        market: str,
        config_version: str,
        from_experiment: str,
        to_experiment: str,
        sessions: Sequence[date],
    ) -> int:
        """Copy the decisions of one experiment to another (outputs reused across experiments)."""
        t = engine_decisions
        q = sa.select(t.c.session, t.c.decision_time, t.c.decision_key, t.c.payload).where(
            t.c.engine == engine,
            t.c.market == market,
            t.c.config_version == config_version,
            t.c.experiment == from_experiment,
            t.c.session.in_(list(sessions)),
        )
        with self.store.read() as conn:
            found = [DecisionRow(r.session, r.decision_time, r.payload, r.decision_key) for r in conn.execute(q)]
        return self.write_decisions(
            engine, market=market, experiment=to_experiment, config_version=config_version, decisions=found
        )

    def read_decisions(
        self, engine: str, *, market: str, experiment: str, sessions: Sequence[date] | None = None
    ) -> pl.DataFrame:
        """Decisions of ``engine`` in one experiment (every config version) as a frame: market, session,
        decision_time, experiment, config_version, decision_key, payload (JSON text), sorted by session."""
        t = engine_decisions
        cols = ("market", "session", "decision_time", "experiment", "config_version", "decision_key", "payload")
        q = sa.select(*(t.c[c] for c in cols)).where(
            t.c.engine == engine, t.c.market == market, t.c.experiment == experiment
        )
        if sessions is not None:
            q = q.where(t.c.session.in_(list(sessions)))
        with self.store.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q.order_by(t.c.session, t.c.decision_key))]
        payloads = [r.pop("payload") for r in rows]
        frame = frame_of(rows, DECISION_SCHEMA, source="engine_decisions")
        return frame.with_columns(
            pl.Series("payload", [json.dumps(p, sort_keys=True) for p in payloads], dtype=pl.String)
        )

    def write_output(self, table: str, frame: pl.DataFrame) -> int:
        """Upsert ``frame`` into the output table ``table`` (columns the table lacks are an error)."""
        target = _table(table)
        extra = [c for c in frame.columns if c not in target.c]
        if extra:
            raise StoreError(f"{table}: output columns {extra} are not columns of the table")
        return self.store.upsert(target, [row | {"created_at": utc_now()} for row in rows_of(frame)])

    def read_output(
        self,
        table: str,
        schema: Mapping[str, pl.DataType],
        *,
        market: str,
        config_version: str | None = None,
        sessions: Sequence[date] | None = None,
        experiment: str | None = None,
    ) -> pl.DataFrame:
        """Rows of an output table as a frame with exactly ``schema`` (strict), sorted by session.

        Filters: one config version and one experiment when given, else any.

        Raises
        ------
        StoreError
            ``schema`` names a column the table lacks.
        """
        target = _table(table)
        missing = [c for c in schema if c not in target.c]
        if missing:
            raise StoreError(f"{table}: declared columns {missing} are not columns of the table")
        q = sa.select(*(target.c[c] for c in schema)).where(target.c.market == market)
        if config_version is not None:
            q = q.where(target.c.config_version == config_version)
        if experiment is not None:
            q = q.where(target.c.experiment == experiment)
        if sessions is not None:
            q = q.where(target.c.session.in_(list(sessions)))
        with self.store.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q.order_by(target.c.session))]
        return frame_of(rows, schema, source=table)


def _table(name: str) -> sa.Table:
    try:
        return metadata.tables[name]
    except KeyError:
        raise StoreError(f"unknown runtime table {name!r}") from None
