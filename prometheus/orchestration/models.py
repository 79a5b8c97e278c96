"""Models a daily cycle needs: the period-partitioned models of the period holding the session.

The encoder, regime and assessment models are partitioned by refit period, not by session, so the daily cycle
(one session partition) cannot build them: Dagster runs one partitions definition per run. On the first session of
a new period the sensor asks for each missing model of that period first, holds the cycle, and asks for the cycle
once every model is materialised. Each model trains on the history known before its period, so the models of one
period do not wait for one another; they are asked for in the order of ``prometheus backtest`` (encoder before the
embeddings, regime before the regime states, assessment after the engines it trains on) and the cycle, which reads
all three, waits for all three. A model whose training inputs are not there yet (the assessment model before the
cycle of the period's previous session has built the engine outputs it trains on) is not asked for: it waits, and
the cycle with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from prometheus.core.types import Market
from prometheus.orchestration.market_watch import CycleKind, CycleRequest


class ModelKind(StrEnum):
    """A period-partitioned model asset the daily cycle reads (the value is the asset name and the flow name)."""

    ENCODER = "encoder_model"  # the numeric encoder, read by instrument_embeddings
    REGIME = "regime_model"  # read by regime_states
    ASSESSMENT = "assessment_model"  # trained on the engine outputs before its period, read by assessments


#: The order models are asked for (as the stages of ``prometheus backtest``).
MODEL_ORDER: tuple[ModelKind, ...] = (ModelKind.ENCODER, ModelKind.REGIME, ModelKind.ASSESSMENT)


@dataclass(frozen=True, slots=True)
class ModelPeriod:
    """``model`` of the period partition ``period``: whether it is materialised, and whether what it trains on is
    (the inputs of the last session before the period)."""

    model: ModelKind
    period: str
    materialised: bool
    inputs_ready: bool = True


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """A model run to ask for: ``model`` for its period partition ``period``."""

    market: Market
    model: ModelKind
    period: str

    @property
    def run_key(self) -> str:
        """``<market>|<period>|<model>`` (``US_EQ|2024|regime_model``): one run per model and period."""
        return f"{self.market.value}|{self.period}|{self.model.value}"


@dataclass(frozen=True, slots=True)
class CyclePlan:
    """What to ask for a daily cycle now: the missing models that can train (in :data:`MODEL_ORDER`) and those
    still waiting for their inputs; the cycle itself once none is missing."""

    cycle: CycleRequest
    models: tuple[ModelRequest, ...]
    waiting: tuple[ModelRequest, ...] = ()

    @property
    def ready(self) -> bool:
        """True when every model of the session's period is materialised: the cycle can run."""
        return not self.models and not self.waiting


def plan_cycle(cycle: CycleRequest, models: Sequence[ModelPeriod]) -> CyclePlan:
    """The cycle if all ``models`` are materialised, else the runs of the missing ones, in :data:`MODEL_ORDER`.

    A missing model whose inputs are not ready is held back (``waiting``), not asked for: its run would train on
    a short window or fail.
    """
    missing = sorted((m for m in models if not m.materialised), key=lambda m: MODEL_ORDER.index(m.model))
    request = [ModelRequest(cycle.market, m.model, m.period) for m in missing]
    return CyclePlan(cycle, tuple(r for r, m in zip(request, missing, strict=True) if m.inputs_ready),
                     tuple(r for r, m in zip(request, missing, strict=True) if not m.inputs_ready))  # fmt: skip


def pending_cycle(
    market: Market, held: date | None, requests: Sequence[CycleRequest]
) -> tuple[CycleRequest | None, tuple[CycleRequest, ...]]:
    """The daily cycle to plan on this tick and the held one it supersedes (reported as missed).

    The cycle of this tick's POST_CLOSE wins over one still held for its models: cycles are path dependent and a
    newer close means the held session's window has passed (as after an outage).
    """
    new = [r for r in requests if r.kind is CycleKind.DAILY_CYCLE]
    kept = CycleRequest(CycleKind.DAILY_CYCLE, market, held) if held is not None else None
    if not new:
        return kept, ()
    latest = new[-1]
    superseded = () if kept is None or kept.session >= latest.session else (kept,)
    return latest, superseded
