"""Experiments: the config of every engine and of the backtest, recorded in ``backtest_runs`` with dates and metrics.

An experiment is a name for one set of config versions (the seven engines, planner, simulator, costs, risk limits)
and a date range. Running an experiment again with the same configs is idempotent (its rows are replaced by equal
ones); running it with other configs under the same name is refused, so results of different experiments never
overwrite each other (pick a new name; engine outputs of unchanged engines are then reused, not recomputed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import polars as pl
import sqlalchemy as sa
from pydantic import Field

from prometheus.backtest.config import BacktestConfig
from prometheus.backtest.schema import BACKTEST_DAILY_SCHEMA
from prometheus.core.errors import ConfigError
from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.engines.pipeline import EngineChainConfig
from prometheus.runtime.enums import RunStatus
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables import backtest_daily, backtest_runs


class ExperimentConfig(EngineChainConfig):
    """The engine chain's sections (regime:, stability:, ... scenarios:) plus ``backtest:``; each section left out
    takes its defaults. One YAML file configures a whole experiment."""

    kind: ClassVar[str] = "experiment"

    backtest: BacktestConfig = Field(default_factory=BacktestConfig)

    @property
    def chain(self) -> EngineChainConfig:
        """The engine sections alone."""
        return EngineChainConfig(**{k: getattr(self, k) for k in EngineChainConfig.model_fields})

    def versions(self) -> dict[str, str]:
        """Config version of every engine and backtest component, by name (what ``backtest_runs`` records)."""
        out = {name: getattr(self, name).config_version for name in EngineChainConfig.model_fields}
        bt = self.backtest
        out |= {"backtest": bt.config_version, "planner": bt.planner.config_version,
                "simulator": bt.simulator.config_version, "risk_limits": bt.limits.config_version}  # fmt: skip
        if bt.simulator.costs is not None:
            out["costs"] = bt.simulator.costs.config_version
        return out


@dataclass(frozen=True)
class ExperimentRecord:
    """One row of ``backtest_runs``."""

    experiment: str
    markets: tuple[str, ...]
    config_versions: Mapping[str, str]
    first_session: date
    last_session: date
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    metrics: Mapping[str, Any] | None
    description: str = ""


def start_experiment(
    runtime: RuntimeStore,
    experiment: str,
    market: Market,
    config: ExperimentConfig,
    first: date,
    last: date,
    description: str = "",
) -> ExperimentRecord:
    """Record the experiment as RUNNING (or again, when its configs are the ones recorded).

    Raises
    ------
    ConfigError
        The name is recorded with other config versions: a changed config is a new experiment.
    """
    versions = config.versions()
    known = experiment_record(runtime, experiment)
    if known is not None and dict(known.config_versions) != versions:
        changed = sorted(k for k in versions.keys() | known.config_versions.keys()
                         if versions.get(k) != known.config_versions.get(k))  # fmt: skip
        raise ConfigError(
            f"experiment {experiment!r} was run with other configs ({', '.join(changed)} differ): results of "
            "different experiments never overwrite each other, so give this one a new --experiment name",
            setting="--experiment",
        )
    markets = tuple(sorted({*(known.markets if known else ()), market.value}))
    if known is not None:
        first, last = min(first, known.first_session), max(last, known.last_session)
    row = {
        "experiment": experiment, "description": description, "markets": list(markets), "config_versions": versions,
        "universe": None, "first_session": first, "last_session": last, "status": RunStatus.RUNNING.value,
        "started_at": utc_now(), "finished_at": None, "metrics": None,
    }  # fmt: skip
    runtime.upsert(backtest_runs, [row])
    return _record(row)


def finish_experiment(
    runtime: RuntimeStore, experiment: str, status: RunStatus, metrics: Mapping[str, Any] | None = None
) -> None:
    """Mark the experiment finished with ``status`` and its headline ``metrics``."""
    with runtime.begin() as conn:
        conn.execute(
            sa.update(backtest_runs)
            .where(backtest_runs.c.experiment == experiment)
            .values(status=status.value, finished_at=utc_now(), metrics=dict(metrics) if metrics else None)
        )


def experiment_record(runtime: RuntimeStore, experiment: str) -> ExperimentRecord | None:
    """The recorded experiment, or None."""
    with runtime.read() as conn:
        row = conn.execute(sa.select(backtest_runs).where(backtest_runs.c.experiment == experiment)).mappings().first()
    return _record(dict(row)) if row is not None else None


def list_experiments(runtime: RuntimeStore) -> list[ExperimentRecord]:
    """Every recorded experiment, the most recent first."""
    with runtime.read() as conn:
        rows = conn.execute(sa.select(backtest_runs).order_by(backtest_runs.c.started_at.desc())).mappings().all()
    return [_record(dict(r)) for r in rows]


def read_daily(runtime: RuntimeStore, experiment: str, market: Market, first: date, last: date) -> pl.DataFrame:
    """``backtest_daily`` rows of the experiment between ``first`` and ``last`` (columns of the schema).

    A NaN figure reads back as null on every backend: SQLite stores NaN as NULL while PostgreSQL keeps it, and
    the metrics treat the two differently (a null cost counts as none, a NaN one voids the session's total).
    """
    cols = list(BACKTEST_DAILY_SCHEMA)
    q = (
        sa.select(*(backtest_daily.c[c] for c in cols))
        .where(
            backtest_daily.c.experiment == experiment,
            backtest_daily.c.market == market.value,
            backtest_daily.c.session >= first,
            backtest_daily.c.session <= last,
        )  # fmt: skip
        .order_by(backtest_daily.c.session)
    )
    with runtime.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    frame = pl.DataFrame(rows, schema={k: v[0] for k, v in BACKTEST_DAILY_SCHEMA.items()}, orient="row")
    return frame.with_columns(pl.col(pl.Float64).fill_nan(None))


def _record(row: Mapping[str, Any]) -> ExperimentRecord:
    return ExperimentRecord(
        experiment=row["experiment"],
        markets=tuple(row["markets"]),
        config_versions=dict(row["config_versions"]),
        first_session=row["first_session"],
        last_session=row["last_session"],
        status=RunStatus(row["status"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        metrics=row["metrics"],
        description=row.get("description") or "",
    )


#: Years the demo backtests (the last ones of the market) and the least history it leaves before them.
DEMO_BACKTEST_YEARS = 3
DEMO_MIN_WARMUP_YEARS = 2


def demo_period(
    start: date, end: date, backtest_years: int = DEMO_BACKTEST_YEARS, min_warmup_years: int = DEMO_MIN_WARMUP_YEARS
) -> tuple[date, date]:
    """The demo's backtest range of a market spanning ``[start, end]``: its last ``backtest_years`` years, but
    never less than ``min_warmup_years`` after its start (the regime model needs 400 sessions of training data).

    The last years rather than everything after the warm-up: the engines with the longest lookbacks (Stability's
    composite is normalised over three years) are then fully warmed up, and the run fits the demo's time.
    """
    if backtest_years < 1 or min_warmup_years < 1:
        raise ConfigError("the demo needs at least one year of backtest and one of warm-up", setting="backtest_years")
    first = max(_shift_years(start, min_warmup_years), _shift_years(end, -backtest_years) + timedelta(days=1))
    if first > end:
        raise ConfigError(f"{min_warmup_years} year(s) of warm-up leave no session of {start}..{end} to backtest",
                          setting="warmup_years")  # fmt: skip
    return first, end


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def demo_experiment() -> ExperimentConfig:
    """The embedded default's experiment (``make demo``): the engines' defaults except where the demo trades detail
    for time on 2 cores: assessment models refitted quarterly (not monthly), the portfolio rebalanced weekly (every
    5 sessions, scenarios on the same sessions), 250 scenario paths per set (not 1,000)."""
    return ExperimentConfig.from_mapping(
        {"assessment": {"refit_months": 3}, "portfolio": {"rebalance_every": 5},
         "scenarios": {"every_sessions": 5, "paths": 250}},
        source="demo defaults",
    )  # fmt: skip
