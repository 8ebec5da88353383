"""A `$name` that cannot be replaced is reported with its file, line and column, in every
position a rule file can hold one (monitor/engine/params.py, monitor/engine/loader.py).

Each case writes a small rule file, runs `sunlight check` on it and looks for
`file:line:column` of the `$name` (or of the `when:` holding a `params.name`) and the name.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.daemon.reload import RuleHolder
from monitor.metrics import Metrics
from tests.conftest import RULES, write_config

HEAD = "ruleset: probe\ntitle: 探针\nparams:\n  days: 5\n  fee_max: 100.0\n"
RULE = "rules:\n  - id: probe.rule\n    title: 测试\n    category: time_limit\n"
CLOCK = (
    "    kind: deadline\n    clock:\n      start: received\n      stop: decided\n      limit: 5\n"
    "      unit: working_days\n"
)

# (position, file text, where the error points (a unique piece of text), the name it gives)
POSITIONS = [
    (
        "condition",
        HEAD + RULE + "    kind: check\n    when: case.fee_charged > params.fee_cap\n",
        "when:",
        "params.fee_cap",
    ),
    (
        "dollar_in_condition",
        HEAD + RULE + "    kind: check\n    when: case.fee_charged > $fee_cap\n",
        "$fee_cap",
        "$fee_cap",
    ),
    (
        "dollar_in_step_condition",
        HEAD + RULE + "    kind: existence\n    event: {kind: decided, when: event.at > $when_at}\n"
        "    when: case.listed\n",
        "$when_at",
        "$when_at",
    ),
    (
        "number_field",
        HEAD
        + RULE
        + "    kind: deadline\n"
        + "    clock: {start: received, stop: decided, limit: $limit_days, unit: working_days}\n",
        "$limit_days",
        "$limit_days",
    ),
    ("threshold", HEAD + RULE + CLOCK + "    yellow:\n      share: $share\n", "$share", "$share"),
    (
        "title",
        HEAD + RULE.replace("title: 测试", "title: $title_text") + "    kind: unlisted\n",
        "$title_text",
        "$title_text",
    ),
    (
        "template_placeholder",
        HEAD + RULE + "    kind: unlisted\n    detail:\n      - 收费标准{{ params.fee_text }}元\n",
        "收费标准",
        "params.fee_text",
    ),
    (
        "dollar_in_template",
        HEAD + RULE + "    kind: unlisted\n    detail: ['收费 {{ $fee }} 元']\n",
        "$fee",
        "$fee",
    ),
    (
        "template_text",
        HEAD + RULE + "    kind: unlisted\n    detail:\n      - text: $detail_text\n",
        "$detail_text",
        "$detail_text",
    ),
    (
        "nested_list_item",
        HEAD
        + RULE
        + CLOCK.replace(
            "      unit: working_days\n",
            "      unit: working_days\n      extension:\n"
            "        grants:\n          - max_days: 10\n          - {max_days: $second_days}\n",
        ),
        "$second_days",
        "$second_days",
    ),
    (
        "map_value",
        HEAD + RULE + CLOCK + "      pause:\n        begin: suspended\n        end: resumed\n"
        "        max_by_reason:\n          expert_review: {amount: $review_days, unit: natural_days}\n",
        "$review_days",
        "$review_days",
    ),
    (
        "flow_step",
        HEAD + "flow:\n  - [received, $step, decided]\n" + RULE + "    kind: unlisted\n",
        "$step",
        "$step",
    ),
    ("select", HEAD + "select:\n  item_codes: [$code]\n" + RULE + "    kind: unlisted\n", "$code", "$code"),
    (
        "values",
        HEAD + "values:\n  result:\n    granted: $granted_name\n" + RULE + "    kind: unlisted\n",
        "$granted_name",
        "$granted_name",
    ),
    (
        "party_label",
        HEAD + "select: {item_types: [licensing]}\nparty_label: $party\n" + RULE + "    kind: unlisted\n",
        "$party",
        "$party",
    ),
    ("param_value", HEAD + "  other_days: $days\n" + RULE + "    kind: unlisted\n", "$days\n", "$days"),
    (
        "key",
        HEAD + RULE + CLOCK + "      pause:\n        begin: suspended\n        end: resumed\n"
        "        max_by_reason:\n          $reason: {amount: 5, unit: natural_days}\n",
        "$reason",
        "$reason",
    ),
]


# What the error says there, besides the name.
SAYS = {
    "condition": "`params.fee_cap` is not defined under `params:` (did you mean `params.fee_max`?)",
    "dollar_in_condition": "is written `params.name`: write `params.fee_cap` for `$fee_cap`",
    "dollar_in_step_condition": "write `params.when_at` for `$when_at`",
    "number_field": "`$limit_days` is used but not defined under `params:`",
    "threshold": "`$share` is used but not defined under `params:`",
    "title": "`$title_text` is used but not defined under `params:`",
    "template_placeholder": "`params.fee_text` is not defined under `params:`",
    "dollar_in_template": "write `params.fee` for `$fee`",
    "template_text": "`$detail_text` is used but not defined under `params:`",
    "nested_list_item": "`$second_days` is used but not defined under `params:`",
    "map_value": "`$review_days` is used but not defined under `params:`",
    "flow_step": "is not replaced here: parameters are replaced inside `rules:` only, not in `flow`",
    "select": "is not replaced here: parameters are replaced inside `rules:` only, not in `select`",
    "values": "is not replaced here: parameters are replaced inside `rules:` only, not in `values`",
    "party_label": "is not replaced here: parameters are replaced inside `rules:` only, not in `party_label`",
    "param_value": "`$days` is not replaced here: a parameter's value cannot name another parameter",
    "key": "`$reason` as a key: parameters stand for values, never keys",
}


def position(text: str, piece: str) -> str:
    """`line:column` (1-based) of the first `piece` in `text`."""
    before = text[: text.index(piece)]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


def check(tmp_path: Path, text: str) -> tuple[Path, int, str]:
    folder = tmp_path / "rules"
    folder.mkdir()
    path = folder / "probe.yaml"
    path.write_text(text, encoding="utf-8")
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'sunlight.db'}")
    result = CliRunner().invoke(app, ["--config", str(config), "check", str(folder)])
    return path, result.exit_code, result.output


@pytest.mark.parametrize(("what", "text", "piece", "name"), POSITIONS, ids=[p[0] for p in POSITIONS])
def test_a_parameter_that_cannot_be_replaced_is_named_with_file_line_and_column(
    tmp_path: Path, what: str, text: str, piece: str, name: str
) -> None:
    path, code, output = check(tmp_path, text)
    assert code == 2, output
    lines = [line for line in output.splitlines() if SAYS[what] in line and line.startswith(str(path))]
    assert all(name in line for line in lines)
    assert lines, output
    at = re.compile(re.escape(f"{path}:{position(text, piece)}") + "[: ]")
    assert any(at.match(line) for line in lines), (position(text, piece), output)


def test_the_same_undefined_parameter_twice_is_named_at_each_place(tmp_path: Path) -> None:
    text = HEAD + RULE + CLOCK.replace("limit: 5", "limit: $limit_days") + "    yellow: {left: $limit_days}\n"
    path, code, output = check(tmp_path, text)
    assert code == 2
    first = position(text, "$limit_days")
    second = position(text, "{left: $limit_days}").split(":")
    second_at = f"{second[0]}:{int(second[1]) + len('{left: ')}"
    assert f"{path}:{first} [rule probe.rule]: `$limit_days` is used but not defined" in output
    assert f"{path}:{second_at} [rule probe.rule]: `$limit_days` is used but not defined" in output
    assert "valid integer" not in output  # not the same mistake again in pydantic's words


def test_a_misspelt_parameter_gets_a_suggestion(tmp_path: Path) -> None:
    text = HEAD + RULE + CLOCK.replace("limit: 5", "limit: $dyas")
    _, code, output = check(tmp_path, text)
    assert code == 2 and "(did you mean `$days`?)" in output


def test_defined_parameters_still_load_in_every_position_that_replaces_them(tmp_path: Path) -> None:
    text = (
        "ruleset: probe\ntitle: 探针\nparams:\n  days: 5\n  share: 0.8\n  name: 受理\n  more: 10\n"
        + RULE.replace("title: 测试", "title: $name")
        + CLOCK.replace("limit: 5", "limit: $days").replace(
            "      unit: working_days\n",
            "      unit: working_days\n      extension:\n        grants:\n          - max_days: 10\n"
            "          - {max_days: $more}\n",
        )
        + "    yellow: {share: $share}\n    detail:\n      - text: $name\n"
    )
    _, code, output = check(tmp_path, text)
    assert code == 0, output
    assert "ok: configuration valid; 1 rules in 1 files" in output


def test_a_reload_with_an_undefined_parameter_keeps_the_last_good_set(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    metrics = Metrics()
    holder = RuleHolder(rules, rules / "calendar", frozenset({"department", "discipline_office"}), metrics)
    good = holder.rules()
    path = rules / "licensing.yaml"
    original = path.read_text(encoding="utf-8")
    broken = original.replace("limit: $accept_days", "limit: $accept_dayz", 1)
    path.write_text(broken, encoding="utf-8")
    assert holder.changed()
    assert holder.reload() is False
    assert holder.rules() is good
    assert metrics.reload_ok._value.get() == 0
    where = f"{path}:{position(broken, '$accept_dayz')} "
    assert any(e.startswith(where) and "`$accept_dayz`" in e for e in holder.errors), holder.errors
    path.write_text(original, encoding="utf-8")
    assert holder.reload() is True and holder.errors == []
