"""Demo data: a city's power catalogue and a few hundred cases placed around `now`.

The records are in the JSON-lines exchange format (`docs/data-model.md`), so `sunlight
import` reads them like a platform's export. About three quarters of the cases are clean under
every shipped rule set (`rules/*.yaml`): they record what the rules ask of a correct case —
the on-the-spot notice and statement of a summary penalty, the 动态运行情况登记表 of an
important power, the 回访 of a complaint, the four disclosures of a funds item. A known share
breaks one rule each (overdue, near the limit, a decision not disclosed, a decision without
acceptance, two correction notices, a wrong fee, an unlisted power, penalty irregularities, an
unanswered complaint, an undisclosed funds stage, an unregistered important power, an
unanswered application for government information), so a demo shows every kind of yellow and
red card without the cards swamping the dashboards.

Deadlines are placed with the real working-day calendar (调休 included): the start day is
not counted and a day-based limit ends at 24:00 Beijing time on its last day. Everything is
a function of (now, cases, seed): no wall clock, no global random state. All applicants are
invented; identity numbers and credit codes only look valid. `demo_people` adds the directory
of responsible persons: the staff who sign the steps, with invented contacts.
"""

from __future__ import annotations

from monitor.demo.catalogue import CATALOGUE, DEPARTMENTS, Item
from monitor.demo.directory import demo_people
from monitor.demo.records import demo_records

__all__ = ["CATALOGUE", "DEPARTMENTS", "Item", "demo_people", "demo_records"]
