"""Kronos reports: decisions joined with their outcomes, sliced by engine x config version x regime x market x
horizon, and the findings of the degradation detectors.

A report as of ``t`` reads only outcomes known by ``t`` (``known_at <= t``) and regime labels decided by ``t``,
so re-running it later for the same ``t`` gives the same report (point in time, like the engines).

Findings:

* ``regime_slice``: an engine's outcome works in some regimes and not in others: its mean in a regime is
  significantly positive (non-overlapping t >= ``t_good``) while in another it is not, and is significantly lower
  there (Welch t of the difference >= ``t_diff``).
  For the assessment (IC) and the portfolio (P&L): the evidence for a regime-conditional config.
* ``degraded``: a lower CUSUM on the engine's non-overlapping outcome series (assessment IC, portfolio P&L, every
  H-th session) alarms after a reference period: the outcome fell, a degraded config.
* ``vol_drift``: the portfolio's realised / predicted volatility over the trailing window is outside the band.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

import numpy as np
import polars as pl
import sqlalchemy as sa
from pydantic import Field

from prometheus.core.config import VersionedConfig
from prometheus.core.time import to_utc, utc_now
from prometheus.core.types import Market
from prometheus.meta.kronos.detect import lower_cusum, non_overlapping, t_stat, vol_ratio
from prometheus.meta.outcomes import read_outcomes
from prometheus.runtime.decision_log import DecisionLog
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables import kronos_reports

#: Engines whose outcome is a performance (higher is better) that slices and detectors judge.
PERFORMANCE_ENGINES: tuple[str, ...] = ("assessment", "portfolio", "fragility")
#: Regime label of sessions without a regime decision.
NO_REGIME = "unknown"


class KronosConfig(VersionedConfig):
    """How Kronos judges outcomes."""

    kind: ClassVar[str] = "kronos"

    horizon: int = Field(5, ge=1, description="Outcome horizon (sessions) the findings use.")
    t_good: float = Field(2.0, gt=0.0, description="t-statistic above which a slice's outcome 'works'.")
    t_diff: float = Field(2.0, gt=0.0, description="Welch t of 'works' minus 'does not work' to report a slice.")
    min_slice_samples: int = Field(12, ge=3, description="Fewest non-overlapping outcomes for a slice to count.")
    reference_sessions: int = Field(252, ge=20, description="Sessions of outcomes the CUSUM takes as its reference.")
    cusum_k: float = Field(0.5, gt=0.0, description="CUSUM allowance (half the shift to detect, in sd).")
    cusum_h: float = Field(7.0, gt=0.0, description="CUSUM threshold (in sd; see lower_cusum).")
    vol_window: int = Field(126, ge=21, description="Trailing sessions of the realised/predicted volatility ratio.")
    vol_band: tuple[float, float] = Field((0.8, 1.25), description="Accepted realised/predicted volatility ratio.")


@dataclass(frozen=True)
class Finding:
    """One thing Kronos noticed, with what it rests on."""

    kind: str
    engine: str
    config_version: str
    horizon: int
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class KronosReport:
    """Slices and findings of one market and experiment as of a time."""

    market: str
    experiment: str
    as_of: datetime
    first_session: date | None
    last_session: date | None
    slices: pl.DataFrame
    findings: tuple[Finding, ...]

    @property
    def report_key(self) -> str:
        """Stable key: market, experiment and as-of time."""
        return f"{self.market}:{self.as_of.isoformat()}"

    def summary(self) -> str:
        """A few lines for people: the span, then one line per finding."""
        head = f"Kronos {self.market} {self.experiment}: {self.first_session}..{self.last_session}, " + (
            f"{len(self.findings)} finding(s)" if self.findings else "no findings"
        )
        return "\n".join([head, *(f"- [{f.kind}] {f.engine} H={f.horizon}: {f.message}" for f in self.findings)])


def regime_labels(log: DecisionLog, market: Market, experiment: str, as_of: datetime) -> pl.DataFrame:
    """(session, regime) of the regime engine's decisions known by ``as_of``."""
    found = log.read_decisions("regime", market=market.value, experiment=experiment)
    found = found.filter(pl.col("decision_time") <= to_utc(as_of))
    labels = [json.loads(p).get("label", NO_REGIME) for p in found["payload"].to_list()]
    return pl.DataFrame(
        {"session": found["session"], "regime": labels}, schema={"session": pl.Date(), "regime": pl.String()}
    )


def performance_slices(outcomes: pl.DataFrame, regimes: pl.DataFrame) -> pl.DataFrame:
    """Per engine x config version x market x horizon x regime (and ``all``): samples, mean outcome, its sd and the
    t-statistic of the mean on non-overlapping outcomes (every H-th session)."""
    joined = outcomes.join(regimes, on="session", how="left").with_columns(pl.col("regime").fill_null(NO_REGIME))
    rows: list[dict[str, Any]] = []
    keys = ["engine", "config_version", "market", "horizon_sessions"]
    for key, part in joined.sort("session").group_by(keys, maintain_order=True):
        for regime in ["all", *sorted(set(part["regime"].to_list()))]:
            sub = part if regime == "all" else part.filter(pl.col("regime") == regime)
            x = sub["outcome"].to_numpy().astype(float)
            x = x[np.isfinite(x)]
            h = int(key[3])
            spaced = non_overlapping(x, h)
            rows.append(dict(zip(keys, key, strict=True)) | {
                "regime": regime, "samples": int(x.size), "mean": float(x.mean()) if x.size else math.nan,
                "sd": float(x.std(ddof=1)) if x.size > 1 else math.nan, "t_stat": t_stat(spaced),
                "independent": int(spaced.size),
            })  # fmt: skip
    schema = {"engine": pl.String(), "config_version": pl.String(), "market": pl.String(),
              "horizon_sessions": pl.Int64(), "regime": pl.String(), "samples": pl.Int64(), "mean": pl.Float64(),
              "sd": pl.Float64(), "t_stat": pl.Float64(), "independent": pl.Int64()}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def find(outcomes: pl.DataFrame, slices: pl.DataFrame, cfg: KronosConfig) -> list[Finding]:
    """The detectors' findings on the configured horizon (see the module docstring)."""
    out: list[Finding] = []
    at = slices.filter(pl.col("horizon_sessions") == cfg.horizon, pl.col("engine").is_in(PERFORMANCE_ENGINES))
    for (engine, version), part in at.group_by(["engine", "config_version"], maintain_order=True):
        by_regime = part.filter(pl.col("regime") != "all", pl.col("independent") >= cfg.min_slice_samples)
        good = by_regime.filter(pl.col("t_stat") >= cfg.t_good)
        worse = [r for r in by_regime.filter(pl.col("t_stat") < cfg.t_good).iter_rows(named=True)
                 if any(_welch(g, r) >= cfg.t_diff for g in good.iter_rows(named=True))]  # fmt: skip
        bad = pl.DataFrame(worse, schema=by_regime.schema)
        if good.height and bad.height:
            works, fails = sorted(good["regime"].to_list()), sorted(bad["regime"].to_list())
            out.append(Finding("regime_slice", str(engine), str(version), cfg.horizon,
                               f"works in {', '.join(works)} (t {_ts(good)}), not in {', '.join(fails)} "
                               f"(t {_ts(bad)})",
                               {"works": works, "fails": fails, "slices": by_regime.to_dicts()}))  # fmt: skip
    series = outcomes.filter(pl.col("horizon_sessions") == cfg.horizon, pl.col("engine").is_in(PERFORMANCE_ENGINES))
    for (engine, version), part in series.sort("session").group_by(["engine", "config_version"],
                                                                    maintain_order=True):  # fmt: skip
        finite = part.filter(pl.col("outcome").is_finite())
        spaced = non_overlapping(np.arange(finite.height), cfg.horizon)
        x = finite["outcome"].to_numpy().astype(float)[spaced]
        alarm = lower_cusum(x, cfg.reference_sessions // cfg.horizon, cfg.cusum_k, cfg.cusum_h)
        if alarm is not None:
            when = finite["session"][int(spaced[alarm.index])]
            out.append(Finding("degraded", str(engine), str(version), cfg.horizon,
                               f"outcome fell below its reference mean {alarm.reference_mean:.4f} (CUSUM alarm on "
                               f"{when})", asdict(alarm) | {"session": when.isoformat()}))  # fmt: skip
    port = outcomes.filter(pl.col("engine") == "portfolio", pl.col("horizon_sessions") == 21).sort("session")
    if port.height:
        tail = port.tail(cfg.vol_window)
        metrics = [json.loads(m) for m in tail["metrics"].to_list()]
        realised = np.array([_num(m.get("realised_vol")) for m in metrics])
        predicted = np.array([_num(m.get("predicted_vol")) for m in metrics])
        ratio = vol_ratio(non_overlapping(realised, 21), non_overlapping(predicted, 21))
        lo, hi = cfg.vol_band
        if math.isfinite(ratio) and not lo <= ratio <= hi:
            out.append(Finding("vol_drift", "portfolio", str(tail["config_version"][-1]), 21,
                               f"realised / predicted volatility {ratio:.2f} outside [{lo}, {hi}] over the last "
                               f"{tail.height} sessions", {"ratio": ratio}))  # fmt: skip
    return out


def build_report(
    store: RuntimeStore, market: Market, experiment: str, as_of: datetime | None = None, cfg: KronosConfig | None = None
) -> KronosReport:
    """The report of one market and experiment from the outcomes known by ``as_of`` (default: now)."""
    cfg, at = cfg or KronosConfig(), to_utc(as_of) if as_of is not None else utc_now()
    outcomes = read_outcomes(store, market, experiment).filter(pl.col("known_at") <= at)
    regimes = regime_labels(DecisionLog(store), market, experiment, at)
    slices = performance_slices(outcomes, regimes)
    first = outcomes["session"].min() if outcomes.height else None
    last = outcomes["session"].max() if outcomes.height else None
    return KronosReport(market.value, experiment, at, first, last, slices, tuple(find(outcomes, slices, cfg)))  # type: ignore[arg-type]


def save_report(store: RuntimeStore, report: KronosReport) -> int:
    """Upsert the report into ``kronos_reports`` (slices and findings as JSON); returns its row id."""
    body = _body(report)
    row = {"report_key": report.report_key, "experiment": report.experiment, "as_of": report.as_of,
           "first_session": report.first_session or report.as_of.date(),
           "last_session": report.last_session or report.as_of.date(), "summary": report.summary(),
           "slices": body, "created_at": utc_now()}  # fmt: skip
    store.upsert(kronos_reports, [row])
    with store.read() as conn:
        q = sa.select(kronos_reports.c.id).where(kronos_reports.c.report_key == report.report_key,
                                                 kronos_reports.c.experiment == report.experiment)  # fmt: skip
        return int(conn.execute(q).scalar_one())


def list_reports(store: RuntimeStore, experiment: str | None = None) -> list[dict[str, Any]]:
    """Stored reports (id, key, experiment, as_of, span, summary, and ``slices``: {"slices": rows, "findings":
    rows}), newest first."""
    t = kronos_reports
    q = sa.select(t.c.id, t.c.report_key, t.c.experiment, t.c.as_of, t.c.first_session, t.c.last_session,
                  t.c.summary, t.c.slices).order_by(t.c.id.desc())  # fmt: skip
    if experiment is not None:
        q = q.where(t.c.experiment == experiment)
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def report_fingerprint(report: KronosReport) -> str:
    """Digest of the slices and findings: equal for equal reports (what the point-in-time test compares)."""
    body = json.dumps(_body(report), sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _welch(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Welch t of slice ``a``'s mean over slice ``b``'s, on their non-overlapping sample sizes."""
    va, vb = a["sd"] ** 2 / max(a["independent"], 1), b["sd"] ** 2 / max(b["independent"], 1)
    se = math.sqrt(va + vb) if math.isfinite(va + vb) else math.nan
    return (a["mean"] - b["mean"]) / se if se and math.isfinite(se) else math.nan


def _body(report: KronosReport) -> dict[str, Any]:
    """The stored JSON of a report: its slices and findings (what :func:`report_fingerprint` digests too)."""
    return {"slices": _jsonable(report.slices.to_dicts()), "findings": _jsonable([asdict(f) for f in report.findings])}


def _ts(frame: pl.DataFrame) -> str:
    return ", ".join(f"{t:.1f}" for t in frame["t_stat"].to_list())


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def _jsonable(value: Any) -> Any:
    """Plain JSON values: NaN and infinities as null, dates as ISO text."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
