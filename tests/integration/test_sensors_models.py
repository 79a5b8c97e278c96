"""The market-state sensor and the period models: at POST_CLOSE of a session whose period has no encoder, regime or
assessment model yet, it asks for those models first (one run per model and period, once what each trains on is
there) and holds the daily cycle until the instance has them; a period with its models gets the cycle at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from prometheus.core.settings import Settings
from prometheus.core.types import Market, Mode
from prometheus.orchestration import list_alerts
from prometheus.runtime import RuntimeStore
from prometheus_assets.definitions import build_definitions
from prometheus_assets.partitions import MarketScope
from prometheus_assets.sensors import (
    PERIOD_TAG,
    SESSION_TAG,
    build_market_orchestration,
    cycle_models,
    model_jobs_for,
)
from tests.integration.test_sensors import Clock, _location, _market_assets, _paper, _resources, _tick
from tests.support.fixtures import sqlite_url  # noqa: F401  (fixture)

# NYSE closes at 21:00 UTC in winter: POST_CLOSE from then to 22:00.
ENCODER, REGIME, ASSESSMENT = "us_eq_encoder_model_job", "us_eq_regime_model_job", "us_eq_assessment_model_job"


@pytest.fixture
def paper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Settings:  # noqa: F811
    """PAPER settings with a SQLite runtime store."""
    return _paper(tmp_path, monkeypatch, sqlite_url)


class Harness:
    """The US_EQ market-state sensor with its model jobs, ticked on an ephemeral instance through a test clock."""

    def __init__(self, settings: Settings, now: datetime, instance: dg.DagsterInstance) -> None:
        defs = build_definitions(settings)
        scope = MarketScope(Market.US_EQ, Mode.PAPER, settings.history_start)
        jobs = model_jobs_for(scope, list(defs.jobs))
        self.clock, self.settings, self.instance, self.scope = Clock(now), settings, instance, scope
        orchestration = build_market_orchestration(
            scope, _market_assets(defs), settings, clock=self.clock, model_jobs=jobs
        )
        self.sensor = next(s for s in orchestration.sensors if s.name == "us_eq_market_state_sensor")
        self.inputs = {m.kind.value: m.inputs for m in cycle_models(scope, _market_assets(defs), jobs)}
        self.repo = _location(defs, orchestration, *jobs).get_repository_def()
        self.cursor: str | None = None

    def tick(self, now: datetime) -> list[tuple[str | None, str | None, str | None]]:
        """(job, run key, partition) of each request of one tick at ``now``; the cursor moves on."""
        self.clock.now = now
        result = _tick(self.sensor, self.cursor, _resources(self.settings), instance=self.instance,
                       repository_def=self.repo)  # fmt: skip
        self.cursor = result.cursor
        self.last = result.run_requests
        return [(r.job_name, r.run_key, r.partition_key) for r in result.run_requests]

    def materialise(self, model: str, period: str) -> None:
        """Report the model's period partition as materialised (as its job's run would)."""
        self.report(self.scope.key(model), period)

    def materialise_inputs(self, model: str, session: str) -> None:
        """Report the session partition of what ``model`` trains on as materialised (as a daily cycle would)."""
        for key in self.inputs[model]:
            self.report(key, session)

    def report(self, key: dg.AssetKey, partition: str) -> None:
        """A runless materialisation of ``key``'s ``partition``."""
        self.instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))


def _at(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def test_market_sensor_when_the_period_has_no_models_asks_for_them_then_for_the_cycle(paper: Settings) -> None:
    with dg.instance_for_test() as instance:
        sensor = Harness(paper, _at(2, 20), instance)
        assert sensor.tick(_at(2, 20)) == []  # OPEN
        models = [(ENCODER, "US_EQ|2024|encoder_model", "2024"), (REGIME, "US_EQ|2024|regime_model", "2024"),
                  (ASSESSMENT, "US_EQ|2024-01-01|assessment_model", "2024-01-01")]  # fmt: skip
        # The last session before the periods (2023-12-29) has its ingestion but not its engine outputs (its cycle
        # failed, say): the encoder and regime models can train, the assessment model not yet.
        sensor.materialise_inputs("encoder_model", "2023-12-29")
        sensor.materialise_inputs("regime_model", "2023-12-29")
        # POST_CLOSE of the first session of 2024: the models of its periods (yearly encoder and regime model,
        # monthly assessment model), in the order of the backtest stages; no cycle, which the cursor holds.
        assert sensor.tick(_at(2, 21)) == models[:2]
        assert {(r.tags[SESSION_TAG], r.tags[PERIOD_TAG]) for r in sensor.last} == {("2024-01-02", "2024")}
        assert json.loads(sensor.cursor or "") == {"observed_to": _at(2, 21).isoformat(), "held": "2024-01-02"}
        sensor.materialise_inputs("assessment_model", "2023-12-29")
        # Before the models are there a tick asks again with the same run keys (Dagster launches nothing new),
        # now with the assessment model, whose inputs are there.
        assert sensor.tick(_at(2, 21, 5)) == models
        assert sensor.last[2].tags[PERIOD_TAG] == "2024-01-01"
        sensor.materialise("encoder_model", "2024")
        sensor.materialise("regime_model", "2024")
        sensor.materialise("assessment_model", "2023-12-01")  # the period before does not count
        assert sensor.tick(_at(2, 21, 10)) == models[2:]
        sensor.materialise("assessment_model", "2024-01-01")
        # All there: the held cycle, with its usual run key; the cursor lets it go.
        assert sensor.tick(_at(2, 21, 15)) == [("us_eq_daily_cycle_job", "US_EQ|2024-01-02", "2024-01-02")]
        assert json.loads(sensor.cursor or "") == {"observed_to": _at(2, 21, 15).isoformat()}
        assert sensor.tick(_at(2, 21, 20)) == []
        assert sensor.tick(_at(2, 22, 30)) == []  # CLOSED


def test_market_sensor_when_the_period_has_its_models_asks_for_the_cycle_at_once(paper: Settings) -> None:
    with dg.instance_for_test() as instance:
        sensor = Harness(paper, _at(1, 20, month=3), instance)
        for model, period in [("encoder_model", "2024"), ("regime_model", "2024"), ("assessment_model", "2024-03-01")]:
            sensor.materialise(model, period)
        assert sensor.tick(_at(1, 20, month=3)) == []
        # 2024-03-01 opens a new assessment period, whose model is already there (trained ahead, by hand).
        assert sensor.tick(_at(1, 21, month=3)) == [("us_eq_daily_cycle_job", "US_EQ|2024-03-01", "2024-03-01")]
        assert sensor.tick(_at(1, 21, 5, month=3)) == []
        # The next session, same periods: the cycle at once as well.
        assert sensor.tick(_at(4, 21, month=3)) == [("us_eq_daily_cycle_job", "US_EQ|2024-03-04", "2024-03-04")]


def test_market_sensor_when_a_held_cycle_meets_the_next_close_alerts_it_and_plans_the_new_one(
    paper: Settings,
) -> None:
    with dg.instance_for_test() as instance:
        sensor = Harness(paper, _at(2, 21), instance)
        for model in ("encoder_model", "regime_model", "assessment_model"):
            sensor.materialise_inputs(model, "2023-12-29")
        assert [r[1] for r in sensor.tick(_at(2, 21))] == ["US_EQ|2024|encoder_model", "US_EQ|2024|regime_model",
                                                           "US_EQ|2024-01-01|assessment_model"]  # fmt: skip
        sensor.materialise("encoder_model", "2024")
        sensor.materialise("regime_model", "2024")
        # The assessment model never came: at the next close the held cycle is reported missed, and the new
        # session (same periods) is held for the same model.
        assert sensor.tick(_at(3, 21)) == [(ASSESSMENT, "US_EQ|2024-01-01|assessment_model", "2024-01-01")]
        assert json.loads(sensor.cursor or "")["held"] == "2024-01-03"
        store = RuntimeStore(paper.effective_runtime_db_url)
        alerts = list_alerts(store)
        store.close()
        # (The pre-open of 2024-01-03, skipped over by this test's clock, is reported missed as well.)
        assert sorted(a.details["run_key"] for a in alerts) == ["US_EQ|2024-01-02", "US_EQ|2024-01-03|pre_open"]
