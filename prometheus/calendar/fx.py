"""A 24x5 FX calendar on exchange_calendars' base class (none ships with the package).

The FX week runs from Sunday 17:00 to Friday 17:00 New York. Each session is named by the weekday it ends on and
opens at 17:00 New York the previous evening, so Monday's session opens on Sunday at 17:00. There are no holidays:
the interbank market trades through exchange holidays.
"""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from exchange_calendars.exchange_calendar import ExchangeCalendar


class FXGlobalCalendar(ExchangeCalendar):
    """Global spot FX: Sunday 17:00 to Friday 17:00 America/New_York, Monday to Friday sessions."""

    name = "FX_GLOB"
    tz = ZoneInfo("America/New_York")
    open_times = ((None, time(17)),)
    close_times = ((None, time(17)),)

    @property
    def open_offset(self) -> int:
        # The session of day d opens at 17:00 on d - 1.
        return -1
