"""End to end: ``prometheus demo`` on a small universe, from an empty data root, then ``prometheus ui`` on what it
built. One demo run (module fixture) serves both: the demo's own output, stores and runs; and the UI started on its
instance, which must report every partition the demo built as materialised, with its checks. Playwright drives
Debian's headless ``chromium`` (no browser download) to take screenshots of the lineage, a partitioned asset and its
checks; they are written under ``UI_SCREENSHOTS`` when set (``docs/ui/`` holds a set taken this way), else under the
test's folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import matplotlib.image as mpimg
import polars as pl
import pytest
from playwright.sync_api import sync_playwright

from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.runtime import RuntimeStore
from tests.support.dagster_ui import free_port, stop, wait_for_assets

ROOT = Path(__file__).resolve().parents[2]
COUNTS_QUERY = """
{ assetNodes { assetKey { path } isPartitioned
    partitionStats { numMaterialized numPartitions numFailed }
    assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { status } } } } } }
"""
#: Months of the demo market (2014-01 .. 2017-01: 3 years from 2014-01-02 end on 2017-01-01).
DEMO_MONTHS = 37
SHOTS = {
    "lineage": "/asset-groups/us_eq@prometheus/lineage",
    "partitions": "/assets/us_eq/prices_adjusted?view=partitions",
    "checks": "/assets/us_eq/prices_daily?view=checks",
}


def _screenshots(port: int, folder: Path) -> list[Path]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed for the UI screenshots (.ci/run installs it)"
    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/", wait_until="networkidle")
        # The UI greets a new browser profile with a community dialog; dismissing it once is remembered.
        page.get_by_role("button", name="Skip").click(timeout=30_000)
        for name, path in SHOTS.items():
            page.goto(f"http://127.0.0.1:{port}{path}", wait_until="networkidle")
            page.wait_for_timeout(3000)  # the graph and the partition bars render after their queries
            out.append(folder / f"{name}.png")
            page.screenshot(path=out[-1])
        browser.close()
    return out


def _not_blank(png: Path) -> bool:
    image = mpimg.imread(png)
    return png.stat().st_size > 20_000 and float(image[..., :3].std()) > 0.05


@dataclass(frozen=True)
class Demo:
    """A finished demo: its folder, environment and standard output."""

    folder: Path
    env: dict[str, str]
    out: str

    @property
    def data(self) -> Path:
        return self.folder / "data"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    folder = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_") and k != "DAGSTER_HOME"}
    env["PROMETHEUS_DATA_ROOT"] = str(folder / "data")
    prometheus = str(Path(sys.executable).with_name("prometheus"))
    args = [prometheus, "demo", "--names", "30", "--years", "3", "--news-months", "2"]
    result = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    return Demo(folder, env, result.stdout)


@pytest.mark.slow
def test_demo_when_data_root_empty_builds_every_layer_and_backtests_as_dagster_runs(demo: Demo) -> None:
    out = demo.out
    assert "  US_EQ " in out
    assert "runtime store:" in out
    assert "check us_eq/prices_daily qc_quarantine: passed" in out
    assert "materialised us_eq/profiles" in out
    # The main job: the backtest of the seven engines, its headline metrics beside 1/N and the report's path.
    assert "stage 6/7 backtest" in out
    assert "Sharpe" in out
    report = demo.data / "reports" / "demo" / "us_eq.html"
    assert f"report: {report}" in out
    assert "data:image/png;base64" in report.read_text()
    store = HistoricalStore(demo.data / "lake")
    prices = store.read(Table.PRICES_ADJUSTED, market="US_EQ")
    assert prices["symbol"].n_unique() >= 30
    assert len(store.read(Table.PROFILES, market="US_EQ")) > 0
    assert len(store.read(Table.NEWS_EMBEDDINGS, market="US_EQ")) > 0
    runtime = RuntimeStore(f"sqlite:///{demo.data / 'runtime.sqlite'}")
    with runtime.read() as conn:
        daily = pl.read_database("SELECT * FROM backtest_daily WHERE experiment = 'demo'", conn)
    assert daily.height == 252  # the 2016 sessions of XNYS: two years of warm-up, then one of backtest
    # The runs are in the instance under the data root: every partition built is a materialisation the UI shows.
    home = demo.data / "dagster_home"
    assert (home / "dagster.yaml").exists()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        months = {f"{y}-{m:02d}-01" for y in (2014, 2015, 2016) for m in range(1, 13)} | {"2017-01-01"}
        for asset in ("prices_adjusted", "trading_sessions", "instrument_embeddings", "profiles"):
            assert instance.get_materialized_partitions(dg.AssetKey(["us_eq", asset])) == months, asset
        assert instance.get_materialized_partitions(dg.AssetKey(["us_eq", "encoder_model"])) == {
            "2014", "2015", "2016", "2017"
        }  # fmt: skip
        backtested = instance.get_materialized_partitions(dg.AssetKey(["us_eq", "backtest_daily"]))
        assert {f"2016-{m:02d}-01" for m in range(1, 13)} <= backtested
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"prometheus/command": "demo"}))
        assert len(runs) == 6
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        backtest_runs = instance.get_runs(filters=dg.RunsFilter(tags={"prometheus/experiment": "demo"}))
        assert len(backtest_runs) == 7  # the six stages, then the outcomes
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in backtest_runs)


@pytest.mark.slow
def test_ui_after_demo_shows_every_partition_built_with_checks_and_screenshots(demo: Demo) -> None:
    prometheus = str(Path(sys.executable).with_name("prometheus"))
    port, log = free_port(), demo.folder / "ui.log"
    with log.open("w") as out:
        proc = subprocess.Popen([prometheus, "ui", "--port", str(port)], cwd=demo.folder, env=demo.env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        nodes = {"/".join(n["assetKey"]["path"]): n for n in wait_for_assets(port, COUNTS_QUERY, proc, log)}
        built = {"prices_adjusted": DEMO_MONTHS, "trading_sessions": DEMO_MONTHS, "profiles": DEMO_MONTHS,
                 "instrument_embeddings": DEMO_MONTHS, "encoder_model": 4, "news_embeddings": 2,
                 "backtest_daily": 12}  # fmt: skip
        for asset, partitions in built.items():
            stats = nodes[f"us_eq/{asset}"]["partitionStats"]
            assert stats["numMaterialized"] == partitions, (asset, stats)
            assert stats["numFailed"] == 0
        checks = {c["name"]: c["executionForLatestMaterialization"]["status"]
                  for c in nodes["us_eq/prices_daily"]["assetChecksOrError"]["checks"]}  # fmt: skip
        assert checks == {"qc_quarantine": "SUCCEEDED", "missing_sessions": "SUCCEEDED"}
        backtest_checks = {c["name"]: c["executionForLatestMaterialization"]["status"]
                           for c in nodes["us_eq/backtest_daily"]["assetChecksOrError"]["checks"]}  # fmt: skip
        assert backtest_checks == {"equity_reconciles": "SUCCEEDED", "no_missing_results": "SUCCEEDED"}
        assert "UserWarning" not in log.read_text()  # the instance has its dagster.yaml: no warning at start

        folder = Path(os.environ.get("UI_SCREENSHOTS", demo.folder / "screenshots"))
        folder.mkdir(parents=True, exist_ok=True)
        for png in _screenshots(port, folder):
            assert _not_blank(png), f"{png} looks blank"
    finally:
        stop(proc)
