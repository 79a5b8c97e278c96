"""Writer locks across processes: one writer at a time per table of a lake.

Per table rather than per store: tables are written by independent producers (vendor ingestion, the calendar's
sessions, encoders, profiles) that must not queue behind each other. A writer that reads tables to derive others
(a publication reads the stored bars and actions to derive adjusted prices) takes the locks of every table it
reads-then-writes, all at once and in one global order (sorted by name), so two writers cannot deadlock.

Mechanism: ``fcntl.flock`` on ``<lake>/.locks/<table>.lock``. The kernel drops the lock when its holder dies, even
by SIGKILL, so a crashed writer never leaves a stale lock behind. While held, the file names its holder (pid,
host, command, since) so that a writer that gives up waiting can say who holds it. flock is advisory and local to
one machine: several machines writing one lake over a network file system need another guard.

Locks are re-entrant per thread within a process (a publication holding the ``ingestion_log`` lock may call
``store.merge(ingestion_log, ...)``); another thread of the same process waits like another process.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prometheus.core.errors import StoreError

#: Folder of the lock files under the lake root (a dot folder: no table is called that).
LOCK_DIR = ".locks"
#: How long a writer waits for a table held by another writer before giving up (seconds).
DEFAULT_LOCK_TIMEOUT_S = 300.0
_POLL_S = (0.01, 0.1)  # first and longest pause between attempts: a waiter starts at most 0.1 s late
_COMMAND_CHARS = 300


@dataclass(frozen=True)
class LockHolder:
    """Who holds a table lock: process, host, command line and since when (UTC)."""

    pid: int
    host: str
    command: str
    since: datetime

    def describe(self) -> str:
        """``pid 123 on host (command) since 2024-01-02T03:04:05Z``."""
        return f"pid {self.pid} on {self.host} ({self.command}) since {self.since:%Y-%m-%dT%H:%M:%SZ}"


class StoreLockedError(StoreError):
    """Another writer holds a table for longer than this writer was willing to wait."""

    def __init__(self, table: str, lock_file: Path, holder: LockHolder | None, waited_s: float) -> None:
        who = holder.describe() if holder else "another writer (it did not record who)"
        super().__init__(
            f"{table}: the table is being written by {who}; gave up after waiting {waited_s:.1f} s. Wait for that "
            f"writer to finish (or stop it), or allow a longer lock timeout. Lock file: {lock_file}"
        )
        self.table, self.holder = table, holder


@dataclass
class _Slot:
    """This process's state of one lock file: the owning thread, its re-entry depth and the open descriptor."""

    mutex: threading.Lock
    owner: int | None = None
    depth: int = 0
    fd: int | None = None


_SLOTS: dict[Path, _Slot] = {}
_GUARD = threading.Lock()


def _forget_inherited_locks() -> None:
    # A forked child does not own its parent's locks: it must wait for them like any other process.
    global _GUARD
    _SLOTS.clear()
    _GUARD = threading.Lock()


os.register_at_fork(after_in_child=_forget_inherited_locks)


def _slot(path: Path) -> _Slot:
    with _GUARD:
        return _SLOTS.setdefault(path, _Slot(threading.Lock()))


class TableLocks:
    """The writer locks of one lake.

    Parameters
    ----------
    root
        The lake folder; lock files live in ``<root>/.locks``.
    timeout_s
        Default wait for a lock held elsewhere before :class:`StoreLockedError` (0: do not wait).
    """

    def __init__(self, root: Path, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        self.root = root
        self.timeout_s = timeout_s

    def path(self, table: str) -> Path:
        """Lock file of ``table``."""
        return self.root / LOCK_DIR / f"{table}.lock"

    def holds(self, table: str) -> bool:
        """Whether the calling thread holds ``table``."""
        slot = _SLOTS.get(self.path(table))
        return slot is not None and slot.owner == threading.get_ident()

    def holds_any(self) -> bool:
        """Whether the calling thread holds any lock of this lake."""
        me = threading.get_ident()
        prefix = self.root / LOCK_DIR
        return any(s.owner == me and p.parent == prefix for p, s in list(_SLOTS.items()))

    def holder(self, table: str) -> LockHolder | None:
        """Who holds ``table`` now, as its lock file says (None when free or unrecorded)."""
        return _read_holder(self.path(table))

    @contextmanager
    def hold(
        self,
        tables: Iterable[str],
        *,
        timeout_s: float | None = None,
        on_acquire: Callable[[str], None] | None = None,
    ) -> Iterator[None]:
        """Hold every table of ``tables`` (taken in sorted order) for the duration of the block.

        ``on_acquire(table)`` runs for each table this thread did not already hold, right after taking it.

        Raises
        ------
        StoreLockedError
            A table stayed held by another writer for ``timeout_s`` (default: the store's timeout).
        """
        wait = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + wait
        with ExitStack() as stack:
            for table in sorted(set(tables)):
                fresh = _acquire(self.path(table), table, deadline, wait)
                stack.callback(_release, self.path(table))
                if fresh and on_acquire is not None:
                    on_acquire(table)
            yield


def _acquire(path: Path, table: str, deadline: float, wait: float) -> bool:
    """Take ``path`` for this thread; True when newly taken, False when re-entered."""
    slot = _slot(path)
    me = threading.get_ident()
    if slot.owner == me:
        slot.depth += 1
        return False
    started = time.monotonic()
    if not slot.mutex.acquire(timeout=max(deadline - started, 0.0)):
        raise StoreLockedError(table, path, _read_holder(path), time.monotonic() - started)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        pause = _POLL_S[0]
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    os.close(fd)
                    raise StoreLockedError(table, path, _read_holder(path), time.monotonic() - started) from None
                time.sleep(min(pause, left))
                pause = min(pause * 2, _POLL_S[1])
        _write_holder(fd)
    except BaseException:
        slot.mutex.release()
        raise
    slot.owner, slot.depth, slot.fd = me, 1, fd
    return True


def _release(path: Path) -> None:
    slot = _SLOTS[path]
    slot.depth -= 1
    if slot.depth:
        return
    fd, slot.fd, slot.owner = slot.fd, None, None
    try:
        if fd is not None:
            # Cleared before unlocking: an empty file means nobody holds it.
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
    finally:
        slot.mutex.release()


def _write_holder(fd: int) -> None:
    command = " ".join([Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]])
    record = {"pid": os.getpid(), "host": socket.gethostname(), "command": command[:_COMMAND_CHARS],
              "since": datetime.now(UTC).isoformat()}  # fmt: skip
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode(), 0)


def _read_holder(path: Path) -> LockHolder | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8") or "null")
        if not record:
            return None
        return LockHolder(int(record["pid"]), str(record["host"]), str(record["command"]),
                          datetime.fromisoformat(record["since"]))  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        # Absent, being rewritten, or not ours: the error message then says the holder is unknown.
        return None
