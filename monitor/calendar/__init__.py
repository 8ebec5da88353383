"""The working-day calendar: chinese-calendar plus rule authors' overlays."""

from __future__ import annotations

from monitor.calendar.overlay import load_calendar
from monitor.calendar.workdays import CalendarRangeError, DayOverride, WorkCalendar

__all__ = ["CalendarRangeError", "DayOverride", "WorkCalendar", "load_calendar"]
