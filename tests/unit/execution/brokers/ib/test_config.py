"""IbConfig: IB modes only, secrets out of repr and dumps, built from the settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from prometheus.core.settings import load_settings
from prometheus.core.types import Mode
from prometheus.execution.brokers.ib import IbConfig


def test_config_when_backtest_mode_is_refused() -> None:
    with pytest.raises(ValidationError, match="PAPER or LIVE"):
        IbConfig(mode=Mode.BACKTEST)


def test_config_when_shown_or_dumped_hides_account_and_confirmation() -> None:
    cfg = IbConfig(mode=Mode.LIVE, port=4001, account="U7654321", live_confirm="U7654321")
    assert "7654321" not in repr(cfg)
    assert "7654321" not in cfg.canonical_json()
    assert cfg.account == "U7654321"


def test_config_when_from_settings_takes_host_port_client_and_account() -> None:
    env = {"PROMETHEUS_MODE": "LIVE", "PROMETHEUS_IB_ACCOUNT": "U1", "PROMETHEUS_LIVE_CONFIRM": "U1",
           "PROMETHEUS_IB_CLIENT_ID": "9"}  # fmt: skip
    cfg = IbConfig.from_settings(load_settings(env))
    assert (cfg.mode, cfg.host, cfg.port, cfg.client_id, cfg.account, cfg.live_confirm) == (
        Mode.LIVE, "127.0.0.1", 4001, 9, "U1", "U1",
    )  # fmt: skip
