"""Model artifacts under ``<data_root>/models/encoders/<market>/<encoder>/<config>/<period>/``.

An artifact is ``weights.safetensors`` (float32 tensors, deterministic bytes) and ``model.json`` (config,
period, training window, seed, input scales, neighbour count, loss, alignment, SHA-256 of the weights). Both
files are written to temporary names and renamed.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from prometheus.core.errors import StoreError
from prometheus.core.types import Market
from prometheus.encoders.config import EncoderKind, NumericEncoderConfig

WEIGHTS_FILE = "weights.safetensors"
META_FILE = "model.json"


@dataclass(frozen=True)
class NumericModel:
    """One trained numeric encoder: the partition it serves, its lineage and its (aligned) weights."""

    market: Market
    config: NumericEncoderConfig
    period_start: date
    period_end: date
    train_start: date | None
    train_end: date | None
    known_at: datetime
    seed: int
    scales: np.ndarray
    state: dict[str, np.ndarray]
    train_loss: float | None
    alignment_residual: float | None

    @property
    def weights_sha256(self) -> str:
        """SHA-256 over the weights in name order (independent of file format)."""
        h = hashlib.sha256()
        for name in sorted(self.state):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.state[name], dtype=np.float32).tobytes())
        h.update(np.asarray(self.scales, dtype=np.float64).tobytes())
        return h.hexdigest()

    @property
    def model_version(self) -> str:
        """Content hash of config, period, training window and weights."""
        body = json.dumps(
            {"config": self.config.config_version, "period": self.period_start.isoformat(),
             "train": [str(self.train_start), str(self.train_end)], "weights": self.weights_sha256},
            sort_keys=True,
        )  # fmt: skip
        return hashlib.sha256(body.encode()).hexdigest()


def artifact_dir(models_root: Path, market: Market, config_version: str, period_start: date) -> Path:
    """Folder of one numeric model (relative layout under ``<data_root>/models/encoders``)."""
    return Path(models_root) / market.value / EncoderKind.NUMERIC.value / config_version[:16] / period_start.isoformat()


def save_model(model: NumericModel, models_root: Path) -> Path:
    """Write the artifact; returns its folder. Raises StoreError on I/O failure."""
    folder = artifact_dir(models_root, model.market, model.config.config_version, model.period_start)
    meta = _meta(model)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _atomic(
            folder / WEIGHTS_FILE,
            lambda p: save_file(model.state, str(p), metadata={"model_version": model.model_version}),
        )
        text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
        _atomic(folder / META_FILE, lambda p: p.write_text(text))
    except OSError as exc:
        raise StoreError(f"cannot write encoder artifact {folder}: {exc}") from exc
    return folder


def load_model(folder: Path) -> NumericModel:
    """Read an artifact written by :func:`save_model` and check its hash.

    Raises
    ------
    StoreError
        Missing files or a weights hash that does not match ``model.json``.
    """
    try:
        meta = json.loads((Path(folder) / META_FILE).read_text())
        state = load_file(str(Path(folder) / WEIGHTS_FILE))
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read encoder artifact {folder}: {exc}") from exc
    model = NumericModel(
        market=Market(meta["market"]),
        config=NumericEncoderConfig.from_mapping(meta["config"], source=str(folder)),
        period_start=date.fromisoformat(meta["period_start"]),
        period_end=date.fromisoformat(meta["period_end"]),
        train_start=_date_or_none(meta["train_start"]),
        train_end=_date_or_none(meta["train_end"]),
        known_at=datetime.fromisoformat(meta["known_at"]),
        seed=int(meta["seed"]),
        scales=np.asarray(meta["scales"], dtype=np.float64),
        state=dict(state),
        train_loss=meta["train_loss"],
        alignment_residual=meta["alignment_residual"],
    )
    if model.weights_sha256 != meta["weights_sha256"]:
        raise StoreError(f"encoder artifact {folder}: weights do not match their recorded SHA-256")
    return model


def _meta(model: NumericModel) -> dict[str, Any]:
    return {
        "market": model.market.value,
        "encoder": EncoderKind.NUMERIC.value,
        "config": model.config.model_dump(mode="json"),
        "config_version": model.config.config_version,
        "model_version": model.model_version,
        "period_start": model.period_start.isoformat(),
        "period_end": model.period_end.isoformat(),
        "train_start": str(model.train_start) if model.train_start else None,
        "train_end": str(model.train_end) if model.train_end else None,
        "known_at": model.known_at.isoformat(),
        "seed": model.seed,
        "scales": [float(x) for x in model.scales],
        "train_loss": model.train_loss,
        "alignment_residual": model.alignment_residual,
        "weights_sha256": model.weights_sha256,
    }


def _date_or_none(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
