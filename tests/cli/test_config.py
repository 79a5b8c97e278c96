"""``prometheus config``: check lists every problem of the settings and of the files they name; secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from prometheus_cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "risk_limits.example.yaml"


def _invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env or {})


def _limits(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "limits.yaml"
    path.write_text(text)
    return {"PROMETHEUS_RISK_LIMITS_FILE": str(path)}


def test_config_check_when_all_valid_exits_0_and_says_what_it_checked() -> None:
    result = _invoke("config", "check", env={"PROMETHEUS_RISK_LIMITS_FILE": str(EXAMPLE)})

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: settings; risk limits ")
    assert str(EXAMPLE) in result.stdout


def test_config_check_when_backtest_has_no_risk_limits_file_is_ok() -> None:
    result = _invoke("config", "check")

    assert result.exit_code == 0, result.output
    assert "no risk-limits file configured" in result.stdout


def test_config_check_when_settings_have_several_problems_lists_each_and_exits_1() -> None:
    env = {"PROMETHEUS_MDOE": "LIVE", "PROMETHEUS_IB_PORT": "not-a-port", "PROMETHEUS_BAR_DELAY_SECONDS": "-1"}

    result = _invoke("config", "check", env=env)

    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert [e.split(":")[1].strip() for e in errors] == [
        "PROMETHEUS_MDOE is not a Prometheus setting; known settings",
        "PROMETHEUS_IB_PORT",
        "PROMETHEUS_BAR_DELAY_SECONDS",
    ]
    assert "3 problem(s) found" in result.stderr


def test_config_check_when_risk_limits_have_several_bad_values_lists_each_naming_file_and_key(tmp_path) -> None:
    text = (
        EXAMPLE.read_text()
        .replace("max_order_notional: 250000", "max_order_notional: .inf")
        .replace("max_drawdown: 0.20", "max_drawdown: .nan")
        .replace("breach_state: HALTED", "breach_state: ACTIVE")
    )

    result = _invoke("config", "check", env=_limits(tmp_path, text))

    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3
    assert all(f"{tmp_path / 'limits.yaml'}: risk_limits config key" in e for e in errors)
    assert "'max_order_notional': Input should be a finite number" in errors[0]
    assert "'max_drawdown': Input should be a finite number" in errors[1]
    assert "'breach_state': ACTIVE would leave trading on when a limit trips; use HALTED or REDUCING" in errors[2]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("max_order_notional: [1\n", "cannot read risk_limits config"),
        ("- 1\n- 2\n", "must be a YAML mapping"),
        (EXAMPLE.read_text() + "max_order_notional: 1\n", "key 'max_order_notional' is written twice, on lines 4 and"),
        (EXAMPLE.read_text() + "max_gross_exposur: 2\n", "'max_gross_exposur': Extra inputs are not permitted"),
        ("enforce_universe: true\n", "'max_order_notional': Field required"),
    ],
)
def test_config_check_when_risk_limits_file_is_broken_exits_1_naming_the_problem(tmp_path, text, says) -> None:
    result = _invoke("config", "check", env=_limits(tmp_path, text))

    assert result.exit_code == 1
    assert str(tmp_path / "limits.yaml") in result.stderr
    assert says in result.stderr


def test_config_check_when_risk_limits_file_is_missing_exits_1_naming_the_variable(tmp_path) -> None:
    result = _invoke("config", "check", env={"PROMETHEUS_RISK_LIMITS_FILE": str(tmp_path / "nope.yaml")})

    assert result.exit_code == 1
    assert "PROMETHEUS_RISK_LIMITS_FILE: file not found" in result.stderr


def test_config_check_when_paper_has_no_risk_limits_file_exits_1() -> None:
    result = _invoke("config", "check", env={"PROMETHEUS_MODE": "PAPER"})

    assert result.exit_code == 1
    assert "PROMETHEUS_RISK_LIMITS_FILE: PAPER trades through the RiskGate" in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://prom:hunter2@127.0.0.1:5432/prom",
        "postgresql+psycopg://prom@127.0.0.1:5432/prom?password=hunter2",
        "postgresql+psycopg://prom@127.0.0.1:5432/prom?sslmode=require&sslpassword=hunter2",
        "postgresql+psycopg://prom:hunter2@127.0.0.1:5432/prom?password=hunter2",
    ],
)
def test_config_show_and_check_when_url_holds_a_secret_never_print_it(url) -> None:
    env = {"PROMETHEUS_RUNTIME_DB_URL": url}

    shown = _invoke("config", "show", env=env)
    checked = _invoke("config", "check", env={**env, "PROMETHEUS_MDOE": "x"})

    assert shown.exit_code == 0, shown.output
    assert "hunter2" not in shown.output
    assert "****" in shown.output
    assert "hunter2" not in checked.output


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://prom:hunter2@127.0.0.1:notaport/prom",
        "postgresql+nodriver://prom@127.0.0.1/prom?password=hunter2",
    ],
)
def test_command_when_runtime_url_is_invalid_error_masks_the_secret(url) -> None:
    result = _invoke("db", "current", env={"PROMETHEUS_RUNTIME_DB_URL": url})

    assert result.exit_code == 2
    assert "invalid runtime store URL" in result.stderr
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output
