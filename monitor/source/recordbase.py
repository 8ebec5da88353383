"""What every exchange-format record shares: plain text, unknown fields rejected.

The base of the records of `monitor.source.records` and of the `person` record
(`monitor.people.record`), apart so that either can import it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

# What the source tables can hold, checked before the database sees a record: one line
# that would overflow a column must be refused alone, not abort its whole batch.
MAX_LIMIT = 3650  # a time limit of ten years is far beyond any law's; INTEGER holds the rest
EARLIEST, LATEST = datetime(1980, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
# No control character in any text; in names and keys not even a line break, since they
# reach mail headers, the terminal and log lines. U+0085, U+2028 and U+2029 break lines too.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\t\n\r\x85\u2028\u2029]")
_NAMES = frozenset(
    {
        "item_code",
        "name",
        "department",
        "case_id",
        "event_id",
        "kind",
        "id_number",
        "phone",
        # a person's (monitor.people.record): they reach message headers and robot cards
        "person_id",
        "officer",
        "roles",
        "items",
        "covers",
        "mobile",
        "email",
        "dingtalk",
        "wecom",
        "feishu",
    }
)


def _text_problem(value: object, where: str, single_line: bool) -> str | None:
    """What is wrong with the texts in `value` (walking lists and objects), if anything."""
    if isinstance(value, str):
        bad = _CONTROL.search(value) or (_LINE_BREAK.search(value) if single_line else None)
        return f"{where}: a control character (U+{ord(bad.group()):04X}) in text" if bad else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _text_problem(key, where, True) or _text_problem(item, f"{where}.{key}", False)
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _text_problem(item, f"{where}[{i}]", single_line)
            if found:
                return found
    return None


class BaseRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                found = _text_problem(value, str(key), key in _NAMES or key == "actors")
                if found:
                    raise ValueError(found)
        return data
