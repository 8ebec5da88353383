"""The directory of responsible persons: the `person` record, its import, `Directory`, the
`sunlight people` command and the demo's directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from monitor.config import load_config
from monitor.model import Applicant, Case, Event
from monitor.people import ROLE_NAMES, ROLES, Directory, Person, officers_of
from monitor.source.importer import import_records, read_lines
from monitor.state.schema import people
from tests.conftest import Harness, bj, case, event, item, run_cli, upgraded, write_config

NOW = bj("2026-12-07 09:00")
SCJG, WJ = "市市场监督管理局", "市卫生健康委员会"


def person(person_id: str, name: str = "张三", **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "person",
        "person_id": person_id,
        "name": name,
        "department": SCJG,
        "roles": ["handler"],
        "mobile": "+8613800000000",
        "email": "zhangsan@scjg.example.gov.cn",
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def lines(*records: dict[str, Any]) -> list[str]:
    return [json.dumps(r, ensure_ascii=False) for r in records]


@pytest.fixture
def harness(tmp_path: Path, any_db_url: str) -> Iterator[Harness]:
    h = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    yield h
    h.app.dispose()


def stamps(h: Harness) -> dict[str, Any]:
    with h.app.source.connect() as conn:
        return dict(conn.execute(select(people.c.person_id, people.c.updated_at)).all())


# -- import ---------------------------------------------------------------------------------


STAFF = (
    person("P-SCJG-001", "张三", officer="张三", items=["XK-1"], dingtalk="ding-zhangsan"),
    person(
        "P-SCJG-002", "李四", roles=["department_head"], mobile="+8613800000002", email=None, wecom="lisi"
    ),
    person(
        "P-SZF-001", "王五", department="市人民政府", roles=["leader"], covers=[SCJG, WJ], feishu="ou_wangwu"
    ),
)


def test_persons_import_and_a_second_import_writes_nothing(harness: Harness) -> None:
    first = import_records(harness.app.source, read_lines(lines(*STAFF), "people.jsonl"), NOW)
    assert (first.persons, first.unchanged, first.errors) == (3, 0, [])
    before = stamps(harness)
    assert set(before) == {"P-SCJG-001", "P-SCJG-002", "P-SZF-001"}

    again = import_records(
        harness.app.source, read_lines(lines(*STAFF), "people.jsonl"), NOW + timedelta(hours=1)
    )
    assert (again.persons, again.unchanged, again.errors) == (0, 3, [])
    assert stamps(harness) == before  # updated_at unchanged: nothing was written

    with harness.app.source.connect() as conn:
        directory = Directory.load(conn)
    assert len(directory) == 3
    zhang = directory.responsible("handler", SCJG, officers=["张三"])[0]
    assert zhang == Person(
        person_id="P-SCJG-001",
        name="张三",
        department=SCJG,
        roles=("handler",),
        officer="张三",
        items=("XK-1",),
        mobile="+8613800000000",
        email="zhangsan@scjg.example.gov.cn",
        dingtalk="ding-zhangsan",
    )
    assert directory.responsible("leader", WJ)[0].covers == (SCJG, WJ)


def test_a_changed_person_is_updated_and_a_deactivated_one_leaves_the_directory(harness: Harness) -> None:
    import_records(harness.app.source, read_lines(lines(*STAFF), "people.jsonl"), NOW)
    before = stamps(harness)
    later = NOW + timedelta(days=1)
    changed = person("P-SCJG-001", "张三", officer="张三", items=["XK-1", "XK-2"], dingtalk="ding-zhangsan")
    gone = {**STAFF[1], "active": False}
    report = import_records(harness.app.source, read_lines(lines(changed, gone, STAFF[2]), "p2.jsonl"), later)
    assert (report.persons, report.unchanged, report.errors) == (2, 1, [])
    after = stamps(harness)
    assert after["P-SCJG-001"] == after["P-SCJG-002"] == later
    assert after["P-SZF-001"] == before["P-SZF-001"]

    with harness.app.source.connect() as conn:
        directory = Directory.load(conn)
        rows = conn.execute(select(people.c.person_id, people.c.active)).all()
    assert dict(rows) == {"P-SCJG-001": True, "P-SCJG-002": False, "P-SZF-001": True}  # never deleted
    assert [p.person_id for p in directory] == ["P-SCJG-001", "P-SZF-001"]
    assert directory.responsible("department_head", SCJG) == ()
    assert directory.responsible("handler", SCJG, item_code="XK-2")[0].items == ("XK-1", "XK-2")


def test_load_is_one_select(harness: Harness) -> None:
    import_records(harness.app.source, read_lines(lines(*STAFF), "people.jsonl"), NOW)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    with harness.app.source.connect() as conn:
        sa_event.listen(conn, "before_cursor_execute", count)
        assert len(Directory.load(conn)) == 3
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT")


@pytest.mark.parametrize(
    ("change", "reason", "secret"),
    [
        ({"mobile": "13812345678"}, "mobile: 138****5678 is not a mainland mobile number", "13812345678"),
        ({"mobile": "+8623812345678"}, "mobile: 238****5678 is not a mainland", "23812345678"),
        ({"email": "zhangsan.scjg.example.gov.cn"}, "email: *** is not a valid e-mail address", "zhangsan"),
        ({"email": "zhangsan@scjg"}, "email: z***@scjg is not a valid e-mail address", "zhangsan"),
        ({"roles": []}, "roles: List should have at least 1 item", None),
        ({"roles": ["director"]}, "roles.0: Input should be 'handler', 'department_head'", None),
        ({"roles": ["handler", "handler"]}, "roles: Value error, a role is listed twice", None),
        ({"mobile": None, "email": None}, "a person needs at least one of mobile, email", None),
        ({"nickname": "小张"}, "nickname: unknown field", None),
        ({"officer": "张\u2028三"}, "officer: a control character", None),
        ({"covers": ["市\n民政局"]}, "covers[0]: a control character (U+000A)", None),
        ({"person_id": ""}, "person_id: String should have at least 1 character", None),
    ],
)
def test_a_bad_line_is_named_and_its_contacts_masked(
    change: dict[str, Any], reason: str, secret: str | None
) -> None:
    good = person("P-1")
    bad = {k: v for k, v in {**person("P-2"), **change}.items() if v is not None}
    out = list(read_lines(lines(good, bad), "people.jsonl"))
    assert not isinstance(out[0][1], str)
    where, why = out[1]
    assert where == "people.jsonl:2"
    assert isinstance(why, str) and reason.replace("Value error, ", "") in why, why
    if secret is not None:
        assert secret not in why


def test_import_reports_a_bad_person_with_file_and_line_and_loads_the_rest(harness: Harness) -> None:
    bad = person("P-2", mobile="13812345678", email="li@x")
    report = import_records(harness.app.source, read_lines(lines(person("P-1"), bad), "staff.jsonl"), NOW)
    assert report.persons == 1
    assert len(report.errors) == 1 and report.errors[0].startswith("staff.jsonl:2: ")
    assert "13812345678" not in report.errors[0] and "li@x" not in report.errors[0]


# -- the directory ---------------------------------------------------------------------------


def p(person_id: str, name: str, roles: tuple[str, ...], department: str = SCJG, **fields: Any) -> Person:
    return Person(
        person_id, name, department, roles, fields.pop("officer", name), email=f"{person_id}@x.cn", **fields
    )


DIRECTORY = Directory(
    [
        p("h1", "张三", ("handler",), items=("XK-1",)),
        p("h2", "李四", ("handler",), items=("XK-1", "XK-2")),
        p("h3", "王五", ("handler", "liaison"), officer="王五（窗口）"),
        p("h4", "赵六", ("handler",), department=WJ, items=("XK-1",)),
        p("d1", "钱局长", ("department_head",)),
        p("d2", "孙局长", ("department_head",), department=WJ),
        p("l1", "周市长", ("leader",), department="市人民政府", covers=(SCJG, WJ)),
        p("l2", "吴副局长", ("leader",)),  # a department's own 分管领导: covers its department
        p("x1", "郑七", ("handler",), items=("XK-2",), active=False),
    ]
)


def ids(found: tuple[Person, ...]) -> list[str]:
    return [x.person_id for x in found]


def test_the_handlers_named_by_the_steps_come_first_most_recent_first() -> None:
    assert ids(DIRECTORY.responsible("handler", SCJG, officers=["李四", "张三"], item_code="XK-2")) == [
        "h2",
        "h1",
    ]
    assert ids(DIRECTORY.responsible("handler", SCJG, officers=["钱局长", "张三"])) == [
        "h1"
    ]  # heads are not handlers
    assert ids(DIRECTORY.responsible("handler", SCJG, officers=["王五（窗口）"])) == [
        "h3"
    ]  # by `officer`, not name
    # Another department's officer of the same name is not this case's handler.
    assert ids(DIRECTORY.responsible("handler", WJ, officers=["张三"], item_code="XK-9")) == []


def test_without_a_named_handler_the_handlers_posted_to_the_item_answer_else_nobody() -> None:
    assert ids(DIRECTORY.responsible("handler", SCJG, officers=["外单位某人"], item_code="XK-1")) == [
        "h1",
        "h2",
    ]
    assert ids(DIRECTORY.responsible("handler", SCJG, item_code="XK-2")) == ["h2"]  # x1 is inactive
    assert DIRECTORY.responsible("handler", SCJG, officers=["外单位某人"], item_code="XK-404") == ()
    assert DIRECTORY.responsible("handler", SCJG) == ()
    assert DIRECTORY.responsible("handler", "市民政局", officers=["张三"], item_code="XK-1") == ()


def test_heads_leaders_and_liaisons() -> None:
    assert ids(DIRECTORY.responsible("department_head", SCJG)) == ["d1"]
    assert ids(DIRECTORY.responsible("department_head", WJ)) == ["d2"]
    assert ids(DIRECTORY.responsible("leader", SCJG)) == ["l1", "l2"]
    assert ids(DIRECTORY.responsible("leader", WJ)) == ["l1"]
    assert DIRECTORY.responsible("leader", "市民政局") == ()
    assert ids(DIRECTORY.responsible("liaison", SCJG)) == ["h3"]
    assert DIRECTORY.responsible("liaison", WJ) == ()
    assert len(DIRECTORY) == 8
    with pytest.raises(ValueError, match="unknown role 'boss'"):
        DIRECTORY.responsible("boss", SCJG)
    assert set(ROLE_NAMES) == set(ROLES) and ROLE_NAMES["leader"] == "分管领导"


def test_officers_of_a_case_are_its_step_actors_most_recent_first_without_repeats() -> None:
    steps = [
        ("received", ["窗口"]),
        ("accepted", ["张三"]),
        ("reviewed", ["李四", "张三"]),
        ("decided", ["钱局长"]),
    ]
    events = tuple(
        Event(i, f"e{i}", "C1", kind, NOW + timedelta(hours=i), tuple(actors))
        for i, (kind, actors) in enumerate(steps)
    )
    c = Case("C1", "XK-1", SCJG, Applicant(), {}, None, events)
    assert officers_of(c) == ("钱局长", "李四", "张三", "窗口")
    assert ids(DIRECTORY.responsible("handler", SCJG, officers=officers_of(c))) == ["h2", "h1"]
    assert officers_of(Case("C2", "XK-1", SCJG, Applicant(), {}, None, ())) == ()


FULL = Person(
    "P-1",
    "张三",
    SCJG,
    ("handler",),
    "张三",
    mobile="+8613800000000",
    email="zhangsan@scjg.example.gov.cn",
    dingtalk="dd_zhangsan",
    wecom="wx_zhangsan",
    feishu="ou_zhangsan",
)


def test_addresses_follow_the_order_of_the_channels_asked_for() -> None:
    assert FULL.addresses(["feishu", "sms", "email", "dingtalk", "wecom"]) == (
        "feishu://user/ou_zhangsan",
        "sms:+8613800000000",
        "zhangsan@scjg.example.gov.cn",
        "dingtalk://user/dd_zhangsan",
        "wecom://user/wx_zhangsan",
    )
    mail_only = Person("P-2", "李四", SCJG, ("liaison",), "李四", email="lisi@example.gov.cn")
    assert mail_only.addresses(["sms", "dingtalk", "email"]) == ("lisi@example.gov.cn",)
    assert mail_only.addresses([]) == ()
    assert mail_only.channels() == ("email",)
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        mail_only.addresses(["fax"])


def test_repr_and_str_mask_the_contacts() -> None:
    for shown in (repr(FULL), str(FULL), repr(DIRECTORY), repr((FULL,))):
        for secret in ("13800000000", "zhangsan@", "dd_zhangsan", "wx_zhangsan", "ou_zhangsan"):
            assert secret not in shown, shown
    assert "138****0000" in repr(FULL) and "z***@scjg.example.gov.cn" in repr(FULL)
    assert str(FULL) == f"张三（{SCJG}，承办人，P-1）"


def test_a_row_the_directory_cannot_read_is_left_out_and_reported(harness: Harness) -> None:
    import_records(harness.app.source, read_lines(lines(*STAFF), "people.jsonl"), NOW)
    with harness.app.source.begin() as conn:
        conn.execute(people.update().where(people.c.person_id == "P-SZF-001").values(roles=["mayor"]))
    with harness.app.source.connect() as conn:
        directory = Directory.load(conn)
    assert len(directory) == 2
    assert directory.problems == (
        "person P-SZF-001: roles must be some of handler, department_head, leader, liaison",
    )


# -- sunlight people ---------------------------------------------------------------------------


def test_the_people_command_shows_the_directory_masked_and_checks_it(tmp_path: Path) -> None:
    config = upgraded(write_config(tmp_path, f"sqlite:///{tmp_path / 'sunlight.db'}"))
    source = tmp_path / "staff.jsonl"
    records = [item("XK-1"), case("C1"), event("C1", "accepted", "2026-12-01 09:00", "张三"), *STAFF]
    source.write_text("\n".join(lines(*records)) + "\n", encoding="utf-8")
    loaded = run_cli(config, "import", str(source))
    assert loaded.returncode == 0, loaded.stderr
    assert "1 items, 1 cases, 1 events loaded; 3 persons loaded; 0 unchanged" in loaded.stdout

    shown = run_cli(config, "people")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    for expected in (
        "P-SCJG-001",
        "张三",
        "承办人",
        "部门负责人",
        "分管领导",
        "138****0000",
        "z***@scjg.example.gov.cn",
    ):
        assert expected in out, out
    assert "email, sms, dingtalk" in out and "sms, wecom" in out and "sms, feishu" in out
    for secret in ("13800000000", "+8613800000002", "zhangsan@", "ding-zhangsan", "ou_wangwu"):
        assert secret not in out + shown.stderr
    assert "3 of 3 persons" in out

    heads = run_cli(config, "people", "--role", "department_head")
    assert "李四" in heads.stdout and "张三" not in heads.stdout and "1 of 3 persons" in heads.stdout
    of_wj = run_cli(config, "people", "--department", WJ)
    assert "王五" in of_wj.stdout and "1 of 3 persons" in of_wj.stdout  # the leader covering it
    wrong = run_cli(config, "people", "--role", "boss")
    assert wrong.returncode == 2 and "--role must be one of" in wrong.stderr

    fine = run_cli(config, "people", "--check")
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert "3 persons; 0 warnings" in fine.stdout

    more = [
        case("C2", department=WJ),
        person("P-X", "孤雁", department=WJ, roles=["liaison"], email="gu@example.gov.cn"),
    ]
    source.write_text("\n".join(lines(*more)) + "\n", encoding="utf-8")
    assert run_cli(config, "import", str(source)).returncode == 0
    warned = run_cli(config, "people", "--check")
    assert warned.returncode == 1
    assert f"warning: {WJ}: has cases but no handler (承办人)" in warned.stdout
    assert f"warning: {WJ}: has cases but no department_head (部门负责人)" in warned.stdout
    assert "4 persons; 2 warnings" in warned.stdout


def test_check_names_a_person_no_channel_reaches(harness: Harness) -> None:
    from monitor.people.check import check_directory

    import_records(harness.app.source, read_lines(lines(*STAFF), "people.jsonl"), NOW)
    with harness.app.source.begin() as conn:  # a platform's view may hold a row without contacts
        conn.execute(
            people.update()
            .where(people.c.person_id == "P-SZF-001")
            .values(mobile=None, email=None, feishu=None)
        )
    with harness.app.source.connect() as conn:
        assert check_directory(conn) == ("P-SZF-001 王五 (市人民政府): no channel reaches them",)


# -- the demo ------------------------------------------------------------------------------------


def test_the_demo_directory_names_the_officers_of_the_demo_cases() -> None:
    from monitor.demo import DEPARTMENTS, demo_people, demo_records
    from monitor.source.records import parse_line

    records = list(demo_records(NOW, 200))
    persons = [parse_line(json.dumps(r, ensure_ascii=False)) for r in demo_people(NOW)]  # valid records
    assert len({r.person_id for r in persons if r.type == "person"}) == len(persons)
    directory = Directory(
        Person(
            r.person_id, r.name, r.department, tuple(r.roles), r.officer_name, tuple(r.items), tuple(r.covers)
        )
        for r in persons
        if r.type == "person"
    )
    for department in DEPARTMENTS:
        assert directory.responsible("department_head", department), department
        assert directory.responsible("liaison", department), department
        assert directory.responsible("leader", department), department
    actors: dict[str, list[str]] = {}
    where = {r["case_id"]: (r["department"], r["item_code"]) for r in records if r["type"] == "case"}
    for r in records:
        if r["type"] == "event":
            actors.setdefault(r["case_id"], [])[:0] = r["actors"]  # most recent first
    by_officer = sum(
        bool(directory.responsible("handler", where[c][0], officers=a)) for c, a in actors.items()
    )
    assert by_officer >= 0.9 * len(actors)  # nearly every case's handler signed one of its steps
    listed = [
        c
        for c in actors
        if directory.responsible("handler", where[c][0], officers=actors[c], item_code=where[c][1])
    ]
    assert len(listed) >= by_officer
    mobiles = [r.mobile for r in persons if r.type == "person" and r.mobile]
    assert all(m.startswith("+861380000") for m in mobiles) and len(set(mobiles)) == len(mobiles)


def test_a_source_without_the_people_table_is_one_line_naming_it(tmp_path: Path) -> None:
    from sqlalchemy import text

    from monitor.state.db import make_engine

    url = f"sqlite:///{tmp_path / 'sunlight.db'}"
    config = upgraded(write_config(tmp_path, url))
    engine = make_engine(url)
    with engine.begin() as conn:  # as a platform's views made before the directory
        conn.execute(text("DROP TABLE people"))
    engine.dispose()
    out = run_cli(config, "people")
    assert out.returncode == 2
    assert "the source has no readable `people` table or view" in out.stderr
    assert "Traceback" not in out.stderr
