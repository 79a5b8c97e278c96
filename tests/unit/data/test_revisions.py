"""What a delivery adds to stored revisions: nothing for a re-delivery, new facts as delivered, corrections as new
revisions known at the delivery's instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.data.revisions import TICK, resolve
from prometheus.data.schema import INSTRUMENTS, PRICES_ADJUSTED, PRICES_DAILY

K1 = datetime(2024, 1, 2, 21, 5, tzinfo=UTC)
K2 = datetime(2024, 1, 3, 21, 5, tzinfo=UTC)
AT = datetime(2024, 2, 1, 12, tzinfo=UTC)


def _bars(rows: list[tuple[date, float, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"market": "US_EQ", "date": d, "symbol": "AAA", "open": c, "high": c, "low": c, "close": c, "volume": 1.0,
          "known_at": k} for d, c, k in rows],
        schema=PRICES_DAILY.polars_schema,
    )  # fmt: skip


def _names(rows: list[tuple[str, date | None, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"market": "US_EQ", "symbol": "AAA", "date": date(2024, 1, 2), "name": n, "sector": None, "exchange": None,
          "currency": "USD", "listed": date(2024, 1, 2), "delisted": x, "known_at": k} for n, x, k in rows],
        schema=INSTRUMENTS.polars_schema,
    )  # fmt: skip


STORED = _bars([(date(2024, 1, 2), 10.0, K1), (date(2024, 1, 3), 11.0, K2)])


def test_resolve_when_same_rows_delivered_again_adds_nothing() -> None:
    out = resolve(PRICES_DAILY, STORED, STORED, AT)

    assert out.rows.is_empty()
    assert (out.new, out.revised, out.unchanged) == (0, 0, 2)


def test_resolve_when_fact_is_new_adds_it_as_delivered() -> None:
    fresh = _bars([(date(2024, 1, 4), 12.0, K2 + timedelta(days=1))])

    out = resolve(PRICES_DAILY, STORED, pl.concat([STORED, fresh]), AT)

    assert_frame_equal(out.rows, fresh)
    assert (out.new, out.revised, out.unchanged) == (1, 0, 2)


def test_resolve_when_value_changed_adds_revision_known_at_delivery() -> None:
    corrected = _bars([(date(2024, 1, 2), 10.5, K1)])

    out = resolve(PRICES_DAILY, STORED, corrected, AT)

    assert out.rows.select("date", "close", "known_at").rows() == [(date(2024, 1, 2), 10.5, AT)]
    assert (out.new, out.revised, out.unchanged) == (0, 1, 0)


def test_resolve_when_correction_delivered_again_adds_nothing() -> None:
    stored = pl.concat([STORED, _bars([(date(2024, 1, 2), 10.5, AT)])])

    out = resolve(PRICES_DAILY, stored, _bars([(date(2024, 1, 2), 10.5, K1)]), AT + timedelta(days=1))

    assert out.rows.is_empty()
    assert out.unchanged == 1


def test_resolve_when_older_delivery_replayed_after_correction_adds_nothing() -> None:
    stored = pl.concat([STORED, _bars([(date(2024, 1, 2), 10.5, AT)])])

    out = resolve(PRICES_DAILY, stored, STORED, AT + timedelta(days=1))

    # Every row of the old delivery is stored as it is: replaying it never undoes the later correction.
    assert out.rows.is_empty()
    assert out.unchanged == 2


def test_resolve_when_delivery_instant_precedes_latest_revision_stamps_just_after_it() -> None:
    early = K1 - timedelta(hours=1)

    out = resolve(PRICES_DAILY, STORED, _bars([(date(2024, 1, 2), 10.5, K1)]), early)

    assert out.rows["known_at"].to_list() == [K1 + TICK]


def test_resolve_when_fact_has_versions_new_later_version_is_kept_and_corrected_earlier_one_dropped() -> None:
    delisted = K2 + timedelta(days=30)
    stored = _names([("AAA Corp", None, K1)])
    # The delivery renames the company (a correction of version 1) and adds the delisting version 2.
    incoming = _names([("AAA Inc", None, K1), ("AAA Inc", date(2024, 2, 1), delisted)])

    out = resolve(INSTRUMENTS, stored, incoming, AT)

    # Version 2 enters as delivered; at AT it is not yet known, so the store serves "AAA Corp" then and the
    # renaming becomes a revision at AT; from the delisting on, version 2 (already renamed) is served.
    assert out.rows.select("name", "delisted", "known_at").sort("known_at").rows() == [
        ("AAA Inc", None, AT),
        ("AAA Inc", date(2024, 2, 1), delisted),
    ]


def test_resolve_when_correction_matches_a_new_later_version_adds_no_revision() -> None:
    later = K1 + timedelta(days=2)
    stored = _names([("AAA Corp", None, K1)])
    incoming = _names([("AAA Inc", None, K1), ("AAA Inc", date(2024, 1, 3), later)])

    out = resolve(INSTRUMENTS, stored, incoming, AT)

    assert out.rows.select("known_at").to_series().to_list() == [later]
    assert out.revised == 0


def test_resolve_when_instant_is_naive_or_table_has_no_known_at_raises() -> None:
    with pytest.raises(ValueError, match="aware"):
        resolve(PRICES_ADJUSTED, PRICES_ADJUSTED.empty(), PRICES_ADJUSTED.empty(), AT.replace(tzinfo=None))
