"""The working-day calendar: rule authors' overlays, the notices in chinese-calendar, the law."""

from __future__ import annotations

from monitor.calendar.overlay import load_calendar
from monitor.calendar.workdays import CalendarRangeError, DayOverride, WorkCalendar

__all__ = ["CalendarRangeError", "DayOverride", "WorkCalendar", "load_calendar"]
