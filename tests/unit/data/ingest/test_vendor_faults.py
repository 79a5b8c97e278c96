"""Done-when of the ingestion: 200 names x 8 years of synthetic vendor files with five injected faults ingest with
exactly those rows quarantined, every other row loaded, and no adjusted-close jump at any split ex-date."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from prometheus.data.ingest import ingest_vendor
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig, generate_market, write_vendor_files
from prometheus.data.timemachine import TimeMachine
from tests.support.ingest_kit import BAR_DELAY, CAL, MARKET

#: Injected fault -> the rule that must quarantine it.
FAULTS = {
    "negative_close": "non_positive_price",
    "nan_close": "missing_value",
    "spike_100x": "price_spike",
    "high_below_low": "high_low_inconsistent",
    "duplicate": "duplicate_row",
}


def _inject(prices: pl.DataFrame, split_symbols: set[str]) -> tuple[pl.DataFrame, dict[str, int]]:
    """Text prices with one fault each on five different split-free names in mid history; returns the file rows."""
    text = (
        prices.with_row_index("_row", offset=1)
        .cast({"_row": pl.Int64})
        .cast({c: pl.String for c in ("open", "high", "low", "close")})
    )
    counts = prices.group_by("symbol").len()
    full = counts.filter(pl.col("len") == counts["len"].max())["symbol"].sort().to_list()
    names = [s for s in full if s not in split_symbols][:5]
    sessions = sorted(prices["date"].unique().to_list())
    rows: dict[str, int] = {}
    for k, (fault, symbol) in enumerate(zip(FAULTS, names, strict=True)):
        day = sessions[300 + 250 * k]
        rows[fault] = text.filter((pl.col("symbol") == symbol) & (pl.col("date") == day))["_row"].item()
    bar = text.filter(pl.col("_row") == rows["spike_100x"]).row(0, named=True)
    edits = {
        "negative_close": {"close": "-" + text.filter(pl.col("_row") == rows["negative_close"])["close"].item()},
        "nan_close": {"close": "NaN"},
        "spike_100x": {c: f"{float(bar[c]) * 100:.2f}" for c in ("open", "high", "low", "close")},
        "high_below_low": {"high": "0.01"},
    }
    for fault, cells in edits.items():
        hit = pl.col("_row") == rows[fault]
        text = text.with_columns([pl.when(hit).then(pl.lit(v)).otherwise(pl.col(c)).alias(c) for c in cells for v in
                                  [cells[c]]])  # fmt: skip
    duplicate = text.filter(pl.col("_row") == rows["duplicate"])
    rows["duplicate"] = text.height + 1  # the appended copy is the extra row; the original loads
    return pl.concat([text, duplicate]).drop("_row"), rows


@pytest.fixture(scope="module")
def vendor_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int], int]:
    market = generate_market(SyntheticConfig(n_names=200, years=8, seed=11))
    directory = tmp_path_factory.mktemp("vendor") / "us_eq"
    write_vendor_files(market, directory)
    splits = set(market.corporate_actions.filter(pl.col("action") == "split")["symbol"].to_list())
    faulty, rows = _inject(market.prices, splits)
    faulty.write_csv(directory / "prices.csv")
    return directory, rows, market.prices.height


def test_ingest_when_five_faults_injected_quarantines_exactly_them(
    vendor_dir: tuple[Path, dict[str, int], int], tmp_path: Path
) -> None:
    directory, rows, clean_rows = vendor_dir
    store = HistoricalStore(tmp_path / "lake")
    report = ingest_vendor(store, directory, MARKET, bar_delay=BAR_DELAY, calendar=CAL)

    assert report.quarantined == {rule: 1 for rule in FAULTS.values()}
    quarantine = store.read(Table.QUARANTINE)
    assert dict(zip(quarantine["row"], quarantine["rule"], strict=True)) == {rows[f]: r for f, r in FAULTS.items()}
    assert all(quarantine["reason"].str.len_chars() > 0)
    assert set(quarantine["source"]) == {"us_eq/prices.csv"}
    # Every other row loaded: the file has the clean rows plus one duplicate; four originals were broken.
    assert report.loaded[Table.PRICES_DAILY.value] == clean_rows - 4
    assert store.read(Table.PRICES_DAILY).height == clean_rows - 4
    other_files = {f.source: f for f in report.files if f.source != "us_eq/prices.csv" and f.source != "derived"}
    assert all(f.rows_quarantined == 0 and f.rows_loaded >= f.rows_read for f in other_files.values())


def test_adjusted_close_when_ingested_has_no_jump_at_any_split_ex_date(
    vendor_dir: tuple[Path, dict[str, int], int], tmp_path: Path
) -> None:
    directory, _, _ = vendor_dir
    store = HistoricalStore(tmp_path / "lake")
    ingest_vendor(store, directory, MARKET, bar_delay=BAR_DELAY, calendar=CAL)
    view = TimeMachine(store, datetime(2030, 1, 1, tzinfo=UTC))
    splits = view.table(Table.CORPORATE_ACTIONS).filter(pl.col("action") == "split").select("date", "symbol", "value")
    assert splits.height >= 10
    log_ret = (pl.col("close") / pl.col("close").shift(1).over("symbol")).log()
    adjusted = view.table(Table.PRICES_ADJUSTED).sort("symbol", "date").with_columns(log_ret.alias("adj"))
    raw = view.table(Table.PRICES_DAILY).sort("symbol", "date").with_columns(log_ret.alias("raw"))
    at_ex = splits.join(adjusted.select("date", "symbol", "adj"), on=["date", "symbol"]).join(
        raw.select("date", "symbol", "raw"), on=["date", "symbol"]
    )
    assert at_ex.height == splits.height
    assert (at_ex["raw"].abs() > 0.4).all()  # the raw close jumps (2-for-1 or 1-for-10)
    assert (at_ex["adj"].abs() < 0.25).all()  # the adjusted close does not
