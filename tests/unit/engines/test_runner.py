"""Engine contract and decision log: versions by content, replace-not-duplicate, reuse across experiments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

import polars as pl
import pytest
import sqlalchemy as sa

from prometheus.calendar import get_calendar
from prometheus.core.config import VersionedConfig
from prometheus.core.errors import ConfigError, DataError
from prometheus.core.types import Market
from prometheus.data.known_at import decision_times
from prometheus.data.schema import Column
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.engines import Decision, EngineResult, EngineSpec, OutputTable, RunContext
from prometheus.engines.runner import EngineOutput, lineage_version, run_engine, upstream_outputs
from prometheus.runtime import RuntimeStore
from prometheus.runtime.decision_log import DecisionLog
from prometheus.runtime.tables.engine import engine_decisions, engine_runs, risk_reports, stability_scores

SESSIONS = tuple(get_calendar().sessions("US_EQ", "2024-03-04", "2024-03-08"))


class CountConfig(VersionedConfig):
    kind: ClassVar[str] = "count"
    scale: float = 1.0


class CountEngine:
    """Scores each session by the number of sessions already decided (scaled): simple and hand-checkable."""

    spec: ClassVar[EngineSpec] = EngineSpec(
        name="count",
        description="Counts sessions.",
        output_table="stability_scores",
        columns=(
            Column("instrument", pl.String(), "always ''"),
            Column("score", pl.Float64(), "scale x sessions decided before"),
            Column("components", pl.Struct({"n": pl.Int64()}), "the count"),
        ),
        inputs=(),
        key=("instrument",),
        upstream=("regime",),
        decision_columns=("score",),
    )

    def __init__(self, config: CountConfig, fail: bool = False) -> None:
        self._config = config
        self.fail = fail
        self.calls = 0

    @property
    def config(self) -> CountConfig:
        return self._config

    @property
    def lookback_sessions(self) -> int:
        return 0

    def run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        self.calls += 1
        if self.fail:
            raise RuntimeError("model diverged")
        rows = [
            {"market": str(ctx.market), "session": d, "decision_time": t, "experiment": ctx.experiment,
             "config_version": ctx.config_version, "instrument": "", "score": self._config.scale * i,
             "components": {"n": i}}
            for i, (d, t) in enumerate(zip(ctx.sessions, ctx.decision_times, strict=True))
        ]  # fmt: skip
        frame = pl.DataFrame(rows, schema=dict(self.spec.schema))
        decisions = tuple(Decision(r["session"], r["decision_time"], {"score": r["score"]}) for r in rows)
        return EngineResult(frame, decisions)


@pytest.fixture
def log(runtime_db_url: str) -> DecisionLog:
    store = RuntimeStore(runtime_db_url)
    store.upgrade()
    return DecisionLog(store)


def _ctx(experiment: str = "exp-a") -> RunContext:
    times = decision_times(get_calendar(), "US_EQ", SESSIONS, timedelta(minutes=5))
    return RunContext(Market.US_EQ, SESSIONS, times, experiment, config_version="")


def _view() -> TimeMachine:
    return TimeMachine(HistorySnapshot(datetime(2024, 3, 9, tzinfo=UTC), {}), datetime(2024, 3, 9, tzinfo=UTC))


def _count(log: DecisionLog, table: sa.Table, **where: str) -> int:
    q = sa.select(sa.func.count()).select_from(table)
    for k, v in where.items():
        q = q.where(table.c[k] == v)
    with log.store.read() as conn:
        return conn.execute(q).scalar_one()


def test_config_version_when_any_value_changes_differs() -> None:
    assert CountConfig().config_version == CountConfig(scale=1.0).config_version
    assert CountConfig(scale=2.0).config_version != CountConfig().config_version
    assert len(CountConfig().config_version) == 64


def test_config_when_unknown_key_is_rejected_naming_it() -> None:
    with pytest.raises(ConfigError, match="scael"):
        CountConfig.from_mapping({"scael": 2.0}, source="exp.yaml")


def test_lineage_version_when_upstream_changes_differs() -> None:
    c = CountConfig()
    assert lineage_version(c, {}) == c.config_version
    assert lineage_version(c, {"regime": "a"}) != lineage_version(c, {"regime": "b"})


def test_run_when_repeated_replaces_rows_never_duplicates(log: DecisionLog) -> None:
    engine = CountEngine(CountConfig())
    run_engine(engine, _view(), _ctx(), log=log, reuse=False)
    out, summary = run_engine(engine, _view(), _ctx(), log=log, reuse=False)
    assert summary.rows == 5
    assert _count(log, stability_scores) == 5
    assert _count(log, engine_decisions) == 5
    assert _count(log, engine_runs, status="SUCCEEDED") == 2
    assert out.frame["score"].to_list() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_run_when_new_experiment_same_version_reuses_outputs(log: DecisionLog) -> None:
    engine = CountEngine(CountConfig())
    first, _ = run_engine(engine, _view(), _ctx("exp-a"), log=log)
    second, summary = run_engine(engine, _view(), _ctx("exp-b"), log=log)
    assert engine.calls == 1
    assert summary.reused
    assert second.frame["score"].to_list() == first.frame["score"].to_list()
    assert _count(log, stability_scores, experiment="exp-b") == 5
    assert _count(log, engine_decisions, experiment="exp-b") == 5


def test_run_when_config_changes_computes_new_version_beside_old(log: DecisionLog) -> None:
    run_engine(CountEngine(CountConfig()), _view(), _ctx(), log=log)
    out, summary = run_engine(CountEngine(CountConfig(scale=2.0)), _view(), _ctx(), log=log)
    assert not summary.reused
    assert out.frame["score"].to_list()[-1] == 8.0
    assert _count(log, stability_scores) == 10
    stored = log.config(out.config_version)
    assert stored["config"] == {"scale": 2.0}


def test_run_when_upstream_version_differs_does_not_reuse(log: DecisionLog) -> None:
    engine = CountEngine(CountConfig())
    up_a = {"regime": EngineOutput("regime", "v1", pl.DataFrame())}
    up_b = {"regime": EngineOutput("regime", "v2", pl.DataFrame())}
    a, _ = run_engine(engine, _view(), _ctx("x"), up_a, log=log)
    b, summary = run_engine(engine, _view(), _ctx("y"), up_b, log=log)
    assert not summary.reused
    assert a.config_version != b.config_version


def test_run_when_engine_raises_records_failed_run(log: DecisionLog) -> None:
    with pytest.raises(RuntimeError, match="diverged"):
        run_engine(CountEngine(CountConfig(), fail=True), _view(), _ctx(), log=log)
    with log.store.read() as conn:
        row = conn.execute(sa.select(engine_runs.c.status, engine_runs.c.error)).one()
    assert row.status == "FAILED"
    assert "model diverged" in row.error
    assert _count(log, stability_scores) == 0


def test_run_when_output_misses_a_declared_column_is_a_data_error() -> None:
    class Broken(CountEngine):
        def run(self, view, ctx, upstream):  # type: ignore[no-untyped-def]
            result = super().run(view, ctx, upstream)
            return EngineResult(result.frame.drop("score"), result.decisions)

    with pytest.raises(DataError, match="score"):
        run_engine(Broken(CountConfig()), _view(), _ctx())


def test_run_context_when_times_not_increasing_is_rejected() -> None:
    with pytest.raises(ValueError, match="increase"):
        RunContext(Market.US_EQ, (date(2024, 3, 4), date(2024, 3, 5)), (datetime(2024, 3, 5, tzinfo=UTC),
                   datetime(2024, 3, 4, tzinfo=UTC)), "x", "")  # fmt: skip


def test_upstream_outputs_when_every_session_decided_returns_the_version(log: DecisionLog) -> None:
    engine = CountEngine(CountConfig())
    out, _ = run_engine(engine, _view(), _ctx("exp-a"), log=log)
    found = upstream_outputs(log, [engine.spec], Market.US_EQ, "exp-a", SESSIONS)
    assert found["count"].config_version == out.config_version
    assert found["count"].frame["score"].to_list() == out.frame["score"].to_list()


def test_upstream_outputs_when_a_session_is_missing_names_engine_and_session(log: DecisionLog) -> None:
    engine = CountEngine(CountConfig())
    run_engine(engine, _view(), _ctx("exp-a"), log=log)
    later = (*SESSIONS, get_calendar().next_session("US_EQ", SESSIONS[-1]))
    with pytest.raises(DataError, match=r"count: no output for 1 session\(s\) of US_EQ"):
        upstream_outputs(log, [engine.spec], Market.US_EQ, "exp-a", later)


def test_run_when_upstream_not_declared_is_a_data_error() -> None:
    up = {"stability": EngineOutput("stability", "v1", pl.DataFrame())}
    with pytest.raises(DataError, match="not declared"):
        run_engine(CountEngine(CountConfig()), _view(), _ctx(), up)


class TwoTableEngine(CountEngine):
    """Writes a risk report per session beside its scores (an extra output table)."""

    spec: ClassVar[EngineSpec] = replace(
        CountEngine.spec,
        extra_outputs=(
            OutputTable(
                "risk_reports",
                (
                    Column("ex_ante_vol", pl.Float64(), "vol", nullable=True),
                    Column("var_95", pl.Float64(), "VaR", nullable=True),
                    Column("es_95", pl.Float64(), "ES", nullable=True),
                    Column("report", pl.Struct({"n": pl.Int64()}), "details"),
                ),
            ),
        ),
    )

    def __init__(self, config: CountConfig, extra_table: str = "risk_reports") -> None:
        super().__init__(config)
        self.extra_table = extra_table

    def run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        base = super().run(view, ctx, upstream)
        reports = base.frame.select(
            "market", "session", "decision_time", "experiment", "config_version",
            pl.col("score").alias("ex_ante_vol"), pl.col("score").alias("var_95"), (pl.col("score") + 1).alias("es_95"),
            pl.col("components").alias("report"),
        )  # fmt: skip
        return EngineResult(base.frame, base.decisions, extra={self.extra_table: reports})


def _upstream() -> dict[str, EngineOutput]:
    return {"regime": EngineOutput("regime", "r1", pl.DataFrame())}


def test_run_when_engine_has_an_extra_table_writes_and_reuses_both(log: DecisionLog) -> None:
    out, _ = run_engine(TwoTableEngine(CountConfig()), _view(), _ctx(), _upstream(), log=log)
    assert out.extra["risk_reports"].height == len(SESSIONS)
    assert _count(log, risk_reports, experiment="exp-a") == len(SESSIONS)
    again = TwoTableEngine(CountConfig())
    reused, summary = run_engine(again, _view(), _ctx("exp-b"), _upstream(), log=log)
    assert summary.reused
    assert again.calls == 0
    assert _count(log, risk_reports, experiment="exp-b") == len(SESSIONS)
    assert reused.extra["risk_reports"]["experiment"].unique().to_list() == ["exp-b"]


def test_run_when_an_extra_table_is_not_declared_is_a_data_error() -> None:
    with pytest.raises(DataError, match="does not declare"):
        run_engine(TwoTableEngine(CountConfig(), extra_table="scenario_sets"), _view(), _ctx(), _upstream())
