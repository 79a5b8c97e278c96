"""The code location: builds the ``Definitions`` for the mode in the settings.

``workspace.yaml`` points here (``defs``). Resources are chosen inside :func:`build_definitions`, called when the
code location loads, never at import time of a library module.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import dagster as dg

from prometheus.core.settings import Settings, load_settings
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus_assets.calendar import build_trading_sessions_asset
from prometheus_assets.encoders import build_encoder_assets
from prometheus_assets.engines.fragility import build_fragility_assets
from prometheus_assets.engines.regime import build_regime_assets
from prometheus_assets.engines.stability import build_stability_assets
from prometheus_assets.ingestion import build_ingestion_asset, build_reference_asset, table_key
from prometheus_resources import resources_for

# Single-run backfill policies and source-code references are beta APIs we use on purpose; one warning per asset
# would drown the logs of every run.
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def build_definitions(settings: Settings) -> dg.Definitions:
    """Assets, checks, jobs and resources of one code location (one mode)."""
    assets = [build_trading_sessions_asset(market, settings.mode) for market in Market]
    # One job per market: a job's assets must share one partitions definition (time zones differ).
    calendar_jobs = [
        dg.define_asset_job(
            f"{market.value.lower()}_trading_sessions_job",
            selection=dg.AssetSelection.assets([market.value.lower(), "trading_sessions"]),
            description=f"Write the trading sessions of {market.value} for a partition range.",
        )
        for market in Market
    ]
    bar_delay = timedelta(seconds=settings.bar_delay_seconds)
    assets += [build_ingestion_asset(market, settings.mode, bar_delay) for market in Market]
    assets.append(build_reference_asset(bar_delay))
    for market in Market:
        assets += build_regime_assets(market, settings.mode)
        assets += build_stability_assets(market, settings.mode)
        assets += build_fragility_assets(market, settings.mode)
        assets += build_encoder_assets(market, settings.mode)
    ingestion_jobs = [
        dg.define_asset_job(
            f"{market.value.lower()}_ingestion_job",
            selection=dg.AssetSelection.assets(table_key(market, Table.PRICES_DAILY)).required_multi_asset_neighbors(),
            description=f"Ingest the vendor files of {market.value} for a partition range (one run per range).",
        )
        for market in Market
    ]
    return dg.Definitions(
        assets=dg.with_source_code_references(assets),
        jobs=[*calendar_jobs, *ingestion_jobs],
        resources=resources_for(settings),
        # Backtests and tests pay torch-sized imports once, not per step.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Definitions of the mode in ``PROMETHEUS_MODE`` (BACKTEST by default)."""
    return build_definitions(load_settings())
