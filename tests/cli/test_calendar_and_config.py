"""The foundation CLI: calendar, config and demo commands as a user sees them."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from prometheus_cli import app

runner = CliRunner()


def test_calendar_state_when_break_prints_state_word_first() -> None:
    result = runner.invoke(app, ["calendar", "state", "JP_EQ", "--at", "2024-11-29T03:00:00Z"])
    assert result.exit_code == 0, result.output
    assert result.output.split()[0] == "BREAK"


def test_calendar_sessions_when_range_prints_csv() -> None:
    result = runner.invoke(app, ["calendar", "sessions", "US_EQ", "--start", "2024-07-01", "--end", "2024-07-05"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "session,open,close,break_start,break_end"
    assert [line.split(",")[0] for line in lines[1:]] == [
        "2024-07-01",
        "2024-07-02",
        "2024-07-03",
        "2024-07-05",
    ]
    assert lines[3].split(",")[2] == "2024-07-03T17:00:00+00:00"  # early close 13:00 New York


def test_config_show_when_account_set_masks_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_IB_ACCOUNT", "DU123456")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "PROMETHEUS_IB_ACCOUNT=****" in result.output
    assert "DU123456" not in result.output


def test_any_command_when_unknown_setting_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MDOE", "LIVE")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 2
    assert "PROMETHEUS_MDOE" in result.output


def test_calendar_state_when_unknown_market_fails_cleanly() -> None:
    result = runner.invoke(app, ["calendar", "state", "MOON"])
    assert result.exit_code == 2
    assert "unknown market" in result.output


@pytest.mark.parametrize("args", [[], ["calendar"], ["config"], ["calendar", "state"], ["demo"]])
def test_help_when_asked_is_available(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_calendar_state_when_schedule_cached_loads_neither_pandas_nor_exchange_calendars(tmp_path) -> None:
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "sys.argv = ['prometheus', 'calendar', 'state', 'US_EQ']\n"
        "from prometheus_cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in ('pandas', 'exchange_calendars', 'polars') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")}
    env["PROMETHEUS_DATA_ROOT"] = str(tmp_path)
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "LOADED ['exchange_calendars', 'pandas']" in first.stdout  # builds and caches the schedule
    assert "LOADED []" in second.stdout
    assert first.stdout.split()[0] == second.stdout.split()[0]
    assert first.stdout.split()[0] in {"OPEN", "CLOSED", "PRE_OPEN", "POST_CLOSE", "BREAK"}
