"""Validation on the synthetic market: sector and regime probes against baselines (numbers are printed)."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

from prometheus.data.synthetic import SyntheticMarket
from prometheus.encoders.numeric import WalkForward, features_of
from prometheus.encoders.numeric.features import scaled_inputs
from prometheus.encoders.numeric.network import build_encoder, state_to_numpy
from prometheus.encoders.numeric.training import embed
from tests.support.encoder_kit import VALIDATION_CONFIG, synthetic_panel

PROBE_EVERY = 10  # probe one session in ten
TRAIN_SHARE = 0.6


def _probe_sector(vectors: dict[int, np.ndarray], names: dict[int, np.ndarray], sector: np.ndarray) -> float:
    """Mean accuracy of per-session probes trained on 60% of the names and tested on the others."""
    rng = np.random.default_rng(0)
    train = np.zeros(sector.size, dtype=bool)
    train[rng.permutation(sector.size)[: int(TRAIN_SHARE * sector.size)]] = True
    accs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t, z in vectors.items():
            idx = names[t]
            tr = train[idx]
            if tr.sum() < 20 or (~tr).sum() < 5:
                continue
            clf = LogisticRegression(C=1.0, max_iter=500).fit(z[tr], sector[idx[tr]])
            accs.append(float((clf.predict(z[~tr]) == sector[idx[~tr]]).mean()))
    return float(np.mean(accs))


def _sessions(wf: WalkForward, symbols: tuple[str, ...], sessions: tuple) -> tuple[dict, dict]:
    col = {s: k for k, s in enumerate(symbols)}
    row = {d: k for k, d in enumerate(sessions)}
    vectors, names = {}, {}
    dates = sorted(wf.embeddings["date"].unique().to_list())[::PROBE_EVERY]
    for d, g in wf.embeddings.filter(pl.col("date").is_in(dates)).group_by("date"):
        t = row[d[0]]
        vectors[t] = np.stack(g["embedding"].to_numpy())
        names[t] = np.array([col[s] for s in g["symbol"]])
    return vectors, names


def test_sector_probe_when_trained_beats_chance_untrained_and_pca(
    synthetic: SyntheticMarket, walk_forward: WalkForward
) -> None:
    panel = synthetic_panel(synthetic)
    sector = np.asarray(synthetic.panel.universe.sector)
    vectors, names = _sessions(walk_forward, panel.symbols, panel.sessions)
    features = features_of(panel, VALIDATION_CONFIG)
    model = walk_forward.models[0]
    inputs = scaled_inputs(features, model.scales, VALIDATION_CONFIG.clip)
    rows = np.array(sorted(vectors))
    untrained = embed(inputs, rows, state_to_numpy(build_encoder(4, VALIDATION_CONFIG, 123)), VALIDATION_CONFIG)
    rf, dim = VALIDATION_CONFIG.receptive_field, VALIDATION_CONFIG.dim

    def window(t: int, idx: np.ndarray) -> np.ndarray:
        return inputs[t - rf + 1 : t + 1][:, idx].transpose(1, 0, 2).reshape(idx.size, -1)

    train_rows = np.flatnonzero(np.array(panel.sessions) <= model.train_end)[-250::5]
    raw = np.concatenate([window(t, np.arange(len(panel.symbols))) for t in train_rows])
    mean = raw.mean(axis=0)
    basis = np.linalg.svd(raw - mean, full_matrices=False)[2][:dim].T

    trained_acc = _probe_sector(vectors, names, sector)
    untrained_acc = _probe_sector({t: untrained[k, names[t]] for k, t in enumerate(rows)}, names, sector)
    pca_acc = _probe_sector({t: (window(t, names[t]) - mean) @ basis for t in rows}, names, sector)
    chance = 1.0 / len(np.unique(sector))
    print(
        f"sector probe: trained {trained_acc:.3f}, untrained {untrained_acc:.3f}, PCA {pca_acc:.3f}, "
        f"chance {chance:.3f}"
    )

    assert trained_acc >= 2 * chance
    assert trained_acc > untrained_acc
    assert trained_acc > pca_acc


def test_regime_probe_when_trained_reports_balanced_accuracy(
    synthetic: SyntheticMarket, walk_forward: WalkForward
) -> None:
    regimes = np.asarray(synthetic.panel.regimes)
    row = {d: k for k, d in enumerate(synthetic.sessions)}
    e = walk_forward.embeddings.group_by("date").agg(pl.col("embedding").list.to_array(32).arr.to_list()).sort("date")
    z = np.stack([np.stack(v).mean(axis=0) for v in e["embedding"].to_list()])  # cross-sectional mean per session
    y = regimes[[row[d] for d in e["date"]]]
    cut = int(0.6 * len(y))  # walk-forward split: fit on the earlier sessions, score the later ones
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced").fit(z[:cut], y[:cut])
    score = balanced_accuracy_score(y[cut:], clf.predict(z[cut:]))
    print(
        f"regime probe: balanced accuracy {score:.3f} on {len(y) - cut} later sessions "
        f"(chance {1 / len(np.unique(y[cut:])):.3f})"
    )

    assert 0.0 <= score <= 1.0
    assert len(np.unique(y[cut:])) >= 2
