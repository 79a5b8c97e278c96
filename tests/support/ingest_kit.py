"""Builders of small vendor directories with hand-checkable contents, and functions shared by the ingestion tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import Batch, IngestReport, QcConfig, VendorSource, ingest_vendor
from prometheus.data.store import HistoricalStore

CAL = get_calendar()
MARKET = Market.US_EQ
BAR_DELAY = timedelta(minutes=5)
SESSIONS = CAL.sessions("US_EQ", "2024-01-02", "2024-03-28")
SYMBOLS = ("AAA", "BBB", "CCC")
#: QC thresholds that never fail a delivery for its quarantine share (tests of single rules break many rows).
LENIENT = QcConfig(max_quarantine_fraction=1.0)
#: An ingestion instant well after every session of ``SESSIONS``.
LATER = datetime(2024, 6, 3, 12, tzinfo=UTC)


def clean_prices(seed: int = 3, symbols: tuple[str, ...] = SYMBOLS) -> pl.DataFrame:
    """Random-walk daily bars (1 % daily sigma, cents) for ``symbols`` on every session of ``SESSIONS``."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, symbol in enumerate(symbols):
        close = 50.0 * (k + 1) * np.exp(np.cumsum(rng.normal(0.0, 0.01, len(SESSIONS))))
        prev = np.concatenate([[close[0]], close[:-1]])
        for d, o, c in zip(SESSIONS, prev, close, strict=True):
            o, c = round(float(o), 2), round(float(c), 2)
            rows.append({"date": d.isoformat(), "symbol": symbol, "open": o, "high": round(max(o, c) * 1.004, 2),
                         "low": round(min(o, c) * 0.996, 2), "close": c, "volume": 1000 + len(rows)})  # fmt: skip
    return pl.DataFrame(rows)


def instruments(symbols: tuple[str, ...] = SYMBOLS) -> pl.DataFrame:
    """One listed instrument per symbol, listed on the first session, none delisted."""
    return pl.DataFrame(
        {"symbol": list(symbols), "name": [f"{s} Corp" for s in symbols], "sector": "Tech", "exchange": "XNYS",
         "currency": "USD", "listed": SESSIONS[0].isoformat(), "delisted": None},
        schema_overrides={"delisted": pl.String},
    )  # fmt: skip


def write_vendor(
    directory: Path,
    prices: pl.DataFrame | None = None,
    actions: pl.DataFrame | None = None,
    names: pl.DataFrame | None = None,
    parquet: bool = False,
) -> Path:
    """Write ``instruments``, ``prices`` and (if given) ``corporate_actions`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    frames = {"instruments": names if names is not None else instruments(),
              "prices": prices if prices is not None else clean_prices()}  # fmt: skip
    if actions is not None:
        frames["corporate_actions"] = actions
    for stem, frame in frames.items():
        if parquet:
            frame.write_parquet(directory / f"{stem}.parquet")
        else:
            frame.write_csv(directory / f"{stem}.csv")
    return directory


def set_cell(prices: pl.DataFrame, d: date, symbol: str, **values: object) -> pl.DataFrame:
    """``prices`` as text with the given columns replaced (as text) on the row of (``d``, ``symbol``)."""
    text = prices.cast(pl.String)
    hit = (pl.col("date") == d.isoformat()) & (pl.col("symbol") == symbol)
    return text.with_columns(
        [pl.when(hit).then(pl.lit(str(v))).otherwise(pl.col(k)).alias(k) for k, v in values.items()]
    )


def ingest(store: HistoricalStore, directory: Path, qc_config: QcConfig | None = None) -> IngestReport:
    """Ingest ``directory`` for US_EQ with the test bar delay."""
    return ingest_vendor(store, directory, MARKET, bar_delay=BAR_DELAY, calendar=CAL, qc_config=qc_config)


def load(directory: Path, qc_config: QcConfig | None = None, ingested_at: datetime = LATER) -> Batch:
    """Parse and QC ``directory`` for US_EQ at ``ingested_at`` without publishing anything (fast)."""
    return VendorSource(directory, MARKET, CAL, BAR_DELAY, qc_config, ingested_at).load()


def close_at(d: date) -> datetime:
    """The US_EQ close of session ``d`` (UTC)."""
    return CAL.close_at(MARKET, d)


def utc(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def actions_frame(rows: list[tuple[date, str, str, float, str | None]]) -> pl.DataFrame:
    """``corporate_actions`` rows (ex-date, symbol, action, value, announced_at or None)."""
    return pl.DataFrame(
        [{"date": d.isoformat(), "symbol": s, "action": a, "value": v, "announced_at": t} for d, s, a, v, t in rows],
        schema={"date": pl.String, "symbol": pl.String, "action": pl.String, "value": pl.Float64,
                "announced_at": pl.String},
    )  # fmt: skip


def split_prices(prices: pl.DataFrame, symbol: str, ex_date: date, ratio: float) -> pl.DataFrame:
    """Raw prices of ``symbol`` divided by ``ratio`` from ``ex_date`` on (volumes multiplied), as a vendor delivers."""
    after = (pl.col("symbol") == symbol) & (pl.col("date") >= ex_date.isoformat())
    return prices.with_columns(
        *[pl.when(after).then((pl.col(c) / ratio).round(2)).otherwise(pl.col(c)).alias(c)
          for c in ("open", "high", "low", "close")],
        pl.when(after).then(pl.col("volume") * ratio).otherwise(pl.col("volume")).cast(pl.Int64).alias("volume"),
    )  # fmt: skip


def rewrite(path: Path, edit: Callable[[str], str] = lambda text: text, encoding: str = "utf-8",
            newline: str = "\n") -> Path:  # fmt: skip
    """Rewrite the text file ``path`` through ``edit``, with ``newline`` line endings, in ``encoding``."""
    text = edit(path.read_text(encoding="utf-8"))
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def edit_line(number: int, edit: Callable[[str], str]) -> Callable[[str], str]:
    """A text edit applying ``edit`` to line ``number`` (1 = header) of a file without embedded newlines."""

    def apply(text: str) -> str:
        lines = text.split("\n")
        lines[number - 1] = edit(lines[number - 1])
        return "\n".join(lines)

    return apply


def wide_market(names: int, sessions: list[date], seed: int = 5) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Instruments and clean random-walk bars for ``names`` symbols over ``sessions`` (vectorised: a few hundred
    thousand rows in well under a second)."""
    rng = np.random.default_rng(seed)
    symbols = [f"S{k:04d}" for k in range(names)]
    close = np.round(20.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (len(sessions), names)), axis=0)), 2)
    frame = pl.DataFrame(
        {
            "date": np.repeat(np.array(sessions, dtype="datetime64[D]"), names),
            "symbol": symbols * len(sessions),
            "close": close.ravel(),
        }  # fmt: skip
    ).with_columns(
        pl.col("close").alias("open"),
        (pl.col("close") * 1.004).round(2).alias("high"),
        (pl.col("close") * 0.996).round(2).alias("low"),
        pl.lit(1000, dtype=pl.Int64).alias("volume"),
    )
    prices = frame.select("date", "symbol", "open", "high", "low", "close", "volume")
    names_frame = instruments(tuple(symbols)).with_columns(pl.lit(sessions[0].isoformat()).alias("listed"))
    return names_frame, prices
