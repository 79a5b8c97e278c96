"""Sub-commands load on use: the root help lists them all, truthfully, without importing their modules."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from prometheus_cli import COMMANDS, app

runner = CliRunner()

# Run the CLI in a fresh interpreter and report which modules it imported (as JSON on the last stderr line).
_PROBE = """
import json, sys
from prometheus_cli import main
sys.argv = ["prometheus", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""

#: Heavy libraries no light command should import.
HEAVY = {"dagster", "duckdb", "sqlalchemy", "alembic", "torch", "sentence_transformers", "cvxpy", "sklearn"}


def _imported(*args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120)
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def _tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def _listed(help_text: str | None) -> str:
    # What the parent's help shows for a command: the first paragraph, single line breaks joined.
    return inspect.cleandoc(help_text or "").split("\n\n")[0].replace("\n", " ").strip()


@pytest.mark.parametrize("name", list(COMMANDS))
def test_summary_when_listed_matches_the_loaded_command(name: str) -> None:
    command = COMMANDS[name].load(name)
    assert COMMANDS[name].summary == _listed(command.short_help or command.help)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_when_help_asked_loads_and_shows_usage(name: str) -> None:
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"prometheus {name}" in result.output


def test_root_help_when_shown_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for name in COMMANDS:
        assert name in result.output


def test_unknown_command_when_close_to_one_suggests_it() -> None:
    result = runner.invoke(app, ["calender", "state", "US_EQ"])
    assert result.exit_code == 2
    assert "calendar" in result.output


def test_root_help_when_shown_imports_no_command_module() -> None:
    modules = _imported("--help")
    assert not {m for m in modules if m.startswith("prometheus_cli.") and m != "prometheus_cli._lazy"}
    assert not _tops(modules) & (HEAVY | {"pandas", "polars", "numpy"})


def test_calendar_state_when_run_imports_only_the_calendar() -> None:
    modules = _imported("calendar", "state", "US_EQ")
    assert "prometheus_cli.calendar" in modules
    assert not {m for m in modules if m.startswith(("prometheus_cli.", "prometheus.data", "prometheus.runtime"))} - {
        "prometheus_cli._lazy",
        "prometheus_cli._common",
        "prometheus_cli.calendar",
    }
    assert not _tops(modules) & HEAVY


def test_config_show_when_run_imports_no_data_library() -> None:
    assert not _tops(_imported("config", "show")) & (HEAVY | {"pandas", "polars", "numpy"})
