"""Writer locks: one writer per table across threads and processes, a clear message naming the holder, no stale lock
after a writer is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from prometheus.data.store import StoreLockedError
from prometheus.data.store._lock import TableLocks

# Holds the prices_daily lock of a lake and waits to be killed.
HOLDER = r"""
import sys, time
from pathlib import Path
from prometheus.data.store._lock import TableLocks
with TableLocks(Path(sys.argv[1])).hold(["prices_daily"]):
    print("READY", flush=True)
    time.sleep(600)
"""


def test_hold_when_reentered_by_same_thread_does_not_wait_and_clears_holder_at_the_end(tmp_path: Path) -> None:
    locks = TableLocks(tmp_path, timeout_s=0.0)

    with locks.hold(["prices_daily"]), locks.hold(["prices_daily", "quarantine"]):
        holder = locks.holder("prices_daily")
        assert locks.holds("prices_daily")
        assert locks.holds("quarantine")

    assert holder is not None
    assert holder.pid == os.getpid()
    assert locks.holder("prices_daily") is None
    assert not locks.holds_any()


def test_hold_when_other_thread_holds_times_out_naming_the_holder(tmp_path: Path) -> None:
    locks = TableLocks(tmp_path, timeout_s=0.2)
    taken, done = threading.Event(), threading.Event()

    def other() -> None:
        with locks.hold(["prices_daily"]):
            taken.set()
            done.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    taken.wait(10)
    try:
        with pytest.raises(StoreLockedError, match=rf"prices_daily: .* pid {os.getpid()} .* since \d{{4}}-"):
            with locks.hold(["prices_daily"]):
                pass
    finally:
        done.set()
        thread.join()


def test_hold_when_holder_releases_while_waiting_acquires(tmp_path: Path) -> None:
    locks = TableLocks(tmp_path, timeout_s=10.0)
    taken = threading.Event()

    def other() -> None:
        with locks.hold(["prices_daily"]):
            taken.set()
            time.sleep(0.3)

    thread = threading.Thread(target=other)
    thread.start()
    taken.wait(10)
    t0 = time.monotonic()
    with locks.hold(["prices_daily"]):
        waited = time.monotonic() - t0
    thread.join()

    assert waited >= 0.2


def test_write_when_other_process_holds_fails_with_pid_and_command_then_works_once_holder_killed(
    store, prices, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store.root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        impatient = type(store)(store.root, lock_timeout_s=0.3)
        with pytest.raises(StoreLockedError) as caught:
            impatient.write("prices_daily", prices(), market="US_EQ", period=2024)
        assert f"pid {proc.pid}" in str(caught.value)
        assert "(-c " in str(caught.value)  # the holder's command line
        assert "since" in str(caught.value)
        assert impatient.lock_holder("prices_daily").pid == proc.pid

        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # The kernel released the dead holder's lock: no stale lock, no waiting.
        type(store)(store.root, lock_timeout_s=0.0).write("prices_daily", prices(), market="US_EQ", period=2024)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
