"""The quick start's demo accounts: one office user, one user for each of two demo
departments, one operator; passwords generated, printed once and kept beside the demo data
(`data/demo-accounts.txt`, mode 0600) so that a second quick start can say them again.

    python -m monitor.users.demo       (deploy/quickstart.sh runs it)
"""

from __future__ import annotations

import os
import secrets
import sys
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


def main() -> None:
    try:
        lines = create(load_config())
    except SunlightError as exc:
        print(f"sunlight: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    print("演示账户（用户名、密码、角色）：")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
