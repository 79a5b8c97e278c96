"""Embedding, profile, event and news features point in time: each session's row as known at its decision time.

Each table's window is read once through the view (at or after the last decision time): that read holds the latest
revision of every fact known by then. A row of it known at or before a session's decision time ``t_d`` is also the
latest revision known at ``t_d`` (a revision in between would be later still), so it serves session ``d`` as is.
A row known after ``t_d`` may hide an earlier revision that was known at ``t_d``: for the (session, symbol) pairs
holding one, the rows are re-read from ``view.at(t_d)`` restricted to the session's dates and those symbols (one
small read per session with such a pair: rare for the derived tables, whose rows are known at their session's
decision time, and cheap for ``events``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import polars as pl

from prometheus.core.errors import DataError
from prometheus.core.time import to_utc
from prometheus.core.types import Market
from prometheus.data.schema import UTC_DATETIME, Table
from prometheus.data.timemachine import TimeMachine
from prometheus.features.context import DEFAULT_EMBEDDING_DIMS, EARNINGS_AHEAD_DAYS, context_features

#: The tables a view handed to :func:`point_in_time_context` must hold.
CONTEXT_TABLES: tuple[Table, ...] = (
    Table.INSTRUMENT_EMBEDDINGS,
    Table.PROFILES,
    Table.EVENTS,
    Table.NEWS_AGGREGATES,
)
#: Row key of :func:`point_in_time_context`'s output.
CONTEXT_KEY: tuple[str, ...] = ("date", "symbol")
_PROFILE_FIELDS = ("beta", "vol", "adv", "amihud", "sessions_since_earnings", "last_surprise")


def context_schema(k: int = DEFAULT_EMBEDDING_DIMS) -> pl.Schema:
    """Output schema of :func:`point_in_time_context`: ``date``, ``symbol``, then one nullable Float64 per feature."""
    return pl.Schema({"date": pl.Date(), "symbol": pl.String(), **{f.name: pl.Float64() for f in context_features(k)}})


def point_in_time_context(
    view: TimeMachine,
    market: Market | str,
    sessions: Sequence[date],
    decision_times: Sequence[datetime],
    *,
    embedding_config_version: str,
    profile_config_version: str,
    k: int = DEFAULT_EMBEDDING_DIMS,
) -> pl.DataFrame:
    """Embedding, profile, event and news features (:func:`context_schema`) of ``sessions``, each point in time.

    Parameters
    ----------
    view
        A view holding :data:`CONTEXT_TABLES`, at or after the last decision time.
    market
        The market read.
    sessions, decision_times
        Sessions to serve (distinct) and their decision times.
    embedding_config_version
        Numeric encoder config whose aligned embedding series is read (``instrument_embeddings.config_version``).
    profile_config_version
        Profile config version read (``profiles.config_version``).
    k
        Leading embedding columns kept (``emb_1`` .. ``emb_k``; null beyond the embedding's dimension).

    Returns
    -------
    pl.DataFrame
        One row per (session, symbol with an embedding, profile or news aggregate row of that session known at its
        decision time), sorted by date then symbol; a feature without data is null (event flags are 0 without an
        event, news count 0 when other symbols have news that session).

    Raises
    ------
    DataError
        No sessions, mismatched decision times or repeated sessions.
    LookAheadError
        ``view`` is earlier than the last decision time.
    """
    if not sessions:
        raise DataError("no sessions to compute context features for", field="sessions")
    if len(decision_times) != len(sessions):
        raise DataError("one decision time per session is needed", field="decision_times")
    if len(set(sessions)) != len(sessions):
        raise DataError("sessions repeat", field="sessions")
    view.at(max(to_utc(t) for t in decision_times))  # a view earlier than a decision would serve it stale
    days = pl.DataFrame(
        {"session": list(sessions), "t": [to_utc(t) for t in decision_times]},
        schema={"session": pl.Date(), "t": UTC_DATETIME},
    )
    mkt = Market(str(market))
    emb = _as_of(view, mkt, Table.INSTRUMENT_EMBEDDINGS, days, ["embedding"],
                 pl.col("config_version") == embedding_config_version)  # fmt: skip
    prof = _as_of(view, mkt, Table.PROFILES, days, list(_PROFILE_FIELDS),
                  pl.col("config_version") == profile_config_version)  # fmt: skip
    news = _as_of(view, mkt, Table.NEWS_AGGREGATES, days, ["n_items"], None)
    events = _as_of(view, mkt, Table.EVENTS, days, [], pl.col("event") == "earnings", ahead=EARNINGS_AHEAD_DAYS)

    keys = ["session", "symbol"]
    rows = pl.concat([f.select(keys) for f in (emb, prof, news)]).unique()
    emb_cols = [
        pl.col("embedding").list.get(j, null_on_oob=True).cast(pl.Float64()).alias(f"emb_{j + 1}") for j in range(k)
    ]
    prof_cols = [
        *(pl.col(c).cast(pl.Float64()).alias(f"profile_{c}") for c in ("beta", "vol")),
        pl.when(pl.col("adv") > 0).then(pl.col("adv").cast(pl.Float64()).log()).alias("profile_log_adv"),
        *(pl.col(c).cast(pl.Float64()).alias(f"profile_{c}") for c in _PROFILE_FIELDS[3:]),
    ]
    count = news.group_by(keys).agg(pl.col("n_items").max().cast(pl.Float64()).alias("news_count"))
    news_days = news.select("session").unique().with_columns(pl.lit(True).alias("_news_day"))
    flags = events.group_by(keys).agg(
        (pl.col("date") == pl.col("session")).any().alias("earnings_today"),
        (pl.col("date") > pl.col("session")).any().alias("earnings_ahead"),
    )
    out = (
        rows.join(emb.select(*keys, *emb_cols), on=keys, how="left")
        .join(prof.select(*keys, *prof_cols), on=keys, how="left")
        .join(flags, on=keys, how="left")
        .join(count, on=keys, how="left")
        .join(news_days, on="session", how="left")
        .with_columns(
            *(pl.col(c).fill_null(False).cast(pl.Float64()) for c in ("earnings_today", "earnings_ahead")),
            pl.when(pl.col("_news_day")).then(pl.col("news_count").fill_null(0.0)).alias("news_count"),
        )
        .with_columns((pl.col("news_count") > 0).cast(pl.Float64()).alias("news_has"))
    )
    names = [f.name for f in context_features(k)]
    finite = [pl.when(pl.col(n).is_finite()).then(pl.col(n)).alias(n) for n in names]
    out = out.rename({"session": "date"}).select("date", "symbol", *finite).sort("date", "symbol")
    return out.cast(dict(context_schema(k)))


def _as_of(
    view: TimeMachine,
    market: Market,
    table: Table,
    days: pl.DataFrame,
    columns: list[str],
    keep: pl.Expr | None,
    *,
    ahead: int = 0,
) -> pl.DataFrame:
    """Rows of ``table`` serving each session ``d``: dated in [d, d + ahead days], latest revision known at ``t_d``.

    Output: ``session``, ``date``, ``symbol``, ``columns``, one row per (session, fact).
    """
    read = ["date", "symbol", *columns, "known_at"]
    if keep is not None:
        read += [c for c in keep.meta.root_names() if c not in read]
    span = timedelta(days=ahead)

    def fetch(v: TimeMachine, start: date, end: date, symbols: Sequence[str] | None) -> pl.DataFrame:
        frame = v.table(table, market=market, start=start, end=end, symbols=symbols, columns=read)
        return frame.filter(keep) if keep is not None else frame

    frame = fetch(view, days["session"].min(), days["session"].max() + span, None)
    if ahead:
        pairs = days.join_where(frame, pl.col("date") >= pl.col("session"), pl.col("date") <= pl.col("session") + span)
    else:
        pairs = days.join(frame, left_on="session", right_on="date", how="inner").with_columns(
            pl.col("session").alias("date")
        )
    late = pairs.filter(pl.col("known_at") > pl.col("t")).select("session", "t", "symbol").unique()
    out = ["session", "date", "symbol", *columns]
    parts = [pairs.join(late, on=["session", "symbol"], how="anti").select(out)]
    for (day, t), group in late.group_by(["session", "t"], maintain_order=True):
        again = fetch(view.at(t), day, day + span, group["symbol"].unique().to_list())
        parts.append(again.with_columns(pl.lit(day, dtype=pl.Date()).alias("session")).select(out))
    return pl.concat(parts, how="vertical_relaxed")
