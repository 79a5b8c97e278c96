"""Builders of the PAPER / LIVE execution tests: the fake gateway's book, risk limits, the environment of a run."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.support.fake_ib_gateway import Behaviour, FakeIbGateway, SymbolSpec

PAPER_ACCOUNT = "DU7654321"
SESSION = "2024-03-01"


def symbols(**behaviours: Behaviour) -> dict[str, SymbolSpec]:
    """Four stocks at 50 / 20 / 10 / 40 (AAA .. DDD), filling at once unless given another behaviour."""
    prices = {"AAA": 50.0, "BBB": 20.0, "CCC": 10.0, "DDD": 40.0}
    return {s: SymbolSpec(1000 + i, p, behaviours.get(s, Behaviour.FILL)) for i, (s, p) in enumerate(prices.items())}


def gateway(cash: float = 100_000.0, **behaviours: Behaviour) -> FakeIbGateway:
    """A paper-account gateway holding only cash (not started)."""
    return FakeIbGateway(symbols(**behaviours), account=PAPER_ACCOUNT, cash=cash)


def write_limits(path: Path, **overrides: object) -> Path:
    """A complete risk-limits YAML (every rule written; generous enough for the tests' orders), then overrides."""
    values: dict[str, object] = {
        "max_order_notional": 50_000.0,
        "max_position_notional": 60_000.0,
        "max_position_pct_equity": 0.5,
        "max_gross_exposure": 1.5,
        "max_net_exposure": 1.0,
        "price_collar_pct": 0.05,
        "max_orders_per_second": 50,
        "max_quote_age_seconds": 3600.0,
        "enforce_universe": False,
        "max_drawdown": 0.5,
        "max_daily_loss": 0.2,
        "breach_state": "HALTED",
        "portfolio": {
            "max_gross": 1.0,
            "max_net": 1.0,
            "min_net": None,
            "max_weight": 0.5,
            "max_sector": None,
            "beta_band": None,
            "max_turnover": None,
            "long_only": True,
        },  # fmt: skip
    }
    values.update(overrides)
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


def write_targets(path: Path, weights: Mapping[str, float]) -> Path:
    """An operator's ``symbol,weight`` CSV."""
    path.write_text("symbol,weight\n" + "".join(f"{s},{w}\n" for s, w in weights.items()), encoding="utf-8")
    return path


def paper_env(port: int, runtime_url: str, limits: Path, data_root: Path, client_id: int = 11) -> dict[str, str]:
    """``PROMETHEUS_*`` variables of a PAPER run against the fake gateway."""
    return {
        "PROMETHEUS_MODE": "PAPER",
        "PROMETHEUS_IB_PORT": str(port),
        "PROMETHEUS_IB_CLIENT_ID": str(client_id),
        "PROMETHEUS_RUNTIME_DB_URL": runtime_url,
        "PROMETHEUS_RISK_LIMITS_FILE": str(limits),
        "PROMETHEUS_DATA_ROOT": str(data_root),
    }


def orders_per_ref(gw: FakeIbGateway) -> dict[str, int]:
    """How many orders the gateway holds per orderRef (a duplicate shows as 2)."""
    out: dict[str, int] = {}
    for o in list(gw.orders.values()):
        out[o.order_ref] = out.get(o.order_ref, 0) + 1
    return out


def gateway_positions(gw: FakeIbGateway) -> dict[str, float]:
    """Non-zero holdings at the gateway."""
    return {s: q for s, (q, _) in gw.holdings.items() if q}


def clear_prometheus_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every ``PROMETHEUS_*`` variable of the calling environment for this test."""
    for key in [k for k in os.environ if k.startswith("PROMETHEUS_")]:
        monkeypatch.delenv(key)


@contextmanager
def cli_gateway(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIbGateway]:
    """A started gateway holding 30 DDD (bought at 38) and the PAPER environment of a CLI run against it."""
    clear_prometheus_env(monkeypatch)
    with gateway() as fake:
        fake.holdings["DDD"] = [30.0, 38.0]
        for key, value in paper_env(fake.port, pg_url, write_limits(tmp_path / "limits.yaml"), tmp_path).items():
            monkeypatch.setenv(key, value)
        yield fake
