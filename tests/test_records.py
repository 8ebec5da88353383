"""Source rows to a Case: what cannot be read becomes a problem on the case, never an error."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.source.records import case_from_parts, case_from_rows

AT = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
CASE = {"case_id": "C1", "item_code": "X", "department": "市局", "attributes": "{}"}


def test_positional_rows_keep_the_good_events_and_name_each_bad_one() -> None:
    rows = [
        (2, "e2", "C1", "accepted", AT.replace(hour=3), "[]", "{}"),
        (1, "e1", "C1", "received", AT, '["张三"]', '{"window": 3}'),
        (3, "e3", "C1", "reviewed", datetime(2026, 11, 3, 9, 0), "[]", "{}"),  # naive time
        (4, "e4", "C1", None, AT, "[]", "{}"),  # no kind
        (5, "e5", "C1", "decided", AT, "[]", "[1, 2]"),  # attributes not an object
        (6, "e6", "C1", "closed", AT, "not json", "{}"),
    ]
    case = case_from_parts("C1", CASE, None, rows)
    assert [e.event_id for e in case.events] == ["e1", "e2"]  # ordered by (at, seq)
    assert case.events[0].actors == ("张三",)
    assert case.events[0].attributes == {"window": 3}
    assert case.events[1].actors == () and case.events[1].attributes == {}
    assert len(case.problems) == 4
    for event_id, words in (
        ("e3", "timezone-aware"),
        ("e4", "no kind"),
        ("e5", "JSON object"),
        ("e6", "Expecting value"),
    ):
        assert any(p.startswith(f"事件 {event_id}：") and words in p for p in case.problems), event_id


def test_mapping_rows_read_the_same_as_positional_rows() -> None:
    parts = [(1, "e1", "C1", "received", AT, '["张三"]', '{"window": 3}')]
    names = ("seq", "event_id", "case_id", "kind", "at", "actors", "attributes")
    mapped = [dict(zip(names, row, strict=True)) for row in parts]
    assert case_from_rows("C1", CASE, None, mapped) == case_from_parts("C1", CASE, None, parts)
    # A mapping without a column is a problem on the case, as a positional None is.
    broken = case_from_rows("C1", CASE, None, [{k: v for k, v in mapped[0].items() if k != "event_id"}])
    assert broken.events == () and broken.problems and "no kind or no event_id" in broken.problems[0]


def test_rows_that_do_not_come_in_step_order_are_put_in_it() -> None:
    from datetime import UTC, datetime

    from monitor.source.records import CaseRows, in_step_order

    t1, t2 = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)

    def rows(seqs: list[int], times: list[datetime], kinds: tuple[str, ...]) -> CaseRows:
        n = len(seqs)
        record = {"item_code": "XK-1", "department": "局", "attributes": "{}"}
        return CaseRows(
            "C1", record, None, None, seqs, [f"e{s}" for s in seqs], kinds, times, ("[]",) * n, ("{}",) * n
        )

    ordered = rows([1, 2, 3], [t1, t2, t2], ("received", "accepted", "reviewed"))
    assert in_step_order(ordered) is ordered  # nothing to do: the same object back
    shuffled = in_step_order(rows([3, 1, 2], [t2, t1, t2], ("reviewed", "received", "accepted")))
    assert shuffled.seqs == [1, 2, 3] and shuffled.kinds == ("received", "accepted", "reviewed")
    assert shuffled.times == [t1, t2, t2]
    assert [e.seq for e in shuffled.case().events] == [1, 2, 3]
