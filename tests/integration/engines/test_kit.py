"""Stability and fragility assets: materialise a month of a small synthetic market and read the runtime store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from prometheus.core.settings import load_settings
from prometheus.core.types import Market, Mode
from prometheus.data.ingest import ingest_synthetic
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig
from prometheus.engines.fragility import FragilityConfig
from prometheus.engines.stability import StabilityConfig
from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables.engine import engine_decisions, fragility_scores, stability_scores
from prometheus_assets.engines.fragility import build_fragility_assets
from prometheus_assets.engines.stability import build_stability_assets
from prometheus_assets.partitions import MarketScope
from prometheus_resources import resources_for

SMALL_STABILITY = StabilityConfig(ar_window=40, delta_short=5, delta_long=40, turbulence_window=40, corr_window=21,
                                  norm_window=40, score_window=40, min_history=20)  # fmt: skip
SMALL_FRAGILITY = FragilityConfig(beta_window=63, corr_window=42, amihud_short=10, amihud_long=63)

SCOPE = MarketScope(Market.US_EQ, Mode.BACKTEST)


def _count(url: str, table: sa.Table, **where: str) -> int:
    with RuntimeStore(url).read() as conn:
        q = sa.select(sa.func.count()).select_from(table)
        for k, v in where.items():
            q = q.where(table.c[k] == v)
        return conn.execute(q).scalar_one()


def test_materialise_when_month_after_regime_writes_scores_and_plots(tmp_path: Path) -> None:
    settings = load_settings({"PROMETHEUS_DATA_ROOT": str(tmp_path)})
    delay = timedelta(seconds=settings.bar_delay_seconds)
    ingest_synthetic(HistoricalStore(tmp_path / "lake"), tmp_path, SyntheticConfig(seed=3, n_names=40, years=2),
                     bar_delay=delay)  # fmt: skip
    assets = [
        *build_stability_assets(SCOPE, SMALL_STABILITY),
        *build_fragility_assets(SCOPE, SMALL_FRAGILITY),
    ]
    defs = dg.Definitions(assets=assets, resources=resources_for(settings))
    graph = defs.resolve_asset_graph()
    # Deps are the declared inputs: both engines read the instruments and adjusted prices, no engine upstream.
    for name in ("stability_scores", "fragility_scores"):
        assert graph.get(dg.AssetKey(["us_eq", name])).parent_keys == {
            dg.AssetKey(["us_eq", "prices_adjusted"]),
            dg.AssetKey(["us_eq", "instruments"]),
        }
    result = dg.materialize(assets, partition_key="2015-06-01", resources=resources_for(settings),
                            instance=dg.DagsterInstance.ephemeral())  # fmt: skip
    assert result.success
    checks = {(e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert checks[("stability_scores", "schema")]
    assert checks[("fragility_scores", "no_nan_in_decision_columns")]
    assert checks[("stability_scores", "one_row_set_per_session")]
    url = settings.effective_runtime_db_url
    sessions = 22  # June 2015
    assert _count(url, stability_scores, instrument="") == sessions
    assert _count(url, fragility_scores) > sessions * 30
    assert _count(url, engine_decisions, engine="fragility") == sessions
    events = result.get_asset_materialization_events()
    meta = {e.asset_key.path[-1]: e.materialization.metadata for e in events}
    assert meta["stability_scores"]["dagster/row_count"].value > sessions
    assert "data:image/png;base64" in meta["fragility_scores"]["plot"].value
    # Re-materialising the same month replaces rows, never duplicates them.
    assert dg.materialize(assets, partition_key="2015-06-01", resources=resources_for(settings),
                          instance=dg.DagsterInstance.ephemeral()).success  # fmt: skip
    assert _count(url, stability_scores, instrument="") == sessions
