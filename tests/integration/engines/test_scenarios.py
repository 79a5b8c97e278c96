"""Scenarios asset: built from the engine's declaration (deps on regime and portfolio, checks of both tables),
with its plot and metadata on an engine frame; materialised on a month of a small synthetic market with regime
labels and targets seeded in the runtime store: the regime labels' history before the partition, future poisoning of
the labels, and the paths stored in the lake."""

from __future__ import annotations

import json
from datetime import date, timedelta

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.calendar import get_calendar
from prometheus.core.settings import load_settings
from prometheus.core.types import Market, Mode
from prometheus.data.ingest import ingest_synthetic
from prometheus.data.known_at import decision_times
from prometheus.data.schema import Column
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig, generate_market
from prometheus.engines import pipeline
from prometheus.engines.base import EngineSpec
from prometheus.engines.scenarios import (
    SCENARIO_RESULTS,
    SCENARIOS_SPEC,
    ScenarioConfig,
    ScenarioKind,
    ScenarioPathStore,
    ScenariosEngine,
    scenarios_plot_png,
)
from prometheus.engines.scenarios.lake import PATH_SCHEMA
from prometheus.engines.scenarios.risk import var_es
from prometheus.runtime import RuntimeStore
from prometheus.runtime.decision_log import DecisionLog
from prometheus_assets.engines.scenarios import build_scenarios_assets, scenarios_metadata
from prometheus_assets.partitions import MarketScope
from prometheus_resources import resources_for

#: The default bar delay of the settings (what the asset decides with).
BAR_DELAY_ASSET = timedelta(seconds=load_settings({}).bar_delay_seconds)
#: Stands in for the Portfolio & Risk engine's declaration until it is registered in ENGINE_SPECS.
PORTFOLIO_STUB = EngineSpec("portfolio", "stub", "target_portfolios", (Column("weight", pl.Float64(), "w"),), ())


def _frame(es: list[float]) -> pl.DataFrame:
    """A scenario_sets-like frame: one set per ES, on sessions 1, 1 and 2 of January 2024."""
    days = [date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 2)]
    return pl.DataFrame({
        "session": days,
        "scenario_set": [f"set{i}" for i in range(len(es))],
        "definition": [{"portfolio_var": 0.8 * e, "portfolio_es": e, "var_level": 0.99} for e in es],
    })  # fmt: skip


def test_asset_when_built_depends_on_regime_and_portfolio_and_checks_both_tables(monkeypatch) -> None:
    if "portfolio" not in pipeline.ENGINE_SPECS:
        monkeypatch.setitem(pipeline.ENGINE_SPECS, "portfolio", PORTFOLIO_STUB)
    cfg = ScenarioConfig(stress_loss_limit=0.1)
    (asset,) = build_scenarios_assets(MarketScope(Market.US_EQ, Mode.BACKTEST), cfg)
    key = dg.AssetKey(["us_eq", SCENARIOS_SPEC.output_table])
    assert asset.key == key
    deps = {k.path[-1] for k in asset.asset_deps[key]}
    assert {"regime_states", "target_portfolios"} <= deps
    checks = {c.name for c in asset.check_specs}
    assert any(c.startswith("scenario_results__") for c in checks)
    assert any(not c.startswith("scenario_results__") for c in checks)


def test_metadata_when_worst_set_es_above_limit_counts_breaches() -> None:
    frame = _frame([0.05, 0.2, 0.08])  # session 1: worst ES 0.2 (breach), session 2: 0.08
    meta = scenarios_metadata(frame, ScenarioConfig(stress_loss_limit=0.1))
    assert meta["sets_generated"] == 3
    assert meta["rebalance_sessions"] == 2
    assert meta["breaches"] == 1
    assert meta["max_worst_es"] == pytest.approx(0.2)
    assert scenarios_metadata(frame, ScenarioConfig())["breaches"] == 0
    assert scenarios_plot_png(frame, "t", 0.1).startswith(b"\x89PNG")


# --- materialised: the regime labels' history and the paths in the lake --------------------------------------

#: Small sets over a one-year history; the regime bootstrap (and its stressed variant) and the shocks.
ASSET_CONFIG = ScenarioConfig(paths=100, horizon_sessions=5, history_sessions=250, every_sessions=5,
                              generators=(ScenarioKind.REGIME_BOOTSTRAP, ScenarioKind.SHOCK))  # fmt: skip
PARTITION = "2015-06-01"  # the month after ~355 sessions of history (the market starts 2014-01-02)
CRISIS_UNTIL = date(2014, 12, 31)  # labels: crisis up to here, calm after (no crisis in the partition)


def _identity(sessions: list[date], version: str) -> pl.DataFrame:
    times = decision_times(get_calendar(), Market.US_EQ, sessions, BAR_DELAY_ASSET)
    return pl.DataFrame({"market": "US_EQ", "session": sessions, "decision_time": times, "experiment": "backtest",
                         "config_version": version})  # fmt: skip


def _seed_upstream(url: str, sessions: list[date], partition: list[date], labels: list[str], version: str,
                   names: list[str]) -> None:  # fmt: skip
    """regime_states rows for every session (label per session) and equal-weight targets on the partition's."""
    store = RuntimeStore(url)
    store.upgrade()
    log = DecisionLog(store)
    regime = _identity(sessions, version).with_columns(
        pl.Series("state", [2 if lb == "crisis" else 0 for lb in labels], dtype=pl.Int64),
        pl.Series("label", labels, dtype=pl.String),
        pl.Series("probabilities", [[1.0, 0.0, 0.0]] * len(sessions), dtype=pl.List(pl.Float64)),
        pl.lit(1.0).alias("confidence"),
    )
    log.write_output("regime_states", regime)
    weights = _identity(partition, "p1").join(pl.DataFrame({"instrument": names}), how="cross").with_columns(
        pl.lit(1.0 / len(names)).alias("weight"), pl.lit(0.0).alias("expected_return"),
        pl.lit(0.0).alias("risk_contribution"),
    )  # fmt: skip
    log.write_output("target_portfolios", weights)


@pytest.fixture(scope="module")
def materialised(tmp_path_factory) -> dict[str, object]:
    """One ingest, then the June 2015 partition twice (separate runtime stores, same lake): clean labels (crisis
    until 2014, calm since) and labels poisoned after the partition's first rebalance session (all crisis)."""
    root = tmp_path_factory.mktemp("scenarios_asset")
    base = load_settings({"PROMETHEUS_DATA_ROOT": str(root)})
    delay = timedelta(seconds=base.bar_delay_seconds)
    assert delay == BAR_DELAY_ASSET
    market = SyntheticConfig(seed=3, n_names=30, years=2)
    ingest_synthetic(HistoricalStore(root / "lake"), root, market, bar_delay=delay)
    names = [str(s) for s in generate_market(market).panel.universe.symbols[:8]]
    cal = get_calendar()
    sessions = cal.sessions(Market.US_EQ, date(2014, 1, 2), date(2015, 6, 30))
    partition = [d for d in sessions if d >= date(2015, 6, 1)]
    engine = ScenariosEngine(ASSET_CONFIG, cal)
    first = engine.rebalance_sessions(Market.US_EQ, partition)[0]
    clean = ["crisis" if d <= CRISIS_UNTIL else "calm" for d in sessions]
    poisoned = [lb if d <= first else "crisis" for d, lb in zip(sessions, clean, strict=True)]
    out: dict[str, object] = {"root": root, "first": first}
    for name, labels, version in (("clean", clean, "r1"), ("poisoned", poisoned, "r2")):
        url = f"sqlite:///{root / f'runtime_{name}.sqlite'}"
        settings = load_settings({"PROMETHEUS_DATA_ROOT": str(root), "PROMETHEUS_RUNTIME_DB_URL": url})
        _seed_upstream(url, sessions, partition, labels, version, names)
        (asset,) = build_scenarios_assets(MarketScope(Market.US_EQ, Mode.BACKTEST), ASSET_CONFIG)
        result = dg.materialize([asset], partition_key=PARTITION, resources=resources_for(settings),
                                instance=dg.DagsterInstance.ephemeral())  # fmt: skip
        assert result.success
        log = DecisionLog(RuntimeStore(url))
        out[name] = log.read_output("scenario_sets", SCENARIOS_SPEC.schema, market="US_EQ")
        out[f"{name}_results"] = log.read_output("scenario_results", SCENARIO_RESULTS.schema, market="US_EQ")
    return out


def test_materialise_when_partition_has_no_crisis_label_still_draws_crisis_rows_from_the_label_history(
    materialised,
) -> None:
    sets = materialised["clean"]
    assert sets.height > 0
    per_session = sets.group_by("session").agg(pl.col("scenario_set"))
    # Every label of the partition is calm; the crisis sessions are all before it. Reading only the partition's
    # labels (the old behaviour) finds no crisis row and skips the stressed set.
    for names in per_session["scenario_set"].to_list():
        assert {"regime_bootstrap", "regime_stressed"} <= set(names)
    for row in sets.filter(pl.col("scenario_set") == "regime_stressed").iter_rows(named=True):
        params = json.loads(row["definition"]["parameters"])
        assert params["label"] == "crisis"
        # The history window (250 sessions back from a June 2015 session) holds the second half of 2014.
        assert params["rows"] > 100
    calm = sets.filter(pl.col("scenario_set") == "regime_bootstrap")
    assert all(json.loads(p)["label"] == "calm" for p in calm["definition"].struct.field("parameters").to_list())


def test_materialise_when_labels_after_a_session_are_poisoned_leaves_its_scenarios_unchanged(materialised) -> None:
    first = materialised["first"]
    drop = ["config_version", "lake_path"]  # the poisoned regime output is another version
    for table in ("", "_results"):
        clean, dirty = materialised[f"clean{table}"], materialised[f"poisoned{table}"]
        before = pl.col("session") <= first
        assert clean.filter(before).height > 0
        assert_frame_equal(clean.filter(before).drop(drop, strict=False), dirty.filter(before).drop(drop, strict=False))
        # The poison did reach later sessions: their current regime is crisis.
        assert not clean.filter(~before).drop(drop, strict=False).equals(dirty.filter(~before).drop(drop, strict=False))
    paths = ScenarioPathStore(materialised["root"] / "lake")
    for clean, dirty in zip(materialised["clean"].filter(pl.col("session") == first).sort("scenario_set").iter_rows(
            named=True), materialised["poisoned"].filter(pl.col("session") == first).sort("scenario_set").iter_rows(
            named=True), strict=True):  # fmt: skip
        assert clean["lake_path"] != dirty["lake_path"]
        assert_frame_equal(paths.read(clean["lake_path"]), paths.read(dirty["lake_path"]))


def test_materialise_when_sets_generated_stores_their_paths_matching_the_recorded_var_and_es(materialised) -> None:
    sets, results = materialised["clean"], materialised["clean_results"]
    paths = ScenarioPathStore(materialised["root"] / "lake")
    for row in sets.iter_rows(named=True):
        assert row["lake_path"] is not None
        assert row["lake_path"].startswith("scenario_paths/market=US_EQ/")
        file = paths.resolve(row["lake_path"])
        assert file.is_file()
        frame = paths.read(row["lake_path"])
        assert frame.schema == pl.Schema(PATH_SCHEMA)
        assert frame.height == row["n_scenarios"] * row["horizon_sessions"]
        last = frame.filter(pl.col("step") == row["horizon_sessions"])["portfolio_pnl"].to_numpy()
        tail = var_es(last, ASSET_CONFIG.var_levels)
        top = row["definition"]["var_level"]
        assert tail[top].var == row["definition"]["portfolio_var"]
        assert tail[top].es == row["definition"]["portfolio_es"]
        mine = results.filter((pl.col("session") == row["session"]) & (pl.col("scenario_set") == row["scenario_set"]))
        for level, v in tail.items():
            assert mine.filter(pl.col("scenario") == f"es_{level * 100:g}")["pnl"].item() == -v.es
            assert mine.filter(pl.col("scenario") == f"var_{level * 100:g}")["pnl"].item() == -v.var
    assert not list((materialised["root"] / "lake" / "scenario_paths").rglob(".*tmp-*"))
