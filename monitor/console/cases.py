"""One case as the 办件 page shows it: the explain view, its alerts with who did what, and
whether the history rows about it verify.

The timeline, the clocks and the findings are `sunlight explain`'s (monitor.explain), with
the same evaluation as of `now`. The chain check here covers this case's rows (each HMAC,
its link to the next row, the head when it is the newest); `sunlight audit verify` checks
the whole chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from alerts.audit.keys import has_keys, keyring_of
from alerts.audit.replay import Replay, history_query
from alerts.render import LEVEL_NAMES as NOTICE_LEVELS
from alerts.render import mask_id, mask_name, mask_phone
from monitor.access import Actor, ForbiddenError
from monitor.console.alerts import AlertItem, item_of
from monitor.console.context import Services
from monitor.engine import evaluate
from monitor.engine.messages import fmt_deadline, fmt_instant, unit_label
from monitor.errors import NotFoundError
from monitor.explain import LEVEL_NAMES, clock_lines, step_text
from monitor.people.person import ROLE_NAMES
from monitor.source.reader import SourceReader
from monitor.state.schema import alert_history, alerts, chain_head, ladder_steps

ACTION_NAMES = {
    "raised": "发出预警",
    "escalated": "升级为红牌",
    "cured": "已纠正，自动解除",
    "reopened": "再次发出",
    "acknowledged": "确认",
    "closed": "关闭",
    "reminded": "再次提醒",
    "escalated_above": "报送上级督办",
    "ladder_rung": "逐级报送",
    "ladder_stopped": "逐级报送停止",
    "notice_sent": "通知已发出",
    "notice_failed": "通知发送失败",
    "silenced": "已静默",
}
LADDER_STATES = {"scheduled": "待报送", "fired": "已报送", "stopped": "已停止（预警已确认或解除）"}


def _note(action: str, detail: dict[str, Any]) -> str:
    """What a history row says beside its action; a ladder row names its rung and roles and
    counts the people (their contacts stay in the notices)."""
    if action == "ladder_rung":
        roles = "、".join(ROLE_NAMES.get(r, r) for r in detail.get("roles", [])) or "指定接收人"
        waited = int(detail.get("working_days_open", 0))
        after = f"，已等待{waited}个工作日" if waited else ""
        return f"{roles}（{detail.get('recipients', 0)}条通知{after}）"
    if action == "ladder_stopped":
        return "预警已确认或已解除，不再报送" if detail.get("reason") in ("acknowledged", "resolved") else ""
    return str(detail.get("note") or detail.get("message") or "")


@dataclass(frozen=True, slots=True)
class Step:
    at: str
    text: str


@dataclass(frozen=True, slots=True)
class FindingView:
    level: str
    level_name: str
    title: str
    message: str
    basis: str
    due: str


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    seq: int
    at: str
    action: str
    action_name: str
    actor: str
    note: str


@dataclass(frozen=True, slots=True)
class LadderStep:
    """One rung of the escalation ladder scheduled for the alert (alerts.ladder)."""

    rung: str
    level_name: str
    due: str
    state: str  # scheduled, fired, stopped
    state_name: str


@dataclass(frozen=True, slots=True)
class AlertView:
    alert: AlertItem
    history: tuple[HistoryEntry, ...]
    ladder: tuple[LadderStep, ...] = ()


@dataclass(frozen=True, slots=True)
class ChainCheck:
    ok: bool | None  # None: no key to check with
    rows: int
    summary: str


@dataclass(frozen=True, slots=True)
class CaseView:
    case_id: str
    item_code: str
    item_name: str
    department: str
    applicant: str
    applicant_id: str
    applicant_phone: str
    limits: str
    as_of: str
    timeline: tuple[Step, ...]
    clocks: tuple[tuple[str, ...], ...]  # each clock: its title, then its lines
    findings: tuple[FindingView, ...]
    alerts: tuple[AlertView, ...]
    chain: ChainCheck
    next_check: str

    def as_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "item_code": self.item_code,
            "item_name": self.item_name,
            "department": self.department,
            "applicant": {
                "name": self.applicant,
                "id_number": self.applicant_id,
                "phone": self.applicant_phone,
            },
            "limits": self.limits,
            "as_of": self.as_of,
            "timeline": [{"at": s.at, "step": s.text} for s in self.timeline],
            "clocks": [{"title": c[0], "lines": list(c[1:])} for c in self.clocks],
            "findings": [
                {"level": f.level, "title": f.title, "message": f.message, "basis": f.basis, "due": f.due}
                for f in self.findings
            ],
            "alerts": [
                {
                    **a.alert.as_json(),
                    "history": [
                        {"seq": h.seq, "at": h.at, "action": h.action, "actor": h.actor, "note": h.note}
                        for h in a.history
                    ],
                }
                for a in self.alerts
            ],
            "chain": {"ok": self.chain.ok, "rows": self.chain.rows, "summary": self.chain.summary},
            "next_check": self.next_check,
        }


def case_view(services: Services, actor: Actor, case_id: str, now: datetime) -> CaseView:
    """The case if `actor` may see it; NotFoundError for a case of another department, the
    same as for one that does not exist."""
    if not actor.sees_cases:
        raise ForbiddenError("运维人员不能查看办件内容")
    found = list(SourceReader(services.source).load_cases([case_id]))
    case = found[0] if found else None
    if case is None or (not case.events and case.item_code == ""):
        raise NotFoundError(f"case {case_id} not found")
    actor.check_sees(case.department, f"case {case_id}")
    tz = services.tz
    rules, calendar = services.holder.rules(), services.holder.calendar()
    vocab = rules.vocabulary
    ev = evaluate(case, rules, calendar, now, tz)
    item = case.item
    limits = "（不在职权目录中）"
    if item is not None:
        u = unit_label(item.limit_unit)
        promised = f"{item.promised_limit}{u}" if item.promised_limit is not None else "未设"
        legal = f"{item.legal_limit}{u}" if item.legal_limit is not None else "未设"
        limits = f"承诺时限：{promised}；法定时限：{legal}"
    with services.state.connect() as conn:
        views, chain = _alerts(conn, case_id, tz, rung_words(services.notify))
    return CaseView(
        case_id=case.case_id,
        item_code=case.item_code,
        item_name=item.name if item else "（不在职权目录中）",
        department=case.department,
        applicant=mask_name(case.applicant.name),
        applicant_id=mask_id(case.applicant.id_number),
        applicant_phone=mask_phone(case.applicant.phone),
        limits=limits,
        as_of=fmt_instant(now, tz),
        timeline=tuple(Step(fmt_instant(e.at, tz), step_text(e, case, vocab)) for e in case.events),
        clocks=tuple(tuple(clock_lines(r, calendar, vocab, tz)) for r in ev.clocks),
        findings=tuple(
            FindingView(
                f.level.value,
                LEVEL_NAMES[f.level],
                f.title,
                f.message if f.message != f.title else "",
                f.basis,
                fmt_deadline(f.due, tz) if f.due else "",
            )
            for f in ev.findings
        ),
        alerts=views,
        chain=chain,
        next_check=fmt_instant(ev.next_check_at, tz) if ev.next_check_at else "",
    )


def rung_words(notify: Any) -> dict[str, str]:
    """Each configured rung as the console shows it: its roles in Chinese, and its delay."""
    out: dict[str, str] = {}
    for rung in notify.ladder:
        who = "、".join(ROLE_NAMES[r] for r in rung.roles) or "指定接收人"
        unless = "未确认或督办未答复" if rung.unless == "answered" else "未确认"
        when = f"（{rung.after_working_days}个工作日{unless}）" if rung.after_working_days else ""
        out[rung.name] = who + when
    return out


def _alerts(
    conn: Connection, case_id: str, tz: Any, rungs: Mapping[str, str] | None = None
) -> tuple[tuple[AlertView, ...], ChainCheck]:
    """The case's alerts, each with its history and ladder steps; `rungs`: who each rung of
    the configured ladder reaches, in words (a rung no longer configured shows its name)."""
    rows = list(conn.execute(select(alerts).where(alerts.c.case_id == case_id).order_by(alerts.c.id)))
    ids = [int(r.id) for r in rows]
    history: dict[int, list[Any]] = {i: [] for i in ids}
    ladder: dict[int, list[LadderStep]] = {i: [] for i in ids}
    raw: list[Any] = []
    if ids:
        for step in conn.execute(
            select(ladder_steps).where(ladder_steps.c.alert_id.in_(ids)).order_by(ladder_steps.c.due_at)
        ):
            ladder[int(step.alert_id)].append(
                LadderStep(
                    (rungs or {}).get(step.rung, step.rung),
                    NOTICE_LEVELS[step.level],
                    fmt_instant(step.due_at, tz),
                    step.state,
                    LADDER_STATES.get(step.state, step.state),
                )
            )
        for h in conn.execute(history_query().where(alert_history.c.alert_id.in_(ids))):
            raw.append(h)
        for h in conn.execute(
            select(alert_history).where(alert_history.c.alert_id.in_(ids)).order_by(alert_history.c.chain_seq)
        ):
            history[int(h.alert_id)].append(h)
    views = tuple(
        AlertView(
            item_of(r),
            tuple(
                HistoryEntry(
                    int(h.chain_seq),
                    fmt_instant(h.at, tz),
                    h.action,
                    ACTION_NAMES.get(h.action, h.action),
                    "系统" if h.actor == "sunlight" else h.actor,
                    _note(h.action, h.detail or {}),
                )
                for h in history[int(r.id)]
            ),
            tuple(ladder[int(r.id)]),
        )
        for r in rows
    )
    return views, _check_chain(conn, raw)


def _check_chain(conn: Connection, rows: list[Any]) -> ChainCheck:
    """Each row's HMAC, its link to the row after it, and the head if it is the newest."""
    if not rows:
        return ChainCheck(True, 0, "本办件尚无存证记录")
    if not has_keys(conn):
        return ChainCheck(None, len(rows), "未配置存证密钥，无法校验")
    keys = keyring_of(conn).by_id()
    bad: list[int] = []
    for r in sorted(rows, key=lambda x: int(x.chain_seq)):
        seq = int(r.chain_seq)
        replay = Replay(keys, from_seq=seq, prev=str(r.prev_hash), track_alerts=False)
        replay.add(r)
        replay.flush_rows()
        nxt = conn.execute(
            select(alert_history.c.prev_hash).where(alert_history.c.chain_seq == seq + 1)
        ).scalar_one_or_none()
        if nxt is None:
            head = conn.execute(
                select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1)
            ).first()
            linked = head is not None and int(head.seq) == seq and head.hash == r.hash
        else:
            linked = nxt == r.hash
        if replay.findings or not linked:
            bad.append(seq)
    if bad:
        shown = "、".join(str(s) for s in bad[:10])
        return ChainCheck(False, len(rows), f"存证校验未通过：第{shown}条记录被改动或链接断开")
    return ChainCheck(True, len(rows), f"本办件的{len(rows)}条存证记录校验通过（签名与前后链接均一致）")
