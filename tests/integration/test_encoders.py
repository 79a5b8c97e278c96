"""Encoder assets end to end on a small ingested synthetic market: model, embeddings, news, profiles."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import polars as pl

from prometheus.core.types import Market, Mode
from prometheus.data.ingest.api import ingest_synthetic
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig
from prometheus.encoders import NumericEncoderConfig
from prometheus_assets.encoders import build_encoder_assets
from prometheus_assets.partitions import MarketScope
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource

SMALL = NumericEncoderConfig(
    steps_initial=10, steps_retrain=3, max_train_names=30, batch_sessions=2, batch_names=16,
    train_sessions=252, min_train_sessions=200,
)  # fmt: skip


def _materialize(assets: list, selection: list[str], start: str, end: str, root: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets,
        selection=selection,
        resources={"historical": HistoricalStoreResource(data_root=root), "calendar": CalendarResource()},
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
    )


def test_encoder_assets_when_materialized_write_models_embeddings_news_and_profiles(tmp_path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    cfg = SyntheticConfig(n_names=40, years=3, seed=9, news_rate=0.005)
    ingest_synthetic(store, tmp_path, cfg, bar_delay=timedelta(seconds=300))
    assets = build_encoder_assets(MarketScope(Market.US_EQ, Mode.BACKTEST), numeric=SMALL)
    root = str(tmp_path)

    model_run = _materialize(assets, ["us_eq/encoder_model"], "2016-01-01", "2016-04-01", root)
    daily_run = _materialize(
        assets, ["us_eq/instrument_embeddings", "us_eq/news_embeddings", "us_eq/profiles"], "2016-02-01", "2016-04-01",
        root,
    )  # fmt: skip

    assert model_run.success
    assert daily_run.success
    models = store.read(Table.ENCODER_MODELS)
    assert models["date"].cast(pl.String).to_list() == ["2016-01-01", "2016-04-01"]
    assert all((tmp_path / a / "weights.safetensors").exists() for a in models["artifact"])
    assert (models["train_end"] < models["date"]).all()
    emb = store.read(Table.INSTRUMENT_EMBEDDINGS)
    assert emb["date"].min().isoformat() >= "2016-02-01"
    assert emb["date"].max().isoformat() <= "2016-04-30"
    assert set(emb["model_version"]) == set(models["model_version"])
    april = emb.filter(pl.col("date") >= pl.date(2016, 4, 1))["model_version"].unique().to_list()
    assert april == models.filter(pl.col("date") == pl.date(2016, 4, 1))["model_version"].to_list()
    assert store.read(Table.NEWS_EMBEDDINGS).height > 0
    profiles = store.read(Table.PROFILES)
    assert profiles.height > 0
    assert profiles["cluster"].drop_nulls().len() > 0
    assert (profiles["known_at"].dt.date() == profiles["date"]).all()
    # Every encoder asset reports the output checks on what it wrote.
    evaluations = [*model_run.get_asset_check_evaluations(), *daily_run.get_asset_check_evaluations()]
    verdicts = {(e.asset_key.path[-1], e.check_name): e.passed for e in evaluations}
    assert verdicts[("encoder_model", "schema")]
    assert verdicts[("encoder_model", "no_nan_in_decision_columns")]
    assert verdicts[("instrument_embeddings", "schema")]
    assert verdicts[("instrument_embeddings", "no_nan_in_decision_columns")]
    assert verdicts[("news_embeddings", "schema")]
    assert verdicts[("profiles", "schema")]
    assert {k[0] for k in verdicts} == {"encoder_model", "instrument_embeddings", "news_embeddings", "profiles"}
