"""Declared columns of every frame the synthetic market produces: the vendor files and the ground truth.

The vendor files are the contract the ingestion reads (``docs/vendor-files.md`` describes each column); the truth
frames are for validation tests and never enter the point-in-time store.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from prometheus.data.schema import UTC_DATETIME, Column


@dataclass(frozen=True)
class FileSchema:
    """One output file: its file name, meaning and columns in order."""

    file: str
    meaning: str
    columns: tuple[Column, ...]

    @property
    def polars_schema(self) -> pl.Schema:
        """The columns as a ``polars.Schema``."""
        return pl.Schema({c.name: c.dtype for c in self.columns})


def _c(name: str, dtype: pl.DataType, meaning: str, nullable: bool = False) -> Column:
    return Column(name, dtype, meaning, nullable)


_DATE = _c("date", pl.Date(), "Session date in the market's time zone (US_EQ: XNYS, America/New_York).")
_SYMBOL = _c("symbol", pl.String(), "Ticker (JP_EQ: 4-digit code; FX_GLOB: BASEQUOTE pair), never reused.")

INSTRUMENTS_FILE = FileSchema(
    "instruments.csv",
    "One row per instrument ever listed (survivorship-free).",
    (
        _SYMBOL,
        _c("name", pl.String(), "Company name (FX_GLOB: BASE/QUOTE)."),
        _c("sector", pl.String(), "One of 11 GICS-like sectors (FX_GLOB: the pair's bloc, e.g. USD majors)."),
        _c("exchange", pl.String(), "Listing exchange MIC (XNYS or XNAS; XETR; XTKS; FX_GLOB: XOFF, off exchange)."),
        _c("currency", pl.String(), "Trading currency (USD, EUR, JPY; FX_GLOB: the quote currency)."),
        _c("listed", pl.Date(), "First session with a price row."),
        _c("delisted", pl.Date(), "Last session with a price row; empty while listed.", nullable=True),
    ),
)
PRICES_FILE = FileSchema(
    "prices.csv",
    "Raw, unadjusted daily bars; one row per listed name and session.",
    (
        _DATE,
        _SYMBOL,
        _c("open", pl.Float64(), "Opening price in the currency, unadjusted (2 decimals; JPY 0; FX 5, 3 above 20)."),
        _c("high", pl.Float64(), "High, >= max(open, close)."),
        _c("low", pl.Float64(), "Low, <= min(open, close), > 0."),
        _c("close", pl.Float64(), "Closing price in the currency, unadjusted (decimals as open)."),
        _c("volume", pl.Int64(), "Shares traded (unadjusted, multiples of 100); FX_GLOB: base-currency amount."),
    ),
)
CORPORATE_ACTIONS_FILE = FileSchema(
    "corporate_actions.csv",
    "Splits and cash dividends; date is the ex-date.",
    (
        _c("date", pl.Date(), "Ex-date: first session trading without the dividend / on the new share count."),
        _SYMBOL,
        _c("action", pl.String(), "split or dividend."),
        _c("value", pl.Float64(), "split: new/old shares (2.0 = 2-for-1, 0.1 = 1-for-10); dividend: currency/share."),
        _c("announced_at", UTC_DATETIME, "UTC instant of the announcement (30 min after a close before date)."),
    ),
)
EVENTS_FILE = FileSchema(
    "events.csv",
    "Company events (earnings with surprise).",
    (
        _c("date", pl.Date(), "Session whose return first reflects the event (after-close: next session)."),
        _SYMBOL,
        _c("event", pl.String(), "Event kind: earnings."),
        _c("value", pl.Float64(), "EPS surprise (actual - estimate) / max(|estimate|, 0.05)."),
        _c("detail", pl.String(), "'BMO'/'AMC' timing and EPS actual vs estimate, e.g. 'AMC eps=1.23 est=1.10'."),
        _c("announced_at", UTC_DATETIME, "UTC announcement: 07:00 New York on date (BMO) or close+5 min before."),
    ),
)
SIGNALS_FILE = FileSchema(
    "signals.csv",
    "Vendor signals, long format: the observable alpha feature and the noise features per listed name and session.",
    (
        _c("date", pl.Date(), "Session whose close the value is computed from."),
        _SYMBOL,
        _c("signal", pl.String(), "Signal name: alpha_feature, noise_1 .. noise_k."),
        _c("value", pl.Float64(), "Signal value, 4 decimals (unit variance)."),
        _c("published_at", UTC_DATETIME, "UTC publication instant: 30 min after the close of date."),
    ),
)
NEWS_FILE = FileSchema(
    "news.csv",
    "Headlines, one per item (each mentions one symbol).",
    (
        _c("item_id", pl.String(), "Unique item id."),
        _c("published_at", UTC_DATETIME, "UTC publication instant."),
        _SYMBOL,
        _c("source", pl.String(), "Publisher."),
        _c("headline", pl.String(), "Headline text (UTF-8, may contain commas: CSV-quoted)."),
    ),
)
MACRO_FILE = FileSchema(
    "macro.csv",
    "Macro observations.",
    (
        _c("series", pl.String(), "Series code (macro_series.csv)."),
        _c("date", pl.Date(), "Date the value is about (last session of the month for monthly series)."),
        _c("value", pl.Float64(), "Value in the series' unit."),
        _c("released_at", UTC_DATETIME, "UTC release instant (the value is unknown before it)."),
    ),
)
MACRO_SERIES_FILE = FileSchema(
    "macro_series.csv",
    "Macro series definitions.",
    (
        _c("series", pl.String(), "Series code."),
        _c("name", pl.String(), "Description."),
        _c("frequency", pl.String(), "daily or monthly."),
        _c("unit", pl.String(), "Unit of value."),
        _c("source", pl.String(), "Publisher (synthetic)."),
    ),
)

#: Every vendor file, in writing order.
VENDOR_FILES: tuple[FileSchema, ...] = (
    INSTRUMENTS_FILE,
    PRICES_FILE,
    CORPORATE_ACTIONS_FILE,
    EVENTS_FILE,
    NEWS_FILE,
    SIGNALS_FILE,
    MACRO_FILE,
    MACRO_SERIES_FILE,
)

MARKET_TRUTH = FileSchema(
    "truth/market.parquet",
    "Per session: regime, market factor, crowding flow and the equal-weighted index.",
    (
        _DATE,
        _c("regime", pl.String(), "calm, normal or crisis."),
        _c("regime_code", pl.Int8(), "0 calm, 1 normal, 2 crisis."),
        _c("market_return", pl.Float64(), "Market factor return."),
        _c("market_vol", pl.Float64(), "Conditional annualised market factor volatility."),
        _c("slow_vol", pl.Float64(), "Slow volatility multiplier (mean square 1)."),
        _c("flow_return", pl.Float64(), "Hidden crowding flow factor return (0 outside the episode)."),
        _c("index_return", pl.Float64(), "Equal-weighted total return of the names listed that session."),
    ),
)
EXPOSURES_TRUTH = FileSchema(
    "truth/exposures.parquet",
    "Per instrument: static loadings and attributes.",
    (
        _SYMBOL,
        _c("sector", pl.String(), "Sector."),
        _c("beta", pl.Float64(), "Market loading (x crisis_loading_mult in crisis)."),
        _c("sector_loading", pl.Float64(), "Loading on the own sector factor."),
        _c("size", pl.Float64(), "Standardised log market cap exposure."),
        _c("value", pl.Float64(), "Value style exposure."),
        _c("momentum", pl.Float64(), "Momentum style exposure."),
        _c("idio_vol", pl.Float64(), "Baseline annual idiosyncratic volatility."),
        _c("market_cap", pl.Float64(), "Market cap at the first session (USD)."),
        _c("dividend_yield", pl.Float64(), "Annual dividend yield (0: non-payer)."),
        _c("crowded", pl.Boolean(), "Member of the crowded cluster."),
        _c("crowd_loading", pl.Float64(), "Loading on the hidden flow factor."),
    ),
)
SIGNALS_TRUTH = FileSchema(
    "truth/signals.parquet",
    "Per listed name and session: planted signals (known at the close, acting on the next session) and returns.",
    (
        _DATE,
        _SYMBOL,
        _c("signal", pl.Float32(), "Latent alpha z (AR(1), unit variance)."),
        _c("alpha_feature", pl.Float32(), "Noisy observable copy of z."),
        _c("reversal", pl.Float32(), "Minus the scaled 5-session sum of idiosyncratic shocks."),
        _c("calm_signal", pl.Float32(), "Signal that predicts the next session only when it is calm."),
        _c("noise_1", pl.Float32(), "Pure-noise feature (noise_1 .. noise_k)."),
        _c("idio_std_return", pl.Float32(), "Standardised idiosyncratic return (IC target)."),
        _c("idio_vol", pl.Float32(), "Conditional daily idiosyncratic volatility."),
        _c("total_return", pl.Float64(), "Total return (dividends included; before cent rounding)."),
    ),
)
NEWS_TRUTH = FileSchema(
    "truth/news_tone.csv",
    "Per news item: the tone the template was drawn from and the latent score.",
    (
        _c("item_id", pl.String(), "news.csv item_id."),
        _c("tone", pl.String(), "positive, negative or neutral."),
        _c("score", pl.Float64(), "Latent tone score (ordinary items) or surprise z (earnings items)."),
    ),
)
