"""Regime assets: the yearly model and the monthly states materialise, write regime_states and embed a plot."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from prometheus.core.settings import load_settings
from prometheus.core.types import Market, Mode
from prometheus.data.ingest.api import ingest_synthetic
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig
from prometheus.engines.regime import RegimeConfig
from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables.engine import regime_states
from prometheus_assets.engines.regime import build_regime_assets
from prometheus_assets.partitions import MarketScope
from prometheus_resources import resources_for

CFG = RegimeConfig(feature_window=120, train_sessions=300, min_train_sessions=250, validation_sessions=100,
                   jump_penalties=(10.0, 50.0))  # fmt: skip


@pytest.mark.slow
def test_materialise_when_model_year_then_states_month_writes_rows_and_plot(tmp_path: Path) -> None:
    settings = load_settings({"PROMETHEUS_DATA_ROOT": str(tmp_path)})
    store = HistoricalStore(tmp_path / "lake")
    ingest_synthetic(store, tmp_path, SyntheticConfig(seed=7, n_names=30, years=3),
                     bar_delay=timedelta(seconds=settings.bar_delay_seconds))  # fmt: skip
    assets = build_regime_assets(MarketScope(Market.US_EQ, Mode.BACKTEST), CFG)
    defs = dg.Definitions(assets=assets, resources=resources_for(settings))
    dg.Definitions.validate_loadable(defs)
    instance = dg.DagsterInstance.ephemeral()
    model = dg.materialize([assets[0]], resources=resources_for(settings), instance=instance, partition_key="2016")
    assert model.success
    assert list((tmp_path / "models" / "regime" / "us_eq").rglob("2016-01-01_2016-12-31.pkl"))
    states = dg.materialize(
        [assets[1]], resources=resources_for(settings), instance=instance, partition_key="2016-03-01",
        tags={"prometheus/experiment": "assets-test"},
    )  # fmt: skip
    assert states.success
    meta = states.asset_materializations_for_node(assets[1].op.name)[0].metadata
    assert meta["sessions"].value == 22  # March 2016: 23 weekdays less Good Friday
    assert "data:image/png;base64," in meta["plot"].value
    assert meta["dagster/row_count"].value == 22
    checks = {e.check_name: e.passed for e in states.get_asset_check_evaluations()}
    assert checks == {"schema": True, "one_row_set_per_session": True, "no_nan_in_decision_columns": True,
                      "probabilities_valid": True}  # fmt: skip
    with RuntimeStore(settings.effective_runtime_db_url).read() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(regime_states)
                         .where(regime_states.c.experiment == "assets-test")).scalar_one()  # fmt: skip
    assert n == 22  # March 2016: 23 weekdays less Good Friday
