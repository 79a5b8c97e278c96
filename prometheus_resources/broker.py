"""The broker resource: one per mode, chosen when the definitions are built."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from prometheus.core.errors import ConfigError
from prometheus.core.types import Mode
from prometheus.execution import BacktestBroker, CorporateAction, MarketPanel, SimulatorConfig


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


def broker_resource_for(mode: Mode) -> dg.ConfigurableResource:
    """The broker resource of ``mode``.

    Raises
    ------
    ConfigError
        PAPER and LIVE until the IB brokers exist: a code location in those modes must not load with a broker
        that would pretend to trade.
    """
    if mode is Mode.BACKTEST:
        return BacktestBrokerResource()
    raise ConfigError(
        f"PROMETHEUS_MODE={mode.value}: the Interactive Brokers broker for {mode.value} is not available in this "
        "version; run the code location with PROMETHEUS_MODE=BACKTEST",
        setting="PROMETHEUS_MODE",
    )
