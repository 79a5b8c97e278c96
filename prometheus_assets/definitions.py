"""The code location: builds the ``Definitions`` for the mode and markets in the settings.

``workspace.yaml`` points here (``defs``). Resources are chosen inside :func:`build_definitions`, called when the
code location loads, never at import time of a library module. Each market is one asset group (``us_eq``, ...);
layers are tags (``prometheus/layer``); each flow of each market is a job, so runs and backfills are found under
their job.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from datetime import timedelta

import dagster as dg

from prometheus.backtest.config import BacktestConfig
from prometheus.core.config import VersionedConfig
from prometheus.core.settings import Settings, load_settings
from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.data.ingest import default_vendor_dir
from prometheus.data.schema import Table
from prometheus.encoders import DEMO_NUMERIC, NumericEncoderConfig
from prometheus.engines.assessment import ASSESSMENT_SPEC
from prometheus.engines.fragility import FRAGILITY_SPEC
from prometheus.engines.pipeline import EngineChainConfig
from prometheus.engines.portfolio import PORTFOLIO_SPEC
from prometheus.engines.regime import REGIME_SPEC
from prometheus.engines.scenarios import SCENARIOS_SPEC
from prometheus.engines.stability import STABILITY_SPEC
from prometheus.engines.universe import UNIVERSE_SPEC
from prometheus.orchestration import Clock
from prometheus_assets.backtest import BACKTEST_ASSET, build_backtest_assets
from prometheus_assets.calendar import build_trading_sessions_asset
from prometheus_assets.encoders import build_encoder_assets
from prometheus_assets.engines.assessment import MODEL_ASSET as ASSESSMENT_MODEL
from prometheus_assets.engines.assessment import build_assessment_assets
from prometheus_assets.engines.fragility import build_fragility_assets
from prometheus_assets.engines.portfolio import build_portfolio_assets
from prometheus_assets.engines.regime import MODEL_ASSET, build_regime_assets
from prometheus_assets.engines.scenarios import build_scenarios_assets
from prometheus_assets.engines.stability import build_stability_assets
from prometheus_assets.engines.universe import build_universe_assets
from prometheus_assets.execution import build_order_assets, build_order_jobs
from prometheus_assets.executors import executor_for
from prometheus_assets.ingestion import build_ingestion_asset, build_reference_asset, table_key
from prometheus_assets.meta import KRONOS_ASSET, OUTCOMES_ASSET, build_kronos_assets, build_outcome_assets
from prometheus_assets.partitions import MarketScope
from prometheus_assets.sensors import (
    build_alert_sensors,
    build_market_orchestration,
    model_jobs_for,
    order_job_for,
)
from prometheus_resources import resources_for

# Single-run backfill policies and source-code references are beta APIs we use on purpose; one warning per asset
# would drown the logs of every run.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

#: The reference series job (S&P 500, NASDAQ, Fama-French from arch; US_EQ only).
REFERENCE_JOB = "us_eq_reference_job"
REFERENCE_TEXT = "Ingest the S&P 500, NASDAQ and Fama-French series shipped with arch."


class Flow:
    """The flows of a market, one job each (``<market>_<flow>_job``)."""

    TRADING_SESSIONS = "trading_sessions"
    INGESTION = "ingestion"
    ENCODER_MODEL = "encoder_model"
    ENCODERS = "encoders"
    NEWS = "news"
    REGIME_MODEL = "regime_model"
    ENGINES = "engines"
    ASSESSMENT_MODEL = "assessment_model"
    ASSESSMENT = "assessment"
    PORTFOLIO = "portfolio"
    BACKTEST = "backtest"
    OUTCOMES = "outcomes"
    KRONOS = "kronos"


def job_name(market: Market, flow: str) -> str:
    """``<market>_<flow>_job`` (``us_eq_engines_job``)."""
    return f"{market.value.lower()}_{flow}_job"


@dataclass(frozen=True)
class MarketSelection:
    """The markets of a code location and why each is there."""

    markets: tuple[Market, ...]
    reasons: dict[Market, str]


def configured_markets(settings: Settings) -> MarketSelection:
    """``PROMETHEUS_MARKETS`` when set; else US_EQ (the embedded synthetic market) and every market with a vendor
    folder under the data root: a market without a data source is not in the code location."""
    if settings.market_list is not None:
        return MarketSelection(settings.market_list, dict.fromkeys(settings.market_list, "PROMETHEUS_MARKETS"))
    reasons = {Market.US_EQ: "embedded default (synthetic market)"}
    for market in Market:
        if market not in reasons and default_vendor_dir(settings.data_path, market).is_dir():
            reasons[market] = f"vendor folder {default_vendor_dir(settings.data_path, market)}"
    return MarketSelection(tuple(m for m in Market if m in reasons), reasons)


def _market_jobs(scope: MarketScope) -> list[dg.UnresolvedAssetJobDefinition]:
    m, key = scope.market, scope.key
    # A job's assets share one partitions definition: model assets (periods) and daily assets get their own jobs.
    flows = {
        Flow.TRADING_SESSIONS: (dg.AssetSelection.assets(key("trading_sessions")), "Write the trading sessions"),
        Flow.INGESTION: (
            dg.AssetSelection.assets(table_key(m, Table.PRICES_DAILY)).required_multi_asset_neighbors(),
            "Ingest the vendor files (QC, quarantine, point-in-time corporate actions)",
        ),
        Flow.ENCODER_MODEL: (dg.AssetSelection.assets(key("encoder_model")), "Train the numeric encoder per period"),
        Flow.ENCODERS: (
            dg.AssetSelection.assets(key("instrument_embeddings"), key("profiles")),
            "Embed the sessions and write the profiles",
        ),
        # MiniLM embeds ~200 headlines/s on 2 cores: news gets its own job so it can cover a shorter range.
        Flow.NEWS: (dg.AssetSelection.assets(key("news_embeddings")), "Embed the news headlines"),
        Flow.REGIME_MODEL: (dg.AssetSelection.assets(key(MODEL_ASSET)), "Fit the regime model per refit period"),
        Flow.ENGINES: (
            dg.AssetSelection.assets(
                *(key(s.output_table) for s in (REGIME_SPEC, STABILITY_SPEC, FRAGILITY_SPEC, UNIVERSE_SPEC))
            ),
            "Run the engine chain (Regime, Stability, Fragility, Universe) with its checks",
        ),
        # The assessment model trains on the upstream outputs of its whole window: it runs after the engines job.
        Flow.ASSESSMENT_MODEL: (
            dg.AssetSelection.assets(key(ASSESSMENT_MODEL)),
            "Train the assessment model per refit period",
        ),
        Flow.ASSESSMENT: (
            dg.AssetSelection.assets(key(ASSESSMENT_SPEC.output_table)),
            "Score every listed name with the assessment model, with its checks",
        ),
        Flow.PORTFOLIO: (
            dg.AssetSelection.assets(key(PORTFOLIO_SPEC.output_table), key(SCENARIOS_SPEC.output_table)),
            "Build the target portfolios with their risk reports, then the scenarios and stress losses",
        ),
        Flow.BACKTEST: (
            dg.AssetSelection.assets(key(BACKTEST_ASSET)),
            "Trade the target portfolios in the market simulator (planner, RiskGate, BacktestBroker) with the 1/N "
            "baseline, and write the daily results",
        ),
        Flow.OUTCOMES: (
            dg.AssetSelection.assets(key(OUTCOMES_ASSET)),
            "Record the realised outcome of every engine decision after each horizon",
        ),
        Flow.KRONOS: (
            dg.AssetSelection.assets(key(KRONOS_ASSET)),
            "Kronos: slice the experiment's decision outcomes, find degraded configs, propose config changes",
        ),
    }
    return [
        dg.define_asset_job(
            job_name(m, flow),
            selection=selection,
            description=f"{text} of {m.value}.",
            tags={"prometheus/market": m.value, "prometheus/flow": flow},
        )  # fmt: skip
        for flow, (selection, text) in flows.items()
    ]


def build_definitions(
    settings: Settings,
    *,
    engines: EngineChainConfig | None = None,
    numeric: NumericEncoderConfig | None = None,
    backtest: BacktestConfig | None = None,
    clock: Clock = utc_now,
) -> dg.Definitions:
    """Assets, checks, jobs and resources of one code location (one mode, the configured markets).

    ``engines`` configures the engine chain (default: each engine's defaults); ``numeric`` the numeric encoder
    (default: the embedded default's yearly encoder, :data:`~prometheus.encoders.DEMO_NUMERIC`); ``backtest`` the
    simulated execution (default: :class:`~prometheus.backtest.config.BacktestConfig`); ``clock`` is now for the
    sensors and the order job (a test walks a simulated day through it).
    """
    bar_delay = timedelta(seconds=settings.bar_delay_seconds)
    chain = engines or EngineChainConfig()
    assets: list[dg.AssetsDefinition] = []
    jobs: list[dg.UnresolvedAssetJobDefinition] = []
    sensors: list[dg.SensorDefinition] = build_alert_sensors(settings)
    schedules: list[dg.ScheduleDefinition] = []
    checks: list[dg.AssetChecksDefinition] = []
    for market in configured_markets(settings).markets:
        scope = MarketScope(market, settings.mode, settings.history_start)
        first = len(assets)
        assets.append(build_trading_sessions_asset(scope))
        assets.append(build_ingestion_asset(scope, bar_delay))
        assets += build_encoder_assets(scope, numeric or DEMO_NUMERIC)
        assets += build_regime_assets(scope, chain.regime)
        assets += build_stability_assets(scope, chain.stability)
        assets += build_fragility_assets(scope, chain.fragility)
        assets += build_assessment_assets(scope, chain.assessment)
        assets += build_universe_assets(scope, chain.universe)
        assets += build_portfolio_assets(scope, chain.portfolio)
        assets += build_scenarios_assets(scope, chain.scenarios)
        assets += build_backtest_assets(scope, backtest)
        assets += build_outcome_assets(scope)
        assets += build_kronos_assets(scope, chain)
        assets += build_order_assets(scope, settings, clock)  # PAPER / LIVE: the orders for the next open
        jobs += _market_jobs(scope) + build_order_jobs(scope)
        # Sensors, the fallback schedule and freshness checks (prometheus_assets/sensors.py, docs/orchestration.md).
        orchestration = build_market_orchestration(
            scope,
            assets[first:],
            settings,
            clock=clock,
            order_job=order_job_for(scope, jobs),
            model_jobs=model_jobs_for(scope, jobs),  # a new period's models before its first daily cycle
        )
        sensors += orchestration.sensors
        schedules += orchestration.schedules
        checks += orchestration.checks
        if market is Market.US_EQ:
            assets.append(build_reference_asset(bar_delay))
            reference = dg.AssetSelection.assets(scope.key("reference_series"))
            jobs.append(dg.define_asset_job(REFERENCE_JOB, selection=reference, description=REFERENCE_TEXT))
    return dg.Definitions(
        assets=dg.with_source_code_references(assets),
        jobs=jobs,
        asset_checks=checks,
        sensors=sensors,
        schedules=schedules,
        resources=resources_for(settings),
        # Backtests and tests pay torch-sized imports once, not per step.
        executor=executor_for(settings),
        metadata={RECIPE_METADATA: json.dumps(definitions_recipe(settings, engines, numeric, backtest))},
    )


#: Definitions metadata key holding the JSON recipe that rebuilds them in another process (:func:`rebuild_job`).
RECIPE_METADATA = "prometheus/recipe"
#: Settings a CLI command may have set in process rather than in the environment, and the executor and queue the
#: run was planned for; the rest (secrets, the broker and database URLs) a worker takes from its own environment,
#: so no secret is written into the run's origin.
RECIPE_SETTINGS = ("mode", "data_root", "markets", "history_start", "bar_delay_seconds", "executor", "celery_queue")


def definitions_recipe(
    settings: Settings,
    engines: EngineChainConfig | None,
    numeric: NumericEncoderConfig | None,
    backtest: BacktestConfig | None,
) -> dict[str, str | None]:
    """The keyword arguments of :func:`rebuild_job` (besides ``job``) that rebuild these definitions: JSON-safe
    strings, stored in the run's origin by the Celery executor and read back by every worker."""
    chosen = {name: getattr(settings, name) for name in RECIPE_SETTINGS}
    chosen["data_root"] = settings.data_root.resolve()

    def dumped(config: VersionedConfig | None) -> str | None:
        # Python's JSON keeps an infinite cost tier as Infinity, where pydantic's JSON would write null.
        return None if config is None else json.dumps(config.model_dump(), default=str)

    return {
        "settings": json.dumps({k: (v.value if hasattr(v, "value") else v) for k, v in chosen.items()}, default=str),
        "engines": dumped(engines),
        "numeric": dumped(numeric),
        "backtest": dumped(backtest),
    }


def rebuild_job(
    job: str, settings: str, engines: str | None = None, numeric: str | None = None, backtest: str | None = None
) -> dg.JobDefinition:
    """Job ``job`` of the definitions a recipe describes, built from this process's settings overlaid with the
    recipe's: the reconstructor a run on a distributed executor names, so each worker runs a step with the run's
    engine, encoder and backtest configs rather than the defaults of its environment."""
    overlay = Settings.model_validate({**load_settings().model_dump(), **json.loads(settings)})
    defs = build_definitions(
        overlay,
        engines=EngineChainConfig.model_validate(json.loads(engines)) if engines else None,
        numeric=NumericEncoderConfig.model_validate(json.loads(numeric)) if numeric else None,
        backtest=BacktestConfig.model_validate(json.loads(backtest)) if backtest else None,
    )
    return defs.resolve_job_def(job)


def reconstructable_job(defs: dg.Definitions, job: str) -> dg.ReconstructableJob:
    """Job ``job`` of ``defs`` as a reconstructable job (module function plus recipe), for executors that run
    steps in other processes."""
    recipe = json.loads(defs.metadata[RECIPE_METADATA].value)
    return dg.build_reconstructable_job(__name__, rebuild_job.__name__, reconstructable_kwargs={"job": job, **recipe})


@dg.definitions
def defs() -> dg.Definitions:
    """Definitions of the mode in ``PROMETHEUS_MODE`` (BACKTEST by default)."""
    return build_definitions(load_settings())
