"""``prometheus ui``: the Dagster UI on the local instance of the data root."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import typer

from prometheus_assets.launch import prepare_home
from prometheus_cli._common import run, settings, warn_unless_loopback

HELP = (
    "Start the Dagster UI (dagster dev) on the local instance under DAGSTER_HOME (default "
    "<data root>/dagster_home), showing the runs, materialisations and checks of the CLI's commands."
)

#: The code location the UI loads, written next to the instance so the UI starts from any folder.
WORKSPACE = """\
load_from:
  - python_module:
      module_name: prometheus_assets.definitions
      attribute: defs
      location_name: prometheus
"""


def ui(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Interface to listen on (default loopback only; anything else warns)."
    ),
    port: int = typer.Option(3000, "--port", help="Port of the UI."),
) -> None:
    """Prepare the instance and replace this process with ``dagster dev``."""
    # The UI has no login and launches runs (in PAPER / LIVE, runs that send orders): loopback unless asked.
    warn_unless_loopback(host, "the Dagster UI listens", "it has no login and anyone who reaches it can launch "
                         "runs; prefer 127.0.0.1 behind an SSH tunnel or an authenticating proxy")  # fmt: skip
    s = settings()

    def go() -> list[str]:
        home = prepare_home(s.dagster_home.resolve())
        workspace = home / "workspace.yaml"
        workspace.write_text(WORKSPACE)
        os.environ["DAGSTER_HOME"] = str(home)
        os.environ["PROMETHEUS_DATA_ROOT"] = str(s.data_path.resolve())
        dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
        return [dagster, "dev", "-w", str(workspace), "-h", host, "-p", str(port)]

    args = run(go)
    typer.echo(f"Dagster UI on http://{host}:{port} (instance {os.environ['DAGSTER_HOME']})")
    os.execv(args[0], args)  # noqa: S606 - replaces this process with the Dagster UI on purpose
