"""Non-price features of the Assessment models (embedding, profile, event, news, engine), declared once.

Each feature is declared in :func:`context_features` (name, family, source, meaning); the readers, the output
schema and ``docs/features.md`` (:func:`features_markdown`) derive from the declarations. The point-in-time reader
of the table-backed families is :func:`point_in_time_context` (in
:mod:`~prometheus.features.context_tables`); the engine family comes from the upstream engines' output frames
through :func:`~prometheus.features.context_engines.engine_context`.

Choices:

- ``emb_j``: column j of the numeric embedding. Embeddings are stored already rotated onto principal axes sorted by
  variance and Procrustes-aligned across retrains (:mod:`prometheus.encoders.numeric.alignment`), so the leading
  k columns are the PCA-reduced embedding with a stable meaning from one retrain to the next.
- Profile ``cluster`` is dropped: it is a k-means label of the embedding centroid (categorical, its count set by
  the profile config) whose information the ``emb_j`` columns already carry as numbers; an ordinal code of it
  would invent an order, a one-hot of a few labels would depend on the configured cluster count.
- Event features avoid the profile's ``sessions_since_earnings`` and ``last_surprise`` (same events, same as-of
  rule): they flag earnings dated this session and earnings already announced for a coming session.
- News: the mean item embedding of ``news_aggregates`` has no tone axis without training (its principal components
  are refitted per sample and not aligned across time, and raw dimensions have no sign convention), so the family
  is the item count and a has-news flag only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prometheus.features.alpha158 import features_markdown as alpha158_markdown
from prometheus.features.residual import residual_markdown

#: Default number of leading embedding columns.
DEFAULT_EMBEDDING_DIMS = 16
#: Calendar days after a session in which an earnings event already announced counts as ``earnings_ahead``.
EARNINGS_AHEAD_DAYS = 7


class ContextFamily(StrEnum):
    """The non-price feature families."""

    EMBEDDING = "embedding"
    PROFILE = "profile"
    EVENT = "event"
    NEWS = "news"
    ENGINE = "engine"


@dataclass(frozen=True)
class ContextFeature:
    """One declared non-price feature: output column, family, where it is read from, meaning."""

    name: str
    family: ContextFamily
    source: str
    meaning: str


def _embedding(k: int) -> tuple[ContextFeature, ...]:
    return tuple(
        ContextFeature(
            f"emb_{j}",
            ContextFamily.EMBEDDING,
            "`instrument_embeddings.embedding`",
            f"column {j} of the session's aligned numeric embedding (principal axis {j}, by variance)",
        )
        for j in range(1, k + 1)
    )


_P, _E, _N, _G = ContextFamily.PROFILE, ContextFamily.EVENT, ContextFamily.NEWS, ContextFamily.ENGINE
_TABLE_FEATURES: tuple[ContextFeature, ...] = (
    ContextFeature("profile_beta", _P, "`profiles.beta`", "rolling beta to the market series"),
    ContextFeature("profile_vol", _P, "`profiles.vol`", "rolling annualised volatility of total returns"),
    ContextFeature("profile_log_adv", _P, "`profiles.adv`", "log of the rolling mean dollar volume (null if <= 0)"),
    ContextFeature("profile_amihud", _P, "`profiles.amihud`",
                   "rolling mean absolute return per million dollars traded"),
    ContextFeature("profile_sessions_since_earnings", _P, "`profiles.sessions_since_earnings`",
                   "sessions since the last earnings known at the decision time"),
    ContextFeature("profile_last_surprise", _P, "`profiles.last_surprise`", "surprise of the last earnings known"),
    ContextFeature("earnings_today", _E, "`events` (event = earnings)",
                   "1 when an earnings event dated this session is known at its decision time (announced before "
                   "the open, or after the previous close), else 0"),
    ContextFeature("earnings_ahead", _E, "`events` (event = earnings)",
                   f"1 when an earnings event dated within {EARNINGS_AHEAD_DAYS} days after this session is "
                   "already announced at its decision time, else 0"),
    ContextFeature("news_count", _N, "`news_aggregates.n_items`",
                   "news items in the aggregate's lookback (0 when the symbol has none that session; null when "
                   "the session has no aggregate row at all)"),
    ContextFeature("news_has", _N, "`news_aggregates`", "1 when news_count > 0, else 0 (null as news_count)"),
)  # fmt: skip

#: Engine features (:func:`~prometheus.features.context_engines.engine_context`), in output order.
ENGINE_FEATURES: tuple[ContextFeature, ...] = (
    ContextFeature("regime_label", _G, "`regime_states.label`",
                   "market regime as an ordinal: calm 0, normal 1, crisis 2 (2-state models have no 1)"),
    ContextFeature("regime_p_calm", _G, "`regime_states.probabilities`", "filtered probability of the calm state"),
    ContextFeature("regime_p_normal", _G, "`regime_states.probabilities`",
                   "filtered probability of the normal state (null for 2-state models)"),
    ContextFeature("regime_p_crisis", _G, "`regime_states.probabilities`",
                   "filtered probability of the crisis state"),
    ContextFeature("regime_confidence", _G, "`regime_states.confidence`", "the largest state probability"),
    ContextFeature("stability_market", _G, "`stability_scores.score` (instrument '')",
                   "market stability score (1 stable, 0 the least stable in a year)"),
    ContextFeature("stability_sector", _G, "`stability_scores.score` (instrument 'sector:<sector>')",
                   "stability score of the instrument's sector"),
    ContextFeature("fragility", _G, "`fragility_scores.score` (the instrument's row)",
                   "the instrument's crowding penalty"),
    ContextFeature("fragility_cluster", _G, "`fragility_scores.components.cluster_avg_corr`",
                   "average residual correlation of the instrument's cluster (the score of its "
                   "'cluster:<first member>' row where the cluster is large enough to have one; null when "
                   "unclustered)"),
    ContextFeature("fragility_cluster_flagged", _G, "`fragility_scores.components.flagged`",
                   "1 when the instrument's cluster is flagged as crowded, else 0"),
)  # fmt: skip


def context_features(k: int = DEFAULT_EMBEDDING_DIMS) -> tuple[ContextFeature, ...]:
    """The features of :func:`point_in_time_context` with ``k`` embedding columns, in output column order."""
    if k < 0:
        raise ValueError(f"k must be >= 0, not {k}")
    return (*_embedding(k), *_TABLE_FEATURES)


#: Every declared non-price feature at the default k (table families, then engine family).
CONTEXT_FEATURES: tuple[ContextFeature, ...] = (*context_features(), *ENGINE_FEATURES)

_SIGNALS = (
    "**Vendor signals** (family `signal`, `prometheus.features.signals.point_in_time_signals`): one feature per "
    "vendor signal, named `signal_<name>`, read point in time from the `signals` table (vendor file `signals.csv`). "
    "The names come from the data, so they are not listed here."
)


def context_markdown() -> str:
    """The non-price feature table (embedding columns shown as a range), and the vendor signal family."""
    emb = _embedding(DEFAULT_EMBEDDING_DIMS)
    rows = [
        f"| `emb_1` … `emb_k` | embedding | {emb[0].source} | column j of the session's aligned numeric embedding "
        f"(principal axis j, by variance); k = {DEFAULT_EMBEDDING_DIMS} by default |"
    ]
    rows += [
        f"| `{f.name}` | {f.family.value} | {f.source} | {f.meaning} |" for f in (*_TABLE_FEATURES, *ENGINE_FEATURES)
    ]
    counts = ", ".join(f"{sum(f.family is fam for f in CONTEXT_FEATURES)} {fam.value}" for fam in ContextFamily)
    lines = [
        f"{len(CONTEXT_FEATURES)} features at k = {DEFAULT_EMBEDDING_DIMS}: {counts}.",
        "",
        "| feature | family | source | meaning |",
        "|---|---|---|---|",
        *rows,
        "",
        _SIGNALS,
    ]
    return "\n".join(lines) + "\n"


def features_markdown() -> str:
    """The generated tail of ``docs/features.md``: non-price, residual, then Alpha158 (a test keeps them in sync)."""
    parts = ["### Non-price features", "", context_markdown(), "### Residual returns", "", residual_markdown()]
    return "\n".join([*parts, "### Alpha158", "", alpha158_markdown()])
