"""Bad input, as a hostile-but-honest user delivers it: every class with its expected outcome.

Outcomes: **loaded** (every row, as a clean delivery would load), **quarantined** (exactly these rows, under these
rules; the rest loads), **rejected** (the whole delivery fails with a DataError naming the file and, where one can
be named, the row and field; nothing is published). ``CASES`` is the table; its class names and outcome counts are
what the issue note reports.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from prometheus.core.errors import DataError
from prometheus.data.ingest import Batch, QcConfig
from prometheus.data.ingest.files import NULL_SPELLINGS
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from tests.support.ingest_kit import (
    CAL,
    LATER,
    LENIENT,
    SESSIONS,
    actions_frame,
    clean_prices,
    close_at,
    edit_line,
    ingest,
    instruments,
    load,
    rewrite,
    set_cell,
    utc,
    wide_market,
    write_vendor,
)

D = SESSIONS
ROOT = Path(__file__).resolve().parents[4]
#: prices.csv lists AAA's sessions first: the bar of (D[10], AAA) is data row 11, line 12 (the header is line 1).
LINE = 12
_OHLC = ("open", "high", "low", "close")
Build = Callable[[Path], Path]


@dataclass(frozen=True)
class Loaded:
    """Every row loads; ``same`` also asks for the very tables a clean delivery gives."""

    same: bool = True


@dataclass(frozen=True)
class Quarantined:
    """Exactly these rows per rule are quarantined (run with a lenient share limit: one rule at a time)."""

    rules: dict[str, int]


@dataclass(frozen=True)
class Rejected:
    """The delivery fails: the message matches ``match``; the error names ``file`` (and ``row``, ``field``)."""

    match: str
    file: str
    row: int | None = None
    field: str | None = None


@dataclass(frozen=True)
class Case:
    """One bad input: its class, how to build it from a clean directory, and its outcome."""

    klass: str
    build: Build
    outcome: Loaded | Quarantined | Rejected
    at: datetime = LATER


# ---------------------------------------------------------------------------------------------------- builders
def clean(directory: Path) -> Path:
    return write_vendor(directory)


def cell(**values: object) -> Build:
    """The bar of (D[10], AAA) with these cells replaced (written by a CSV writer, quoted where needed)."""
    return lambda d: write_vendor(d, set_cell(clean_prices(), D[10], "AAA", **values))


def text(name: str, edit: Callable[[str], str] = lambda t: t, encoding: str = "utf-8", newline: str = "\n") -> Build:
    """A clean directory whose file ``name`` is rewritten through ``edit``, in ``encoding`` with ``newline``."""

    def build(d: Path) -> Path:
        rewrite(write_vendor(d) / name, edit, encoding, newline)
        return d

    return build


def raw_bytes(name: str, data: bytes) -> Build:
    def build(d: Path) -> Path:
        (write_vendor(d) / name).write_bytes(data)
        return d

    return build


def extra_bar(source: int = -1, **cells: object) -> Build:
    """A copy of (D[source], AAA)'s bar with these cells, appended."""

    def build(d: Path) -> Path:
        prices = clean_prices().cast(pl.String)
        row = prices.filter((pl.col("date") == D[source].isoformat()) & (pl.col("symbol") == "AAA"))
        return write_vendor(
            d, pl.concat([prices, row.with_columns([pl.lit(str(v)).alias(k) for k, v in cells.items()])])
        )

    return build


def action(value: str, kind: str = "split", announced: str = "2024-02-01T21:30:00Z") -> Build:
    def build(d: Path) -> Path:
        frame = actions_frame([(D[20], "AAA", kind, 1.0, announced)]).with_columns(pl.lit(value).alias("value"))
        return write_vendor(d, actions=frame)

    return build


def listing(
    symbol: str, listed: str | None = None, delisted: str | None = None, prices: pl.DataFrame | None = None
) -> Build:
    def build(d: Path) -> Path:
        names = instruments().with_columns(
            pl.when(pl.col("symbol") == symbol).then(pl.lit(listed)).otherwise(pl.col("listed")).alias("listed")
            if listed else pl.col("listed"),
            pl.when(pl.col("symbol") == symbol).then(pl.lit(delisted)).otherwise(pl.col("delisted")).alias("delisted"),
        )  # fmt: skip
        return write_vendor(d, prices, names=names)

    return build


def scaled(symbol: str, factor: float, first: int, last: int) -> pl.DataFrame:
    days = pl.col("date").is_between(pl.lit(D[first].isoformat()), pl.lit(D[last].isoformat()))
    hit = (pl.col("symbol") == symbol) & days
    return clean_prices().with_columns(
        [pl.when(hit).then((pl.col(c) * factor).round(2)).otherwise(pl.col(c)).alias(c) for c in _OHLC]
    )


def side_file(name: str, rows: list[dict[str, str]], extra: dict[str, list[dict[str, str]]] | None = None) -> Build:
    """A clean directory plus the optional file ``name`` (and ``extra`` files) with these rows."""

    def build(d: Path) -> Path:
        write_vendor(d)
        for file, content in {name: rows, **(extra or {})}.items():
            pl.DataFrame(content).write_csv(d / file)
        return d

    return build


def both_formats(d: Path) -> Path:
    write_vendor(d)
    clean_prices().write_parquet(d / "prices.parquet")
    return d


def parquet_prices(frame: pl.DataFrame) -> Build:
    def build(d: Path) -> Path:
        write_vendor(d, frame, parquet=True)
        return d

    return build


def _pq(**overrides: pl.Expr) -> pl.DataFrame:
    hit = (pl.col("date") == D[10]) & (pl.col("symbol") == "AAA")
    frame = clean_prices().with_columns(pl.col("date").str.to_date())
    return frame.with_columns([pl.when(hit).then(e).otherwise(pl.col(c)).alias(c) for c, e in overrides.items()])


def _news(published: str) -> list[dict[str, str]]:
    item = {
        "item_id": "n1",
        "published_at": "2024-02-01T14:00:00Z",
        "symbol": "AAA",
        "source": "wire",
        "headline": "ok",
    }
    return [item, {**item, "item_id": "n2", "published_at": published}]


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _signal_rows(**cells: str) -> list[dict[str, str]]:
    """Signal rows of AAA for D[3], D[4], D[5], each published 30 minutes after its close; the last with these
    cells replaced."""
    rows = [{"date": D[k].isoformat(), "symbol": "AAA", "signal": "alpha", "value": f"0.{k}",
             "published_at": _stamp(close_at(D[k]) + timedelta(minutes=30))} for k in (3, 4, 5)]  # fmt: skip
    rows[-1] = {**rows[-1], **cells}
    return rows


def signal(**cells: str) -> Build:
    """A clean directory plus ``signals.csv`` whose third row has these cells."""
    return side_file("signals.csv", _signal_rows(**cells))


def signal_extra(**cells: str) -> Build:
    """A clean directory plus ``signals.csv`` with a copy of its last row (these cells replaced) appended."""
    rows = _signal_rows()
    return side_file("signals.csv", [*rows, {**rows[-1], **cells}])


_SERIES = [{"series": "CPI", "name": "CPI", "frequency": "monthly", "unit": "%", "source": "x"}]
_HEADER = "date,symbol,open,high,low,close,volume"


def _drop_last_field(line: str) -> str:
    return line.rsplit(",", 1)[0]


# -------------------------------------------------------------------------------------------------------- cases
_Q, _L, _R = Quarantined, Loaded, Rejected
_INF = {f"inf-spelling-{s}": Case("non-finite number", cell(high=s), _Q({"non_finite_number": 1}))
        for s in ("inf", "Infinity", "+INF", "-inf", "1e400")}  # fmt: skip
_NULL = {f"null-spelling-{s or 'empty'}": Case("NaN/null spelling", cell(close=s), _Q({"missing_value": 1}))
         for s in ("", "NaN", "nan", "NA", "N/A", "#N/A", "null", "None")}  # fmt: skip
_GARBAGE = {
    f"number-{name}": Case(klass, cell(close=v), _Q({"unparsable_number": 1}))
    for name, klass, v in (
        ("thousands-separator", "thousands separator", "1,234.50"),
        ("decimal-comma", "thousands separator", "12,5"),
        ("currency-sign", "garbage number", "$12.50"),
        ("hex", "garbage number", "0x1A"),
        ("excel-inf", "non-finite number", "1.#INF"),
        ("underscore", "garbage number", "1_000"),
        ("nul-byte", "garbage number", "12\x005"),
    )
}
_DATES = {
    f"date-{name}": Case("date in another format", cell(date=v), _Q({"unparsable_date": 1}))
    for name, v in (
        ("slashes", "2024/01/17"),
        ("us-order", "01/17/2024"),
        ("compact", "20240117"),
        ("unpadded", "2024-1-17"),
        ("words", "17 Jan 2024"),
        ("with-time", "2024-01-17T00:00:00"),
        ("impossible", "2024-02-30"),
    )
}
_MACRO = side_file(
    "macro.csv",
    [{"series": "CPI", "date": "2024-05-31", "value": "3.1", "released_at": "2024-06-12T12:30:00Z"}],
    {"macro_series.csv": _SERIES},
)
_LAST = len(D) - 1
_SHARE_ABOVE = set_cell(set_cell(clean_prices(), D[3], "BBB", close="-1"), D[4], "BBB", close="x")
_PQ_INT_DATE = clean_prices().with_columns(pl.col("date").str.replace_all("-", "").cast(pl.Int64))
_REORDERED = ("volume", "close", "symbol", "low", "date", "high", "open")

CASES: dict[str, Case] = {
    # --- values: non-finite, huge, fractional, missing, unparsable
    **_INF,
    "huge-price": Case("huge number", cell(close="1e300"), _Q({"price_too_large": 1})),
    "huge-volume": Case("absurd volume", cell(volume="1e20"), _Q({"volume_too_large": 1})),
    "fractional-volume": Case("fractional volume", cell(volume="1234.5"), _Q({"fractional_volume": 1})),
    "whole-volume-with-decimals": Case("fractional volume", cell(volume="1500.0"), _L(same=False)),
    **_NULL,
    **_GARBAGE,
    "number-padded-with-spaces": Case("garbage number", cell(volume="  1500 "), _L(same=False)),
    **_DATES,
    "time-other-format": Case(
        "date in another format", action("2.0", announced="01/25/2024 21:30"), _Q({"unparsable_time": 1})
    ),
    # --- values: corporate actions
    "split-inf": Case("split ratio", action("inf"), _Q({"non_finite_number": 1})),
    "split-1e9": Case("split ratio", action("1e9"), _Q({"split_ratio_implausible": 1})),
    "split-1e-9": Case("split ratio", action("1e-9"), _Q({"split_ratio_implausible": 1})),
    "split-zero": Case("split ratio", action("0"), _Q({"split_ratio_non_positive": 1})),
    "split-nan": Case("split ratio", action("NaN"), _Q({"missing_value": 1})),
    # --- values: time (ingested at LATER, 2024-06-03 08:00 New York, before that day's close)
    "bar-today-before-close": Case("future date", extra_bar(date="2024-06-03"), _Q({"future_date": 1})),
    "bar-today-after-close": Case("future date", extra_bar(date="2024-06-03"), _L(same=False), utc(2024, 6, 3, 21)),
    "bar-tomorrow": Case("future date", extra_bar(date="2024-06-04"), _Q({"future_date": 1})),
    "bar-2099": Case("future date", extra_bar(date="2099-01-02"), _Q({"future_date": 1})),
    "action-announced-later": Case(
        "future date", action("2.0", announced="2024-07-01T12:00:00Z"), _Q({"future_date": 1})
    ),
    "news-published-later": Case(
        "future date", side_file("news.csv", _news("2024-07-01T12:00:00Z")), _Q({"future_date": 1})
    ),
    "macro-released-later": Case("future date", _MACRO, _Q({"future_date": 1})),
    "non-session-date": Case("calendar", extra_bar(date="2024-01-06"), _Q({"not_a_session": 1})),
    # --- signals.csv: the same conventions, plus a value stamped before its session closed
    "signal-unknown-symbol": Case("unknown symbol", signal(symbol="ZZZ"), _Q({"unknown_symbol": 1})),
    "signal-non-session-date": Case("calendar", signal(date="2024-01-06"), _Q({"not_a_session": 1})),
    "signal-value-inf": Case("non-finite number", signal(value="inf"), _Q({"non_finite_number": 1})),
    "signal-value-garbage": Case("thousands separator", signal(value="0,5"), _Q({"unparsable_number": 1})),
    "signal-value-missing": Case("NaN/null spelling", signal(value=""), _Q({"missing_value": 1})),
    "signal-name-missing": Case("NaN/null spelling", signal(signal=""), _Q({"missing_value": 1})),
    "signal-published-missing": Case("NaN/null spelling", signal(published_at="NA"), _Q({"missing_value": 1})),
    "signal-published-later": Case("future date", signal(published_at="2024-07-01T12:00:00Z"), _Q({"future_date": 1})),
    "signal-published-before-close": Case(
        "published before its session closed",
        signal(published_at=_stamp(close_at(D[5]) - timedelta(minutes=1))),
        _Q({"published_before_close": 1}),
    ),
    "signal-duplicate": Case("duplicated rows", signal_extra(), _Q({"duplicate_row": 1})),
    "signal-duplicate-conflicting": Case("duplicated rows", signal_extra(value="9.9"), _Q({"duplicate_row": 1})),
    "signal-revision": Case(
        "revision in the file",
        signal_extra(value="0.55", published_at=_stamp(close_at(D[6]) + timedelta(minutes=30))),
        _L(),
    ),
    "signal-header-only": Case(
        "empty file", raw_bytes("signals.csv", b"date,symbol,signal,value,published_at\n"), _L()
    ),
    "signal-without-published-column": Case(
        "columns",
        side_file("signals.csv", [{k: v for k, v in r.items() if k != "published_at"} for r in _signal_rows()]),
        _R("missing column", "signals.csv", field="published_at"),
    ),
    # --- values: listing window and jumps
    "bars-before-listing": Case("outside listing", listing("AAA", listed=D[5].isoformat()), _Q({"outside_listing": 5})),
    "bars-after-delisting": Case(
        "outside listing", listing("CCC", delisted=D[50].isoformat()), _Q({"outside_listing": len(D) - 51})
    ),
    "delisting-bar-drops-40pct": Case(
        "outside listing",
        listing("CCC", delisted=D[50].isoformat(), prices=scaled("CCC", 0.6, 50, 50)),
        _Q({"outside_listing": len(D) - 51}),
    ),
    "spike-mid-history": Case(
        "price spike", lambda d: write_vendor(d, scaled("AAA", 5.0, 30, 30)), _Q({"price_spike": 1})
    ),
    "spike-on-last-bar": Case(
        "price spike", lambda d: write_vendor(d, scaled("AAA", 5.0, _LAST, _LAST)), _Q({"unconfirmed_jump": 1})
    ),
    "unknown-symbol": Case("unknown symbol", extra_bar(symbol="ZZZ"), _Q({"unknown_symbol": 1})),
    # --- rows
    "duplicate-row-exact": Case("duplicated rows", extra_bar(10), _Q({"duplicate_row": 1})),
    "duplicate-row-conflicting": Case(
        "duplicated rows", extra_bar(10, close="99.99", high="120"), _Q({"duplicate_row": 1})
    ),
    "row-of-empty-fields": Case("empty row", text("prices.csv", lambda t: t + ",,,,,,\n"), _Q({"missing_value": 1})),
    "blank-lines": Case("blank lines", text("prices.csv", lambda t: t.replace("\n", "\n\n", 5) + "\n\n"), _L()),
    "short-row": Case(
        "field count",
        text("prices.csv", edit_line(LINE, _drop_last_field)),
        _R(r"6 field\(s\) where the header has 7", "prices.csv", row=LINE),
    ),
    "long-row": Case(
        "field count",
        text("prices.csv", edit_line(LINE, lambda line: line + ",1")),
        _R(r"8 field\(s\) where the header has 7", "prices.csv", row=LINE),
    ),
    "unterminated-quote": Case(
        "quoting",
        text("instruments.csv", edit_line(3, lambda line: line.replace("BBB Corp", '"BBB Corp'))),
        _R("cannot parse", "instruments.csv"),
    ),
    "quoted-comma-quote-newline": Case(
        "quoting",
        text("instruments.csv", edit_line(2, lambda line: line.replace("AAA Corp", '"AAA, ""the"" \nCorp"'))),
        _L(same=False),
    ),
    # --- encodings and line endings
    "utf8-bom": Case("encoding", text("prices.csv", encoding="utf-8-sig"), _L()),
    "utf16-le-bom": Case("encoding", text("prices.csv", encoding="utf-16"), _L()),
    "utf16-be-bom": Case("encoding", text("instruments.csv", lambda t: "\ufeff" + t, encoding="utf-16-be"), _L()),
    "latin1": Case(
        "encoding",
        text("instruments.csv", lambda t: t.replace("AAA Corp", "Société Générale"), "latin-1"),
        _R("not valid UTF-8 .*save it as UTF-8", "instruments.csv", row=2),
    ),
    "utf16-truncated": Case(
        "encoding",
        raw_bytes("prices.csv", ("\ufeff" + _HEADER + "\n1").encode("utf-16-le")[:-1]),  # half a character
        _R("not valid UTF-16", "prices.csv"),
    ),
    "crlf": Case("line endings", text("prices.csv", newline="\r\n"), _L()),
    "cr-only": Case("line endings", text("prices.csv", newline="\r"), _L()),
    # --- columns
    "missing-column": Case(
        "columns",
        lambda d: write_vendor(d, clean_prices().drop("volume")),
        _R("missing column", "prices.csv", field="volume"),
    ),
    "extra-columns": Case(
        "columns", lambda d: write_vendor(d, clean_prices().with_columns(note=pl.lit("x"), vwap=pl.lit(1))), _L()
    ),
    "duplicated-column": Case(
        "columns",
        text("prices.csv", lambda t: t.replace(_HEADER, "date,symbol,open,high,low,close,close", 1)),
        _R("'close' appears twice", "prices.csv", row=1, field="close"),
    ),
    "reordered-columns": Case("columns", lambda d: write_vendor(d, clean_prices().select(_REORDERED)), _L()),
    "header-case-and-spaces": Case(
        "columns", text("prices.csv", lambda t: t.replace(_HEADER, "Date, SYMBOL ,Open,High,Low,Close,Volume", 1)), _L()
    ),
    # --- files
    "empty-file": Case("empty file", raw_bytes("prices.csv", b""), _R("empty", "prices.csv", row=1)),
    "header-only-prices": Case(
        "empty file", raw_bytes("prices.csv", _HEADER.encode()), _R("no data rows", "prices.csv")
    ),
    "header-only-actions": Case(
        "empty file", raw_bytes("corporate_actions.csv", b"date,symbol,action,value,announced_at\n"), _L()
    ),
    "csv-and-parquet": Case(
        "two files for a table", both_formats, _R("both prices.csv and prices.parquet exist", "prices.csv")
    ),
    "parquet-inf": Case(
        "non-finite number", parquet_prices(_pq(high=pl.lit(float("inf")))), _Q({"non_finite_number": 1})
    ),
    "parquet-nan": Case("NaN/null spelling", parquet_prices(_pq(close=pl.lit(float("nan")))), _Q({"missing_value": 1})),
    "parquet-date-as-integer": Case(
        "parquet dtypes",
        parquet_prices(_PQ_INT_DATE),
        _R(r"98\.4% of the delivery's rows were quarantined.*unparsable_date 183", "prices.parquet", 1, "date"),
    ),
    # --- the delivery as a whole
    "share-below-maximum": Case("quarantine share", cell(close="-1"), _Q({"non_positive_price": 1})),
    "share-above-maximum": Case(
        "quarantine share",
        lambda d: write_vendor(d, _SHARE_ABOVE),
        _R(
            r"1\.1% .*\(2 of 186\), above the maximum 1\.0% .*top rules: unparsable_number 1, non_positive_price 1",
            "prices.csv",
            field="close",
        ),
    ),
    "everything-quarantined": Case(
        "quarantine share",
        lambda d: write_vendor(d, clean_prices().with_columns(pl.col("symbol").str.to_lowercase())),
        _R(r"98\.4% .*top rules: unknown_symbol 183", "prices.csv", row=1, field="symbol"),
    ),
}


@pytest.fixture(scope="module")
def clean_batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    return load(clean(tmp_path_factory.mktemp("clean")))


def _strict(case: Case) -> QcConfig | None:
    # A quarantine case tests one rule; the share limit has cases of its own ("share-*" run with the default).
    return None if case.klass == "quarantine share" or not isinstance(case.outcome, Quarantined) else LENIENT


@pytest.mark.parametrize("name", list(CASES))
def test_delivery_when_input_is_bad_has_its_expected_outcome(name: str, tmp_path: Path, clean_batch: Batch) -> None:
    case = CASES[name]
    directory = case.build(tmp_path / "vendor")
    outcome = case.outcome
    if isinstance(outcome, Rejected):
        with pytest.raises(DataError, match=outcome.match) as err:
            load(directory, _strict(case), case.at)
        assert str(err.value.file).endswith(outcome.file)
        assert outcome.row is None or err.value.row == outcome.row
        assert outcome.field is None or err.value.field == outcome.field
        return
    batch = load(directory, _strict(case), case.at)
    got = dict(zip(*batch.quarantine.group_by("rule").len().to_dict(as_series=False).values(), strict=True))
    if isinstance(outcome, Quarantined):
        assert got == outcome.rules
        assert batch.quarantine["reason"].str.len_chars().min() > 0  # type: ignore[operator]
        assert batch.quarantine["field"].is_not_null().all()
        return
    assert got == {}
    bars = batch.tables[Table.PRICES_DAILY]
    if outcome.same:
        for table in (Table.PRICES_DAILY, Table.INSTRUMENTS):
            assert_frame_equal(batch.tables[table], clean_batch.tables[table])
    else:
        assert bars.height >= clean_batch.tables[Table.PRICES_DAILY].height


def test_cases_when_counted_cover_every_class_with_each_outcome_kind() -> None:
    by_outcome: dict[str, int] = {}
    for case in CASES.values():
        kind = type(case.outcome).__name__
        by_outcome[kind] = by_outcome.get(kind, 0) + 1
    assert set(by_outcome) == {"Loaded", "Quarantined", "Rejected"}
    assert len({c.klass for c in CASES.values()}) >= 20


# ------------------------------------------------------------------------------------------- specific outcomes
def test_quoted_name_when_it_holds_comma_quote_and_newline_loads_verbatim(tmp_path: Path) -> None:
    batch = load(CASES["quoted-comma-quote-newline"].build(tmp_path))
    names = batch.tables[Table.INSTRUMENTS].filter(pl.col("symbol") == "AAA")["name"].unique().to_list()
    assert names == ['AAA, "the" \nCorp']


def test_header_only_optional_file_when_loaded_warns(tmp_path: Path) -> None:
    batch = load(CASES["header-only-actions"].build(tmp_path))
    assert len(batch.warnings) == 1
    assert batch.warnings[0].endswith("/corporate_actions.csv: header only, 0 rows loaded")
    assert batch.tables[Table.CORPORATE_ACTIONS].is_empty()


def test_delivery_when_fully_quarantined_fails_publishes_nothing_and_logs_failed(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    with pytest.raises(DataError, match="max_quarantine_fraction"):
        ingest(store, CASES["everything-quarantined"].build(tmp_path / "vendor"))
    assert store.read(Table.PRICES_DAILY).is_empty()
    assert store.read(Table.INGESTION_LOG)["status"].to_list() == ["failed"]


def test_share_limit_when_configured_higher_loads_the_rest(tmp_path: Path) -> None:
    directory = CASES["share-above-maximum"].build(tmp_path)
    batch = load(directory, QcConfig(max_quarantine_fraction=0.02))
    assert batch.quarantine.height == 2


# -------------------------------------------------------------------------------------------------- generated
def _write_csv(path: Path, frame: pl.DataFrame) -> None:
    """CSV through Python's writer with CRLF records: it then quotes a field holding a comma, a quote, a CR or an
    LF (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(frame.columns)
    writer.writerows([["" if v is None else str(v) for v in row] for row in frame.iter_rows()])
    path.write_bytes(buffer.getvalue().encode("utf-8"))


#: Any character but surrogates and control characters, plus the ones CSV must quote (comma, quote, CR, LF).
_QUOTABLE = st.characters(exclude_categories=("Cs", "Cc"), include_characters=',"\r\n')


def _not_a_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return value.strip().lower() not in NULL_SPELLINGS
    return False


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    garbage=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12).filter(_not_a_number),
    column=st.sampled_from(["open", "high", "low", "close", "volume"]),
)
def test_garbage_when_in_a_numeric_cell_is_quarantined_never_loaded(
    tmp_path_factory: pytest.TempPathFactory, garbage: str, column: str
) -> None:
    directory = write_vendor(tmp_path_factory.mktemp("g"))
    _write_csv(directory / "prices.csv", set_cell(clean_prices(), D[10], "AAA", **{column: garbage}))
    batch = load(directory)
    assert batch.quarantine.select("row", "field", "rule").rows() == [(11, column, "unparsable_number")]
    bars = batch.tables[Table.PRICES_DAILY]
    assert bars.filter((pl.col("symbol") == "AAA") & (pl.col("date") == D[10])).is_empty()
    assert bars.height == len(D) * 3 - 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(_QUOTABLE, min_size=1, max_size=30).filter(lambda s: s == s.strip() and s != ""))
def test_text_when_it_needs_quoting_round_trips_verbatim(tmp_path_factory: pytest.TempPathFactory, name: str) -> None:
    directory = write_vendor(tmp_path_factory.mktemp("q"))
    names = instruments().with_columns(
        pl.when(pl.col("symbol") == "BBB").then(pl.lit(name)).otherwise("name").alias("name")
    )
    _write_csv(directory / "instruments.csv", names)
    batch = load(directory)
    assert batch.tables[Table.INSTRUMENTS].filter(pl.col("symbol") == "BBB")["name"].unique().to_list() == [
        name.strip()
    ]


# ------------------------------------------------------------------------------------------------- a big file
_MEASURE = """
import resource, sys
from pathlib import Path
from prometheus.data.schema import Table
from tests.support.ingest_kit import load
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
batch = load(Path(sys.argv[1]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(batch.tables[Table.PRICES_DAILY].height, before * 1024, peak * 1024)
"""


def test_huge_file_when_loaded_keeps_memory_near_its_size(tmp_path: Path) -> None:
    sessions = CAL.sessions("US_EQ", "2020-01-02", "2023-12-29")
    names, prices = wide_market(300, sessions)
    directory = write_vendor(tmp_path / "vendor", prices, names=names)
    size = (directory / "prices.csv").stat().st_size
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(directory)], capture_output=True, text=True, cwd=ROOT,
                         check=True, timeout=300).stdout.split()  # fmt: skip
    rows, before, peak = (int(v) for v in out)
    assert rows == prices.height >= 300_000
    # Columnar text, never a Python object per row: the load costs a small multiple of the file's size.
    assert peak - before < 15 * size, f"{(peak - before) / size:.1f} x the file size ({size / 1e6:.1f} MB)"
