"""The broker resource: one per mode, chosen when the definitions are built (never at import, never connecting)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import dagster as dg

from prometheus.core.settings import Settings, env_name
from prometheus.core.time import utc_now
from prometheus.core.types import Mode
from prometheus.execution import (
    BacktestBroker,
    CorporateAction,
    IbBroker,
    IbConfig,
    MarketPanel,
    SimulatorConfig,
)
from prometheus.execution.kill_switch import KillSwitch


class BacktestBrokerResource(dg.ConfigurableResource):
    """BACKTEST: orders go to the MarketSimulator through the BacktestBroker (no external connection)."""

    initial_cash: float = 1_000_000.0

    def create_broker(
        self,
        panel: MarketPanel,
        config: SimulatorConfig | None = None,
        corporate_actions: Iterable[CorporateAction] = (),
    ) -> BacktestBroker:
        """A fresh BacktestBroker over ``panel`` (one per backtest run)."""
        return BacktestBroker(panel, config or SimulatorConfig(), self.initial_cash, corporate_actions)


class IbBrokerResource(dg.ConfigurableResource):
    """PAPER / LIVE: Interactive Brokers through IB Gateway or TWS.

    Holds connection settings only: building the definitions never opens a socket; :meth:`create_broker` gives
    an unconnected :class:`IbBroker` and the caller connects it (the account guard runs then). ``account`` and
    ``live_confirm`` come through ``dg.EnvVar`` so the UI shows the variable's name, never the account id.
    """

    mode: str = Mode.PAPER.value
    host: str = "127.0.0.1"
    port: int
    client_id: int = 1
    account: str | None = None
    live_confirm: str | None = None
    foreign_orders: str = "alert"

    def ib_config(self) -> IbConfig:
        """The connection config (validated: PAPER or LIVE, a port in range)."""
        return IbConfig(
            mode=Mode(self.mode), host=self.host, port=self.port, client_id=self.client_id, account=self.account,
            live_confirm=self.live_confirm, foreign_orders=self.foreign_orders,  # type: ignore[arg-type]
        )  # fmt: skip

    def create_broker(self, kill_switch: KillSwitch | None = None, clock: Callable[[], datetime] = utc_now) -> IbBroker:
        """An unconnected IbBroker of this config; ``kill_switch`` is moved to REDUCING while IB is unreachable."""
        return IbBroker(self.ib_config(), clock=clock, kill_switch=kill_switch)


def _secret(settings: Settings, field: str) -> dg.EnvVar | None:
    # Only a variable that is set: an EnvVar of an unset variable fails when the resource is first used.
    return dg.EnvVar(env_name(field)) if getattr(settings, field) else None


def broker_resource_for(settings: Settings) -> dg.ConfigurableResource:
    """The broker resource of ``settings.mode``: the BacktestBroker, or IB for PAPER and LIVE.

    The settings have already refused what must not start (a live port in PAPER, LIVE without
    ``PROMETHEUS_LIVE_CONFIRM`` equal to the account); the account guard runs when the broker connects.
    """
    if settings.mode is Mode.BACKTEST:
        return BacktestBrokerResource()
    ib = IbConfig.from_settings(settings)
    return IbBrokerResource(
        mode=ib.mode.value,
        host=ib.host,
        port=ib.port,
        client_id=ib.client_id,
        account=_secret(settings, "ib_account"),
        live_confirm=_secret(settings, "live_confirm"),
        foreign_orders=ib.foreign_orders,
    )
