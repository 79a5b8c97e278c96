"""Functions run in spawned worker processes by the runtime-store tests (importable by the child)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables import engine_decisions


def decision_rows(worker: int, start: int, stop: int) -> list[dict[str, Any]]:
    """Engine decisions ``start..stop-1`` of ``worker``; keys never collide between workers."""
    return [
        {
            "engine": "regime",
            "market": "US_EQ",
            "session": date(2024, 1, 2),
            "decision_time": datetime(2024, 1, 2, 21, 5, tzinfo=UTC),
            "experiment": "concurrency",
            "config_version": "c" * 64,
            "decision_key": f"w{worker}-{i:05d}",
            "payload": {"worker": worker, "i": i},
        }
        for i in range(start, stop)
    ]


def insert_decisions(url: str, worker: int, n_rows: int, batch: int, start_together: Any = None) -> int:
    """Insert ``n_rows`` decisions of ``worker``, ``batch`` rows per transaction; returns the rows written.

    ``start_together`` is an optional multiprocessing barrier passed after the connection is open, so that the
    workers' writes overlap instead of one finishing while the other is still importing.
    """
    store = RuntimeStore(url)
    written = 0
    try:
        with store.engine.connect():
            pass
        if start_together is not None:
            start_together.wait(timeout=120)
        for start in range(0, n_rows, batch):
            written += store.upsert(engine_decisions, decision_rows(worker, start, min(start + batch, n_rows)))
    finally:
        store.close()
    return written


def insert_decisions_main(url: str, worker: int, n_rows: int, batch: int, start_together: Any) -> None:
    """Process entry point: exit code 0 only if exactly ``n_rows`` were written."""
    written = insert_decisions(url, worker, n_rows, batch, start_together)
    if written != n_rows:
        raise SystemExit(f"worker {worker} wrote {written} rows, expected {n_rows}")
