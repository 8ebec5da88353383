"""The quick start's demo accounts: one office user, one user for each of two demo
departments, one operator; passwords generated, printed once and kept beside the demo data
(`data/demo-accounts.txt`, mode 0600) so that a second quick start can say them again.

    python -m monitor.users.demo       (deploy/quickstart.sh runs it)
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import datetime
from pathlib import Path

from monitor.cli_common import open_application
from monitor.config import Config, load_config
from monitor.errors import NotFoundError, SunlightError
from monitor.timeutil import utcnow
from monitor.users.accounts import add_user, get_user

ACCOUNTS: tuple[tuple[str, str, str | None], ...] = (
    ("jjjc", "office", None),
    ("scjg", "department", "市市场监督管理局"),
    ("zrzy", "department", "市自然资源和规划局"),
    ("yunwei", "operator", None),
)
NAMES = {"office": "纪检监察室", "department": "办理部门", "operator": "运维人员"}


def create(cfg: Config) -> list[str]:
    """The accounts made now, with their passwords, and those already there; one line each."""
    application = open_application(cfg)
    application.prepare_audit()
    kept = cfg.path(Path("data/demo-accounts.txt"))
    lines: list[str] = []
    made: list[str] = []
    try:
        with application.state.begin() as conn:
            for name, role, department in ACCOUNTS:
                who = NAMES[role] + (f"·{department}" if department else "")
                try:
                    get_user(conn, name)
                    lines.append(f"  {name:8} {who}（已存在，密码见 {kept}）")
                    continue
                except NotFoundError:
                    pass
                password = secrets.token_urlsafe(9)
                add_user(conn, name, role, department, password, utcnow(), by="演示数据")
                made.append(f"{name} {password}")
                lines.append(f"  {name:8} 密码 {password}  {who}")
    finally:
        application.dispose()
    if made:
        kept.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write("\n".join(made) + "\n")
    return lines


# The 督办 the demo shows, one in each state: (department, the reply, the ruling).
DEMO_LOOP: tuple[tuple[str, str | None, str | None], ...] = (
    ("市市场监督管理局", None, None),
    ("市市场监督管理局", "已补作受理登记，并对窗口人员进行了批评教育。", None),
    ("市自然资源和规划局", "已于本周内完成公示，今后严格按时限公开。", "整改到位，予以采纳。"),
)


def supervisions(cfg: Config, now: datetime) -> list[str]:
    """On a demo with alerts and no 督办 yet: one awaiting the reply, one awaiting the
    ruling, one ruled, issued by the demo office on open reds of the demo departments."""
    from sqlalchemy import func, select

    from alerts.supervision import service, settings_for
    from monitor.access import Actor
    from monitor.state.schema import alerts
    from monitor.state.schema import supervisions as table

    application = open_application(cfg)
    application.prepare_audit()
    settings = settings_for(cfg, max_reply_days=cfg.web.reply_days_max)
    office = Actor("jjjc", "office")
    people = {d: Actor(n, "department", d) for n, r, d in ACCOUNTS if r == "department" and d}
    lines: list[str] = []
    try:
        with application.state.begin() as conn:
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                return []
            taken: set[int] = set()
            for department, answer, ruling in DEMO_LOOP:
                row = conn.execute(
                    select(alerts.c.id, alerts.c.case_id)
                    .where(alerts.c.department == department, alerts.c.level == "red")
                    .where(alerts.c.state == "open", alerts.c.id.not_in(taken or {0}))
                    .order_by(alerts.c.id)
                ).first()
                if row is None:
                    continue
                taken.add(int(row.id))
                s = service.supervise(
                    conn, office, int(row.id), demand="rectify", reply_within_days=cfg.web.reply_days_default,
                    note="请核查原因，限期整改并书面报告。", now=now, settings=settings,
                )  # fmt: skip
                if answer is not None:
                    s = service.reply(conn, people[department], int(row.id), kind="rectified", text=answer,
                                      now=now, settings=settings)  # fmt: skip
                if ruling is not None:
                    s = service.rule(conn, office, int(row.id), decision="accepted", note=ruling, now=now,
                                     settings=settings)  # fmt: skip
                lines.append(f"  {s.number} {department} 办件 {row.case_id}：{STATES[s.state]}")
    finally:
        application.dispose()
    return lines


STATES = {"issued": "待答复", "replied": "已答复，待裁定", "ruled": "已裁定"}


def main() -> None:
    try:
        cfg = load_config()
        lines = create(cfg)
        loop = supervisions(cfg, utcnow())
    except SunlightError as exc:
        print(f"sunlight: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    print("演示账户（用户名、密码、角色）：")
    print("\n".join(lines))
    if loop:
        print("演示督办：")
        print("\n".join(loop))


if __name__ == "__main__":
    main()
