"""Pure maths of the universe: the screens of one session and the rank hysteresis step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from prometheus.engines.universe.config import UniverseConfig
from prometheus.engines.universe.schema import UNRANKED, UniverseReason


@dataclass(frozen=True)
class Screened:
    """One session's cross-section: per listed symbol its median dollar volume, failed screen (or None) and rank."""

    symbols: tuple[str, ...]
    median_dollar_volume: np.ndarray
    failed: tuple[UniverseReason | None, ...]
    rank: np.ndarray  # int, UNRANKED where a screen failed


@dataclass(frozen=True)
class Row:
    """One output row of a session: a member (reason ENTERED / STAYED) or an exit."""

    instrument: str
    rank: int
    reason: UniverseReason
    median_dollar_volume: float | None


def last_finite(values: np.ndarray) -> np.ndarray:
    """Last finite value of each column of a (rows, names) array (NaN where none)."""
    finite = np.isfinite(values)
    idx = values.shape[0] - 1 - np.argmax(finite[::-1], axis=0)
    out = values[idx, np.arange(values.shape[1])]
    return np.where(finite.any(axis=0), out, np.nan)


def screen(
    session: date,
    symbols: np.ndarray,
    dollar_volume: np.ndarray,
    close: np.ndarray,
    delisted: np.ndarray,
    quarantined: np.ndarray,
    cfg: UniverseConfig,
) -> Screened:
    """Screens and ranks of the names listed at ``session`` from their trailing (rows, names) bars.

    ``dollar_volume`` and ``close`` hold NaN where no bar was known; ``delisted`` is datetime64[D] per name (NaT
    while listed); ``quarantined`` masks names with a quarantined bar within ``cfg.qc_window``. Screens fail in
    the order of :class:`UniverseReason`; ranks count names passing every screen, by median dollar volume
    descending, ties by symbol.
    """
    n = len(symbols)
    bars = np.isfinite(dollar_volume[-cfg.history_window :]).sum(axis=0)
    # No bar on a session of a listed name is no trading: it counts as zero dollar volume, never as missing.
    mdv = np.median(np.nan_to_num(dollar_volume[-cfg.volume_window :], nan=0.0), axis=0) if n else np.zeros(0)
    price = last_finite(close[-cfg.volume_window :]) if n else np.zeros(0)
    gone = ~np.isnat(delisted) & (delisted <= np.datetime64(session, "D"))
    checks = (
        (gone, UniverseReason.DELISTED),
        (quarantined, UniverseReason.QC),
        (bars < cfg.min_history, UniverseReason.HISTORY),
        (~(price >= cfg.price_floor), UniverseReason.PRICE),
        (~(mdv >= cfg.volume_floor), UniverseReason.VOLUME),
    )
    failed: list[UniverseReason | None] = [None] * n
    for mask, reason in checks:
        for j in np.flatnonzero(mask):
            failed[j] = failed[j] or reason
    ok = np.array([f is None for f in failed], dtype=bool)
    rank = np.full(n, UNRANKED, dtype=np.int64)
    passing = np.flatnonzero(ok)
    # lexsort: last key first; -mdv descending, then symbol ascending for ties.
    order = passing[np.lexsort((symbols[passing], -mdv[passing]))]
    rank[order] = np.arange(1, len(order) + 1)
    return Screened(tuple(symbols.tolist()), mdv, tuple(failed), rank)


def step(previous: frozenset[str], s: Screened, cfg: UniverseConfig) -> tuple[frozenset[str], list[Row]]:
    """Members after one session and its rows: members (entered / stayed), then exits of previous members.

    A name passing every screen enters at rank <= ``enter_rank`` and, once in, stays while its rank is
    <= ``leave_rank``; a screen failure removes it at once. A previous member no longer listed exits as delisted.
    """
    rows: list[Row] = []
    current: set[str] = set()
    at: Mapping[str, int] = {sym: j for j, sym in enumerate(s.symbols)}
    for j, sym in enumerate(s.symbols):
        r, was = int(s.rank[j]), sym in previous
        if r != UNRANKED and (r <= cfg.enter_rank or (was and r <= cfg.leave_rank)):
            current.add(sym)
            rows.append(
                Row(sym, r, UniverseReason.STAYED if was else UniverseReason.ENTERED, float(s.median_dollar_volume[j]))
            )
    for sym in sorted(previous - current):
        j = at.get(sym)
        if j is None:
            rows.append(Row(sym, UNRANKED, UniverseReason.DELISTED, None))
            continue
        reason = s.failed[j] or UniverseReason.RANK
        rows.append(Row(sym, int(s.rank[j]), reason, float(s.median_dollar_volume[j])))
    return frozenset(current), rows
