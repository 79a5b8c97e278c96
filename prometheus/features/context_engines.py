"""Engine features: the upstream engines' output frames joined per (session, instrument).

``features`` sits below ``engines`` in the layer order, so the engine output schemas are not imported: the columns
read are copied here as strings (from ``prometheus/engines/{regime,stability,fragility}/schema.py``). Engine rows
are decided at their session's decision time, so they are already point in time; each feature row reads only
upstream rows of its own session (an exact join on ``session``: never a later session's row, and no stale carry
forward from an earlier one; a missing row gives null).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from prometheus.core.errors import DataError
from prometheus.features.context import ENGINE_FEATURES

# Engine names (the keys of ``upstream``) and their output columns, copied from the engine specs.
REGIME, STABILITY, FRAGILITY = "regime", "stability", "fragility"
_REGIME_COLUMNS = ("session", "label", "probabilities", "confidence")  # regime_states (market level)
_SCORE_COLUMNS = ("session", "instrument", "score")  # stability_scores, fragility_scores
_MARKET_ROW = ""  # stability: instrument of the market row
_SECTOR_PREFIX = "sector:"  # stability: 'sector:<name>'
_CLUSTER_PREFIX = "cluster:"  # fragility: 'cluster:<first member>'
#: Regime labels as an ordinal (RegimeLabel), and the label of each state by state count (labels_for).
REGIME_ORDINAL: Mapping[str, float] = {"calm": 0.0, "normal": 1.0, "crisis": 2.0}
_STATE_LABELS = {2: ("calm", "crisis"), 3: ("calm", "normal", "crisis")}

#: Row key of :func:`engine_context`'s output.
ENGINE_KEY: tuple[str, ...] = ("session", "instrument")
#: Output schema of :func:`engine_context`.
ENGINE_SCHEMA = pl.Schema(
    {"session": pl.Date(), "instrument": pl.String(), **{f.name: pl.Float64() for f in ENGINE_FEATURES}}
)


def engine_context(upstream: Mapping[str, pl.DataFrame], instruments_sector: pl.DataFrame) -> pl.DataFrame:
    """Engine features (:data:`ENGINE_SCHEMA`) per row of ``instruments_sector``.

    Parameters
    ----------
    upstream
        Engine output frames by engine name: ``regime`` (``session``, ``label``, ``probabilities``, ``confidence``),
        ``stability`` (``session``, ``instrument`` '' or 'sector:<name>', ``score``), ``fragility`` (``session``,
        ``instrument`` or 'cluster:<first member>', ``score``, optionally ``components`` with ``cluster_avg_corr``
        and ``flagged``). An absent engine leaves its features null. Each frame holds one run (one experiment and
        config version): a repeated (session, instrument) is an error.
    instruments_sector
        The rows to serve: ``session``, ``instrument``, ``sector`` (null when unknown), e.g. the point-in-time
        ``profiles.sector`` with ``date`` and ``symbol`` renamed.

    Returns
    -------
    pl.DataFrame
        One row per row of ``instruments_sector``, sorted by session then instrument; market-level values are
        repeated on every instrument of the session.

    Raises
    ------
    DataError
        A missing column or a repeated (session, instrument) in an input.
    """
    base = _checked(instruments_sector, ("session", "instrument", "sector"), "instruments_sector", ENGINE_KEY)
    out = base.select("session", "instrument", pl.col("sector").cast(pl.String()))
    if REGIME in upstream:
        out = out.join(_regime(upstream[REGIME]), on="session", how="left")
    if STABILITY in upstream:
        scores = _checked(upstream[STABILITY], _SCORE_COLUMNS, STABILITY, ENGINE_KEY)
        market = scores.filter(pl.col("instrument") == _MARKET_ROW).select("session", stability_market="score")
        sector = scores.filter(pl.col("instrument").str.starts_with(_SECTOR_PREFIX)).select(
            "session", pl.col("instrument").str.strip_prefix(_SECTOR_PREFIX).alias("sector"), stability_sector="score"
        )
        out = out.join(market, on="session", how="left").join(sector, on=["session", "sector"], how="left")
    if FRAGILITY in upstream:
        out = out.join(_fragility(upstream[FRAGILITY]), on=ENGINE_KEY, how="left")
    missing = [pl.lit(None, dtype=pl.Float64()).alias(f.name) for f in ENGINE_FEATURES if f.name not in out.columns]
    out = out.with_columns(missing).select(*ENGINE_KEY, *(f.name for f in ENGINE_FEATURES))
    return out.sort(*ENGINE_KEY).cast(dict(ENGINE_SCHEMA))


def _regime(frame: pl.DataFrame) -> pl.DataFrame:
    """Per session: label ordinal, probability per label (through the state count), confidence."""
    regime = _checked(frame, _REGIME_COLUMNS, REGIME, ("session",))
    probs = pl.col("probabilities")
    n = probs.list.len()
    per_label = []
    for label in ("calm", "normal", "crisis"):
        p = pl.lit(None, dtype=pl.Float64())
        for states, labels in _STATE_LABELS.items():
            if label in labels:
                p = pl.when(n == states).then(probs.list.get(labels.index(label), null_on_oob=True)).otherwise(p)
        per_label.append(p.cast(pl.Float64()).alias(f"regime_p_{label}"))
    return regime.select(
        "session",
        pl.col("label").replace_strict(REGIME_ORDINAL, default=None, return_dtype=pl.Float64()).alias("regime_label"),
        *per_label,
        pl.col("confidence").cast(pl.Float64()).alias("regime_confidence"),
    )


def _fragility(frame: pl.DataFrame) -> pl.DataFrame:
    """Per (session, instrument) row (cluster rows dropped): score, its cluster's score and flag when present."""
    scores = _checked(frame, _SCORE_COLUMNS, FRAGILITY, ENGINE_KEY)
    rows = scores.filter(~pl.col("instrument").str.starts_with(_CLUSTER_PREFIX))
    fields = rows.schema["components"].fields if "components" in rows.columns else []
    names = {f.name for f in fields}
    comp = pl.col("components").struct

    def field(name: str, alias: str) -> pl.Expr:
        value = comp.field(name).cast(pl.Float64()) if name in names else pl.lit(None, dtype=pl.Float64())
        return value.alias(alias)

    return rows.select(
        *ENGINE_KEY,
        pl.col("score").cast(pl.Float64()).alias("fragility"),
        field("cluster_avg_corr", "fragility_cluster"),
        field("flagged", "fragility_cluster_flagged"),
    )


def _checked(frame: pl.DataFrame, columns: tuple[str, ...], name: str, key: tuple[str, ...]) -> pl.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{name} lacks column(s) {missing}", field=missing[0])
    if frame.select(pl.struct(*key).is_duplicated().any()).item():
        raise DataError(f"{name} repeats a ({', '.join(key)}): one run per frame", field=",".join(key))
    return frame
