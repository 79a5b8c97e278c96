"""Where the Regime engine's fitted models are kept: one pickle per refit period and config version."""

from __future__ import annotations

import pickle
from datetime import date
from pathlib import Path

from prometheus.core.types import Market
from prometheus.engines.regime.config import RegimeConfig
from prometheus.engines.regime.model import RegimeModel


def model_path(root: Path, market: Market, config_version: str, period: tuple[date, date]) -> Path:
    """Where the model of ``period`` is kept: ``<root>/regime/<market>/<version[:16]>/<start>_<end>.pkl``."""
    return root / "regime" / market.value.lower() / config_version[:16] / f"{period[0]}_{period[1]}.pkl"


def save_model(model: RegimeModel, root: Path, market: Market) -> Path:
    """Write ``model`` atomically (temporary file, then rename); returns its path."""
    path = model_path(root, market, model.config_version, (model.period_start, model.period_end))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(model))
    tmp.replace(path)
    return path


def load_models(root: Path, market: Market, config: RegimeConfig) -> dict[tuple[date, date], RegimeModel]:
    """Models saved for ``config``'s version, by period (files are ours: written by :func:`save_model`)."""
    folder = model_path(root, market, config.config_version, (date.min, date.min)).parent
    models: dict[tuple[date, date], RegimeModel] = {}
    for path in sorted(folder.glob("*.pkl")):
        model = pickle.loads(path.read_bytes())  # noqa: S301 - files written by save_model only
        models[(model.period_start, model.period_end)] = model
    return models
