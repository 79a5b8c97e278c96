"""Information-coefficient report of the Assessment scores, alphalens-style, in numpy/polars/scipy.

The Assessment model scores every listed instrument each session; its label is the cross-sectionally ranked
forward return over ``horizon`` sessions. This module measures how well the scores order the realised forward
returns: daily IC and rank IC with a Newey-West t-stat (daily ICs of an H-session label overlap), IC by regime
label and by model version, decile returns and their spread, top-decile turnover and the feature-importance
(gain share) table. :func:`ic_report` computes an :class:`IcReport`; the report renders itself as markdown, a
PNG and flat metadata.

A *group* below is one (session, model version) cross-section: several versions (runs) may score the same
session, and each is measured on its own.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from scipy.stats import rankdata

from prometheus.core.errors import DataError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: A group needs at least this many (score, outcome) pairs to get an IC; thinner groups are skipped and counted.
MIN_PAIRS = 5
#: Quantile buckets per cross-section for the decile table, at most.
MAX_BUCKETS = 10
#: Fewest names per bucket: a cross-section of n names gets ``min(10, n // MIN_BUCKET)`` buckets (see ic_report).
MIN_BUCKET = 3

_KEYS = ["session", "instrument"]
_GROUP = ["model_version", "session"]


def rank_ic(score: np.ndarray, target: np.ndarray) -> float:
    """Spearman correlation of ``score`` and ``target`` over the pairs where both are finite (ties averaged).

    NaN when fewer than three pairs remain or either side is constant, as no ordering can be measured then.
    """
    s = np.asarray(score, dtype=float)
    t = np.asarray(target, dtype=float)
    if s.shape != t.shape:
        raise ValueError(f"rank_ic: score {s.shape} and target {t.shape} differ in shape")
    keep = np.isfinite(s) & np.isfinite(t)
    if keep.sum() < 3:
        return math.nan
    return _pearson(rankdata(s[keep]), rankdata(t[keep]))


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    dx, dy = x - x.mean(), y - y.mean()
    denom = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return float(dx @ dy) / denom if denom > 0 else math.nan


def newey_west_se(series: np.ndarray, lags: int) -> float:
    """Newey-West (HAC) standard error of the mean of ``series`` with a Bartlett kernel of ``lags`` lags.

    ``var = g0 + 2 * sum_{k=1..L} (1 - k / (L + 1)) * g_k`` with ``g_k = sum_t e_t e_{t-k} / n`` the
    autocovariances of the demeaned series; ``se = sqrt(var / n)``. The Bartlett weights keep ``var >= 0``.
    ``lags`` is clipped to ``n - 1``; with ``lags = 0`` it is the naive (ddof 0) standard error. Non-finite
    values are dropped first (the series is then treated as contiguous). NaN for fewer than two values.
    """
    x = np.asarray(series, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 2:
        return math.nan
    e = x - x.mean()
    lags = max(0, min(int(lags), n - 1))
    var = float(e @ e) / n
    for k in range(1, lags + 1):
        var += 2.0 * (1.0 - k / (lags + 1)) * float(e[k:] @ e[:-k]) / n
    return math.sqrt(max(var, 0.0) / n)


@dataclass(frozen=True, eq=False)  # eq off: the frames do not compare to a bool
class IcReport:
    """How well the scores ordered the realised forward returns; build with :func:`ic_report`.

    Fields:
        horizon: H, the forward-return horizon in sessions (sets the Newey-West lag, H - 1).
        pairs: (session, instrument, version) rows with a finite score and a known, finite outcome.
        daily: one row per measured group: ``session`` (Date), ``model_version``, ``pairs`` (UInt32),
            ``ic`` (Pearson) and ``rank_ic`` (Spearman), sorted by session then version.
        sessions: distinct sessions with at least one measured group.
        groups_skipped: groups with fewer than ``MIN_PAIRS`` pairs or a constant score/outcome (no IC).
        mean_ic / std_ic: mean and sample std (ddof 1) of the daily IC over sessions.
        mean_rank_ic / std_rank_ic: the same for the daily rank IC (the headline series).
        icir: ``mean_rank_ic / std_rank_ic``, per session (not annualised).
        rank_ic_se: Newey-West standard error of ``mean_rank_ic`` (Bartlett, lag H - 1).
        t_stat: ``mean_rank_ic / rank_ic_se``; the overlap of H-session labels is accounted for.
        t_stat_naive: ``mean_rank_ic / (std_rank_ic / sqrt(sessions))``, which overstates a H > 1 signal.
        by_regime: ``label``, ``sessions``, ``mean_rank_ic``, ``mean_ic`` (sessions without a label left out).
        by_model: ``model_version``, ``sessions``, ``mean_rank_ic``, ``mean_ic``, ``first_session``,
            ``last_session``, one row per version ("per model and per run").
        n_buckets: quantile buckets of the decile table (10 unless the cross-sections are thin).
        deciles: ``decile`` (1 = lowest score), ``mean_return`` (bucket mean forward return averaged over
            groups), ``groups`` (groups that filled the bucket).
        decile_spread: top-minus-bottom mean forward return (NaN without deciles).
        decile_monotonicity: Spearman correlation of bucket index and its mean return (1 = monotone up).
        top_turnover: mean over consecutive sessions of one version of ``1 - |top_t & top_t-1| / |top_t|``.
        importance: ``feature``, ``mean_share`` (share of total gain averaged over versions, a feature absent
            from a version counting 0), ``mean_gain``, ``versions`` (versions that report it); share descending.
    """

    horizon: int
    pairs: int
    daily: pl.DataFrame
    sessions: int
    groups_skipped: int
    mean_ic: float
    std_ic: float
    mean_rank_ic: float
    std_rank_ic: float
    icir: float
    rank_ic_se: float
    t_stat: float
    t_stat_naive: float
    by_regime: pl.DataFrame
    by_model: pl.DataFrame
    n_buckets: int
    deciles: pl.DataFrame
    decile_spread: float
    decile_monotonicity: float
    top_turnover: float
    importance: pl.DataFrame

    def to_metadata(self) -> dict[str, float | int]:
        """Headline numbers, flat and JSON-serialisable; non-finite values are left out (strict JSON has no NaN)."""
        values: dict[str, float | int] = {
            "horizon": self.horizon,
            "pairs": self.pairs,
            "sessions": self.sessions,
            "groups_skipped": self.groups_skipped,
            "model_versions": self.by_model.height,
            "n_buckets": self.n_buckets,
        }
        floats = {
            "mean_ic": self.mean_ic,
            "std_ic": self.std_ic,
            "mean_rank_ic": self.mean_rank_ic,
            "std_rank_ic": self.std_rank_ic,
            "icir": self.icir,
            "rank_ic_se_newey_west": self.rank_ic_se,
            "t_stat": self.t_stat,
            "t_stat_naive": self.t_stat_naive,
            "decile_spread": self.decile_spread,
            "decile_monotonicity": self.decile_monotonicity,
            "top_turnover": self.top_turnover,
        }
        values.update({k: float(v) for k, v in floats.items() if math.isfinite(v)})
        return values

    def summary_table(self) -> pl.DataFrame:
        """The headline numbers as ``metric`` (String), ``value`` (Float64) rows, NaN where undefined."""
        rows = [
            ("sessions", float(self.sessions)),
            ("groups skipped", float(self.groups_skipped)),
            ("pairs", float(self.pairs)),
            ("horizon", float(self.horizon)),
            ("mean IC", self.mean_ic),
            ("std IC", self.std_ic),
            ("mean rank IC", self.mean_rank_ic),
            ("std rank IC", self.std_rank_ic),
            ("ICIR (rank)", self.icir),
            (f"rank IC SE (Newey-West, lag {max(self.horizon - 1, 0)})", self.rank_ic_se),
            ("t-stat (Newey-West)", self.t_stat),
            ("t-stat (naive)", self.t_stat_naive),
            ("top-minus-bottom spread", self.decile_spread),
            ("decile monotonicity", self.decile_monotonicity),
            ("top-decile turnover", self.top_turnover),
        ]
        return pl.DataFrame(
            {"metric": [r[0] for r in rows], "value": [float(r[1]) for r in rows]},
            schema={"metric": pl.String, "value": pl.Float64},
        )

    def to_markdown(self, title: str) -> str:
        """The report as GitHub markdown: a heading, then one table per section (empty sections say so)."""
        summary = self.summary_table()
        # Counts as integers, t-stats to 2 places, returns and turnover in percent, ICs to 4 places.
        formats = {"sessions": "d", "groups skipped": "d", "pairs": "d", "horizon": "d"}
        formats |= {"t-stat (Newey-West)": ".2f", "t-stat (naive)": ".2f", "ICIR (rank)": ".3f"}
        formats |= {"top-minus-bottom spread": ".3%", "top-decile turnover": ".1%"}
        lines = [f"# {title}", "", "## Summary", ""]
        lines += _md_table(
            ["metric", "value"],
            [[m, _fmt(v, formats.get(m, ".5f" if "SE" in m else ".4f"))] for m, v in summary.iter_rows()],
        )
        sections: list[tuple[str, pl.DataFrame, dict[str, str]]] = [
            ("IC by regime", self.by_regime, {"mean_rank_ic": ".4f", "mean_ic": ".4f"}),
            ("IC by model version", self.by_model, {"mean_rank_ic": ".4f", "mean_ic": ".4f"}),
            (f"Forward return by score quantile ({self.n_buckets} buckets)", self.deciles, {"mean_return": ".3%"}),
            ("Feature importance (share of gain)", self.importance, {"mean_share": ".2%", "mean_gain": ".4g"}),
        ]
        for heading, frame, formats in sections:
            lines += ["", f"## {heading}", ""]
            if frame.is_empty():
                lines.append("_no data_")
                continue
            lines += _md_table(
                frame.columns,
                [
                    [_fmt(v, formats.get(c, "")) for c, v in zip(frame.columns, row, strict=True)]
                    for row in frame.rows()
                ],
            )
        return "\n".join(lines) + "\n"

    def plot_png(self) -> bytes:
        """A 2x2 PNG: cumulative rank IC, IC by regime, decile mean returns, top-20 feature importance.

        Panels without data say so instead of failing, so an empty report still renders.
        """
        # Lazy and pyplot-free: a bare Figure on the Agg canvas touches no global backend state.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
        from matplotlib.figure import Figure
        from matplotlib.ticker import PercentFormatter

        fig = Figure(figsize=(12, 8))
        FigureCanvasAgg(fig)
        (cum, regime), (dec, imp) = fig.subplots(2, 2)

        series = _session_series(self.daily)
        cum.set_title(f"Cumulative daily rank IC (H={self.horizon})")
        if series.is_empty():
            _no_data(cum)
        else:
            cum.plot(series["session"].to_list(), np.cumsum(series["rank_ic"].to_numpy()), color="black", lw=0.9)
            cum.axhline(0.0, color="grey", lw=0.5)
            cum.set_ylabel("sum of rank IC")
            locator = AutoDateLocator()
            cum.xaxis.set_major_locator(locator)
            cum.xaxis.set_major_formatter(ConciseDateFormatter(locator))

        regime.set_title("Mean rank IC by regime")
        if self.by_regime.is_empty():
            _no_data(regime)
        else:
            values = self.by_regime["mean_rank_ic"].to_numpy()
            regime.bar(self.by_regime["label"].to_list(), values, color=np.where(values >= 0, "seagreen", "firebrick"))
            regime.axhline(0.0, color="grey", lw=0.5)

        dec.set_title("Mean forward return by score quantile (1 = lowest)")
        if self.deciles.is_empty():
            _no_data(dec)
        else:
            dec.bar(self.deciles["decile"].to_list(), self.deciles["mean_return"].to_numpy(), color="steelblue")
            dec.axhline(0.0, color="grey", lw=0.5)
            dec.set_xticks(self.deciles["decile"].to_list())
            dec.yaxis.set_major_formatter(PercentFormatter(1.0))

        imp.set_title("Feature importance (mean share of gain, top 20)")
        top = self.importance.head(20)
        if top.is_empty():
            _no_data(imp)
        else:
            imp.barh(top["feature"].to_list()[::-1], top["mean_share"].to_numpy()[::-1], color="slategray")
            imp.tick_params(axis="y", labelsize=7)
            imp.xaxis.set_major_formatter(PercentFormatter(1.0))

        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80)
        return buf.getvalue()


def ic_report(
    scores: pl.DataFrame,
    outcomes: pl.DataFrame,
    *,
    horizon: int,
    regimes: pl.DataFrame | None = None,
    importance: Mapping[str, Mapping[str, float]] | None = None,
) -> IcReport:
    """Measure the scores against the realised forward returns.

    Args:
        scores: ``session`` (Date), ``instrument`` (String), ``score`` (Float64), ``model_version`` (String);
            one row per (session, instrument, model_version).
        outcomes: ``session``, ``instrument``, ``forward_return`` (Float64: the realised ``horizon``-session
            forward return behind the label, null while not yet known); one row per (session, instrument).
            Scores are inner-joined on (session, instrument); pairs without a finite outcome or score are dropped.
        horizon: H >= 1; the Newey-West lag is H - 1 as consecutive H-session returns overlap by H - 1 sessions.
        regimes: optional ``session``, ``label`` (String), one row per session.
        importance: optional model version -> feature -> gain (LightGBM ``importance_type="gain"``).

    Each (session, version) group with at least ``MIN_PAIRS`` pairs gets an IC; the per-session series behind
    the summary averages the versions of a session (the IC itself when, as usual, one version scored it).
    Buckets: each group is split by ordinal score rank (ties by instrument) into ``q`` equal-count buckets with
    ``q = min(10, median group size // MIN_BUCKET)``, at least 2; groups smaller than ``q * MIN_BUCKET`` are
    left out of the decile table and the turnover. The top bucket is the "top decile" of the turnover.
    """
    if horizon < 1:
        raise ValueError(f"ic_report: horizon must be >= 1, got {horizon}")
    _require(scores, "scores", {"session", "instrument", "score", "model_version"})
    _require(outcomes, "outcomes", {"session", "instrument", "forward_return"})
    _unique(scores, "scores", [*_KEYS, "model_version"])
    _unique(outcomes, "outcomes", _KEYS)

    joined = (
        scores.select(
            pl.col("session").cast(pl.Date),
            pl.col("instrument").cast(pl.String),
            pl.col("score").cast(pl.Float64),
            pl.col("model_version").cast(pl.String),
        )
        .join(
            outcomes.select(
                pl.col("session").cast(pl.Date),
                pl.col("instrument").cast(pl.String),
                pl.col("forward_return").cast(pl.Float64),
            ),
            on=_KEYS,
            how="inner",
        )
        .filter(pl.col("score").is_finite() & pl.col("forward_return").is_finite())
        .sort([*_GROUP, "instrument"])
    )

    daily, skipped = _daily_ic(joined)
    series = _session_series(daily)
    ic = series["ic"].to_numpy()
    ric = series["rank_ic"].to_numpy()
    n = ric.size
    mean_ic, std_ic = _mean(ic), _std(ic)
    mean_ric, std_ric = _mean(ric), _std(ric)
    se = newey_west_se(ric, horizon - 1)
    q, decile_frame, spread, monotone, turnover = _deciles(joined)

    return IcReport(
        horizon=horizon,
        pairs=joined.height,
        daily=daily,
        sessions=n,
        groups_skipped=skipped,
        mean_ic=mean_ic,
        std_ic=std_ic,
        mean_rank_ic=mean_ric,
        std_rank_ic=std_ric,
        icir=_ratio(mean_ric, std_ric),
        rank_ic_se=se,
        t_stat=_ratio(mean_ric, se),
        t_stat_naive=_ratio(mean_ric, std_ric / math.sqrt(n)) if n > 0 else math.nan,
        by_regime=_by_regime(series, regimes),
        by_model=_by_model(daily),
        n_buckets=q,
        deciles=decile_frame,
        decile_spread=spread,
        decile_monotonicity=monotone,
        top_turnover=turnover,
        importance=_importance(importance),
    )


def _daily_ic(joined: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    # Spearman as the Pearson correlation of average ranks, like scipy.stats.spearmanr.
    ranked = joined.with_columns(
        pl.col("score").rank("average").over(_GROUP).alias("_rs"),
        pl.col("forward_return").rank("average").over(_GROUP).alias("_rr"),
    )
    per_group = ranked.group_by(_GROUP).agg(
        pl.len().cast(pl.UInt32).alias("pairs"),
        pl.corr("score", "forward_return").alias("ic"),
        pl.corr("_rs", "_rr").alias("rank_ic"),
    )
    # A constant score or outcome yields NaN (or null); such a group says nothing about the ordering.
    ok = (
        (pl.col("pairs") >= MIN_PAIRS)
        & pl.col("ic").is_not_null()
        & pl.col("ic").is_finite()
        & pl.col("rank_ic").is_not_null()
        & pl.col("rank_ic").is_finite()
    )
    daily = per_group.filter(ok).select("session", "model_version", "pairs", "ic", "rank_ic").sort(_KEYS[0], _GROUP[0])
    return daily, per_group.height - daily.height


def _session_series(daily: pl.DataFrame) -> pl.DataFrame:
    """One row per session (``session``, ``ic``, ``rank_ic``): the versions of a session averaged."""
    return (
        daily.group_by("session")
        .agg(pl.col("ic").mean(), pl.col("rank_ic").mean())
        .sort("session")
        .select(pl.col("session").cast(pl.Date), pl.col("ic").cast(pl.Float64), pl.col("rank_ic").cast(pl.Float64))
    )


def _by_regime(series: pl.DataFrame, regimes: pl.DataFrame | None) -> pl.DataFrame:
    schema = {"label": pl.String, "sessions": pl.UInt32, "mean_rank_ic": pl.Float64, "mean_ic": pl.Float64}
    if regimes is None or series.is_empty():
        return pl.DataFrame(schema=schema)
    _require(regimes, "regimes", {"session", "label"})
    _unique(regimes, "regimes", ["session"])
    labels = regimes.select(pl.col("session").cast(pl.Date), pl.col("label").cast(pl.String))
    return (
        series.join(labels, on="session", how="inner")
        .filter(pl.col("label").is_not_null())
        .group_by("label")
        .agg(
            pl.len().cast(pl.UInt32).alias("sessions"),
            pl.col("rank_ic").mean().alias("mean_rank_ic"),
            pl.col("ic").mean().alias("mean_ic"),
        )
        .sort("label")
        .cast(schema)  # type: ignore[arg-type]
    )


def _by_model(daily: pl.DataFrame) -> pl.DataFrame:
    return (
        daily.group_by("model_version")
        .agg(
            pl.len().cast(pl.UInt32).alias("sessions"),
            pl.col("rank_ic").mean().alias("mean_rank_ic"),
            pl.col("ic").mean().alias("mean_ic"),
            pl.col("session").min().alias("first_session"),
            pl.col("session").max().alias("last_session"),
        )
        .sort("first_session", "model_version")
    )


def _bucket_count(sizes: np.ndarray) -> int:
    if sizes.size == 0:
        return 0
    return max(2, min(MAX_BUCKETS, int(np.median(sizes)) // MIN_BUCKET))


def _deciles(joined: pl.DataFrame) -> tuple[int, pl.DataFrame, float, float, float]:
    """(q, decile table, top-minus-bottom spread, monotonicity, top-bucket turnover) of the bucketed groups."""
    schema = {"decile": pl.Int32, "mean_return": pl.Float64, "groups": pl.UInt32}
    sized = joined.with_columns(pl.len().over(_GROUP).alias("_n"))
    sizes = sized.group_by(_GROUP).agg(pl.col("_n").first())["_n"].to_numpy()
    q = _bucket_count(sizes[sizes >= MIN_PAIRS])
    kept = sized.filter(pl.col("_n") >= max(q * MIN_BUCKET, MIN_PAIRS)) if q else sized.clear()
    if kept.is_empty():
        return q, pl.DataFrame(schema=schema), math.nan, math.nan, math.nan

    # Ordinal ranks (ties by instrument, the sort order) give equal-count buckets: (rank - 1) * q // n.
    bucketed = kept.with_columns(
        (((pl.col("score").rank("ordinal").over(_GROUP) - 1) * q) // pl.col("_n") + 1).cast(pl.Int32).alias("decile")
    )
    per_group = bucketed.group_by([*_GROUP, "decile"]).agg(pl.col("forward_return").mean().alias("r"))
    table = (
        per_group.group_by("decile")
        .agg(pl.col("r").mean().alias("mean_return"), pl.len().cast(pl.UInt32).alias("groups"))
        .sort("decile")
        .cast(schema)  # type: ignore[arg-type]
    )
    means = table["mean_return"].to_numpy()
    spread = float(means[-1] - means[0])
    monotone = rank_ic(table["decile"].to_numpy().astype(float), means)
    top = bucketed.filter(pl.col("decile") == q)
    return q, table, spread, monotone, _turnover(top)


def _turnover(top: pl.DataFrame) -> float:
    """Mean of ``1 - |top_t & top_t-1| / |top_t|`` over consecutive bucketed sessions of each version."""
    changes: list[float] = []
    for (_version,), frame in top.sort(_GROUP).group_by(["model_version"], maintain_order=True):
        previous: set[str] | None = None
        for names in frame.group_by("session", maintain_order=True).agg("instrument")["instrument"].to_list():
            current = set(names)
            if previous is not None:
                changes.append(1.0 - len(current & previous) / len(current))
            previous = current
    return float(np.mean(changes)) if changes else math.nan


def _importance(importance: Mapping[str, Mapping[str, float]] | None) -> pl.DataFrame:
    schema = {"feature": pl.String, "mean_share": pl.Float64, "mean_gain": pl.Float64, "versions": pl.UInt32}
    # Versions with no positive total gain (a stump model) carry no shares and are left out.
    versions = {v: g for v, g in (importance or {}).items() if sum(max(float(x), 0.0) for x in g.values()) > 0}
    if not versions:
        return pl.DataFrame(schema=schema)
    features = sorted({f for gains in versions.values() for f in gains})
    shares = np.zeros((len(versions), len(features)))
    gains = np.zeros_like(shares)
    present = np.zeros_like(shares, dtype=bool)
    index = {f: j for j, f in enumerate(features)}
    for i, by_feature in enumerate(versions.values()):
        total = sum(max(float(x), 0.0) for x in by_feature.values())
        for f, g in by_feature.items():
            gains[i, index[f]] = max(float(g), 0.0)
            shares[i, index[f]] = max(float(g), 0.0) / total
            present[i, index[f]] = True
    return pl.DataFrame(
        {
            "feature": features,
            "mean_share": shares.mean(axis=0),
            "mean_gain": gains.mean(axis=0),
            "versions": present.sum(axis=0).astype(np.uint32),
        },
        schema=schema,
    ).sort(["mean_share", "feature"], descending=[True, False])


def _require(frame: pl.DataFrame, name: str, columns: set[str]) -> None:
    missing = columns - set(frame.columns)
    if missing:
        raise DataError(f"{name} lacks columns {sorted(missing)}; has {frame.columns}", field=sorted(missing)[0])


def _unique(frame: pl.DataFrame, name: str, keys: list[str]) -> None:
    # A duplicate key would silently weight a name twice after the join.
    dupes = frame.height - frame.select(keys).unique().height
    if dupes:
        raise DataError(f"{name} has {dupes} duplicate rows on {keys}; keep one row per key")


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else math.nan


def _std(x: np.ndarray) -> float:
    return float(x.std(ddof=1)) if x.size > 1 else math.nan


def _ratio(a: float, b: float) -> float:
    return a / b if math.isfinite(a) and math.isfinite(b) and b > 0 else math.nan


def _fmt(value: object, spec: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return "n/a"
        if spec == "d":
            return str(int(value))
        return format(value, spec) if spec else f"{value:.4g}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("|", "\\|")


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])
