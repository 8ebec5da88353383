"""Calendar overlays: YAML files in `rules/calendar/` that rule authors edit.

One file per notice (a new year's holiday notice, a mid-year change, a regional holiday), e.g.

    notice: 国务院办公厅关于2027年部分节假日安排的通知
    covers: 2027            # the year this notice settles: days up to 31 Dec become final
    rest_days:
      - {date: 2027-01-01, name: 元旦}
      - {from: 2027-02-10, to: 2027-02-16, name: 春节}
    working_days:
      - {date: 2027-02-07, name: 春节调休上班}

Files are applied in name order; a later file wins over an earlier one and all win over the
package and the law (workdays.py). `covers` extends the known range only without gaps: a
notice for 2028 does not make 2027 final while no file covers 2027.
"""

from __future__ import annotations

import datetime
from datetime import timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from monitor.calendar.workdays import INDEX_FIRST, INDEX_LAST, DayOverride, WorkCalendar, build_calendar
from monitor.errors import ConfigError


class _Span(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    on: datetime.date | None = Field(default=None, alias="date")
    from_: datetime.date | None = Field(default=None, alias="from")
    to: datetime.date | None = None
    name: str

    @model_validator(mode="after")
    def _one_form(self) -> _Span:
        single = self.on is not None and self.from_ is None and self.to is None
        span = self.on is None and self.from_ is not None and self.to is not None
        if not (single or span):
            raise ValueError("give either `date` or both `from` and `to`")
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError(f"`to` {self.to} is before `from` {self.from_}")
        for day in (self.on, self.from_, self.to):
            if day is not None and not INDEX_FIRST <= day <= INDEX_LAST:
                raise ValueError(f"{day} is outside the calendar ({INDEX_FIRST}..{INDEX_LAST})")
        return self

    def days(self) -> list[datetime.date]:
        if self.on is not None:
            return [self.on]
        assert self.from_ is not None and self.to is not None
        return [self.from_ + timedelta(days=i) for i in range((self.to - self.from_).days + 1)]


class CalendarOverlay(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    notice: str
    covers: int | None = None
    region: str | None = None
    rest_days: tuple[_Span, ...] = ()
    working_days: tuple[_Span, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> CalendarOverlay:
        if self.covers is not None and not INDEX_FIRST.year <= self.covers <= INDEX_LAST.year:
            first, last = INDEX_FIRST.year, INDEX_LAST.year
            raise ValueError(f"`covers` {self.covers} is outside the calendar ({first}..{last})")
        rest = {d for span in self.rest_days for d in span.days()}
        both = sorted(rest.intersection(d for span in self.working_days for d in span.days()))
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"listed both as a rest day and as a working day: {listed}")
        return self


def read_overlay(path: Path) -> CalendarOverlay:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return CalendarOverlay.model_validate(raw or {})
    # ValueError: PyYAML raises it for an impossible date such as 2027-02-30, and it is the
    # base of UnicodeDecodeError.
    except (OSError, ValueError, yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{path}: invalid calendar overlay: {exc}") from exc


def read_overlays(folder: Path | None) -> tuple[dict[datetime.date, DayOverride], dict[int, str]]:
    """Every overlay in `folder` applied in file-name order: the days they set, and the years
    they cover with the notice that covers each."""
    overrides: dict[datetime.date, DayOverride] = {}
    covered: dict[int, str] = {}
    files = sorted(folder.glob("*.yaml")) if folder is not None and folder.is_dir() else []
    for path in files:
        overlay = read_overlay(path)
        source = f"{overlay.notice} ({path.name})"
        for span in overlay.rest_days:
            for day in span.days():
                overrides[day] = DayOverride(day, False, span.name, source)
        for span in overlay.working_days:
            for day in span.days():
                overrides[day] = DayOverride(day, True, span.name, source)
        if overlay.covers is not None:
            covered[overlay.covers] = source
    return overrides, covered


def load_calendar(folder: Path | None) -> WorkCalendar:
    """The package calendar and the law with every overlay in `folder` applied."""
    return build_calendar(*read_overlays(folder))
