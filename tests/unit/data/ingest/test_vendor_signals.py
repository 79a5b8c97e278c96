"""signals.csv: known at published_at, revisions as new rows, bad rows quarantined by file, row and field."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from prometheus.core.errors import DataError
from prometheus.data.schema import SIGNALS, Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import TimeMachine
from tests.support.ingest_kit import (
    LATER,
    LENIENT,
    MARKET,
    SESSIONS,
    clean_prices,
    close_at,
    ingest,
    load,
    set_cell,
    write_vendor,
)

D = SESSIONS
AFTER = timedelta(minutes=30)


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(directory: Path, rows: list[tuple[int, str, str, str, datetime | str]]) -> Path:
    """A clean delivery plus ``signals.csv`` with rows (session index, symbol, signal, value, published_at)."""
    write_vendor(directory)
    frame = pl.DataFrame(
        [{"date": D[k].isoformat(), "symbol": s, "signal": n, "value": v,
          "published_at": p if isinstance(p, str) else _stamp(p)} for k, s, n, v, p in rows],
        schema=dict.fromkeys(("date", "symbol", "signal", "value", "published_at"), pl.String),
    )  # fmt: skip
    frame.write_csv(directory / "signals.csv")
    return directory


def test_signals_when_clean_load_with_known_at_the_publication(tmp_path: Path) -> None:
    rows = [(3, "AAA", "alpha", "0.25", close_at(D[3]) + AFTER), (3, "BBB", "noise_1", "-1.5e-2", close_at(D[3]))]
    batch = load(_write(tmp_path / "vendor", rows))
    signals = batch.tables[Table.SIGNALS].sort("symbol")
    assert signals.schema == SIGNALS.polars_schema
    assert signals.select("market", "date", "symbol", "signal", "value").rows() == [
        (MARKET.value, D[3], "AAA", "alpha", 0.25),
        (MARKET.value, D[3], "BBB", "noise_1", -0.015),
    ]
    # Published exactly at the close is allowed: only a value stamped before its session closed is suspect.
    assert signals["known_at"].to_list() == [close_at(D[3]) + AFTER, close_at(D[3])]
    assert batch.quarantine.is_empty()


def test_signals_when_revised_in_one_file_keep_both_and_views_serve_each_in_its_time(tmp_path: Path) -> None:
    first, second = close_at(D[3]) + AFTER, close_at(D[5]) + AFTER
    rows = [(3, "AAA", "alpha", "0.25", first), (3, "AAA", "alpha", "0.75", second)]
    store = HistoricalStore(tmp_path / "lake")
    report = ingest(store, _write(tmp_path / "vendor", rows))
    assert report.loaded[Table.SIGNALS.value] == 2
    assert store.read(Table.SIGNALS).sort("known_at")["value"].to_list() == [0.25, 0.75]

    def value_at(t: datetime) -> list[float]:
        return TimeMachine(store, t).table(Table.SIGNALS, market=MARKET)["value"].to_list()

    assert value_at(first - timedelta(microseconds=1)) == []
    assert value_at(first) == [0.25]
    assert value_at(second - timedelta(microseconds=1)) == [0.25]
    assert value_at(second) == [0.75]


def test_signals_when_corrected_by_a_later_delivery_are_a_revision_known_at_its_ingestion(tmp_path: Path) -> None:
    published = close_at(D[3]) + AFTER
    store = HistoricalStore(tmp_path / "lake")
    ingest(store, _write(tmp_path / "v1", [(3, "AAA", "alpha", "0.25", published)]))
    again = ingest(store, _write(tmp_path / "v1", [(3, "AAA", "alpha", "0.25", published)]))
    assert again.loaded[Table.SIGNALS.value] == 0  # the same file again adds nothing
    # The vendor re-sends the same publication with another value: the platform learns it when it ingests it.
    corrected = ingest(store, _write(tmp_path / "v2", [(3, "AAA", "alpha", "0.5", published)]))
    assert corrected.revised[Table.SIGNALS.value] == 1
    stored = store.read(Table.SIGNALS).sort("known_at")
    assert stored["value"].to_list() == [0.25, 0.5]
    assert stored["known_at"][0] == published
    assert stored["known_at"][1] == corrected.started_at
    assert TimeMachine(store, corrected.started_at - timedelta(seconds=1)).table(Table.SIGNALS)["value"].item() == 0.25


def test_signals_when_bad_are_quarantined_naming_file_row_and_field_and_nothing_is_lost(tmp_path: Path) -> None:
    good = close_at(D[4]) + AFTER
    rows = [
        (4, "AAA", "alpha", "0.1", good),  # row 1 loads
        (4, "ZZZ", "alpha", "0.1", good),  # row 2: unknown symbol
        (4, "AAA", "beta", "inf", good),  # row 3: non-finite
        (4, "AAA", "gamma", "", good),  # row 4: missing value
        (4, "AAA", "alpha", "0.2", good),  # row 5: duplicate of row 1 (same publication)
        (4, "AAA", "delta", "0.3", close_at(D[4]) - timedelta(hours=2)),  # row 6: before the close
        (4, "BBB", "alpha", "0.4", _stamp(LATER + timedelta(days=1))),  # row 7: after the ingestion
    ]
    batch = load(_write(tmp_path / "vendor", rows), LENIENT)
    quarantine = batch.quarantine.sort("row").select("source", "row", "field", "rule")
    assert quarantine.rows() == [
        ("vendor/signals.csv", 2, "symbol", "unknown_symbol"),
        ("vendor/signals.csv", 3, "value", "non_finite_number"),
        ("vendor/signals.csv", 4, "value", "missing_value"),
        ("vendor/signals.csv", 5, "published_at", "duplicate_row"),
        ("vendor/signals.csv", 6, "published_at", "published_before_close"),
        ("vendor/signals.csv", 7, "published_at", "future_date"),
    ]
    assert batch.tables[Table.SIGNALS]["value"].to_list() == [0.1]
    report = next(f for f in batch.files if f.table is Table.SIGNALS)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (7, 1, 6)


def test_signals_when_published_before_close_reason_names_the_close(tmp_path: Path) -> None:
    early = close_at(D[4]) - timedelta(hours=2)
    batch = load(_write(tmp_path / "vendor", [(4, "AAA", "alpha", "0.1", early)]), LENIENT)
    reason = batch.quarantine["reason"].item()
    assert "before the close" in reason
    assert str(D[4]) in reason
    assert batch.tables[Table.SIGNALS].is_empty()


def _many(n: int, early: int) -> list[tuple[int, str, str, str, datetime | str]]:
    """``n`` signal rows over D[0..], the first ``early`` of them published before their session's close."""
    rows: list[tuple[int, str, str, str, datetime | str]] = []
    for k in range(n):
        day, symbol = divmod(k, 3)
        stamp = close_at(D[day]) + (-AFTER if k < early else AFTER)
        rows.append((day, ("AAA", "BBB", "CCC")[symbol], "alpha", "0.1", stamp))
    return rows


def test_share_when_signals_mostly_quarantined_fails_on_their_own_share(tmp_path: Path) -> None:
    # 3 of 150 signal rows (2 %) are bad: far below 1 % of the whole delivery, above it for the signal feed.
    with pytest.raises(DataError, match=r"2\.0% of the rows of vendor/signals\.csv .*published_before_close 3"):
        load(_write(tmp_path / "vendor", _many(150, 3)))
    assert load(_write(tmp_path / "ok", _many(150, 1))).tables[Table.SIGNALS].height == 149


def test_share_when_many_signals_load_does_not_dilute_a_broken_price_feed(tmp_path: Path) -> None:
    # 2 bad bars of 183 (1.1 %) fail the delivery although 150 clean signal rows would dilute them below 1 %.
    directory = _write(tmp_path / "vendor", _many(150, 0))
    bad = set_cell(set_cell(clean_prices(), D[3], "BBB", close="-1"), D[4], "BBB", close="x")
    bad.write_csv(directory / "prices.csv")
    with pytest.raises(DataError, match=r"1\.1% of the delivery's rows .*\(2 of 186\)"):
        load(directory)
