"""End to end: after a small demo, ``prometheus ui`` shows what the demo built — GraphQL counts and screenshots.

The demo runs as Dagster runs in the data root's instance; the UI started by ``prometheus ui`` on that instance
must report every partition the demo built as materialised, with its checks. Playwright drives Debian's headless
``chromium`` (no browser download) to take screenshots of the lineage, a partitioned asset and its checks; they
are written under ``UI_SCREENSHOTS`` when set (``docs/ui/`` holds a set taken this way), else under the test's
folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pytest
from playwright.sync_api import sync_playwright

from tests.support.dagster_ui import free_port, stop, wait_for_assets

ROOT = Path(__file__).resolve().parents[2]
COUNTS_QUERY = """
{ assetNodes { assetKey { path } isPartitioned
    partitionStats { numMaterialized numPartitions numFailed }
    assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { status } } } } } }
"""
#: Months of the demo market below (2014-01 .. 2016-01: 2 years from 2014-01-02 end on 2016-01-01).
DEMO_MONTHS = 25
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


@pytest.mark.slow
def test_ui_after_demo_shows_every_partition_built_with_checks_and_screenshots(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_") and k != "DAGSTER_HOME"}
    env["PROMETHEUS_DATA_ROOT"] = str(tmp_path / "data")
    prometheus = str(Path(sys.executable).with_name("prometheus"))
    demo = [prometheus, "demo", "--names", "20", "--years", "2", "--news-months", "1"]
    done = subprocess.run(demo, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr

    port, log = free_port(), tmp_path / "ui.log"
    with log.open("w") as out:
        proc = subprocess.Popen([prometheus, "ui", "--port", str(port)], cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        nodes = {"/".join(n["assetKey"]["path"]): n for n in wait_for_assets(port, COUNTS_QUERY, proc, log)}
        built = {"prices_adjusted": DEMO_MONTHS, "trading_sessions": DEMO_MONTHS, "profiles": DEMO_MONTHS,
                 "instrument_embeddings": DEMO_MONTHS, "encoder_model": 3, "news_embeddings": 1}  # fmt: skip
        for asset, partitions in built.items():
            stats = nodes[f"us_eq/{asset}"]["partitionStats"]
            assert stats["numMaterialized"] == partitions, (asset, stats)
            assert stats["numFailed"] == 0
        checks = {c["name"]: c["executionForLatestMaterialization"]["status"]
                  for c in nodes["us_eq/prices_daily"]["assetChecksOrError"]["checks"]}  # fmt: skip
        assert checks == {"qc_quarantine": "SUCCEEDED", "missing_sessions": "SUCCEEDED"}
        assert "UserWarning" not in log.read_text()  # the instance has its dagster.yaml: no warning at start

        folder = Path(os.environ.get("UI_SCREENSHOTS", tmp_path / "screenshots"))
        folder.mkdir(parents=True, exist_ok=True)
        for png in _screenshots(port, folder):
            assert _not_blank(png), f"{png} looks blank"
    finally:
        stop(proc)
