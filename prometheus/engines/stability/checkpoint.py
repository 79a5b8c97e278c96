"""Point-in-time checkpoints of the Stability engine's rolling state, so a daily run need not replay the warm-up.

A checkpoint holds every :class:`~prometheus.engines.stability.tracker.ScopeTracker`'s histories after one session,
keyed by market, the engine config's ``config_version`` and that session, with ``known_at``: the decision time of
the session. Every value in it was computed from data known at its own session's decision time, so at most
``known_at``. The engine uses one only when no input row dated at or before its session became known after
``known_at`` (a late row or a revision there means the stored histories may not be what a fresh run computes).

On disk (``<root>/stability/<market>/<config_version>/``): ``<session>.npz`` (the arrays, no pickles) and
``<session>.json`` (metadata with the npz's SHA-256), each written to a temporary file, fsynced and renamed; the
JSON is written last, so a checkpoint without it was never completed and is ignored.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from prometheus.core.time import to_utc

#: Layout and maths of the stored state; bump it whenever the tracker's histories or how they are computed change,
#: so that checkpoints written by older code are never read.
CHECKPOINT_FORMAT = 1
#: Checkpoints kept per market and config version (the newest); a daily cycle needs only the last.
KEEP = 5


@dataclass(frozen=True)
class StabilityCheckpoint:
    """The trackers' histories after ``session`` (scope -> history name -> values)."""

    market: str
    config_version: str
    session: date
    known_at: datetime
    state: Mapping[str, Mapping[str, np.ndarray]]


class CheckpointStore:
    """Stability checkpoints under ``root`` (e.g. ``<data root>/lake/checkpoints``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, market: str, config_version: str) -> Path:
        return self.root / "stability" / market / config_version

    def save(self, checkpoint: StabilityCheckpoint) -> Path:
        """Write ``checkpoint`` atomically (replacing one of the same session) and prune old ones; returns the JSON."""
        folder = self._dir(checkpoint.market, checkpoint.config_version)
        folder.mkdir(parents=True, exist_ok=True)
        scopes = sorted(checkpoint.state)
        arrays = {f"{i}:{key}": np.asarray(values, dtype=np.float64)
                  for i, scope in enumerate(scopes) for key, values in checkpoint.state[scope].items()}  # fmt: skip
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        payload = buf.getvalue()
        meta = {
            "format": CHECKPOINT_FORMAT,
            "market": checkpoint.market,
            "config_version": checkpoint.config_version,
            "session": checkpoint.session.isoformat(),
            "known_at": to_utc(checkpoint.known_at).isoformat(),
            "written_at": datetime.now(UTC).isoformat(),
            "scopes": scopes,
            "sha256": hashlib.sha256(payload).hexdigest(),
        }
        stem = checkpoint.session.isoformat()
        _write_atomic(folder / f"{stem}.npz", payload)
        _write_atomic(folder / f"{stem}.json", json.dumps(meta, indent=1).encode())
        for old in sorted(folder.glob("*.json"))[:-KEEP]:
            old.unlink(missing_ok=True)  # the JSON first: without it the npz is never read
            old.with_suffix(".npz").unlink(missing_ok=True)
        return folder / f"{stem}.json"

    def latest_before(self, market: str, config_version: str, before: date) -> StabilityCheckpoint | None:
        """The newest complete checkpoint of a session before ``before``; None when there is none (or it is
        unreadable: a checkpoint only saves time, so a damaged one is skipped, never trusted)."""
        folder = self._dir(market, config_version)
        if not folder.is_dir():
            return None
        for meta_path in sorted(folder.glob("*.json"), reverse=True):
            if date.fromisoformat(meta_path.stem) >= before:
                continue
            found = _load(meta_path, market, config_version)
            if found is not None:
                return found
        return None


def _load(meta_path: Path, market: str, config_version: str) -> StabilityCheckpoint | None:
    try:
        meta = json.loads(meta_path.read_text())
        payload = meta_path.with_suffix(".npz").read_bytes()
    except (OSError, ValueError):
        return None
    if (meta.get("format") != CHECKPOINT_FORMAT or meta.get("market") != market
            or meta.get("config_version") != config_version
            or meta.get("sha256") != hashlib.sha256(payload).hexdigest()):  # fmt: skip
        return None
    state: dict[str, dict[str, np.ndarray]] = {scope: {} for scope in meta["scopes"]}
    with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
        for name in arrays.files:
            index, key = name.split(":", 1)
            state[meta["scopes"][int(index)]][key] = arrays[name]
    return StabilityCheckpoint(market, config_version, date.fromisoformat(meta["session"]),
                               datetime.fromisoformat(meta["known_at"]), state)  # fmt: skip


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a crash
    finally:
        os.close(fd)
