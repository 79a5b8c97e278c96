"""``<market>/assessment_model`` (one model per refit period) and ``<market>/assessments`` (scores per session).

A model partition trains its period's model on the history known before the period, with the upstream engines'
outputs of the run's experiment over its training window, and saves it under the lineage version (the assessment
config folded with the upstream versions), which is the version the assessments asset looks its models up by.

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.assessment import (
    ASSESSMENT_SPEC,
    AssessmentConfig,
    AssessmentEngine,
    assessment_plot_png,
    ic_report,
    load_models,
    model_path,
    realised_outcomes,
    save_model,
)
from prometheus.engines.model_reuse import invalidate, reusable, write_fingerprint
from prometheus.engines.periods import periods_starting_in
from prometheus.engines.pipeline import ENGINE_SPECS
from prometheus.engines.runner import history_view, lineage_version, upstream_history
from prometheus_assets.engines._common import bar_delay, decision_log, experiment_of
from prometheus_assets.engines.kit import EngineAsset, build_engine_asset, engine_deps
from prometheus_assets.metadata import png_markdown, table_preview
from prometheus_assets.partitions import MarketScope, sessions_in_window
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource

MODEL_ASSET = "assessment_model"


def _models_root(historical: HistoricalStoreResource) -> Path:
    return Path(historical.data_root) / "models"


def build_assessment_assets(scope: MarketScope, config: AssessmentConfig | None = None) -> list[dg.AssetsDefinition]:
    """The assessment model (one partition per refit period) and the assessments (the scope's partitions)."""
    cfg, market = config or AssessmentConfig(), scope.market
    scores = EngineAsset(
        spec=ASSESSMENT_SPEC,
        config=cfg,
        build=lambda cal, delay, historical: AssessmentEngine(
            cfg, cal, delay, model_source=lambda version: load_models(_models_root(historical), market, version)
        ),
        plot=lambda frame, view, m: assessment_plot_png(frame, f"{m.value} assessment: score dispersion"),
        metadata=lambda frame, view, m, upstream: _ic_metadata(frame, view, m, upstream, cfg),
        # news_aggregates are written by the news embeddings asset, not an asset of their own.
        extra_deps=(MODEL_ASSET, "news_embeddings"),
    )
    model_deps = [k for k in engine_deps(scope, scores) if k.path[-1] != MODEL_ASSET]

    @dg.asset(
        key=scope.key(MODEL_ASSET),
        deps=model_deps,
        partitions_def=scope.periods(cfg.refit_months),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=scope.prefix, tags=scope.tags("models") | {"prometheus/engine": ASSESSMENT_SPEC.name},
        kinds={"python", "lightgbm"}, owners=["team:research"],
        code_version=cfg.config_version,
        description=f"Assessment (LightGBM) model of {market.value} per refit period, trained on the purged and "
        "embargoed samples known before the period; its training window is recorded.",
    )  # fmt: skip
    def assessment_model(
        context: dg.AssetExecutionContext,
        historical: HistoricalStoreResource,
        runtime: RuntimeStoreResource,
        calendar: CalendarResource,
    ) -> dg.MaterializeResult:
        cal, delay, store = calendar.calendar(), bar_delay(), historical.store()
        window = context.partition_time_window
        periods = periods_starting_in(window.start.date(), (window.end - timedelta(days=1)).date(), cfg.refit_months)
        engine, root = AssessmentEngine(cfg, cal, delay), _models_root(historical)
        spans = [engine.training_sessions(market, p) for p in periods]
        first = min(s[0] for s in spans if s)
        sessions = cal.sessions(market, first, cal.sessions_before(market, periods[-1][0], 1)[-1])
        log, experiment, specs = decision_log(runtime), experiment_of(context, scope.mode), \
            [ENGINE_SPECS[n] for n in ASSESSMENT_SPEC.upstream]  # fmt: skip
        upstream = upstream_history(log, specs, market, experiment, sessions)
        # The version is the one the assessments asset will look the models up by: that of the upstream outputs of
        # the sessions served. The first period of an experiment has none in its training window (they start with
        # the range), so the served sessions name the versions; they are not training data.
        served = upstream_history(log, specs, market, experiment, sessions_in_window(market, window))
        versions = {k: v.config_version for k, v in served.items()} | {
            k: v.config_version for k, v in upstream.items()
        }  # fmt: skip
        version = lineage_version(cfg, versions)
        # Models of this lineage version fitted on the same lake files are kept (prometheus.engines.model_reuse):
        # the upstream outputs are part of the version, the lake's inputs part of the fingerprint.
        saved = load_models(root, market, version)
        prints = {p: store.fingerprint(ASSESSMENT_SPEC.inputs, until=p[0]) for p in periods}
        paths = {p: model_path(root, market, version, p) for p in periods}
        todo = [p for p in periods if not (p in saved and reusable(paths[p], prints[p]))]
        fresh = {}
        if todo:
            for p in todo:
                invalidate(paths[p])
            view = history_view(store, cal, market, sessions, [engine], delay)
            for model in engine.fit_periods(view, market, todo, {k: v.frame for k, v in upstream.items()}):
                period = (model.period_start, model.period_end)
                write_fingerprint(save_model(model, root, version), prints[period])
                fresh[period] = model
        fitted = [fresh[p] if p in fresh else saved[p] for p in periods if p in fresh or p in saved]
        return dg.MaterializeResult(
            metadata=_model_metadata(fitted, version, upstream) | {"reused": len(periods) - len(todo)}
        )

    return [assessment_model, build_engine_asset(scope, scores)]


def _ic_metadata(
    frame: pl.DataFrame,
    view: TimeMachine,
    market: Market,
    upstream: Mapping[str, pl.DataFrame],
    cfg: AssessmentConfig,
) -> dict[str, object]:
    """The IC report of this run's scores against the outcomes known at its last decision time (a partition's last
    H + 1 sessions have none yet; the report of a whole backtest covers them)."""
    if frame.is_empty():
        return {"models": 0}
    sessions = frame["session"].unique().sort().to_list()
    outcomes = realised_outcomes(view, get_calendar(), market, sessions, cfg.horizon)
    regime = upstream.get("regime")
    regimes = regime.select("session", "label") if regime is not None else None
    report = ic_report(frame.select("session", "instrument", "score", "model_version"), outcomes,
                       horizon=cfg.horizon, regimes=regimes)  # fmt: skip
    return {
        "models": frame["model_version"].n_unique(),
        **{f"ic/{k}": v for k, v in report.to_metadata().items()},
        "ic_summary": table_preview(report.summary_table()),
        "ic_by_regime": table_preview(report.by_regime),
        "ic_deciles": table_preview(report.deciles),
        "ic_plot": png_markdown(report.plot_png(), "ic report"),
    }


def _model_metadata(fitted: list, version: str, upstream: dict) -> dict[str, object]:
    models = pl.DataFrame(
        {
            "period_start": [m.period_start for m in fitted],
            "model_version": [m.model_version for m in fitted],
            "train_first": [m.train_first for m in fitted],
            "train_last": [m.train_last for m in fitted],
            "samples": [m.samples for m in fitted],
            "calibration": [m.calibration for m in fitted],
        },
        schema={"period_start": pl.Date(), "model_version": pl.String(), "train_first": pl.Date(),
                "train_last": pl.Date(), "samples": pl.Int64(), "calibration": pl.Float64()},
    )  # fmt: skip
    gains: dict[str, float] = {}
    for m in fitted:
        total = sum(m.importance.values()) or 1.0
        for name, gain in m.importance.items():
            gains[name] = gains.get(name, 0.0) + gain / total / len(fitted)
    top = sorted(gains.items(), key=lambda kv: -kv[1])[:20]
    importance = pl.DataFrame({"feature": [k for k, _ in top], "gain_share": [v for _, v in top]},
                              schema={"feature": pl.String(), "gain_share": pl.Float64()})  # fmt: skip
    return {
        "models": len(fitted),
        "lineage_version": version,
        "upstream": ", ".join(sorted(upstream)) or "none",
        "fitted": table_preview(models),
        "importance": table_preview(importance),
    }
