"""Stability checkpoints: a run resumed from one decides exactly as a fresh run; a stale one is never used."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import polars as pl

from prometheus.data.schema import Table
from prometheus.data.timemachine import HistorySnapshot
from prometheus.engines.stability import CheckpointStore, StabilityCheckpoint, StabilityConfig, StabilityEngine
from prometheus.engines.stability.checkpoint import KEEP

#: Short windows keep the runs fast; the state and the maths are the same as with the defaults.
SMALL = StabilityConfig(ar_window=40, delta_short=5, delta_long=40, turbulence_window=40, corr_window=21,
                        norm_window=40, score_window=40, min_history=20)  # fmt: skip


def _run(h, sessions: list, store: CheckpointStore | None, snapshot: HistorySnapshot | None = None):
    engine = StabilityEngine(SMALL, checkpoints=store)
    ctx = h.context(sessions)
    return engine.run(h.view(ctx, snapshot), ctx, {}), engine


def test_run_when_resumed_from_checkpoints_equals_fresh_runs(stability_history, tmp_path: Path) -> None:
    h = stability_history
    days = list(h.market.sessions[300:372])
    store = CheckpointStore(tmp_path / "checkpoints")
    whole, _ = _run(h, days, None)
    first, engine = _run(h, days[:40], store)
    assert engine.resumed_from is None
    parts = [first]
    for lo, hi in ((40, 60), (60, 61), (61, 72)):  # a partition, one daily session, the rest
        part, engine = _run(h, days[lo:hi], store)
        assert engine.resumed_from == days[lo - 1]
        parts.append(part)
    assert pl.concat([p.frame for p in parts]).equals(whole.frame)  # every column, bit for bit
    assert [d for p in parts for d in p.decisions] == list(whole.decisions)
    # A fresh one-session run (its own warm-up, no checkpoint) decides as the resumed and the whole runs: the
    # warm-up covers every trailing window behind a decision (it was 9 sessions short of the smoothed turbulence).
    alone, _ = _run(h, days[60:61], None)
    assert alone.frame.equals(parts[2].frame)
    assert alone.frame.height > 0
    for k in (0, 3, 6, 25, 71):
        fresh, _ = _run(h, days[k : k + 1], None)
        assert fresh.frame.equals(whole.frame.filter(pl.col("session") == days[k]))


def test_run_when_late_row_predates_checkpoint_recomputes(stability_history, tmp_path: Path) -> None:
    h = stability_history
    days = list(h.market.sessions[300:330])
    store = CheckpointStore(tmp_path / "checkpoints")
    _run(h, days[:20], store)
    ctx = h.context(days[:20])
    # A revision of a bar dated before the checkpoint's session, known only after the checkpoint was computed.
    prices = h.snapshot.tables[Table.PRICES_ADJUSTED]
    late = (
        prices.filter(pl.col("date") == days[15])
        .head(3)
        .with_columns(
            pl.col("total_return") * 5.0, pl.lit(ctx.decision_times[-1] + timedelta(hours=1)).alias("known_at")
        )
    )
    tables = dict(h.snapshot.tables) | {Table.PRICES_ADJUSTED: pl.concat([prices, late])}
    revised = HistorySnapshot(h.snapshot.known_until, tables)
    resumed, engine = _run(h, days[20:30], store, revised)
    assert engine.resumed_from is None
    fresh, _ = _run(h, days[20:30], None, revised)
    assert resumed.frame.equals(fresh.frame)
    # Without the revision the same checkpoint is used.
    _, engine = _run(h, days[20:30], store)
    assert engine.resumed_from == days[19]


def test_store_when_checkpoint_damaged_or_of_other_config_finds_none(stability_history, tmp_path: Path) -> None:
    h = stability_history
    days = list(h.market.sessions[300:330])
    store = CheckpointStore(tmp_path / "checkpoints")
    _run(h, days[:20], store)
    market, version = "US_EQ", SMALL.config_version
    assert store.latest_before(market, version, days[20]) is not None
    assert store.latest_before(market, StabilityConfig().config_version, days[20]) is None
    assert store.latest_before(market, version, days[19]) is None  # only sessions before the run
    npz = next((tmp_path / "checkpoints").rglob("*.npz"))
    npz.write_bytes(npz.read_bytes()[:-10])
    assert store.latest_before(market, version, days[20]) is None
    _, engine = _run(h, days[20:22], store)
    assert engine.resumed_from is None


def test_store_when_saving_keeps_newest_and_writes_no_temporaries(stability_history, tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    days = list(stability_history.market.sessions[: KEEP + 3])
    for d in days:
        state = {"": {"series/x": [1.0, float("nan")]}}
        store.save(StabilityCheckpoint("US_EQ", "v1", d, stability_history.context([d]).decision_times[0], state))
    files = sorted(p.name for p in (tmp_path / "stability" / "US_EQ" / "v1").iterdir())
    assert files == sorted([f"{d.isoformat()}.{ext}" for d in days[-KEEP:] for ext in ("json", "npz")])
    found = store.latest_before("US_EQ", "v1", days[-1] + timedelta(days=1))
    assert found is not None
    assert found.session == days[-1]
    assert found.state[""]["series/x"][0] == 1.0
    meta = json.loads((tmp_path / "stability" / "US_EQ" / "v1" / f"{days[-1].isoformat()}.json").read_text())
    assert meta["market"] == "US_EQ"
    assert meta["config_version"] == "v1"
