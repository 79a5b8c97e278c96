"""The commit journal: how a set of staged partition files becomes visible together, and how a commit interrupted
by a crash is finished.

A transaction writes each new partition to a temporary file beside its target (nothing visible yet), then writes a
journal naming every (temporary file, target) pair: writing the journal is the commit point. The renames follow;
the journal is deleted once they are all done. A writer killed before the journal exists leaves only temporary
files (swept later) and the previous state; one killed after it leaves a journal, and whoever finds it next
(the next writer of those tables, or a reader that can take their locks) renames what is left: roll forward,
never back, because some targets may already show the new data.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prometheus.core.errors import StoreError

#: Folder of the journals under the lake root.
JOURNAL_DIR = ".journal"
_SUFFIX = ".json"


@dataclass(frozen=True)
class Journal:
    """One commit: its id, the tables it writes and the renames (paths relative to the lake root), in order."""

    path: Path
    txid: str
    tables: tuple[str, ...]
    renames: tuple[tuple[str, str], ...]


def new_txid() -> str:
    """A unique, time-ordered transaction id."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def write(root: Path, txid: str, tables: tuple[str, ...], renames: list[tuple[Path, Path]]) -> Journal:
    """Write the journal of a commit durably (temporary file, fsync, rename, fsync of the folder)."""
    folder = root / JOURNAL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    pairs = tuple((str(s.relative_to(root)), str(t.relative_to(root))) for s, t in renames)
    body = json.dumps({"txid": txid, "pid": os.getpid(), "tables": list(tables), "renames": [list(p) for p in pairs]})
    path = folder / f"{txid}{_SUFFIX}"
    tmp = folder / f".{txid}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(folder)
    return Journal(path, txid, tables, pairs)


def pending(root: Path) -> list[Journal]:
    """Journals of commits not yet finished, oldest first (empty when there are none: one failed ``scandir``)."""
    try:
        entries = sorted(e.path for e in os.scandir(root / JOURNAL_DIR) if e.name.endswith(_SUFFIX))
    except FileNotFoundError:
        return []
    journals = []
    for entry in entries:
        journal = read(Path(entry))
        if journal is not None:
            journals.append(journal)
    return journals


def read(path: Path) -> Journal | None:
    """The journal at ``path``, or None when it was finished (deleted) meanwhile.

    Raises
    ------
    StoreError
        The journal is not readable JSON of a commit (the message names the file).
    """
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        renames = tuple((str(s), str(t)) for s, t in record["renames"])
        return Journal(path, str(record["txid"]), tuple(record["tables"]), renames)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"commit journal {path} is unreadable ({exc}); inspect it, then delete it") from None


def apply(root: Path, journal: Journal) -> None:
    """Rename every staged file of ``journal`` over its target, in order, then delete the journal.

    A staged file that no longer exists was renamed by an earlier attempt: re-applying a journal is harmless.
    """
    folders: set[Path] = set()
    for staged, target in journal.renames:
        source = root / staged
        if source.exists():
            os.replace(source, root / target)
            folders.add((root / target).parent)
    for folder in sorted(folders):
        fsync_dir(folder)
    finish(journal)


def finish(journal: Journal) -> None:
    """Delete the journal of a commit whose renames are all done."""
    journal.path.unlink(missing_ok=True)
    fsync_dir(journal.path.parent)


def staged_files(journals: list[Journal], root: Path) -> set[Path]:
    """Staged files that unfinished commits still need (never swept)."""
    return {root / staged for journal in journals for staged, _ in journal.renames}


def fsync_dir(path: Path) -> None:
    """fsync a folder, so that renames and deletions in it survive a power loss."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
