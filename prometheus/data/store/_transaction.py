"""A transaction over several tables of the lake: every partition it writes becomes visible at its commit, together.

Obtained from :meth:`HistoricalStore.transaction`, which holds the writer locks of the declared tables for the
whole block (so what the block read is still what is stored when it commits) and commits when the block ends
without an exception; see ``_journal`` for the commit itself and its recovery after a crash.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from prometheus.core.errors import StoreError
from prometheus.core.types import Market
from prometheus.data.schema import Table, TableSchema
from prometheus.data.store import _journal, _layout, _validate
from prometheus.data.store._layout import PART_FILE, Partition

#: Renamed last at a commit, so that the log says a run succeeded only once all its data is in place.
_LAST = Table.INGESTION_LOG.value


class StoreTransaction:
    """Partition writes staged as temporary files until :meth:`commit` (or deleted by :meth:`abort`).

    ``write``, ``write_frame`` and ``merge`` behave as the store's methods of the same name, but nothing is visible
    before the commit; a partition written twice in one transaction keeps the second version, and ``merge`` reads
    the version staged earlier in the transaction when there is one.
    """

    def __init__(self, root: Path, tables: frozenset[str]) -> None:
        self.root = root
        self.tables = tables
        self.txid = _journal.new_txid()
        self._staged: dict[Path, tuple[str, Path]] = {}  # target -> (table, temporary file)

    @property
    def staged(self) -> int:
        """Partitions staged so far."""
        return len(self._staged)

    def write(
        self, table: Table | str, frame: pl.DataFrame, *, market: Market | str, period: int | str | date | None
    ) -> Path:
        """Stage one partition of ``table`` (see :meth:`HistoricalStore.write`)."""
        schema = self._schema(table)
        partition = _layout.make_partition(schema.partitioning, market, period)
        conformed = _validate.conform(schema, frame)
        _validate.check_in_partition(schema, conformed, partition)
        return self._stage(schema, partition, conformed)

    def write_frame(self, table: Table | str, frame: pl.DataFrame) -> list[Path]:
        """Stage every partition ``frame`` touches (see :meth:`HistoricalStore.write_frame`)."""
        schema = self._schema(table)
        conformed = _validate.conform(schema, frame)
        return [self._stage(schema, p, part) for p, part in _validate.split(schema, conformed)]

    def merge(self, table: Table | str, frame: pl.DataFrame) -> list[Path]:
        """Stage the upsert of ``frame`` by key (see :meth:`HistoricalStore.merge`)."""
        schema = self._schema(table)
        conformed = _validate.conform(schema, frame)
        return [
            self._stage(schema, p, _validate.upsert(schema, self._read(schema, p), part))
            for p, part in _validate.split(schema, conformed)
        ]

    def commit(self) -> None:
        """Make every staged partition visible: journal (the commit point), renames, journal deleted."""
        if not self._staged:
            return
        order = sorted(self._staged.items(), key=lambda item: item[1][0] == _LAST)
        journal = _journal.write(self.root, self.txid, tuple(sorted(self.tables)), [(t, s) for s, (_, t) in order])
        _journal.apply(self.root, journal)
        self._staged.clear()

    def abort(self) -> None:
        """Delete every staged file; the lake stays as it was."""
        for _, temporary in self._staged.values():
            temporary.unlink(missing_ok=True)
        self._staged.clear()

    def _schema(self, table: Table | str) -> TableSchema:
        schema = _validate.table_schema(table)
        if schema.table.value not in self.tables:
            raise StoreError(
                f"{schema.table.value}: not declared by this transaction (declared: {sorted(self.tables)}); "
                "declare every table a transaction writes, so that their locks are taken together"
            )
        return schema

    def _target(self, schema: TableSchema, partition: Partition) -> Path:
        return _layout.partition_dir(self.root / schema.table.value, partition) / PART_FILE

    def _read(self, schema: TableSchema, partition: Partition) -> pl.DataFrame:
        target = self._target(schema, partition)
        staged = self._staged.get(target)
        return _layout.read_partition_file(staged[1] if staged else target, schema, partition)

    def _stage(self, schema: TableSchema, partition: Partition, frame: pl.DataFrame) -> Path:
        target = self._target(schema, partition)
        try:
            temporary = _layout.write_temp(_layout.file_body(schema, frame), target)
        except OSError as exc:
            raise StoreError(f"{schema.table.value}: cannot stage partition {partition.label()}: {exc}") from exc
        previous = self._staged.get(target)
        if previous is not None:
            previous[1].unlink(missing_ok=True)
        self._staged[target] = (schema.table.value, temporary)
        return target
