"""Every date and timestamp option of the command line reads ISO 8601 only: anything else exits 2 naming both."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from prometheus_cli import app

#: Each date or timestamp option, with the other arguments its command needs; "{v}" is the value under test.
DATE_OPTIONS = [
    pytest.param(["calendar", "sessions", "US_EQ", "--start", "{v}", "--end", "2024-07-05"], "--start", id="cal-start"),
    pytest.param(["calendar", "sessions", "US_EQ", "--start", "2024-07-01", "--end", "{v}"], "--end", id="cal-end"),
    pytest.param(
        ["run-engines", "--market", "US_EQ", "--start", "{v}", "--end", "2018-12-31"], "--start", id="eng-start"
    ),
    pytest.param(["run-engines", "--market", "US_EQ", "--start", "2018-10-01", "--end", "{v}"], "--end", id="eng-end"),
    pytest.param(["synth", "{out}", "--start", "{v}"], "--start", id="synth-start"),
]
INSTANT_OPTIONS = [
    pytest.param(["calendar", "state", "US_EQ", "--at", "{v}"], "--at", id="cal-at"),
    pytest.param(["sql", "--as-of", "{v}", "SELECT 1"], "--as-of", id="sql-as-of"),
]


def _plain(text: str) -> str:
    """``text`` without the error box's borders and line wrapping."""
    return " ".join(text.replace("│", " ").split())


def _invoke(tmp_path, args: list[str], value: str):
    filled = [a.format(v=value, out=tmp_path / "out") for a in args]
    return CliRunner().invoke(app, filled, env={"PROMETHEUS_DATA_ROOT": str(tmp_path)})


@pytest.mark.parametrize(("args", "option"), DATE_OPTIONS + INSTANT_OPTIONS)
@pytest.mark.parametrize("value", ["2017-13-01", "02-06-2017", "2017/02/06", "20170206", "6 Feb 2017"])
def test_date_option_when_not_iso_exits_2_naming_option_and_value(tmp_path, args, option, value) -> None:
    result = _invoke(tmp_path, args, value)

    assert result.exit_code == 2, result.output
    message = _plain(result.stderr)
    assert f"Invalid value for '{option}'" in message
    assert repr(value) in message
    assert "ISO 8601" in message
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_calendar_sessions_when_iso_dates_given_lists_sessions(tmp_path) -> None:
    result = _invoke(tmp_path, ["calendar", "sessions", "US_EQ", "--start", "{v}", "--end", "2024-07-03"], "2024-07-01")

    assert result.exit_code == 0, result.output
    assert [line.split(",")[0] for line in result.stdout.splitlines()[1:]] == ["2024-07-01", "2024-07-02", "2024-07-03"]


def test_calendar_state_when_at_is_iso_with_offset_reads_it_as_that_instant(tmp_path) -> None:
    utc = _invoke(tmp_path, ["calendar", "state", "JP_EQ", "--at", "{v}"], "2024-11-29T03:00:00Z")
    tokyo = _invoke(tmp_path, ["calendar", "state", "JP_EQ", "--at", "{v}"], "2024-11-29T12:00:00+09:00")

    assert utc.exit_code == tokyo.exit_code == 0, utc.output + tokyo.output
    assert utc.stdout == tokyo.stdout
    assert utc.stdout.split()[0] == "BREAK"
