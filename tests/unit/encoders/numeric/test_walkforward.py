"""Walk-forward: causality, determinism, alignment across retrains and artifacts."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from prometheus.core.errors import StoreError
from prometheus.data.synthetic import SyntheticMarket
from prometheus.encoders import NumericEncoderConfig
from prometheus.encoders.numeric import WalkForward, load_model, retraining_periods, run_walk_forward, save_model
from prometheus.encoders.numeric.alignment import pca_rotation, procrustes_rotation, rotate_head
from tests.support.encoder_kit import synthetic_panel

FAST = NumericEncoderConfig(
    retrain="year", steps_initial=15, steps_retrain=5, max_train_names=40, batch_sessions=2, batch_names=16,
    train_sessions=252, min_train_sessions=200,
)  # fmt: skip


def test_embeddings_when_data_after_t_is_appended_are_unchanged(synthetic: SyntheticMarket) -> None:
    full = synthetic_panel(synthetic)
    cut = full.sessions.index(next(d for d in full.sessions if d.year == full.sessions[0].year + 3)) + 40
    short = run_walk_forward(synthetic_panel(synthetic, stop=cut), FAST)
    long = run_walk_forward(full, FAST)
    t = full.sessions[cut - 1]

    a = short.embeddings.filter(pl.col("date") <= t).sort("date", "symbol")
    b = long.embeddings.filter(pl.col("date") <= t).sort("date", "symbol")
    assert a.height > 0
    assert a.equals(b)
    assert [m.model_version for m in short.models] == [m.model_version for m in long.models[: len(short.models)]]


def test_walk_forward_when_rerun_with_same_seed_is_bit_identical(synthetic: SyntheticMarket) -> None:
    panel = synthetic_panel(synthetic, stop=600)
    first = run_walk_forward(panel, FAST)
    second = run_walk_forward(panel, FAST)

    assert first.models
    assert [m.weights_sha256 for m in first.models] == [m.weights_sha256 for m in second.models]
    assert first.embeddings.equals(second.embeddings)


def test_models_when_trained_use_only_sessions_before_their_period(walk_forward: WalkForward) -> None:
    assert len(walk_forward.models) >= 2
    for model in walk_forward.models:
        assert model.train_end is not None
        assert model.train_end < model.period_start
        assert model.known_at.date() <= model.period_start
        rows = walk_forward.embeddings.filter(pl.col("model_version") == model.model_version)
        assert rows["date"].min() >= model.period_start
        assert rows["date"].max() <= model.period_end


def test_retrains_when_aligned_keep_dimensions_closer_than_unaligned(walk_forward: WalkForward) -> None:
    e = walk_forward.embeddings.with_columns(pl.col("date").dt.year().alias("y"))
    years = sorted(e["y"].unique().to_list())
    assert len(years) >= 2
    # The same column carries the same feature: per-dimension correlation across a retrain stays positive.
    last_old = e.filter(pl.col("y") == years[0]).sort("date").group_by("symbol").last()
    first_new = e.filter(pl.col("y") == years[1]).sort("date").group_by("symbol").first()
    both = last_old.join(first_new, on="symbol", suffix="_new")
    a, b = np.stack(both["embedding"].to_numpy()), np.stack(both["embedding_new"].to_numpy())
    same = np.mean([np.corrcoef(a[:, k], b[:, k])[0, 1] for k in range(a.shape[1])])
    shuffled = np.mean([np.corrcoef(a[:, k], b[:, (k + 1) % a.shape[1]])[0, 1] for k in range(a.shape[1])])
    print(f"alignment: mean same-dimension corr {same:.3f} vs shifted {shuffled:.3f}")
    assert same > shuffled


def test_procrustes_when_given_rotated_copy_recovers_rotation() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8))
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    rotation, residual = procrustes_rotation(x @ q, x)

    assert np.allclose(rotation, q.T, atol=1e-8)
    assert residual < 1e-10


def test_pca_rotation_when_applied_orders_variance_and_is_orthogonal() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 4)) * np.array([1.0, 3.0, 0.5, 2.0])
    r = pca_rotation(x)
    var = (x @ r).var(axis=0)

    assert np.allclose(r.T @ r, np.eye(4), atol=1e-10)
    assert np.all(np.diff(var) <= 0)


def test_rotate_head_when_applied_rotates_outputs() -> None:
    rng = np.random.default_rng(2)
    state = {
        "head.weight": rng.normal(size=(4, 6, 1)).astype(np.float32),
        "head.bias": rng.normal(size=4).astype(np.float32),
    }
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    h = rng.normal(size=(10, 6))
    out = h @ state["head.weight"][:, :, 0].T + state["head.bias"]
    rotated = rotate_head(state, q)

    assert np.allclose(h @ rotated["head.weight"][:, :, 0].T + rotated["head.bias"], out @ q, atol=1e-5)


def test_artifact_when_saved_and_loaded_round_trips(walk_forward: WalkForward, tmp_path) -> None:
    model = walk_forward.models[0]
    folder = save_model(model, tmp_path)
    loaded = load_model(folder)

    assert loaded.model_version == model.model_version
    assert loaded.train_end == model.train_end
    assert loaded.seed == model.seed
    assert all(np.array_equal(loaded.state[k], model.state[k]) for k in model.state)


def test_artifact_when_weights_tampered_raises_store_error(walk_forward: WalkForward, tmp_path) -> None:
    folder = save_model(walk_forward.models[0], tmp_path)
    meta = (folder / "model.json").read_text().replace('"weights_sha256": "', '"weights_sha256": "0')
    (folder / "model.json").write_text(meta)

    with pytest.raises(StoreError, match="SHA-256"):
        load_model(folder)


def test_retraining_periods_when_quarterly_cover_calendar_quarters() -> None:
    from datetime import date

    periods = retraining_periods([date(2020, 2, 3), date(2020, 3, 31), date(2020, 4, 1)], "quarter")

    assert [(p.start, p.end) for p in periods] == [
        (date(2020, 1, 1), date(2020, 3, 31)),
        (date(2020, 4, 1), date(2020, 6, 30)),
    ]
