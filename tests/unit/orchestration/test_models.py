"""Models a daily cycle needs: the missing models of the session's period first, in backtest order, with stable
run keys; a held cycle survives in the cursor until the next close supersedes it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from prometheus.core.errors import ConfigError
from prometheus.core.types import Market
from prometheus.orchestration import (
    MODEL_ORDER,
    CycleKind,
    CycleRequest,
    ModelKind,
    ModelPeriod,
    WatchCursor,
    pending_cycle,
    plan_cycle,
)

CYCLE = CycleRequest(CycleKind.DAILY_CYCLE, Market.US_EQ, date(2024, 1, 2))


def test_plan_cycle_when_every_model_is_materialised_is_ready() -> None:
    plan = plan_cycle(CYCLE, [ModelPeriod(k, "2024", materialised=True) for k in ModelKind])
    assert plan.ready
    assert plan.models == ()


def test_plan_cycle_when_no_model_is_configured_is_ready() -> None:
    assert plan_cycle(CYCLE, []).ready


def test_plan_cycle_when_models_are_missing_asks_for_them_in_backtest_order() -> None:
    given = [ModelPeriod(ModelKind.ASSESSMENT, "2024-01-01", materialised=False),
             ModelPeriod(ModelKind.REGIME, "2024", materialised=True),
             ModelPeriod(ModelKind.ENCODER, "2024", materialised=False)]  # fmt: skip
    plan = plan_cycle(CYCLE, given)
    assert not plan.ready
    assert [(m.model, m.period, m.run_key) for m in plan.models] == [
        (ModelKind.ENCODER, "2024", "US_EQ|2024|encoder_model"),
        (ModelKind.ASSESSMENT, "2024-01-01", "US_EQ|2024-01-01|assessment_model"),
    ]


def test_plan_cycle_when_a_model_waits_for_its_inputs_holds_it_back_and_is_not_ready() -> None:
    given = [ModelPeriod(ModelKind.REGIME, "2024", materialised=False),
             ModelPeriod(ModelKind.ASSESSMENT, "2024-01-01", materialised=False, inputs_ready=False)]  # fmt: skip
    plan = plan_cycle(CYCLE, given)
    assert [m.run_key for m in plan.models] == ["US_EQ|2024|regime_model"]
    assert [m.run_key for m in plan.waiting] == ["US_EQ|2024-01-01|assessment_model"]
    only_waiting = plan_cycle(CYCLE, given[1:])
    assert (only_waiting.models, only_waiting.ready) == ((), False)


def test_model_order_when_listed_follows_the_backtest_stages() -> None:
    assert MODEL_ORDER == (ModelKind.ENCODER, ModelKind.REGIME, ModelKind.ASSESSMENT)


def test_pending_cycle_when_nothing_is_held_or_closed_is_none() -> None:
    pre_open = CycleRequest(CycleKind.PRE_OPEN, Market.US_EQ, date(2024, 1, 3))
    assert pending_cycle(Market.US_EQ, None, [pre_open]) == (None, ())


def test_pending_cycle_when_a_cycle_is_held_keeps_it() -> None:
    assert pending_cycle(Market.US_EQ, date(2024, 1, 2), []) == (CYCLE, ())


def test_pending_cycle_when_the_next_close_comes_supersedes_the_held_one() -> None:
    later = CycleRequest(CycleKind.DAILY_CYCLE, Market.US_EQ, date(2024, 1, 3))
    assert pending_cycle(Market.US_EQ, date(2024, 1, 2), [later]) == (later, (CYCLE,))


def test_pending_cycle_when_the_held_session_closes_again_is_not_missed() -> None:
    # A restart without its cursor observes the same POST_CLOSE again.
    assert pending_cycle(Market.US_EQ, date(2024, 1, 2), [CYCLE]) == (CYCLE, ())


@pytest.mark.parametrize("held", [None, date(2024, 1, 2)])
def test_watch_cursor_when_dumped_and_loaded_round_trips(held: date | None) -> None:
    cursor = WatchCursor(datetime(2024, 1, 2, 21, 0, tzinfo=UTC), held)
    assert WatchCursor.loads(cursor.dumps()) == cursor
    assert ("held" in cursor.dumps()) is (held is not None)


def test_watch_cursor_when_held_is_not_a_date_raises() -> None:
    with pytest.raises(ConfigError, match="not a market-watch cursor"):
        WatchCursor.loads('{"observed_to": "2024-01-02T21:00:00+00:00", "held": 3}')
