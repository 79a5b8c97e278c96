"""Connection settings of the IB broker."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from prometheus.core.config import VersionedConfig
from prometheus.core.settings import IB_GATEWAY_PAPER_PORT, Settings
from prometheus.core.types import Mode

#: What reconciliation does with an order at IB that we did not send (each is also logged and reported).
ForeignPolicy = Literal["alert", "adopt", "cancel"]


class IbConfig(VersionedConfig):
    """Where and how to connect to IB Gateway / TWS.

    ``port`` is a setting, not a guard (IB's defaults: gateway 4002 paper / 4001 live, TWS 7497 / 7496): the
    account reported after connecting decides what the mode may trade. ``account`` and ``live_confirm`` are
    secrets: kept out of ``repr`` and of dumps (so of the config version), they never reach a log.
    ``foreign_orders``: orders at IB we did not send are always alerted; "adopt" also takes them over as ours,
    "cancel" cancels them at IB (where this client id may).
    """

    kind: ClassVar[str] = "ib_connection"

    mode: Mode = Mode.PAPER
    host: str = "127.0.0.1"
    port: int = Field(IB_GATEWAY_PAPER_PORT, ge=1, le=65535)
    client_id: int = Field(1, ge=0)
    account: str | None = Field(
        None, repr=False, exclude=True, description="Account to trade when the login manages several."
    )
    live_confirm: str | None = Field(
        None, repr=False, exclude=True, description="LIVE only: must equal the account id."
    )
    connect_timeout_s: float = Field(4.0, gt=0)
    request_timeout_s: float = Field(4.0, gt=0)
    exchange: str = "SMART"
    currency: str = "USD"
    foreign_orders: ForeignPolicy = "alert"

    @field_validator("mode")
    @classmethod
    def _ib_mode(cls, mode: Mode) -> Mode:
        if mode not in (Mode.PAPER, Mode.LIVE):
            raise ValueError(f"the IB broker runs in PAPER or LIVE, not {mode.value}")
        return mode

    @classmethod
    def from_settings(cls, settings: Settings) -> IbConfig:
        """The connection of ``settings`` (PROMETHEUS_IB_HOST / _PORT / _CLIENT_ID / _ACCOUNT, LIVE_CONFIRM)."""
        return cls(
            mode=settings.mode,
            host=settings.ib_host,
            port=settings.effective_ib_port,
            client_id=settings.ib_client_id,
            account=settings.ib_account,
            live_confirm=settings.live_confirm,
            foreign_orders=settings.ib_foreign_orders,
        )
