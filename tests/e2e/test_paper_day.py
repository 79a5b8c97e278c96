"""A PAPER day end to end on a simulated clock: at POST_CLOSE of D the market-state sensor asks for D's daily cycle,
which runs in process (ingest -> encoders -> engines -> portfolio); at the PRE_OPEN of D+1 it asks for the order job,
which sends D's target portfolio as MOO orders to the fake IB Gateway; the fills come back and are recorded once;
a second tick asks for nothing new and a second run of the order job sends nothing twice.

The market (30 names x 3 years, ingested up to D-1) and the models of D's periods (numeric encoder and regime model
of 2016, the assessment model of 2016-12, trained after the engines ran for D-1) are prepared once per session.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from prometheus.calendar import get_calendar
from prometheus.core.settings import Settings, load_settings
from prometheus.core.types import Market, MarketState
from prometheus.data.ingest import DateWindow, ingest_vendor, write_synthetic_delivery
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig
from prometheus.data.timemachine import TimeMachine
from prometheus.encoders import NumericEncoderConfig
from prometheus.execution.live import LIVE_EXPERIMENT, load_session_targets
from prometheus.execution.store import ExecutionContext, ExecutionStore
from prometheus.orchestration import list_transitions
from prometheus.runtime import RuntimeStore
from prometheus_assets.definitions import build_definitions
from prometheus_assets.launch import RunReport, local_instance, run_job
from prometheus_resources.stores import RuntimeStoreResource
from tests.support.fake_ib_gateway import FakeIbGateway, SymbolSpec
from tests.support.live_kit import (
    PAPER_ACCOUNT,
    clear_prometheus_env,
    gateway_positions,
    orders_per_ref,
    paper_env,
    write_limits,
)

D = date(2016, 12, 14)  # a Wednesday; D+1 = 2016-12-15
NEXT = date(2016, 12, 15)
SYNTHETIC = SyntheticConfig(seed=5, n_names=30, years=3)
#: A small numeric encoder: the test needs its model of 2016, not a good one.
NUMERIC = NumericEncoderConfig(retrain="year", dim=8, channels=8, steps_initial=20, steps_retrain=5,
                               max_train_names=30, batch_sessions=4)  # fmt: skip
#: What the daily cycle of D needs and is not part of it: the models of D's periods, and the engines of D-1 (the
#: assessment model's lineage is named by the upstream outputs of the sessions it serves).
SETUP = [("us_eq_encoder_model_job", "2016"), ("us_eq_regime_model_job", "2016"), ("us_eq_encoders_job", "2016-12-13"),
         ("us_eq_engines_job", "2016-12-13"), ("us_eq_assessment_model_job", "2016-12-01")]  # fmt: skip
SENSOR = "us_eq_market_state_sensor"
ORDER_JOB = "us_eq_submit_orders_job"
QUICK_ORDERS = {"ops": {"us_eq__order_submissions": {"config": {"wait_s": 5.0}}}}
CLIENT_ID = 17


class SimulatedClock:
    """Now, as the test walks it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _environment(root: Path, port: int) -> dict[str, str]:
    url = f"sqlite:///{root / 'runtime.sqlite'}"
    return paper_env(port, url, write_limits(root / "limits.yaml"), root, CLIENT_ID)


@pytest.fixture(scope="session")
def paper_market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with the synthetic market ingested up to D-1 and the models of D's periods materialised."""
    root = tmp_path_factory.mktemp("paper_day")
    t0 = time.perf_counter()
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("PROMETHEUS_")]:
            mp.delenv(key)
        env = _environment(root, 4002)  # no connection while preparing: any port
        for key, value in env.items():
            mp.setenv(key, value)
        settings = load_settings()
        store = HistoricalStore.from_settings(settings)
        delivery = write_synthetic_delivery(store, settings.data_path, SYNTHETIC)
        # History up to D-1 now; the daily cycle of D ingests what became known on D from the same delivery.
        ingest_vendor(store, delivery, Market.US_EQ, bar_delay=timedelta(seconds=settings.bar_delay_seconds),
                      window=DateWindow(SYNTHETIC.start, D - timedelta(days=1)))  # fmt: skip
        defs = build_definitions(settings, numeric=NUMERIC)
        instance = local_instance(settings)
        for job, partition in SETUP:
            run_job(defs, instance, job, partitions=(partition, partition), echo=lambda _: None)
    print(f"\npaper market prepared in {time.perf_counter() - t0:.1f} s")
    return root


@dataclass
class Day:
    root: Path
    settings: Settings
    clock: SimulatedClock
    defs: dg.Definitions
    instance: dg.DagsterInstance
    gw: FakeIbGateway
    cursor: str | None = None

    def tick(self, now: datetime) -> list[dg.RunRequest]:
        """One evaluation of the market-state sensor at ``now`` (the cursor carried over)."""
        self.clock.now = now
        sensor = self.defs.resolve_sensor_def(SENSOR)
        resources = {"runtime": RuntimeStoreResource(url=self.settings.effective_runtime_db_url)}
        with dg.build_sensor_context(cursor=self.cursor, resources=resources, instance=self.instance,
                                     repository_def=self.defs.get_repository_def()) as context:  # fmt: skip
            result = sensor.evaluate_tick(context)
        self.cursor = result.cursor
        return list(result.run_requests or [])

    def launch(self, request: dg.RunRequest, run_config: dict[str, Any] | None = None) -> RunReport:
        """Run what the sensor asked for, in process, with its partition and tags."""
        assert request.job_name is not None
        assert request.partition_key is not None
        # The gateway frees a client id once it has seen the previous connection close.
        deadline = time.monotonic() + 3.0
        while CLIENT_ID in self.gw.client_ids and time.monotonic() < deadline:
            time.sleep(0.01)
        partitions = (request.partition_key, request.partition_key)
        # run_job passes the partition as a (one-key) range: Dagster refuses a range beside its own partition tag.
        tags = {k: v for k, v in request.tags.items() if not k.startswith("dagster/")}
        return run_job(self.defs, self.instance, request.job_name, partitions=partitions, tags=tags,
                       run_config=run_config, echo=lambda _: None)  # fmt: skip

    def execution(self) -> tuple[RuntimeStore, ExecutionStore]:
        runtime = RuntimeStore(self.settings.effective_runtime_db_url)
        return runtime, ExecutionStore(runtime, ExecutionContext(Market.US_EQ, LIVE_EXPERIMENT, "any"))


@pytest.fixture
def day(paper_market: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Day]:
    clear_prometheus_env(monkeypatch)
    with FakeIbGateway({}, account=PAPER_ACCOUNT, cash=1_000_000.0) as gw:
        for key, value in _environment(paper_market, gw.port).items():
            monkeypatch.setenv(key, value)
        settings = load_settings()
        clock = SimulatedClock(datetime(2016, 12, 14, 20, 0, tzinfo=UTC))
        defs = build_definitions(settings, numeric=NUMERIC, clock=clock)
        yield Day(paper_market, settings, clock, defs, local_instance(settings), gw)


def _list_symbols(root: Path, session: date) -> dict[str, SymbolSpec]:
    """Every name with a bar on ``session``, tradable at the fake at its close."""
    store = HistoricalStore(root / "lake")
    as_of = get_calendar().close_at(Market.US_EQ, session) + timedelta(hours=1)
    bars = TimeMachine(store, as_of).table(Table.PRICES_DAILY, market=Market.US_EQ, start=session, end=session,
                                           columns=["symbol", "close"])  # fmt: skip
    return {s: SymbolSpec(5000 + i, float(c)) for i, (s, c) in enumerate(bars.sort("symbol").iter_rows())}


@pytest.mark.slow
def test_paper_day_when_walked_by_the_sensor_trades_the_close_at_the_next_open_once(day: Day) -> None:
    t0 = time.perf_counter()
    at = lambda d, h, m=0: datetime(2016, 12, d, h, m, tzinfo=UTC)  # noqa: E731 (NYSE in EST: close 21:00 UTC)

    assert day.tick(at(14, 20)) == []  # OPEN: nothing to run
    (cycle,) = day.tick(at(14, 21, 5))  # POST_CLOSE of D
    assert (cycle.job_name, cycle.run_key, cycle.partition_key) == ("us_eq_daily_cycle_job", "US_EQ|2016-12-14",
                                                                     "2016-12-14")  # fmt: skip
    t1 = time.perf_counter()
    report = day.launch(cycle)
    cycle_s = time.perf_counter() - t1
    assert report.materializations["us_eq/prices_daily"]
    assert report.materializations["us_eq/target_portfolios"]
    runtime = RuntimeStore(day.settings.effective_runtime_db_url)
    targets, _ = load_session_targets(runtime, Market.US_EQ, D)
    runtime.close()
    assert sum(abs(w) for w in targets.values()) > 0

    # The fake quotes every listed name at its close of D, and fills MOO orders at once.
    day.gw.symbols.update(_list_symbols(day.root, D))
    requests = day.tick(at(15, 13, 35))  # PRE_OPEN of D+1
    assert [(r.job_name, r.run_key, r.partition_key) for r in requests] == [
        ("us_eq_pre_open_job", "US_EQ|2016-12-15|pre_open", None),
        (ORDER_JOB, "US_EQ|2016-12-15|submit_orders", "2016-12-14"),
    ]
    sent = day.launch(requests[1], QUICK_ORDERS).metadata("us_eq/order_submissions")
    assert (sent["orders_rejected"], sent["settled"]) == (0, True)
    assert sent["orders_sent"] > 0
    assert sent["fills"] == sent["orders_sent"]
    per_ref = orders_per_ref(day.gw)
    assert len(per_ref) == sent["orders_sent"]
    assert set(per_ref.values()) == {1}
    assert {(o.order_type, o.tif) for o in day.gw.orders.values()} == {("MKT", "OPG")}  # IB's MOO
    runtime, store = day.execution()
    fills = store.fill_rows(D)
    account = store.account(D)
    runtime.close()
    assert sorted(f["order_ref"] for f in fills) == sorted(per_ref)  # each fill recorded once
    assert account is not None
    assert {n: p.quantity for n, p in account.positions.items()} == gateway_positions(day.gw)

    # A second tick asks for nothing; the order job run again sends nothing twice and records nothing twice.
    assert day.tick(at(15, 13, 40)) == []
    again = day.launch(requests[1], QUICK_ORDERS).metadata("us_eq/order_submissions")
    assert again["orders_sent"] == 0
    assert orders_per_ref(day.gw) == per_ref
    runtime, store = day.execution()
    assert len(store.fill_rows(D)) == len(fills)
    states = [(r.state, r.session) for r in list_transitions(runtime, Market.US_EQ)]
    runtime.close()
    assert {(MarketState.POST_CLOSE, D), (MarketState.PRE_OPEN, NEXT)} <= set(states)
    print(
        f"\nPAPER day: daily cycle {cycle_s:.1f} s, whole day {time.perf_counter() - t0:.1f} s; "
        f"{sent['orders_sent']} orders, {sent['fills']} fills"
    )
