"""Portfolio & Risk engine on the synthetic market: limits on every session, fallbacks, the 1/N baseline, future
poisoning, the spec against its tables, and realised / predicted vol of the target per regime."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.data.schema import Table
from prometheus.data.timemachine import TimeMachine
from prometheus.engines import check_output
from prometheus.engines.base import EngineResult, extra_frames
from prometheus.engines.portfolio.config import PortfolioConfig, default_limits
from prometheus.engines.portfolio.engine import PortfolioEngine
from prometheus.engines.portfolio.limits import PortfolioLimits
from prometheus.engines.portfolio.optimiser import OptimiserConfig
from prometheus.engines.portfolio.risk_model import RiskModelConfig
from prometheus.engines.portfolio.schema import PORTFOLIO_SPEC, RISK_REPORTS
from prometheus.runtime import RuntimeStore, unique_key
from prometheus.runtime.decision_log import DecisionLog
from prometheus.runtime.frames import sql_type_matches
from prometheus.runtime.tables import metadata
from tests.support.panel_market import History

#: A shorter risk window than the default keeps the runs fast; the maths is the same.
RISK = RiskModelConfig(window=126, min_observations=63, factors=10)
CONFIG = PortfolioConfig(risk=RISK, warmup_sessions=10)
LABELS = {0: "calm", 1: "normal", 2: "crisis"}
#: Sessions of the main run (index into the market's sessions) and of the poisoning run.
MAIN = slice(140, 400)  # normal 20, crisis 65, normal 122, calm 53 sessions of seed 21
TOL = 1e-6


def _upstream(h: History, sessions: list[date]) -> dict[str, pl.DataFrame]:
    """Synthetic upstream frames with the columns the engine reads: a rotating 75 % universe, persistent alphas,
    the true regime as the label, a constant stability score and small fragility scores."""
    names = sorted(h.snapshot.tables[Table.INSTRUMENTS]["symbol"].unique().to_list())
    rng = np.random.default_rng(5)
    base = dict(zip(names, rng.normal(0.0, 0.004, len(names)), strict=True))
    truth = dict(h.market.truth.market.select("date", "regime_code").iter_rows())
    uni, ass, frag, reg, stab = [], [], [], [], []
    for d in sessions:
        k = d.toordinal() // 14  # by date, so any range of sessions gets the same universe
        for j, s in enumerate(names):
            member = (j + k) % 4 != 0  # a quarter of the names out, rotating every two weeks
            uni.append({"session": d, "instrument": s, "reason": "stayed" if member else "volume"})
            ass.append({"session": d, "instrument": s, "expected_return": base[s] + rng.normal(0.0, 0.001)})
            frag.append({"session": d, "instrument": s, "score": float(j % 7) / 10})
        frag.append({"session": d, "instrument": "cluster:A000", "score": 9.0})  # cluster rows are not names
        reg.append({"session": d, "label": LABELS[int(truth[d])]})
        stab.append({"session": d, "instrument": "", "score": 0.7})
    return {"universe": pl.DataFrame(uni), "assessment": pl.DataFrame(ass), "fragility": pl.DataFrame(frag),
            "regime": pl.DataFrame(reg), "stability": pl.DataFrame(stab)}  # fmt: skip


def _run(h: History, engine: PortfolioEngine, sessions: list[date], view_snapshot=None) -> EngineResult:
    days = list(h.market.sessions)
    i0 = days.index(sessions[0])
    # Upstream for the warm-up sessions too, as a run over a longer history would have it.
    ups = _upstream(h, days[i0 - engine.config.warmup_sessions : i0] + sessions)
    ctx = h.context(sessions)
    return engine.run(h.view(ctx, view_snapshot), ctx, ups)


@pytest.fixture(scope="module")
def main_run(stability_markets) -> tuple[History, list[date], EngineResult, float]:
    h = stability_markets(21)
    sessions = list(h.market.sessions[MAIN])
    began = time.perf_counter()
    result = _run(h, PortfolioEngine(CONFIG), sessions)
    per_session = (time.perf_counter() - began) / (len(sessions) + CONFIG.warmup_sessions)
    return h, sessions, result, per_session


def _wide(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.pivot(on="instrument", index="session", values="weight").fill_null(0.0).sort("session")


def test_run_when_decided_meets_every_limit_on_every_session(main_run) -> None:
    h, sessions, result, per_session = main_run
    frame = check_output(PORTFOLIO_SPEC, result.frame)
    extra = extra_frames(PORTFOLIO_SPEC, result)
    limits = CONFIG.limits
    sectors = dict(h.snapshot.tables[Table.INSTRUMENTS].select("symbol", "sector").unique("symbol").iter_rows())
    ups = _upstream(h, sessions)
    universe = ups["universe"].filter(pl.col("reason") == "stayed")
    statuses = [d.payload["status"] for d in result.decisions]
    print(f"portfolio: {len(sessions)} sessions, {per_session:.3f}s per session, statuses "
          f"{ {s: statuses.count(s) for s in set(statuses)} }")  # fmt: skip
    assert sorted(set(frame["session"].to_list())) == sessions
    assert extra["risk_reports"].height == len(sessions)
    previous: dict[str, float] = {}
    for d in sessions:
        day = frame.filter(pl.col("session") == d)
        w = dict(zip(day["instrument"].to_list(), day["weight"].to_list(), strict=True))
        values = np.array(list(w.values()))
        assert np.abs(values).sum() <= limits.max_gross + TOL
        assert limits.min_net - TOL <= values.sum() <= limits.max_net + TOL
        assert np.abs(values).max() <= limits.max_weight + TOL
        assert values.min() >= -TOL  # long only
        by_sector: dict[str, float] = {}
        for s, x in w.items():
            by_sector[sectors.get(s, "")] = by_sector.get(sectors.get(s, ""), 0.0) + x
        assert max(abs(v) for v in by_sector.values()) <= limits.max_sector + TOL
        names = set(w) | set(previous)
        turnover = sum(abs(w.get(s, 0.0) - previous.get(s, 0.0)) for s in names) / 2
        if d != sessions[0]:  # the first session's previous book is the warm-up's, not returned
            assert turnover <= limits.max_turnover + TOL
            # Every name held before is written, at 0 when it exits; names outside the universe never grow.
            assert set(previous) <= set(w)
            members = set(universe.filter(pl.col("session") == d)["instrument"].to_list())
            assert all(x <= previous.get(s, 0.0) + TOL for s, x in w.items() if s not in members)
        previous = {s: x for s, x in w.items() if x != 0}
    payloads = [d.payload for d in result.decisions]
    assert all(p["status"] in ("optimal", "relaxed_turnover") and not p["breaches"] for p in payloads)
    assert max(p["gross"] for p in payloads) > 0.5  # the book does get invested
    # Risk contributions add up to the report's ex-ante vol.
    sums = frame.group_by("session").agg(pl.col("risk_contribution").sum()).sort("session")
    vols = extra["risk_reports"].sort("session")["ex_ante_vol"]
    assert np.allclose(sums["risk_contribution"].to_numpy(), vols.to_numpy(), rtol=1e-6, atol=1e-9)


def test_vol_when_realised_next_session_is_compared_with_ex_ante_per_regime(main_run, stability_markets) -> None:
    """Realised / predicted vol of the target's next-session return per true regime (docs/engines/portfolio.md).

    Seed 21, sessions 140-399 (260 targets): calm 0.68 (54), normal 0.72 (141), crisis 1.57 (65), overall 0.99.
    The trailing EW window (126 sessions, half-life 63) lags a regime switch: it under-predicts the crisis that
    starts inside the run and over-predicts what follows. The calm and normal figures are not a measurement or
    scaling defect (next-session return against a one-session ex-ante vol, both daily; 2 missing returns in 260
    sessions), nor a constant bias (20-session blocks the crisis does not weigh on: 1.09, 0.92, 0.96): all 122
    normal sessions come straight after the 65-session crisis, which holds 68 % of the
    window's EW weight on the first of them, 35 % sixty sessions later (20-session blocks: 0.65, 0.48, 0.40, 0.48,
    0.54, 0.92), and the 53 calm sessions after those are forecast from a window of normal data (0.96, 0.70, 0.51;
    calm market variance is 0.42 x normal). The long-only target is market-heavy (crisis market variance 3.5 x
    normal before the crisis GARCH), so the lag weighs more than on the risk model's own test (0.88 / 1.00 /
    1.67). With ``vra_half_life`` 42 (not the default): 0.72 / 0.79 / 1.18, overall 0.89.
    """
    h, sessions, result, _ = main_run
    prices = h.snapshot.tables[Table.PRICES_ADJUSTED].select("date", "symbol", "total_return")
    days = list(h.market.sessions)
    nxt = {d: days[days.index(d) + 1] for d in sessions}
    targets = result.frame.with_columns(pl.col("session").replace_strict(nxt).alias("date"))
    realised = (
        targets.join(prices, left_on=["date", "instrument"], right_on=["date", "symbol"], how="left")
        .group_by("session")
        .agg((pl.col("weight") * pl.col("total_return").fill_null(0.0)).sum().alias("r"))
    )
    truth = h.market.truth.market.select(pl.col("date"), "regime_code")
    joined = (
        result.extra["risk_reports"]
        .select("session", (pl.col("ex_ante_vol") / np.sqrt(252)).alias("sigma"))
        .join(realised, on="session")
        .with_columns(pl.col("session").replace_strict(nxt).alias("date"))
        .join(truth, on="date")
        .with_columns((pl.col("r") / pl.col("sigma")).alias("z"))
    )
    ratios = (
        joined.group_by("regime_code")
        .agg((pl.col("z") ** 2).mean().sqrt().alias("ratio"), pl.len().alias("n"))
        .sort("regime_code")
    )
    print("realised / predicted by regime:", ratios.to_dicts())
    overall = float(np.sqrt((joined["z"] ** 2).mean()))
    print(f"overall {overall:.3f} over {joined.height} sessions")
    by = dict(zip(ratios["regime_code"].to_list(), ratios["ratio"].to_list(), strict=True))
    assert 0.8 <= overall <= 1.25  # right on average over the run
    assert by[2] > 1.2  # lags into a crisis
    assert by[0] < 0.9
    assert by[1] < 0.9


def test_run_when_beta_band_unreachable_records_the_fallback(stability_markets) -> None:
    h = stability_markets(21)
    sessions = list(h.market.sessions[MAIN][:5])
    limits = default_limits().model_copy(update={"beta_band": (5.0, 6.0)})  # long-only, gross <= 1: beta << 5
    cfg = CONFIG.model_copy(update={"limits": limits, "warmup_sessions": 0})
    result = _run(h, PortfolioEngine(cfg), sessions)
    statuses = {d.payload["status"] for d in result.decisions}
    assert statuses <= {"hrp", "inverse_vol"}
    for d in result.decisions:
        assert d.payload["fallback"] == d.payload["status"]
        assert [a["status"] for a in d.payload["attempts"]][:2] == ["optimal", "relaxed_turnover"]
        assert not any(a["ok"] for a in d.payload["attempts"][:2])
        assert any(b.startswith("-beta") for b in d.payload["breaches"])
    assert set(result.extra["risk_reports"]["report"].struct.field("status").to_list()) == statuses


def test_run_when_baseline_equal_weight_holds_one_over_n_of_the_universe(stability_markets) -> None:
    h = stability_markets(21)
    sessions = list(h.market.sessions[MAIN][:3])
    limits = default_limits().model_copy(update={"max_turnover": None})
    cfg = CONFIG.model_copy(update={"limits": limits, "optimiser": OptimiserConfig(baseline="equal_weight")})
    result = _run(h, PortfolioEngine(cfg), sessions)
    universe = _upstream(h, sessions)["universe"].filter(pl.col("reason") == "stayed")
    for d in sessions:
        members = set(universe.filter(pl.col("session") == d)["instrument"].to_list())
        held = result.frame.filter((pl.col("session") == d) & (pl.col("weight") > 0))
        # Members not listed at the session are skipped (and named in the decision), the rest get 1/N.
        skipped = set(next(x for x in result.decisions if x.session == d).payload["skipped"])
        assert skipped
        assert skipped < members
        members -= skipped
        assert set(held["instrument"].to_list()) == members
        assert np.allclose(held["weight"].to_numpy(), 1.0 / len(members))
    assert {p.payload["status"] for p in result.decisions} == {"equal_weight"}


def test_outputs_when_every_input_after_d_is_poisoned_are_unchanged_up_to_d(stability_markets, poison,
                                                                            monkeypatch) -> None:  # fmt: skip
    h = stability_markets(21)
    sessions = list(h.market.sessions[MAIN][:20])
    d_index = 8
    ctx = h.context(sessions)
    d, cutoff = sessions[d_index], ctx.decision_times[d_index]
    bad = poison(h.snapshot, cutoff, d)
    engine = PortfolioEngine(CONFIG)
    clean, dirty = _run(h, engine, sessions), _run(h, engine, sessions, bad)
    before = pl.col("session") <= d
    for table in ("frame", "risk_reports"):
        a = clean.frame if table == "frame" else clean.extra[table]
        b = dirty.frame if table == "frame" else dirty.extra[table]
        assert a.filter(before).height > 0
        assert_frame_equal(a.filter(before), b.filter(before))  # every column, bit for bit
        assert not a.filter(~before).equals(b.filter(~before))  # the poison did reach later sessions
    # The test can fail: a view that never moves back (look-ahead) lets the late rows through.
    monkeypatch.setattr(TimeMachine, "at", lambda self, t: self)
    leaky = _run(h, engine, sessions, bad)
    assert not clean.frame.filter(before).equals(leaky.frame.filter(before))


def test_run_when_previous_given_starts_from_it_without_warm_up(stability_markets) -> None:
    h = stability_markets(21)
    sessions = list(h.market.sessions[MAIN][:2])
    held = pl.DataFrame({"instrument": ["ZZNONE"], "weight": [0.03]})  # not listed: exits at 0 with a note
    result = _run(h, PortfolioEngine(CONFIG.model_copy(update={"warmup_sessions": 0}), previous=held), sessions)
    first = result.frame.filter(pl.col("session") == sessions[0])
    assert first.filter(pl.col("instrument") == "ZZNONE")["weight"].to_list() == [0.0]
    assert any("not listed" in n for n in result.notes)
    assert result.decisions[0].payload["exited_unlisted"] == ["ZZNONE"]


def test_config_when_rebalancing_every_other_session_holds_in_between(stability_markets) -> None:
    h = stability_markets(21)
    sessions = list(h.market.sessions[MAIN][:4])
    cfg = CONFIG.model_copy(update={"rebalance_every": 2, "warmup_sessions": 0})
    result = _run(h, PortfolioEngine(cfg), sessions)
    assert [d.payload["status"] for d in result.decisions][1::2] == ["hold", "hold"]
    wide = _wide(result.frame)
    assert wide.row(0)[1:] == wide.row(1)[1:]


@pytest.mark.parametrize("table", [PORTFOLIO_SPEC, RISK_REPORTS], ids=lambda t: getattr(t, "name", "risk_reports"))
def test_declaration_when_compared_with_its_sql_table_matches_columns_types_and_key(table) -> None:
    name = getattr(table, "output_table", None) or table.table
    sql = metadata.tables[name]
    assert [c.name for c in sql.columns if c.name not in {"id", "created_at"}] == [c.name for c in table.all_columns]
    for column in table.all_columns:
        assert sql_type_matches(sql.c[column.name], column.dtype), column.name
        assert sql.c[column.name].nullable == column.nullable, column.name
    assert set(unique_key(sql)) == set(table.row_key)


def test_outputs_when_written_to_the_log_read_back_identical(main_run, runtime_db_url: str) -> None:
    _, _, result, _ = main_run
    store = RuntimeStore(runtime_db_url)
    store.upgrade()
    log = DecisionLog(store)
    frame = check_output(PORTFOLIO_SPEC, result.frame).with_columns(pl.lit("v1").alias("config_version"))
    report = extra_frames(PORTFOLIO_SPEC, result)["risk_reports"].with_columns(pl.lit("v1").alias("config_version"))
    log.write_output("target_portfolios", frame)
    log.write_output("risk_reports", report)
    back = log.read_output("target_portfolios", PORTFOLIO_SPEC.schema, market="US_EQ", config_version="v1")
    back_report = log.read_output("risk_reports", RISK_REPORTS.schema, market="US_EQ", config_version="v1")
    assert_frame_equal(back.sort(["session", "instrument"]), frame.sort(["session", "instrument"]))
    assert_frame_equal(back_report.sort("session"), report.sort("session"))


def test_member_reasons_when_compared_with_the_universe_engine_are_the_same() -> None:
    from prometheus.engines.portfolio.engine import MEMBER_REASONS
    from prometheus.engines.universe.schema import MEMBER_REASONS as UNIVERSE_MEMBERS

    assert {str(r) for r in UNIVERSE_MEMBERS} == MEMBER_REASONS


def test_limits_when_defaulted_are_a_long_only_book() -> None:
    limits = PortfolioConfig().limits
    assert isinstance(limits, PortfolioLimits)
    assert limits.long_only
    assert limits.max_gross == 1.0
    assert limits.max_weight == 0.05
