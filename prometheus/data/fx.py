"""Point-in-time FX rates from the FX_GLOB market's daily bars (the TimeMachine's ``prices_daily``).

Convention of the FX_GLOB market: a symbol is six letters BASEQUOTE (``EURUSD``, ``USDJPY``, ``EURJPY``), its
price is units of QUOTE per one BASE, and a bar of session ``d`` is known at the FX_GLOB close of ``d``
(17:00 America/New_York) plus the bar delay.

The rate from currency ``A`` to ``B`` at an instant ``t`` is the close of the latest FX_GLOB session whose bar was
known at ``t`` (``known_at <= t``; of a corrected bar, the latest revision known at ``t``). It is looked up as

1. the direct pair ``AB`` (the close), else
2. the inverted pair ``BA`` (one over the close), else
3. triangulated through USD: ``A -> USD`` times ``USD -> B``, each leg direct or inverted.

A rate never comes from a bar known after ``t``, and no rate is ever assumed: a conversion without a known rate
raises :class:`FxRateMissingError` naming the pair and the instant. ``A -> A`` is exactly 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import polars as pl

from prometheus.core.errors import DataError
from prometheus.core.time import to_utc
from prometheus.core.types import Market
from prometheus.data.schema import UTC_DATETIME, Table
from prometheus.data.timemachine import TimeMachine

#: The currency triangulated through when neither the pair nor its inverse is quoted.
PIVOT = "USD"

#: Columns of :meth:`FxRates.rates`: name -> (dtype, meaning).
RATE_COLUMNS: dict[str, tuple[pl.DataType, str]] = {
    "at": (UTC_DATETIME, "the instant the rate is wanted for (UTC)"),
    "rate": (pl.Float64(), "units of the target currency per one unit of the source currency"),
    "route": (pl.String(), "'identity', 'direct', 'inverted' or 'triangulated' (through USD)"),
    "fx_date": (pl.Date(), "FX_GLOB session of the (oldest) bar used; null for the identity"),
    "fx_known_at": (UTC_DATETIME, "latest known_at among the bars used (always <= at); null for the identity"),
}


class FxRateMissingError(DataError):
    """No FX rate for a currency pair was known at the instant a conversion needed it.

    ``pair`` is the conversion asked (``"JPYUSD"``: JPY into USD), ``at`` the first instant without a rate (None
    when FX_GLOB quotes no route between the currencies at all).
    """

    def __init__(self, message: str, *, pair: str, at: datetime | None) -> None:
        super().__init__(message)
        self.pair, self.at = pair, at


class FxRates:
    """Rates between currencies at any instant, resolved point in time from every revision of the FX bars.

    Parameters
    ----------
    bars
        FX_GLOB ``prices_daily`` rows (every revision): ``symbol``, ``date``, ``close``, ``known_at``. Rows with a
        symbol that is not a six-letter pair are ignored (they cannot be rates).
    """

    def __init__(self, bars: pl.DataFrame) -> None:
        frame = bars.select(
            pl.col("symbol").cast(pl.String).str.to_uppercase(),
            pl.col("date").cast(pl.Date),
            pl.col("close").cast(pl.Float64),
            pl.col("known_at").cast(UTC_DATETIME),
        ).filter(pl.col("symbol").str.contains(r"^[A-Z]{6}$"))
        self._states: dict[str, pl.DataFrame] = {
            str(sym): _states(part) for (sym,), part in frame.partition_by("symbol", as_dict=True).items()
        }

    @classmethod
    def from_timemachine(cls, view: TimeMachine, *, start: date | None = None) -> FxRates:
        """Every revision of the FX_GLOB bars known at ``view.as_of`` (sessions from ``start``; None: all)."""
        bars = view.revisions(
            Table.PRICES_DAILY, market=Market.FX_GLOB, start=start, columns=["symbol", "date", "close", "known_at"]
        )
        return cls(bars)

    @property
    def symbols(self) -> list[str]:
        """The pairs quoted, sorted."""
        return sorted(self._states)

    def rate(self, source: str, target: str, at: datetime) -> float:
        """Units of ``target`` per one ``source`` at ``at``.

        Raises
        ------
        FxRateMissingError
            No direct, inverted or USD-triangulated rate was known at ``at``.
        """
        return float(self.rates(source, target, [at])["rate"][0])

    def rates(self, source: str, target: str, at: Sequence[datetime] | pl.Series) -> pl.DataFrame:
        """One row per instant of ``at`` (in order), columns :data:`RATE_COLUMNS`.

        Raises
        ------
        FxRateMissingError
            For the first instant without a known rate; the message names the pair and the instant.
        """
        source, target = source.upper(), target.upper()
        instants = pl.Series("at", [to_utc(t) for t in at] if not isinstance(at, pl.Series) else at).cast(UTC_DATETIME)
        query = pl.DataFrame({"at": instants}).with_row_index("_i")
        if source == target:
            return query.select(
                "at",
                pl.lit(1.0).alias("rate"),
                pl.lit("identity").alias("route"),
                pl.lit(None, pl.Date).alias("fx_date"),
                pl.lit(None, UTC_DATETIME).alias("fx_known_at"),
            )
        route = self._route(source, target)
        if route is None:
            raise FxRateMissingError(
                f"no FX rate {source}->{target}: FX_GLOB quotes none of {source}{target}, {target}{source}, "
                f"nor a route through {PIVOT} (quoted: {', '.join(self.symbols) or 'nothing'})",
                pair=f"{source}{target}",
                at=None,
            )
        legs = [self._leg(symbol, inverted, query) for symbol, inverted in route]
        out = legs[0]
        for leg in legs[1:]:
            out = out.join(leg, on="_i", suffix="_b").select(
                "_i",
                (pl.col("rate") * pl.col("rate_b")).alias("rate"),
                pl.min_horizontal("fx_date", "fx_date_b").alias("fx_date"),
                pl.max_horizontal("fx_known_at", "fx_known_at_b").alias("fx_known_at"),
            )
        name = "triangulated" if len(route) > 1 else ("inverted" if route[0][1] else "direct")
        out = query.join(out, on="_i", how="left").sort("_i")
        missing = out.filter(pl.col("rate").is_null())
        if not missing.is_empty():
            first = missing.sort("at")["at"][0]
            via = " via ".join(f"{s}{' (inverted)' if inv else ''}" for s, inv in route)
            raise FxRateMissingError(
                f"no FX rate {source}->{target} known at {first.isoformat()} (pair {via}: no FX_GLOB bar with "
                f"known_at <= that instant)",
                pair=f"{source}{target}",
                at=first,
            )
        return out.select("at", "rate", pl.lit(name).alias("route"), "fx_date", "fx_known_at")

    def _route(self, source: str, target: str) -> list[tuple[str, bool]] | None:
        """The pairs (symbol, inverted) to multiply, or None when no route exists."""

        def leg(a: str, b: str) -> tuple[str, bool] | None:
            if f"{a}{b}" in self._states:
                return (f"{a}{b}", False)
            if f"{b}{a}" in self._states:
                return (f"{b}{a}", True)
            return None

        direct = leg(source, target)
        if direct is not None:
            return [direct]
        if PIVOT in (source, target):
            return None
        first, second = leg(source, PIVOT), leg(PIVOT, target)
        return None if first is None or second is None else [first, second]

    def _leg(self, symbol: str, inverted: bool, query: pl.DataFrame) -> pl.DataFrame:
        """Rate of one pair at each query instant (null where no bar was known yet)."""
        found = query.sort("at").join_asof(self._states[symbol], left_on="at", right_on="known_at", strategy="backward")
        rate = (1.0 / pl.col("close")) if inverted else pl.col("close")
        return found.select("_i", rate.alias("rate"), pl.col("date").alias("fx_date"), pl.col("fx_known_at"))


def _states(bars: pl.DataFrame) -> pl.DataFrame:
    """The rate in force after each bar revision of one pair, by ``known_at`` (for a backward as-of join).

    Walking the revisions in ``known_at`` order, a row becomes the rate in force when its session is the latest
    seen so far (a new bar, or a correction of the latest one); a late correction of an older session is known
    but does not replace the close of a later session. Ties in ``known_at`` keep the latest session.
    """
    ordered = bars.sort("known_at", "date")
    in_force = ordered.filter(pl.col("date") >= pl.col("date").cum_max())
    # The as-of join needs one row per instant: of rows known at the same instant, the latest session wins.
    return in_force.unique(subset="known_at", keep="last", maintain_order=True).select(
        "known_at", pl.col("known_at").alias("fx_known_at"), "date", "close"
    )
