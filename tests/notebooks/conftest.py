"""One small market and two small backtests shared by every research notebook run in the suite.

30 names x 3 years (seed 6: calm, normal and crisis sessions before the backtest, calm then crisis inside it),
the reference series (the S&P 500 the regime notebook labels) and two experiments over 2016-09..2016-12 that
differ only in the portfolio's rebalancing cadence (the second reuses the first one's engine outputs and models).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The experiment the notebooks analyse and the one the comparison notebook sets against it.
EXPERIMENT, OTHER = "nb", "nb-biweekly"
#: Demo-like settings (quarterly assessment refits, weekly rebalancing, lighter scenarios) keep the run short.
CONFIGS = {
    EXPERIMENT: "assessment: {refit_months: 3}\nportfolio: {rebalance_every: 5}\n"
    "scenarios: {every_sessions: 5, paths: 250}\n",
    OTHER: "assessment: {refit_months: 3}\nportfolio: {rebalance_every: 10}\n"
    "scenarios: {every_sessions: 5, paths: 250}\n",
}
MARKET = ["--names", "30", "--years", "3", "--seed", "6"]
RANGE = ["--start", "2016-09-01", "--end", "2016-12-30"]
#: The S&P 500 span the regime notebook labels: the 2008 crisis and its end (two yearly refits; the notebook's
#: default is 2006-2010).
SP500 = {"NOTEBOOK_SP500_START": "2008-01-01", "NOTEBOOK_SP500_END": "2009-06-30"}


@dataclass(frozen=True)
class NotebookMarket:
    """The data root the notebooks read, the environment of their kernel and the kernel spec folder."""

    root: Path
    env: dict[str, str]
    kernels: Path


@pytest.fixture(scope="session")
def notebook_market(tmp_path_factory: pytest.TempPathFactory) -> NotebookMarket:
    """Ingest the market and the reference series and run both backtests through the CLI, once per session."""
    from ipykernel.kernelspec import install
    from typer.testing import CliRunner

    from prometheus_cli import app

    root = tmp_path_factory.mktemp("notebook_market")
    data = root / "data"
    env = {"PROMETHEUS_DATA_ROOT": str(data)}
    configs = {}
    for name, text in CONFIGS.items():
        configs[name] = root / f"{name}.yaml"
        configs[name].write_text(text)
    runner = CliRunner()
    for args in (
        ["ingest", "synthetic", *MARKET],
        ["ingest", "reference"],
        *(["backtest", *RANGE, "--experiment", name, "--config", str(path)] for name, path in configs.items()),
    ):
        t0 = time.perf_counter()
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, f"prometheus {' '.join(args)}:\n{result.output}"
        print(f"\nnotebook market: prometheus {' '.join(args[:2])} in {time.perf_counter() - t0:.1f}s")
    # The project's kernel: a spec named as the notebooks' metadata says, running this venv's python.
    prefix = root / "jupyter"
    install(kernel_name="prometheus", display_name="Prometheus (.venv)", prefix=str(prefix))
    kernel_env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS_", "NOTEBOOK_"))}
    kernel_env |= (
        env
        | SP500
        | {
            "NOTEBOOK_EXPERIMENT": EXPERIMENT,
            "NOTEBOOK_COMPARE": OTHER,
            "NOTEBOOK_CONFIG": str(configs[EXPERIMENT]),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        }
    )
    return NotebookMarket(data, kernel_env, prefix / "share" / "jupyter" / "kernels")
