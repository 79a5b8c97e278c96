"""Two OS processes write engine decisions concurrently; every row lands exactly once."""

from __future__ import annotations

import multiprocessing

import pytest
import sqlalchemy as sa

from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables import engine_decisions
from tests.support.fixtures import runtime_db_url  # noqa: F401  (fixture)
from tests.support.runtime_workers import insert_decisions_main

ROWS_PER_WORKER = 5_000
BATCH = 25  # 200 transactions per process, so the writers contend for the lock
WORKERS = (1, 2)


@pytest.mark.timeout(300)
def test_upsert_when_two_processes_write_concurrently_keeps_every_row(runtime_db_url: str) -> None:  # noqa: F811
    with RuntimeStore(runtime_db_url) as store:
        store.upgrade()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(WORKERS))
    procs = [
        ctx.Process(target=insert_decisions_main, args=(runtime_db_url, w, ROWS_PER_WORKER, BATCH, barrier))
        for w in WORKERS
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=240)
    exit_codes = [proc.exitcode for proc in procs]
    with RuntimeStore(runtime_db_url) as store, store.begin() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(engine_decisions)).scalar_one()
        keys = conn.execute(sa.select(sa.func.count(sa.distinct(engine_decisions.c.decision_key)))).scalar_one()
        per_worker = {
            w: conn.execute(
                sa.select(sa.func.count())
                .select_from(engine_decisions)
                .where(engine_decisions.c.decision_key.like(f"w{w}-%"))
            ).scalar_one()
            for w in WORKERS
        }
    assert exit_codes == [0, 0]
    assert total == keys == 2 * ROWS_PER_WORKER
    assert per_worker == {1: ROWS_PER_WORKER, 2: ROWS_PER_WORKER}
