"""The demo's records in the exchange format: the catalogue, then each case and its events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from monitor.demo.catalogue import CATALOGUE
from monitor.demo.figures import FUNDS_LEVELS
from monitor.demo.scenarios import Demo


def demo_records(now: datetime, cases: int = 400, seed: int = 1) -> Iterator[dict[str, Any]]:
    """Exchange-format records (items first, then each case followed by its events),
    relative to `now`."""
    if now.tzinfo is None:
        raise ValueError(f"demo_records needs a timezone-aware now, not {now.isoformat()}")
    demo = Demo(now, seed)
    for item in CATALOGUE:
        yield item.record()
    drafts = [demo.draft(scenario) for scenario in demo.scenarios(cases)]
    drafts.sort(key=lambda d: d.events[0][0])  # case numbers grow with the first event
    serials: Counter[date] = Counter()
    for draft in drafts:
        first = draft.events[0][0].date()
        serials[first] += 1
        case_id = f"BJ{first:%Y%m%d}{serials[first]:05d}"
        yield {
            "type": "case",
            "case_id": case_id,
            "item_code": draft.item_code,
            "department": draft.department,
            "applicant": draft.applicant,
            "attributes": draft.attributes,
        }
        for n, (at, kind, actors, attributes) in enumerate(draft.events, start=1):
            what = attributes.get("what") if kind == "disclosed" else None
            if what == "decision":
                column = "xzcf" if draft.item_type == "penalty" else "xzxk"
                attributes = {**attributes, "url": f"https://xygs.example.org/sgs/{column}/{case_id}"}
            elif what in ("application_village", *(f"funds_{level}" for level in FUNDS_LEVELS)):
                attributes = {**attributes, "url": f"https://hmzj.example.org/gk/{case_id}/{what}"}
            yield {
                "type": "event",
                "event_id": f"{case_id}-{n:02d}",
                "case_id": case_id,
                "kind": kind,
                "at": at.isoformat(timespec="seconds"),
                "actors": list(actors),
                "attributes": attributes,
            }
