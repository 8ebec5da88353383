"""The demo city's catalogue and vocabulary, read from the YAML files in data/ (shipped as
package data): the power items and departments, invented people, the words events use.

The files are validated on load: an unknown key or a wrong type names the file and the
field, so a bad edit fails at import instead of drifting the demo.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from monitor.demo.figures import HOURS, NATURAL, WORKING
from monitor.errors import StartupError


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Item(_Data):
    """One power of the catalogue (权力清单) and how often the demo uses it."""

    code: str
    name: str
    item_type: str
    department: str
    legal: int
    promised: int
    unit: str
    basis: str
    volume: int  # relative number of cases
    persons: float  # share of applicants who are natural persons
    trades: tuple[str, ...] = ("商贸有限公司",)  # endings of applicant company names
    fee: int = 0
    important: bool = False
    fines: tuple[int, int, int] = (0, 0, 0)  # penalty items: lowest, highest, step (yuan)
    funds: bool = False  # disbursed funds disclosed at three levels, four times (三级四次公开)
    gov_info: bool = False  # applications for government information (依申请公开, rules/gov_info.yaml)

    @model_validator(mode="after")
    def _known_unit(self) -> Item:
        if self.unit not in (WORKING, NATURAL, HOURS):
            raise ValueError(f"{self.code}: unit {self.unit!r} is not {WORKING}, {NATURAL} or {HOURS}")
        return self

    def record(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {"basis": self.basis}
        if self.important:
            attributes["important"] = True
        if self.funds:
            attributes["funds_disclosure"] = True
        if self.gov_info:
            attributes["gov_info_request"] = True
        return {
            "type": "item",
            "item_code": self.code,
            "name": self.name,
            "item_type": self.item_type,
            "department": self.department,
            "legal_limit": self.legal,
            "promised_limit": self.promised,
            "limit_unit": self.unit,
            "fee_standard": self.fee,
            "attributes": attributes,
        }


class Catalogue(_Data):
    departments: tuple[str, ...]  # in the order their staff are invented
    unlisted_codes: tuple[str, ...]  # codes used although not listed (清单外行使权力)
    items: tuple[Item, ...]

    @model_validator(mode="after")
    def _known_departments(self) -> Catalogue:
        for item in self.items:
            if item.department not in self.departments:
                raise ValueError(f"{item.code}: department {item.department!r} is not in departments")
        return self


class People(_Data):
    surnames: str
    given_one: str
    given_two: tuple[str, ...]
    brands: tuple[str, ...]
    areas: tuple[str, ...]  # birthplace codes; the first ten are the city's own
    mobile_prefixes: tuple[str, ...]


class Wording(_Data):
    missing_docs: tuple[str, ...]
    intake_reasons: tuple[str, ...]
    refusal_reasons: tuple[str, ...]
    summary_exemption: str


_Model = TypeVar("_Model", bound=_Data)
DATA = files("monitor.demo") / "data"


def read_data(name: str, model: type[_Model], folder: Traversable = DATA) -> _Model:
    """One file of data/, validated. A file that is missing, not YAML or not of the model is
    a StartupError naming the file and each field at fault, on one line: the installation
    is broken, and `sunlight demo` says so instead of a traceback."""
    resource = folder / name
    try:
        raw: Any = yaml.safe_load(resource.read_text(encoding="utf-8"))
        return model.model_validate(raw)
    except ValidationError as exc:
        faults = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'the file'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise StartupError(f"demo data {resource}: {faults}") from exc
    except (OSError, yaml.YAMLError) as exc:
        one_line = " ".join(str(exc).split())
        raise StartupError(f"demo data {resource}: {one_line}") from exc


_CATALOGUE = read_data("catalogue.yaml", Catalogue)
CATALOGUE: tuple[Item, ...] = _CATALOGUE.items
DEPARTMENTS: tuple[str, ...] = _CATALOGUE.departments
UNLISTED_CODES: tuple[str, ...] = _CATALOGUE.unlisted_codes
PEOPLE = read_data("people.yaml", People)
WORDING = read_data("wording.yaml", Wording)
