"""No import cycles: every module of the project imports cleanly as the first project module of a process.

A cycle shows up as an ImportError on a partially initialised module, and only when the cycle is entered at
a particular module (``import prometheus.profiles`` failed while ``import prometheus.encoders`` worked). So
the order that matters is which module comes first, and each one does: ``import_each.py`` forks one child
per module from a process holding only third-party packages, and each child imports its module first. The
order of the children is irrelevant, as no child sees another's imports.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("prometheus", "prometheus_assets", "prometheus_resources", "prometheus_cli", "prometheus_dashboard")
#: Alembic scripts are run by Alembic, not imported as modules.
NOT_MODULES = (ROOT / "prometheus" / "runtime" / "migrations",)
WORKER = Path(__file__).with_name("import_each.py")


def project_modules() -> list[str]:
    """Dotted names of every module and package of the project, sorted."""
    names = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if any(path.is_relative_to(skip) for skip in NOT_MODULES):
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(names)


def test_project_modules_when_listed_cover_each_package_and_skip_migrations() -> None:
    names = project_modules()
    assert set(PACKAGES) <= set(names)
    assert "prometheus_cli" in names
    assert "prometheus.profiles.pipeline" in names
    assert not [n for n in names if ".migrations" in n]


def test_every_module_when_imported_first_in_a_fresh_process_imports_cleanly() -> None:
    result = subprocess.run(
        [sys.executable, str(WORKER), *project_modules()],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
