"""Writers in other processes for the lock, commit and publication tests: spawn one, stop it at a chosen point of
its publication, kill it there (SIGKILL) or let it go on; plus small vendor deliveries and store snapshots.

A child runs ``python -c CHILD`` from the repository root, so it imports this module. It prints ``READY`` when it
reaches its stop point and then waits: ``hang`` forever (the parent kills it), ``pause`` until a file appears.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from prometheus.data.ingest import ingest_vendor
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore, _journal, _layout
from prometheus.data.store._layout import TMP_PREFIX
from tests.support.ingest_kit import BAR_DELAY, CAL, MARKET, clean_prices, instruments, write_vendor

ROOT = Path(__file__).resolve().parents[2]
#: The publish module itself (the package re-exports a function of the same name).
publish_module = importlib.import_module("prometheus.data.ingest.publish")
#: Where a child can stop inside a publication.
STOPS = ("derive", "stage", "commit", "finish")
#: Tables a vendor delivery without news, events or macro files writes (the log aside).
DATA_TABLES = (Table.INSTRUMENTS, Table.PRICES_DAILY, Table.CORPORATE_ACTIONS, Table.ADJUSTMENT_FACTORS,
               Table.PRICES_ADJUSTED, Table.QUARANTINE)  # fmt: skip

CHILD = "import sys; from tests.support.writer_kit import child_main; child_main(sys.argv[1:])"


def delivery(directory: Path, symbols: tuple[str, ...], seed: int = 3) -> Path:
    """A clean vendor delivery of ``symbols`` on every test session."""
    return write_vendor(directory, clean_prices(seed=seed, symbols=symbols), names=instruments(symbols))


def snapshot(store: HistoricalStore) -> dict[Table, pl.DataFrame]:
    """Every data table of a vendor delivery, as read."""
    return {t: store.read(t) for t in DATA_TABLES}


@dataclass
class Child:
    """A writer process and how to drive it."""

    proc: subprocess.Popen[str]

    def wait_ready(self) -> None:
        """Block until the child prints READY (it reached its stop point); fails with its stderr if it exits."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "READY":
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"child did not reach its stop point: {line!r}\n{err}")

    def kill(self) -> None:
        """SIGKILL the child and reap it."""
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=30) == -signal.SIGKILL
        self.close()

    def finish(self, timeout_s: float = 120.0) -> tuple[int, str, str]:
        """Wait for the child to exit; its return code, stdout and stderr."""
        out, err = self.proc.communicate(timeout=timeout_s)
        return self.proc.returncode, out, err

    def close(self) -> None:
        """Close the pipes (after kill)."""
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def spawn(lake: Path, directory: Path, ingested_at: datetime, stop: str = "", **options: Any) -> Child:
    """Start a child ingesting ``directory`` into ``lake``; ``stop`` is ``<point>:hang`` or ``<point>:pause=<file>``.

    Options: ``go`` (a file to wait for before ingesting), ``timeout`` (the store's lock timeout, seconds).
    """
    args = [str(lake), str(directory), ingested_at.isoformat(), stop, str(options.get("go", "")),
            str(options.get("timeout", 60.0))]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return Child(proc)


# ---------------------------------------------------------------------------------------------- in the child
def child_main(argv: list[str]) -> None:
    """Entry point of a child: install the stop, wait for ``go``, ingest, print what happened."""
    lake, directory, ingested_at, stop, go, timeout = argv
    if stop:
        point, mode = stop.split(":", 1)
        _install_stop(point, mode, Path(lake))
    store = HistoricalStore(Path(lake), lock_timeout_s=float(timeout))
    if go:
        print("READY", flush=True)
        while not Path(go).exists():
            time.sleep(0.01)
    at = datetime.fromisoformat(ingested_at)
    report = ingest_vendor(store, Path(directory), MARKET, bar_delay=BAR_DELAY, calendar=CAL, ingested_at=at)
    print(f"DONE {report.run_id} {datetime.now(UTC).isoformat()}", flush=True)


def _install_stop(point: str, mode: str, lake: Path) -> None:
    """Make the publication stop at ``point``: ``hang`` forever, or ``pause=<file>`` until the file exists."""

    def stop() -> None:
        print("READY", flush=True)
        if mode == "hang":
            time.sleep(600)
        marker = Path(mode.removeprefix("pause="))
        while not marker.exists():
            time.sleep(0.01)

    if point == "derive":  # locks held, the run logged incomplete, nothing staged
        original = publish_module.adjusted_revisions

        def derive(*args: Any, **kwargs: Any) -> Any:
            stop()
            return original(*args, **kwargs)

        publish_module.adjusted_revisions = derive
    elif point == "stage":  # some partitions staged, none visible
        write_temp, calls = _layout.write_temp, []

        def staged(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 4:  # the first call writes the "incomplete" log row itself
                stop()
            return write_temp(*args, **kwargs)

        _layout.write_temp = staged
    elif point == "commit":  # the journal written, one staged file renamed, the others not
        replace, renamed = os.replace, []

        def rename(src: Any, dst: Any) -> None:
            if Path(src).name.startswith(TMP_PREFIX) and _journal.pending(lake):
                renamed.append(1)
                if len(renamed) == 2:
                    stop()
            replace(src, dst)

        os.replace = rename
    elif point == "finish":  # every rename done, the journal not yet deleted
        finish = _journal.finish

        def finished(journal: Any) -> None:
            stop()
            finish(journal)

        _journal.finish = finished
