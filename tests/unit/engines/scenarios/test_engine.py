"""Scenarios engine on the synthetic market: rebalance sessions, determinism, VaR <= ES, the stress rule, future
poisoning, the regime labels' history before the run, the paths stored in the lake, and its declaration against the
runtime tables."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.known_at import decision_times
from prometheus.data.schema import Table
from prometheus.data.timemachine import TimeMachine
from prometheus.engines import RunContext, check_output
from prometheus.engines.base import EngineResult, extra_frames
from prometheus.engines.scenarios import (
    EPOCH,
    SCENARIO_RESULTS,
    SCENARIOS_SPEC,
    PathKey,
    ScenarioConfig,
    ScenarioPathStore,
    ScenariosEngine,
)
from prometheus.engines.scenarios.risk import var_es
from prometheus.runtime import RuntimeStore, unique_key
from prometheus.runtime.decision_log import DecisionLog
from prometheus.runtime.frames import sql_type_matches
from prometheus.runtime.tables import metadata
from tests.support.panel_market import BAR_DELAY, History

#: Small sets and a one-year history keep every run fast; the maths is the same as with the defaults.
SMALL = ScenarioConfig(paths=200, horizon_sessions=10, history_sessions=250, every_sessions=5)
LABELS = np.array(["calm", "normal", "crisis"])


def regime_frame(h: History) -> pl.DataFrame:
    """The synthetic market's true regimes as a regime_states-like upstream frame (session, decision_time, label)."""
    sessions = list(h.market.sessions)
    times = decision_times(get_calendar(), Market.US_EQ, sessions, BAR_DELAY)
    return pl.DataFrame({"session": sessions, "decision_time": times, "label": LABELS[h.market.panel.regimes]})


def portfolio_frame(h: History, sessions: list[date]) -> pl.DataFrame:
    """Equal weights over the names priced on each session, with target_portfolios' columns."""
    prices = h.snapshot.tables[Table.PRICES_ADJUSTED].select(pl.col("date").alias("session"),
                                                             pl.col("symbol").alias("instrument")).unique()  # fmt: skip
    known = decision_times(get_calendar(), Market.US_EQ, sessions, BAR_DELAY)
    times = pl.DataFrame({"session": sessions, "decision_time": known})
    return (
        prices.join(times, on="session")
        .with_columns(
            (1.0 / pl.len().over("session")).alias("weight"),
            pl.lit(0.0).alias("expected_return"),
            pl.lit(0.0).alias("risk_contribution"),
        )  # fmt: skip
        .sort("session", "instrument")
    )


@pytest.fixture(scope="module")
def market(stability_markets) -> tuple[History, pl.DataFrame, pl.DataFrame]:
    h = stability_markets(21)
    sessions = list(h.market.sessions)
    return h, regime_frame(h), portfolio_frame(h, sessions[300:])


def _run(engine: ScenariosEngine, h: History, ctx: RunContext, upstream: dict[str, pl.DataFrame],
         view: TimeMachine | None = None) -> EngineResult:  # fmt: skip
    return engine.run(view or h.view(ctx), ctx, upstream)


def test_rows_when_runs_start_on_different_sessions_fall_on_the_same_rebalance_sessions(market) -> None:
    h, regimes, portfolio = market
    sessions = list(h.market.sessions)
    engine = ScenariosEngine(SMALL)
    up = {"regime": regimes, "portfolio": portfolio}
    runs = [_run(engine, h, h.context(sessions[start:420]), up) for start in (400, 402)]
    cal = get_calendar()
    for run, start in zip(runs, (400, 402), strict=True):
        days = sorted(set(run.frame["session"].to_list()))
        # Counted from the epoch, not from the run's first session.
        expected = [d for d in sessions[start:420] if (len(cal.sessions(Market.US_EQ, EPOCH, d)) - 1) % 5 == 0]
        assert days == expected
        assert len(days) in (3, 4, 5)
        assert [d.session for d in run.decisions] == expected
        assert set(run.extra["scenario_results"]["session"].to_list()) == set(expected)
        check_output(SCENARIOS_SPEC, run.frame)
        extra_frames(SCENARIOS_SPEC, run)
    common = pl.col("session") >= sessions[402]
    assert_frame_equal(runs[0].frame.filter(common), runs[1].frame.filter(common))
    results = [r.extra["scenario_results"].filter(common) for r in runs]
    assert_frame_equal(results[0], results[1])
    sets = set(runs[0].frame["scenario_set"].to_list())
    assert sets == {"filtered_historical", "block_bootstrap", "regime_bootstrap", "regime_stressed", "market_shock",
                    "sector_shock", "crisis_correlation"}  # fmt: skip


def test_run_when_repeated_gives_identical_frames_and_var_below_es(market) -> None:
    h, regimes, portfolio = market
    sessions = list(h.market.sessions)
    ctx = h.context(sessions[500:511])
    engine = ScenariosEngine(SMALL)
    up = {"regime": regimes, "portfolio": portfolio}
    a, b = _run(engine, h, ctx, up), _run(engine, h, ctx, up)
    assert_frame_equal(a.frame, b.frame)
    assert_frame_equal(a.extra["scenario_results"], b.extra["scenario_results"])
    assert [d.payload for d in a.decisions] == [d.payload for d in b.decisions]
    res = a.extra["scenario_results"]
    for level in SMALL.var_levels:
        tag = f"{level * 100:g}"
        var = res.filter(pl.col("scenario") == f"var_{tag}").select("session", "scenario_set", var=-pl.col("pnl"))
        es = res.filter(pl.col("scenario") == f"es_{tag}").select("session", "scenario_set", es=-pl.col("pnl"))
        both = var.join(es, on=["session", "scenario_set"])
        assert both.height == a.frame.height  # one VaR and one ES per set and session
        assert (both["var"] <= both["es"] + 1e-12).all()
    worst = res.filter(pl.col("scenario") == "worst").select("session", "scenario_set", w=-pl.col("pnl"))
    es99 = res.filter(pl.col("scenario") == "es_99").select("session", "scenario_set", es=-pl.col("pnl"))
    joined = worst.join(es99, on=["session", "scenario_set"])
    assert (joined["es"] <= joined["w"] + 1e-12).all()


def test_decision_when_stress_loss_limit_breached_records_a_scale_below_one(market) -> None:
    h, regimes, portfolio = market
    sessions = list(h.market.sessions)
    ctx = h.context(sessions[600:606])
    up = {"regime": regimes, "portfolio": portfolio}
    strict = _run(ScenariosEngine(SMALL.model_copy(update={"stress_loss_limit": 0.01})), h, ctx, up)
    loose = _run(ScenariosEngine(SMALL.model_copy(update={"stress_loss_limit": 5.0})), h, ctx, up)
    off = _run(ScenariosEngine(SMALL), h, ctx, up)
    assert strict.decisions
    for d in strict.decisions:
        p = d.payload
        assert p["breach"]
        assert 0.0 < p["scale"] < 1.0
        assert p["scale"] == pytest.approx(0.01 / p["worst_loss"])
        assert p["worst_loss"] == max(s["es_99"] for s in p["sets"].values())
        assert p["worst_set"] in p["sets"]
    assert all(d.payload["scale"] == 1.0 and not d.payload["breach"] for d in [*loose.decisions, *off.decisions])


def test_run_when_upstream_missing_skips_regime_sets_and_stress_pnl_with_notes(market) -> None:
    h, _, _ = market
    sessions = list(h.market.sessions)
    ctx = h.context(sessions[600:606])
    out = _run(ScenariosEngine(SMALL), h, ctx, {})
    assert out.frame.height > 0
    assert out.extra["scenario_results"].is_empty()
    assert not set(out.frame["scenario_set"].to_list()) & {"regime_bootstrap", "regime_stressed"}
    assert any("regime bootstrap skipped" in n for n in out.notes)
    assert any("no target portfolio" in n for n in out.notes)
    assert all(d.payload["scale"] is None for d in out.decisions)


def _poison_upstream(frame: pl.DataFrame, cutoff: datetime, column: str, value: object) -> pl.DataFrame:
    late = pl.col("decision_time") > cutoff
    return frame.with_columns(pl.when(late).then(pl.lit(value)).otherwise(pl.col(column)).alias(column))


def test_outputs_when_every_input_after_d_is_poisoned_are_unchanged_up_to_d(market, poison, monkeypatch) -> None:
    h, regimes, portfolio = market
    cfg = SMALL.model_copy(update={"every_sessions": 25, "paths": 100})
    engine = ScenariosEngine(cfg)
    sessions = list(h.market.sessions[400:690])
    d_index = 30
    ctx = h.context(sessions)
    d, cutoff = sessions[d_index], ctx.decision_times[d_index]
    bad = poison(h.snapshot, cutoff, d)
    up = {"regime": regimes, "portfolio": portfolio}
    bad_up = {"regime": _poison_upstream(regimes, cutoff, "label", "crisis"),
              "portfolio": _poison_upstream(portfolio, cutoff, "weight", 0.5)}  # fmt: skip
    clean = _run(engine, h, ctx, up)
    dirty = _run(engine, h, ctx, bad_up, h.view(ctx, bad))
    assert len(sessions) - d_index > 250
    before = pl.col("session") <= d
    for name in ("frame", "results"):
        a = clean.frame if name == "frame" else clean.extra["scenario_results"]
        b = dirty.frame if name == "frame" else dirty.extra["scenario_results"]
        assert a.filter(before).height > 0, name
        assert_frame_equal(a.filter(before), b.filter(before))  # every column, bit for bit
        assert not a.filter(~before).equals(b.filter(~before)), name  # the poison did reach later sessions
    # The test can fail: a view that never moves back (look-ahead) lets the late rows through.
    monkeypatch.setattr(TimeMachine, "at", lambda self, t: self)
    leaky = _run(engine, h, ctx, up, h.view(ctx, bad))
    assert not clean.frame.filter(before).equals(leaky.frame.filter(before))


# --- declaration against the runtime tables (the spec is not in ENGINE_SPECS yet) ------------------------------

BOOKKEEPING = {"id", "created_at"}
TABLES = [(SCENARIOS_SPEC.output_table, SCENARIOS_SPEC), (SCENARIO_RESULTS.table, SCENARIO_RESULTS)]


@pytest.mark.parametrize(("table", "spec"), TABLES, ids=[t for t, _ in TABLES])
def test_tables_when_compared_with_the_declarations_match_columns_dtypes_and_key(table: str, spec) -> None:
    sql = metadata.tables[table]
    assert [c.name for c in sql.columns if c.name not in BOOKKEEPING] == [c.name for c in spec.all_columns]
    for column in spec.all_columns:
        assert sql_type_matches(sql.c[column.name], column.dtype), f"{table}.{column.name}"
        assert sql.c[column.name].nullable == column.nullable, f"{table}.{column.name} nullability"
    assert set(unique_key(sql)) == set(spec.row_key)


def test_outputs_when_written_and_read_back_are_identical(market, runtime_db_url: str) -> None:
    h, regimes, portfolio = market
    ctx = h.context(list(h.market.sessions)[700:706])
    out = _run(ScenariosEngine(SMALL), h, ctx, {"regime": regimes, "portfolio": portfolio})
    store = RuntimeStore(runtime_db_url)
    store.upgrade()
    log = DecisionLog(store)
    for table, spec in TABLES:
        frame = out.frame if table == "scenario_sets" else out.extra[table]
        log.write_output(table, frame)
        back = log.read_output(table, spec.schema, market="US_EQ", config_version="v")
        assert_frame_equal(back.sort(list(spec.row_key)), frame.sort(list(spec.row_key)))


# --- regime labels' history and the paths in the lake ---------------------------------------------------------


def test_run_when_regime_frame_reaches_back_conditions_on_the_history_before_the_run(market) -> None:
    h, regimes, portfolio = market
    sessions = list(h.market.sessions)
    engine = ScenariosEngine(SMALL)
    (d,) = engine.rebalance_sessions(Market.US_EQ, sessions[300:305])
    ctx = h.context([d])
    labels = regimes.with_columns(pl.when(pl.col("session") == d).then(pl.lit("calm")).otherwise("label")
                                  .alias("label"))  # fmt: skip
    own = _run(engine, h, ctx, {"regime": labels.filter(pl.col("session") == d), "portfolio": portfolio})
    full = _run(engine, h, ctx, {"regime": labels, "portfolio": portfolio})
    window = labels.filter(pl.col("session") <= d).tail(SMALL.history_sessions)
    assert (window["label"] == "crisis").any()  # seed 21: a crisis around sessions 160-225
    # A frame of the run's own sessions only: no crisis row to draw from, the stressed set is skipped.
    assert "regime_stressed" not in own.frame["scenario_set"].to_list()
    stressed = full.frame.filter(pl.col("scenario_set") == "regime_stressed")
    assert stressed.height == 1
    assert '"label": "crisis"' in stressed["definition"].struct.field("parameters").item()


def test_run_when_given_a_path_store_records_lake_paths_whose_files_match_var_and_es(market, tmp_path) -> None:
    h, regimes, portfolio = market
    sessions = list(h.market.sessions)
    ctx = h.context(sessions[700:706])
    store = ScenarioPathStore(tmp_path / "lake")
    out = _run(ScenariosEngine(SMALL, paths=store), h, ctx, {"regime": regimes, "portfolio": portfolio})
    plain = _run(ScenariosEngine(SMALL), h, ctx, {"regime": regimes, "portfolio": portfolio})
    assert plain.frame["lake_path"].null_count() == plain.frame.height
    # Storing the paths changes nothing else.
    assert_frame_equal(out.frame.drop("lake_path"), plain.frame.drop("lake_path"))
    assert_frame_equal(out.extra["scenario_results"], plain.extra["scenario_results"])
    results = out.extra["scenario_results"]
    assert out.frame.height > 0
    for row in out.frame.iter_rows(named=True):
        key = PathKey("US_EQ", ctx.config_version, row["session"], row["scenario_set"])
        assert row["lake_path"] == key.relative()
        frame = store.read(row["lake_path"])
        assert frame.height == row["n_scenarios"] * row["horizon_sessions"]
        pnl = frame.filter(pl.col("step") == row["horizon_sessions"])["portfolio_pnl"].to_numpy()
        tail = var_es(pnl, SMALL.var_levels)
        assert tail[0.99].var == row["definition"]["portfolio_var"]
        assert tail[0.99].es == row["definition"]["portfolio_es"]
        mine = results.filter((pl.col("session") == row["session"]) & (pl.col("scenario_set") == row["scenario_set"]))
        for level, v in tail.items():
            assert mine.filter(pl.col("scenario") == f"var_{level * 100:g}")["pnl"].item() == -v.var
            assert mine.filter(pl.col("scenario") == f"es_{level * 100:g}")["pnl"].item() == -v.es
            assert mine.filter(pl.col("scenario") == "worst")["pnl"].item() == pnl.min()
