"""The one ``MetaData`` of the runtime store, its naming convention and the column helpers tables share.

Every engine and execution row carries the same five identity columns (ARCHITECTURE section 3):
``market, session, decision_time, experiment, config_version``; :func:`decision_columns` builds
them so they are spelled the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

#: Constraint and index names are derived, so migrations and reflection agree on them on every backend.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(constraint_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

#: Surrogate key type: BIGINT on PostgreSQL, INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements).
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

MARKET_LEN = 16
ENGINE_LEN = 32
EXPERIMENT_LEN = 64
CONFIG_VERSION_LEN = 64  # SHA-256 hex digest of the canonical config JSON
INSTRUMENT_LEN = 64
KEY_LEN = 128


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no time zone type and returns naive values; binding converts to UTC and reading attaches UTC,
    so callers always get aware UTC datetimes back. Naive datetimes are refused rather than guessed.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; runtime timestamps must be tz-aware UTC")
        utc = value.astimezone(UTC)
        # SQLite stores the text form without an offset, so it must already be UTC.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    """Default for ``created_at`` style columns."""
    return datetime.now(UTC)


def id_column() -> sa.Column[Any]:
    """Autoincrement surrogate primary key ``id``."""
    return sa.Column("id", IdType, primary_key=True, autoincrement=True)


def created_at_column(name: str = "created_at") -> sa.Column[Any]:
    """When the row was written (UTC, set by the writer's clock)."""
    return sa.Column(name, UTCDateTime(), nullable=False, default=utc_now)


def decision_columns(*, with_decision_time: bool = True) -> list[sa.Column[Any]]:
    """The identity columns of an engine or execution row.

    ``session`` is the session date in the market's time zone; ``decision_time`` the UTC instant the decision
    was made (it is the row's ``known_at``); ``experiment`` keeps backtests apart from each other and
    from live data; ``config_version`` is the content hash of the engine config that produced the row.
    """
    cols = [
        sa.Column("market", sa.String(MARKET_LEN), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
    ]
    if with_decision_time:
        cols.append(sa.Column("decision_time", UTCDateTime(), nullable=False))
    cols += [
        sa.Column("experiment", sa.String(EXPERIMENT_LEN), nullable=False),
        sa.Column("config_version", sa.String(CONFIG_VERSION_LEN), nullable=False),
    ]
    return cols


def enum_check(column: str, values: Iterable[StrEnum] | type[StrEnum], name: str | None = None) -> sa.CheckConstraint:
    """A CHECK constraint that keeps ``column`` inside a closed set (named ``ck_<table>_<column>``)."""
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=name or column)
