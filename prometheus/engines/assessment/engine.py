"""The Assessment engine: walk-forward LightGBM scores of every listed name, point in time.

A session is scored by the model of its refit period (``refit_months``). That model was trained on samples whose
labels were known at the training cutoff, the decision time of the last session before the period (purge), minus
the last ``embargo_sessions`` sessions of them (embargo >= H, so no training label overlaps the test period), so
it exists before the first session it scores. Features of every session, training or scored, are read as known at
that session's decision time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from datetime import date, datetime, timedelta
from typing import ClassVar

import numpy as np
import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.errors import ConfigError, DataError
from prometheus.core.types import Market
from prometheus.data.known_at import decision_times
from prometheus.data.schema import Table
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.assessment.config import AssessmentConfig
from prometheus.engines.assessment.features import MARKET_LEVEL_FEATURES, FeatureMatrix, feature_matrix
from prometheus.engines.assessment.labels import forward_returns
from prometheus.engines.assessment.model import AssessmentModel, fit_model, matrix_training_set
from prometheus.engines.assessment.schema import ASSESSMENT_SPEC
from prometheus.engines.base import Decision, EngineResult, EngineSpec, RunContext
from prometheus.engines.periods import period_of

Period = tuple[date, date]


class AssessmentEngine:
    """Assessment engine (see module docstring). The constructor stores parameters only.

    Parameters
    ----------
    config
        The engine config.
    calendar
        Trading calendar: sessions and decision times of the history before the run.
    bar_delay
        Delay after the close at which a session's bar (and decision) is known.
    models
        Fitted models by refit period; models fitted during a run are added.
    model_source
        Where a run finds its models by lineage version (the model asset's folder). With a source, a run never
        fits: a period without a saved model is an error (its model is trained by the model asset, on the
        upstream outputs of its whole training window, which a run of a few sessions does not hold).
    """

    spec: ClassVar[EngineSpec] = ASSESSMENT_SPEC

    def __init__(
        self,
        config: AssessmentConfig,
        calendar: TradingCalendar,
        bar_delay: timedelta,
        models: MutableMapping[Period, AssessmentModel] | None = None,
        model_source: Callable[[str], Mapping[Period, AssessmentModel]] | None = None,
    ) -> None:
        self._config = config
        self.calendar = calendar
        self.bar_delay = bar_delay
        self.models = models if models is not None else {}
        self.model_source = model_source

    @property
    def config(self) -> AssessmentConfig:
        """The engine config."""
        return self._config

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first decision (training window, purge, embargo, features)."""
        return self._config.lookback_sessions

    # -- training ---------------------------------------------------------------------------------------------

    def _cutoff(self, market: Market, period: Period) -> tuple[date, datetime]:
        prior = self.calendar.sessions_before(market, period[0], 1)
        if not prior:
            raise ConfigError(f"no session of {market.value} before {period[0]}", setting="period")
        return prior[-1], decision_times(self.calendar, market, prior, self.bar_delay)[0]

    def training_sessions(self, market: Market, period: Period) -> list[date]:
        """Sessions whose samples train ``period``'s model: their labels were known at the cutoff (purge), minus
        the embargo, at most ``train_sessions`` of them."""
        cfg = self._config
        cutoff, _ = self._cutoff(market, period)
        back = cfg.train_sessions + cfg.label_span + cfg.embargo_sessions
        days = [*self.calendar.sessions_before(market, cutoff, back), cutoff]
        # Row of the cutoff is len(days) - 1; a label of row i needs row i + 1 + H <= cutoff's row.
        last = len(days) - 1 - cfg.label_span - cfg.embargo_sessions
        return days[max(0, last - cfg.train_sessions + 1) : last + 1] if last >= 0 else []

    def fit_periods(
        self, view: TimeMachine, market: Market, periods: Sequence[Period], upstream: Mapping[str, pl.DataFrame]
    ) -> list[AssessmentModel]:
        """Fit (or return the cached) models of ``periods``; features of their training sessions are read once."""
        todo = [p for p in periods if p not in self.models]
        if todo:
            spans = {p: self.training_sessions(market, p) for p in todo}
            first = min((s[0] for s in spans.values() if s), default=None)
            if first is None:
                raise DataError(f"assessment: no training sessions of {market.value} before {todo[0][0]}",
                                field="sessions")  # fmt: skip
            last = max(s[-1] for s in spans.values() if s)
            days = self.calendar.sessions(market, first, last)
            times = decision_times(self.calendar, market, days, self.bar_delay)
            # One Float32 matrix of every training session's features (built a chunk at a time), which each
            # period's training set gathers its rows from: a backfill's span is years x every name.
            features = feature_matrix(view, self.calendar, market, days, times, self._config, upstream)
            for period in todo:
                self.models[period] = self._fit(view, market, period, spans[period], features)
        return [self.models[p] for p in periods]

    def _fit(self, view: TimeMachine, market: Market, period: Period, sessions: list[date],
             features: FeatureMatrix) -> AssessmentModel:  # fmt: skip
        cfg = self._config
        cutoff, known = self._cutoff(market, period)
        if not sessions:
            raise DataError(f"assessment: no training sessions of {market.value} before {period[0]}",
                            field="sessions")  # fmt: skip
        days = self.calendar.sessions(market, sessions[0], cutoff)
        bars = view.at(known).table(Table.PRICES_ADJUSTED, market=market, start=days[0], end=cutoff,
                                    columns=["date", "symbol", "open", "close", "total_return"])  # fmt: skip
        labels = forward_returns(bars, days, cfg.horizon, len(days) - 1)
        labels = labels.filter(pl.col("date") <= sessions[-1])  # the embargo
        del bars  # the window's bars are in the labels now
        data = matrix_training_set(features, labels, (sessions[0], sessions[-1]), cfg.min_names, cfg.horizon,
                                   cfg.screen_t, MARKET_LEVEL_FEATURES)  # fmt: skip
        del labels
        return fit_model(data, cfg, market, period, known)

    # -- scoring ----------------------------------------------------------------------------------------------

    def run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        """Score every session of ``ctx`` with its period's model (fitted first when missing)."""
        cfg, market = self._config, Market(str(ctx.market))
        self._check_models()
        periods = sorted({period_of(d, cfg.refit_months) for d in ctx.sessions})
        if self.model_source is not None:
            self.models.update(self.model_source(ctx.config_version))
            missing = [p for p in periods if p not in self.models]
            if missing:
                raise DataError(
                    f"assessment: no model of {market.value} for the period starting {missing[0][0]} (lineage "
                    f"{ctx.config_version[:16]}); materialise {market.value.lower()}/assessment_model first",
                    field="models",
                )
            self._check_models()
        self.fit_periods(view, market, periods, upstream)
        days = self.calendar.sessions(market, ctx.sessions[0], ctx.sessions[-1])
        times = decision_times(self.calendar, market, days, self.bar_delay)
        known = dict(zip(ctx.sessions, ctx.decision_times, strict=True))
        times = [known.get(d, t) for d, t in zip(days, times, strict=True)]
        # The run's features as one Float32 matrix built a chunk at a time (a backfill scores years of sessions),
        # holding only the columns its models read; each period's model reads its rows and its features.
        used = {f for p in periods for f in self.models[p].features}
        features = feature_matrix(view, self.calendar, market, days, times, cfg, upstream, only=used)
        keys = features.keys.filter(pl.col("date").is_in(list(ctx.sessions)))
        parts, decisions = [], []
        for period in periods:
            model = self.models[period]
            rows = keys.filter(pl.col("date").is_between(*period))
            if rows.is_empty():
                continue
            scored = self._score(model, rows, features)
            parts.append(scored)
            decisions += self._decisions(scored, model, known)
        frame = pl.concat(parts) if parts else pl.DataFrame(schema={"date": pl.Date()})
        return EngineResult(self._frame(ctx, frame, known), tuple(decisions), self._notes(ctx, frame))

    def _check_models(self) -> None:
        version = self._config.config_version
        stale = [m.model_version for m in self.models.values() if m.config_version != version]
        if stale:
            raise ConfigError(f"assessment models {stale} were fitted with another config", setting="models")

    def _score(self, model: AssessmentModel, rows: pl.DataFrame, features: FeatureMatrix) -> pl.DataFrame:
        missing = [f for f in model.features if f not in features.features]
        if missing:
            raise DataError(f"assessment: features {missing[:5]} of model {model.model_version} are not computed",
                            field="features")  # fmt: skip
        columns = np.array([features.features.index(f) for f in model.features], dtype=np.int64)
        score = model.predict(features.take(rows["row"].to_numpy(), columns))
        out = rows.select("date", "symbol").with_columns(pl.Series("score", score))
        n = pl.len().over("date")
        pct = pl.col("score").rank("average").over("date") / n
        return out.with_columns(
            (model.calibration * (pl.col("score") - pl.col("score").mean().over("date"))).alias("expected_return"),
            pct.alias("percentile"),
            (pl.min_horizontal((pct * 10).ceil(), pl.lit(10.0))).cast(pl.Int64).alias("decile"),
            pl.lit(model.model_version).alias("model_version"),
        )

    def _frame(self, ctx: RunContext, scored: pl.DataFrame, known: Mapping[date, datetime]) -> pl.DataFrame:
        if scored.is_empty():
            return pl.DataFrame(schema=dict(self.spec.schema))
        dtype = self.spec.schema["decision_time"]
        times = pl.DataFrame({"date": list(known), "decision_time": list(known.values())},
                             schema={"date": pl.Date(), "decision_time": dtype})  # fmt: skip
        return (
            scored.join(times, on="date")
            .select(
                pl.lit(str(ctx.market)).alias("market"),
                pl.col("date").alias("session"),
                "decision_time",
                pl.lit(ctx.experiment).alias("experiment"),
                pl.lit(ctx.config_version).alias("config_version"),
                pl.col("symbol").alias("instrument"),
                "score",
                "expected_return",
                pl.lit(self._config.horizon, dtype=pl.Int64).alias("horizon_sessions"),
                "model_version",
                pl.struct("percentile", "decile").alias("details"),
            )
            .cast(dict(self.spec.schema))  # type: ignore[arg-type]
            .sort("session", "instrument")
        )

    @staticmethod
    def _decisions(scored: pl.DataFrame, model: AssessmentModel, known: Mapping[date, datetime]) -> list[Decision]:
        out = []
        for (day,), rows in scored.sort("date").group_by("date", maintain_order=True):
            top = rows.sort("score", descending=True)
            out.append(
                Decision(
                    day,
                    known[day],
                    {
                        "model": model.model_version,
                        "names": rows.height,
                        "top": top["symbol"].head(5).to_list(),
                        "bottom": top["symbol"].tail(5).to_list(),
                        "score_dispersion": float(np.std(rows["score"].to_numpy())),
                        "train_first": model.train_first.isoformat(),
                        "train_last": model.train_last.isoformat(),
                    },
                )
            )
        return out

    @staticmethod
    def _notes(ctx: RunContext, scored: pl.DataFrame) -> tuple[str, ...]:
        scored_days = set(scored["date"].to_list()) if scored.height else set()
        missing = [d for d in ctx.sessions if d not in scored_days]
        if not missing:
            return ()
        return (f"assessment: no name to score on {len(missing)} of {len(ctx.sessions)} sessions of {ctx.market} "
                f"(first {missing[0]})",)  # fmt: skip
