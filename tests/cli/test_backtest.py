"""``prometheus backtest`` end to end on a small market through Dagster: results, reconciliation, logging,
determinism, experiments that never overwrite each other, reuse of unchanged engines, --list and --compare."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.known_at import decision_times
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.engines.pipeline import EngineChainConfig
from prometheus.meta import OUTCOME_ENGINES, read_outcomes
from prometheus.meta.execution_outcomes import EXECUTION_ENGINE
from prometheus.meta.kronos import Finding, get_proposal, propose, save_proposal
from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables import backtest_daily, backtest_runs, engine_decisions, fills, orders
from prometheus_cli import app

runner = CliRunner()
RANGE = ["--start", "2018-10-01", "--end", "2018-12-31"]
SESSIONS = 63  # Q4 2018 sessions of XNYS


def _invoke(root: Path, *args: str) -> str:
    result = runner.invoke(app, ["backtest", *args], env={"PROMETHEUS_DATA_ROOT": str(root)})
    assert result.exit_code == 0, result.output
    return result.output


def _frame(root: Path, table: sa.Table, experiment: str) -> pl.DataFrame:
    store = RuntimeStore(f"sqlite:///{root / 'runtime.sqlite'}")
    with store.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(table).where(table.c.experiment == experiment))]
    return pl.DataFrame(rows, infer_schema_length=None)


@pytest.fixture(scope="module")
def first_run(cli_market_root: Path) -> tuple[Path, str, float]:
    t0 = time.perf_counter()
    out = _invoke(cli_market_root, *RANGE, "--experiment", "bt")
    return cli_market_root, out, time.perf_counter() - t0


def test_backtest_when_run_prints_progress_metrics_and_writes_the_report(first_run) -> None:
    root, out, _ = first_run
    assert "stage 6/7 backtest" in out
    assert "stage 7/7 outcomes" in out
    assert "Sharpe" in out
    assert "1/N" in out
    report = root / "reports" / "bt" / "us_eq.html"
    assert f"report: {report}" in out
    html = report.read_text()
    assert "data:image/png;base64" in html
    daily = _frame(root, backtest_daily, "bt").sort("session")
    assert daily.height == SESSIONS
    assert daily["equity"].is_finite().all()
    assert daily["baseline_return"].is_not_null().all()
    run = _frame(root, backtest_runs, "bt").row(0, named=True)
    assert run["status"] == "SUCCEEDED"
    assert {"regime", "portfolio", "backtest", "planner", "simulator", "costs", "risk_limits"} <= set(
        run["config_versions"]
    )
    assert "strategy.sharpe" in run["metrics"]


def test_equity_when_reconciled_from_fills_prices_and_actions_matches_every_session(first_run) -> None:
    root, _, _ = first_run
    daily = _frame(root, backtest_daily, "bt").sort("session")
    done = _frame(root, fills, "bt")
    assert done.height > 0
    lake = HistoricalStore(root / "lake")
    closes = lake.read(Table.PRICES_DAILY, market="US_EQ").select("date", "symbol", "close")
    close = {(d, s): c for d, s, c in closes.iter_rows()}
    actions = lake.read(Table.CORPORATE_ACTIONS, market="US_EQ")
    shares: dict[str, float] = {}
    cash = 1_000_000.0
    last: dict[str, float] = {}
    for row in daily.iter_rows(named=True):
        day = row["session"]
        for sym, kind, value in actions.filter(pl.col("date") == day).select("symbol", "action", "value").iter_rows():
            if kind == "split" and sym in shares:
                shares[sym] *= value
            elif kind == "dividend":
                cash += shares.get(sym, 0.0) * value
        for f in done.filter(pl.col("session") == day).iter_rows(named=True):
            sign = 1.0 if f["side"] == "BUY" else -1.0
            shares[f["instrument"]] = shares.get(f["instrument"], 0.0) + sign * f["quantity"]
            cash -= sign * f["quantity"] * f["price"] + f["commission"] + f["fees"]
        for sym in shares:
            last[sym] = close.get((day, sym), last.get(sym, 0.0))
        value = sum(q * last[s] for s, q in shares.items())
        assert row["cash"] == pytest.approx(cash, rel=1e-9, abs=1e-6), day
        assert row["equity"] == pytest.approx(cash + value, rel=1e-9), day


def test_decisions_and_fills_when_logged_cover_every_session_and_every_order(first_run) -> None:
    root, _, _ = first_run
    decisions = _frame(root, engine_decisions, "bt")
    per_engine = decisions.group_by("engine").agg(pl.col("session").n_unique())
    counts = dict(per_engine.iter_rows())
    for engine in ("regime", "stability", "fragility", "assessment", "universe", "portfolio"):
        assert counts[engine] == SESSIONS, engine
    assert 0 < counts["scenarios"] < SESSIONS  # rebalance sessions only
    sent = _frame(root, orders, "bt")
    done = _frame(root, fills, "bt")
    filled = done.group_by("order_ref").agg(pl.col("quantity").sum())
    joined = sent.join(filled, on="order_ref", how="left").fill_null(0.0)
    assert (joined["filled_quantity"] - joined["quantity_right"]).abs().max() < 1e-9
    assert set(done["order_ref"]) <= set(sent["order_ref"])


def test_outcomes_when_recorded_cover_each_engine_and_horizon_and_are_known_only_after_it(first_run) -> None:
    root, _, _ = first_run
    store = RuntimeStore(f"sqlite:///{root / 'runtime.sqlite'}")
    found = read_outcomes(store, Market.US_EQ, "bt")
    assert set(found["engine"]) == {*OUTCOME_ENGINES, EXECUTION_ENGINE}  # execution: the simulated orders' costs
    assert set(found["horizon_sessions"]) == {1, 5, 21}
    cal = get_calendar()
    days = cal.sessions(Market.US_EQ, date(2018, 10, 1), date(2019, 3, 1))
    times = dict(zip(days, decision_times(cal, Market.US_EQ, days, timedelta(minutes=5)), strict=True))
    after = {d: days[i + 1 :] for i, d in enumerate(days)}
    for row in found.iter_rows(named=True):
        horizon_end = after[row["session"]][row["horizon_sessions"] - 1]
        assert row["known_at"] >= times[horizon_end], row
    # Every decision whose t + H is within the data has its outcome, and no other does.
    last = HistoricalStore(root / "lake").read(Table.PRICES_ADJUSTED, columns=["date"])["date"].max()
    ranged = [d for d in days if d <= date(2018, 12, 31)]
    for h in (1, 5, 21):
        regime = found.filter((pl.col("engine") == "regime") & (pl.col("horizon_sessions") == h))
        passed = [d for d in ranged if len(after[d]) >= h and after[d][h - 1] <= last]
        assert regime["session"].to_list() == passed, h
        assert regime["outcome"].is_finite().all()
    # One execution row per session that decided orders, each known once the orders' session had traded.
    costs = found.filter(pl.col("engine") == EXECUTION_ENGINE)
    assert costs.height > 0
    assert set(costs["horizon_sessions"]) == {1}
    assert set(costs["session"]) <= set(_frame(root, orders, "bt")["session"].map_elements(
        lambda d: days[days.index(d) - 1], return_dtype=pl.Date))  # fmt: skip


def test_rerun_when_same_experiment_is_idempotent_and_bit_for_bit_equal(first_run) -> None:
    root, _, _ = first_run
    before = _stable(_frame(root, backtest_daily, "bt").sort("session"))
    fills_before = _stable(_frame(root, fills, "bt").sort("order_ref", "seq"))
    _invoke(root, *RANGE, "--experiment", "bt")
    assert _stable(_frame(root, backtest_daily, "bt").sort("session")).equals(before)
    assert _stable(_frame(root, fills, "bt").sort("order_ref", "seq")).equals(fills_before)


def _stable(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame without the columns a rewrite changes by design (row ids, write times)."""
    return frame.drop([c for c in ("id", "created_at") if c in frame.columns])


def test_portfolio_change_when_run_as_a_new_experiment_reuses_upstream_and_keeps_the_first(first_run, tmp_path) -> None:
    root, _, first_seconds = first_run
    cfg = tmp_path / "exp.yaml"
    cfg.write_text("portfolio:\n  rebalance_every: 10\n")
    refused = runner.invoke(app, ["backtest", *RANGE, "--experiment", "bt", "--config", str(cfg)],
                            env={"PROMETHEUS_DATA_ROOT": str(root)})  # fmt: skip
    assert refused.exit_code != 0
    assert "new --experiment name" in refused.output
    t0 = time.perf_counter()
    out = _invoke(root, *RANGE, "--experiment", "bt-slow", "--config", str(cfg))
    seconds = time.perf_counter() - t0
    print(f"\nfirst experiment {first_seconds:.0f}s, portfolio-only change {seconds:.0f}s")
    assert "engines reused: regime, stability, fragility, assessment, universe; computed: portfolio, scenarios" in out
    # The models were fitted on the same data with the same configs: kept, not refitted.
    line = next(x for x in out.splitlines() if "models reused:" in x)
    counts = dict(part.strip().split(" ") for part in line.split("models reused:")[1].split(","))
    assert set(counts) == {"regime_model", "assessment_model"}
    for name, ratio in counts.items():
        kept, total = ratio.split("/")
        assert kept == total != "0", f"{name}: {ratio}"
    a = _frame(root, backtest_daily, "bt").sort("session")
    b = _frame(root, backtest_daily, "bt-slow").sort("session")
    assert a.height == b.height == SESSIONS
    assert not a["equity"].equals(b["equity"])  # its own results, the first experiment's rows untouched
    listed = _invoke(root, "--list")
    assert "bt," in listed
    assert "bt-slow," in listed
    compared = _invoke(root, "--compare", "bt", "bt-slow")
    path = Path(compared.strip().split("comparison report: ")[-1])
    assert path.exists()
    assert "bt-slow" in path.read_text()


def test_single_month_when_backtested_as_a_new_experiment_finds_its_assessment_model(cli_market_root: Path) -> None:
    """The first refit period of an experiment has no engine outputs in its training window: its model must be
    saved under the version the assessments look it up by (that of the sessions it serves)."""
    out = _invoke(cli_market_root, "--start", "2017-03-01", "--end", "2017-03-31", "--experiment", "one-month")
    assert "report:" in out
    assert _frame(cli_market_root, backtest_daily, "one-month").height == 23  # March 2017 sessions of XNYS


def _kronos(root: Path, *args: str) -> str:
    result = runner.invoke(app, ["kronos", *args], env={"PROMETHEUS_DATA_ROOT": str(root)})
    assert result.exit_code == 0, result.output
    return result.output


def test_kronos_when_a_proposal_is_evaluated_on_a_holdout_its_verdict_decides_the_approval(first_run) -> None:
    """report -> proposal -> evaluate (two hold-out experiments through Dagster) -> approve only if it passed."""
    root, _, _ = first_run
    out = _kronos(root, "report", "--experiment", "bt")
    assert "kronos_report started" in out  # a Dagster run of <market>/kronos_report
    assert "check us_eq/kronos_report no_degraded_config" in out
    assert "Kronos US_EQ bt: 2018-10-01.." in out
    assert "engine,regime,samples,mean,t_stat" in out
    store = RuntimeStore(f"sqlite:///{root / 'runtime.sqlite'}")
    finding = Finding("regime_slice", "assessment", "a", 5, "works in calm, not in crisis",
                      {"works": ["calm"], "fails": ["crisis"]})  # fmt: skip
    [proposal] = propose([finding], EngineChainConfig())
    pid = save_proposal(store, proposal)
    refused = runner.invoke(
        app, ["kronos", "approve", str(pid), "--by", "ana"], env={"PROMETHEUS_DATA_ROOT": str(root)}
    )
    assert refused.exit_code == 2
    assert "no hold-out verdict" in refused.output
    out = _kronos(root, "evaluate", str(pid), "--start", "2018-12-03", "--end", "2018-12-31")
    assert "deflated Sharpe" in out
    verdict = get_proposal(store, pid)["evidence"]["holdout"]
    assert verdict["experiments"] == {"current": f"kronos-{pid}-current", "proposed": f"kronos-{pid}-proposed"}
    assert _frame(root, backtest_daily, f"kronos-{pid}-proposed").height == 19  # Dec 3-31 2018 (closed on the 5th)
    decided = runner.invoke(app, ["kronos", "approve", str(pid), "--by", "ana", "--from", "2019-01-02"],
                            env={"PROMETHEUS_DATA_ROOT": str(root)})  # fmt: skip
    if verdict["accepted"]:
        assert decided.exit_code == 0, decided.output
        assert "PROMOTED for PAPER US_EQ from 2019-01-02" in decided.output
        assert f",PROMOTE,{proposal.proposed_config_version[:16]},2019-01-02,{pid},ana" in _kronos(root, "promotions")
    else:
        assert decided.exit_code == 2
        assert "failed its hold-out" in decided.output
        _kronos(root, "reject", str(pid), "--reason", "failed its hold-out", "--by", "ana")
        assert f"{pid},portfolio,REJECTED,ana" in _kronos(root, "proposals")
