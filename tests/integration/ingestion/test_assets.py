"""Ingestion assets: a ranged single run publishes a history, checks report QC, a poisoned feed is blocked."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from prometheus.core.settings import load_settings
from prometheus.core.types import Market
from prometheus.data.ingest import default_vendor_dir
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig, generate_market, write_vendor_files
from prometheus_assets.definitions import build_definitions
from prometheus_assets.ingestion import FIT_CHECK, INGESTED_TABLES, MISSING_CHECK, QC_CHECK, table_dep

RANGE = {"dagster/asset_partition_range_start": "2014-01-01", "dagster/asset_partition_range_end": "2014-06-01"}


@pytest.fixture(scope="module")
def market_frames():
    return generate_market(SyntheticConfig(n_names=30, years=1, seed=5))


def _setup(tmp_path: Path, market_frames, poison: float = 0.0, until: date = date(2100, 1, 1)) -> dg.Definitions:
    directory = default_vendor_dir(tmp_path, Market.US_EQ)
    write_vendor_files(market_frames, directory)
    if poison:
        prices = pl.read_csv(directory / "prices.csv", try_parse_dates=True)
        bad = (pl.int_range(pl.len()) % int(1 / poison) == 0) & (pl.col("date") <= until)
        prices.with_columns(pl.when(bad).then(-1.0).otherwise(pl.col("close")).alias("close")).write_csv(
            directory / "prices.csv"
        )
    return build_definitions(load_settings({"PROMETHEUS_DATA_ROOT": str(tmp_path)}))


def _run(defs: dg.Definitions) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("us_eq_ingestion_job")
    return job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=RANGE, raise_on_error=False)


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_ingestion_job_when_range_of_months_publishes_them_in_one_run(tmp_path: Path, market_frames) -> None:
    result = _run(_setup(tmp_path, market_frames))
    assert result.success
    store = HistoricalStore(tmp_path / "lake")
    dates = store.read(Table.PRICES_DAILY)["date"]
    assert dates.min() == date(2014, 1, 2)
    assert dates.max() == date(2014, 6, 30)
    expected = market_frames.prices.filter(pl.col("date") <= date(2014, 6, 30)).height
    assert store.read(Table.PRICES_DAILY).height == expected
    # Vendor signals travel the same path (published 30 minutes after each close: inside the range's last day).
    signals = market_frames.signals.filter(pl.col("date") <= date(2014, 6, 30))
    assert store.read(Table.SIGNALS).height == signals.height > 0
    # One run materialised every partition of the range (a single-run backfill).
    mats = result.asset_materializations_for_node("us_eq_vendor_ingest")
    assert {m.partition for m in mats} >= {"2014-01-01", "2014-06-01"}
    checks = _checks(result)
    assert checks[FIT_CHECK].passed
    assert checks[QC_CHECK].passed
    assert checks[MISSING_CHECK].passed
    assert checks[QC_CHECK].metadata["rows_quarantined"].value == 0


def test_table_dep_when_asked_for_signals_names_the_ingestion_asset() -> None:
    assert Table.SIGNALS in INGESTED_TABLES
    assert table_dep(Market.US_EQ, Table.SIGNALS) == dg.AssetKey(["us_eq", "signals"])


def test_ingestion_job_when_delivery_mostly_quarantined_fails_naming_the_share(tmp_path: Path, market_frames) -> None:
    result = _run(_setup(tmp_path, market_frames, poison=0.05))
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "max_quarantine_fraction" in str(failure.event_specific_data)
    assert HistoricalStore(tmp_path / "lake").read(Table.PRICES_DAILY).is_empty()


def test_ingestion_job_when_window_poisoned_blocking_check_fails_with_counts(tmp_path: Path, market_frames) -> None:
    # 1 bar in 60 of the run's window: above the limit there, below it over the year-long delivery.
    result = _run(_setup(tmp_path, market_frames, poison=1 / 60, until=date(2014, 6, 30)))
    checks = _checks(result)
    assert not checks[FIT_CHECK].passed
    assert not checks[QC_CHECK].passed
    assert checks[QC_CHECK].metadata["rule_non_positive_price"].value > 0
    assert checks[FIT_CHECK].metadata["quarantined_fraction"].value > 0.01
    assert not checks[MISSING_CHECK].passed  # quarantined bars leave sessions without a bar
