"""The one strict reading of dates and instants: ISO 8601 only, a clear error otherwise."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest

from prometheus.core.errors import ConfigError
from prometheus.core.time import parse_date, parse_instant, to_date, to_utc


@pytest.mark.parametrize(("text", "expected"), [("2017-02-06", date(2017, 2, 6)), (" 2024-02-29\n", date(2024, 2, 29))])
def test_parse_date_when_iso_returns_the_date(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "02-06-2017",  # month first: pandas reads it as 6 February
        "06-02-2017",
        "2017/02/06",
        "20170206",  # ISO basic form: Python accepts it, we do not
        "2017-W06-1",  # ISO week date: Python accepts it, we do not
        "2017-2-6",
        "6 Feb 2017",
        "2017-02-06T00:00",
        "",
        "２０１７-０２-０６",  # full-width digits
    ],
)
def test_parse_date_when_not_yyyy_mm_dd_raises_quoting_text_and_form(text: str) -> None:
    with pytest.raises(ConfigError, match="YYYY-MM-DD") as info:
        parse_date(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("2017-13-01", "month must be in 1..12"), ("2017-02-30", "day is out of range"), ("2023-02-29", "day")],
)
def test_parse_date_when_day_does_not_exist_raises_saying_why(text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-03", datetime(2024, 1, 3, tzinfo=UTC)),
        ("2024-01-03T21:00", datetime(2024, 1, 3, 21, tzinfo=UTC)),
        ("2024-01-03T21:00Z", datetime(2024, 1, 3, 21, tzinfo=UTC)),
        ("2024-01-03 21:00:05", datetime(2024, 1, 3, 21, 0, 5, tzinfo=UTC)),
        ("2024-01-03T16:00:00-05:00", datetime(2024, 1, 3, 21, tzinfo=UTC)),
        ("2024-01-03T21:00:00.25+00:00", datetime(2024, 1, 3, 21, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_parse_instant_when_iso_returns_aware_utc(text: str, expected: datetime) -> None:
    got = parse_instant(text)
    assert got == expected
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["yesterday", "2024-01-04 25:00", "2024-13-01", "01/03/2024 21:00", "2024-01-03T21", "1704315600", ""]
)
def test_parse_instant_when_not_iso_raises_naming_iso_8601(text: str) -> None:
    with pytest.raises(ConfigError, match="ISO 8601"):
        parse_instant(text)


def test_to_date_when_string_reads_strictly_and_other_types_convert() -> None:
    assert to_date("2017-02-06") == date(2017, 2, 6)
    assert to_date(datetime(2017, 2, 6, 23, tzinfo=UTC)) == date(2017, 2, 6)
    assert to_date(pd.Timestamp("2017-02-06")) == date(2017, 2, 6)
    with pytest.raises(ConfigError):
        to_date("02-06-2017")


def test_to_utc_when_string_reads_strictly_and_aware_input_converts() -> None:
    assert to_utc("2024-01-03T16:00-05:00") == datetime(2024, 1, 3, 21, tzinfo=UTC)
    assert to_utc(datetime(2024, 1, 3, 22, tzinfo=timezone(timedelta(hours=1)))) == datetime(2024, 1, 3, 21, tzinfo=UTC)
    assert to_utc(datetime(2024, 1, 3, 21)) == datetime(2024, 1, 3, 21, tzinfo=UTC)
    with pytest.raises(ConfigError):
        to_utc("01/03/2024")
