"""When a saved model can be reused instead of refitted: the data fingerprint beside each model file.

A model file is keyed by its config (lineage) version and its period; what it was fitted on is the history known
before the period. The lake's fingerprint of the engine's input tables up to the period's start
(:meth:`prometheus.data.store.HistoricalStore.fingerprint`) is written beside the file when the model is saved; a
later run (a second experiment that changes only the portfolio, a re-run of the same experiment) reuses the model
when the file and an equal fingerprint are both there, and refits otherwise (no fingerprint: a model saved before
fingerprints, or by hand).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Suffix of the fingerprint file beside a model file.
SUFFIX = ".data-fingerprint"


def fingerprint_path(model_file: Path) -> Path:
    """The fingerprint file of ``model_file``."""
    return model_file.with_name(model_file.name + SUFFIX)


def write_fingerprint(model_file: Path, fingerprint: str) -> None:
    """Record the fingerprint of the data ``model_file`` was fitted on (atomically: temporary file, rename)."""
    target = fingerprint_path(model_file)
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w") as handle:
        handle.write(fingerprint)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(target)


def reusable(model_file: Path, fingerprint: str) -> bool:
    """Whether ``model_file`` exists and was fitted on data with ``fingerprint``."""
    marker = fingerprint_path(model_file)
    return model_file.is_file() and marker.is_file() and marker.read_text() == fingerprint


def invalidate(model_file: Path) -> None:
    """Forget the fingerprint before a model file is replaced, so a crash between the two writes never pairs a
    new model with an old fingerprint (or an old model with a new one)."""
    fingerprint_path(model_file).unlink(missing_ok=True)
