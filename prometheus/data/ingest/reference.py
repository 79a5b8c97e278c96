"""Reference data shipped with the ``arch`` package: S&P 500 and NASDAQ Composite daily closes (1999-2018) as
benchmark series and the Fama-French factors (monthly, percent) as macro series, all for ``US_EQ``.

Known-at rules: an index close is known like a bar, at the session close + bar delay. A Fama-French month is
known at the end of the following month (23:59:59 New York): the data library publishes a month's factors with a
lag of several weeks, so a view never sees a month's factors before the month after it has ended.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pandas as pd
import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.data.ingest import qc
from prometheus.data.ingest.batch import Batch, FileReport
from prometheus.data.ingest.rules import ROW, QcRule, reject, to_quarantine
from prometheus.data.ingest.vendor import EPOCH
from prometheus.data.schema import MACRO_OBSERVATIONS, MACRO_SERIES, UTC_DATETIME, Table

#: Benchmark series from arch: code -> (arch.data module, human name).
INDEX_SERIES = {"SP500": ("sp500", "S&P 500 index close"), "NASDAQ": ("nasdaq", "NASDAQ Composite index close")}
#: Fama-French columns -> series code and name.
FF_SERIES = {
    "Mkt-RF": ("FF_MKT_RF", "Fama-French market excess return"),
    "SMB": ("FF_SMB", "Fama-French small minus big"),
    "HML": ("FF_HML", "Fama-French high minus low"),
    "RF": ("FF_RF", "Fama-French risk-free rate"),
}
MARKET = Market.US_EQ
NEW_YORK = "America/New_York"


def _load_arch(name: str) -> pd.DataFrame:
    # Imported on use: importing arch takes ~2 s (statsmodels, scipy), which only this source needs.
    import importlib

    return importlib.import_module(f"arch.data.{name}").load()


class ReferenceSource:
    """The ``arch`` reference data as a source (market ``US_EQ``)."""

    market = MARKET

    def __init__(
        self,
        calendar: TradingCalendar,
        bar_delay: timedelta,
        ingested_at: datetime | None = None,
        loader: Callable[[str], pd.DataFrame] = _load_arch,
    ) -> None:
        self.calendar = calendar
        self.bar_delay = bar_delay
        self.ingested_at = ingested_at or utc_now()
        self._loader = loader

    def load(self) -> Batch:
        """The benchmark and factor series with their definitions; index dates that are not sessions quarantined."""
        observations, rejected, files = [], [], []
        for code, (module, _) in INDEX_SERIES.items():
            good, bad = self._index(code, self._loader(module))
            source = f"arch/{module}"
            observations.append(good)
            rejected.append(to_quarantine(bad, MARKET, source, self.ingested_at))
            files.append(
                FileReport(source, Table.MACRO_OBSERVATIONS, good.height + bad.height, good.height, bad.height)
            )
        ff = self._french(self._loader("frenchdata"))
        observations.append(ff)
        files.append(FileReport("arch/frenchdata", Table.MACRO_OBSERVATIONS, ff.height, ff.height, 0))
        series = self._series_definitions()
        files.append(FileReport("arch", Table.MACRO_SERIES, series.height, series.height, 0))
        return Batch(
            market=MARKET,
            tables={Table.MACRO_OBSERVATIONS: pl.concat(observations), Table.MACRO_SERIES: series},
            quarantine=pl.concat(rejected),
            files=tuple(files),
            ingested_at=self.ingested_at,
        )

    def _index(self, code: str, frame: pd.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        dates = pl.Series("date", pd.DatetimeIndex(frame.index).to_numpy()).dt.date()
        rows = pl.DataFrame({"date": dates, "value": frame["Close"].to_numpy(dtype=float)}).with_row_index(
            ROW, offset=1
        )
        rows = rows.with_columns(pl.col(ROW).cast(pl.Int64), pl.lit(code).alias("symbol"))
        lo, hi = rows["date"].min(), rows["date"].max()
        sessions = self.calendar.sessions_frame(MARKET, lo, hi)
        rows, bad = reject(rows, pl.col("value").is_nan() | (pl.col("value") <= 0), QcRule.MISSING_VALUE, "Close",
                           "index close missing or not positive")  # fmt: skip
        rows, bad2 = qc.not_a_session(sessions["session"])(rows)
        delay = pl.duration(microseconds=int(self.bar_delay / timedelta(microseconds=1)))
        known = sessions.select(pl.col("session").alias("date"), (pl.col("close") + delay).alias("known_at"))
        out = rows.join(known, on="date").select(
            pl.lit(MARKET.value).alias("market"), pl.lit(code).alias("series"), "date", "value", "known_at"
        )
        return out.select(MACRO_OBSERVATIONS.names), pl.concat([bad, bad2]).with_columns(
            pl.lit(None, pl.String).alias("symbol")
        )

    def _french(self, frame: pd.DataFrame) -> pl.DataFrame:
        # arch stores the month as the integer YYYYMM in a datetime64 index (nanoseconds since the epoch).
        yyyymm = pl.Series("m", pd.DatetimeIndex(frame.index).asi8)
        first = pl.date(pl.col("m") // 100, pl.col("m") % 100, 1)
        released = (
            (
                first.dt.offset_by("1mo").dt.month_end().cast(pl.Datetime("us"))
                + pl.duration(hours=23, minutes=59, seconds=59)
            )
            .dt.replace_time_zone(NEW_YORK)
            .dt.convert_time_zone("UTC")
        )
        months = pl.DataFrame({"m": yyyymm}).select(first.dt.month_end().alias("date"), released.alias("known_at"))
        parts = [
            months.with_columns(
                pl.lit(MARKET.value).alias("market"),
                pl.lit(code).alias("series"),
                pl.Series("value", frame[column].to_numpy(dtype=float)),
            )
            for column, (code, _) in FF_SERIES.items()
        ]
        return pl.concat(parts).select(MACRO_OBSERVATIONS.names)

    def _series_definitions(self) -> pl.DataFrame:
        rows = [
            (code, name, "daily", "index points", f"arch.data.{module}")
            for code, (module, name) in INDEX_SERIES.items()
        ]
        rows += [(code, name, "monthly", "percent", "arch.data.frenchdata") for code, name in FF_SERIES.values()]
        frame = pl.DataFrame(rows, schema=["series", "name", "frequency", "unit", "source"], orient="row")
        return frame.with_columns(
            pl.lit(MARKET.value).alias("market"), pl.lit(EPOCH).cast(UTC_DATETIME).alias("known_at")
        ).select(MACRO_SERIES.names)
