"""The code location of the distributed-execution test: the platform's own definitions (executor from the
settings) plus one light cycle job per market: the head of the market's daily cycle (``<m>_daily_cycle_job``), trading
sessions then ingestion, so a run has two dependent steps and finishes in seconds on a tiny market.

The Celery workers rebuild the job from this module (``tests.support.celery_location:defs``) with the same
environment as the run, exactly as they would rebuild ``prometheus_assets.definitions:defs`` in a deployment.
"""

from __future__ import annotations

import dagster as dg

from prometheus.core.settings import load_settings
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus_assets.definitions import build_definitions, configured_markets, job_name
from prometheus_assets.ingestion import table_key

#: The flow of the test's jobs (``<market>_ingest_cycle_job``).
CYCLE = "ingest_cycle"
MARKET_TAG = "prometheus/market"


def cycle_job_name(market: Market) -> str:
    """``us_eq_ingest_cycle_job``."""
    return job_name(market, CYCLE)


@dg.definitions
def defs() -> dg.Definitions:
    """The platform's definitions of the settings, with a light cycle job per configured market."""
    settings = load_settings()
    jobs = [
        dg.define_asset_job(
            cycle_job_name(m),
            selection=dg.AssetSelection.assets(dg.AssetKey([m.value.lower(), "trading_sessions"]))
            | dg.AssetSelection.assets(table_key(m, Table.PRICES_DAILY)).required_multi_asset_neighbors(),
            tags={MARKET_TAG: m.value},
        )
        for m in configured_markets(settings).markets
    ]
    return dg.Definitions.merge(build_definitions(settings), dg.Definitions(jobs=jobs))
