"""`sunlight alerts …`: list alerts, show one with its history, acknowledge, close, silence."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, cast

import typer
from sqlalchemy import Connection

from monitor.cli_common import NowOpt, current_config, now_from, open_application, print_json
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.terminal import cell, say
from monitor.timeutil import parse_instant

# A person's action (alerts.lifecycle.acknowledge or close): connection, alert, who, why, when.
_Action = Callable[[Connection, int, str, str, datetime], None]

alerts_app = typer.Typer(help="List alerts and act on them.", invoke_without_command=True)


@alerts_app.callback()
def alerts_list(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    level: Annotated[str | None, typer.Option("--level", help="yellow or red")] = None,
    state: Annotated[str | None, typer.Option("--state", help="open, acknowledged or resolved")] = None,
) -> None:
    """List alerts (newest first)."""
    if ctx.invoked_subcommand is not None:
        return
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, not {fmt!r}")
    if level not in (None, "yellow", "red"):
        raise ConfigError(f"--level must be yellow or red, not {level!r}")
    if state not in (None, "open", "acknowledged", "resolved"):
        raise ConfigError(f"--state must be open, acknowledged or resolved, not {state!r}")
    from alerts.queries import list_alerts

    cfg = current_config()
    application = open_application(cfg)
    with application.state.connect() as conn:
        rows = [_alert_dict(r, cfg) for r in list_alerts(conn, level=level, state=state)]
    application.dispose()
    if fmt == "json":
        print_json(rows)
        return
    _table(rows)


def _alert_dict(r: Any, cfg: Config) -> dict[str, Any]:
    def t(v: datetime | None) -> str | None:
        return v.astimezone(cfg.tz).isoformat() if v else None

    return {
        "id": r.id,
        "case_id": r.case_id,
        "item_code": r.item_code,
        "department": r.department,
        "rule": r.rule_id,
        "title": r.title,
        "category": r.category,
        "level": r.level,
        "state": r.state,
        "raised_at": t(r.raised_at),
        "escalated_at": t(r.escalated_at),
        "resolved_at": t(r.resolved_at),
        "due": t(r.due),
        "message": r.message,
    }


def _table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for name in ("id", "level", "state", "category", "case_id", "department", "rule", "raised_at"):
        table.add_column(name)
    colours = {"red": "bold red", "yellow": "yellow"}
    for r in rows:
        # Cells are Text, never markup: a case number may hold `[/]` or `[link=...]`.
        table.add_row(
            cell(r["id"]),
            cell(r["level"], colours.get(r["level"], "")),
            cell(r["state"]),
            cell(r["category"]),
            cell(r["case_id"]),
            cell(r["department"]),
            cell(r["rule"]),
            cell((r["raised_at"] or "")[:16]),
        )
    Console().print(table)
    say(f"{len(rows)} alerts")


@alerts_app.command("show")
def alerts_show(alert_id: int) -> None:
    """One alert with its whole history, and its 督办 (each action is a history row too)."""
    from alerts.queries import alert_with_history
    from alerts.supervision import of_alert
    from monitor.access import SYSTEM
    from monitor.timeutil import utcnow

    cfg = current_config()
    application = open_application(cfg)
    with application.state.connect() as conn:
        row, hist = alert_with_history(conn, alert_id)
        supervisions = of_alert(conn, SYSTEM, alert_id, now=utcnow())
    application.dispose()
    body = _alert_dict(row, cfg)
    body["history"] = [
        {
            "seq": h.chain_seq,
            "at": h.at.astimezone(cfg.tz).isoformat(),
            "action": h.action,
            "level": h.level,
            "actor": h.actor,
            "detail": h.detail,
        }
        for h in hist
    ]
    body["supervisions"] = [s.as_json(cfg.tz) for s in supervisions]
    print_json(body)


@alerts_app.command("ack")
def alerts_ack(
    alert_id: int,
    by: Annotated[str, typer.Option("--by", help="Who acknowledges")],
    note: Annotated[str, typer.Option("--note", help="Why, or what was done")],
    now: NowOpt = None,
) -> None:
    """Acknowledge an open alert, recording who and why."""
    from alerts.lifecycle import acknowledge

    _act(alert_id, "acknowledged", acknowledge, by, note, now)


@alerts_app.command("close")
def alerts_close(
    alert_id: int,
    by: Annotated[str, typer.Option("--by", help="Who closes it")],
    note: Annotated[str, typer.Option("--note", help="Why")],
    now: NowOpt = None,
) -> None:
    """Close an alert after handling (it stays on record and is never reopened)."""
    from alerts.lifecycle import close

    _act(alert_id, "closed", close, by, note, now)


@alerts_app.command("silence")
def alerts_silence(
    until: Annotated[str, typer.Option("--until", help="Until when (ISO 8601, Beijing time if no offset)")],
    reason: Annotated[str, typer.Option("--reason", help="Why the notices are held back")],
    by: Annotated[str, typer.Option("--by", help="Who decides it")],
    case: Annotated[str | None, typer.Option("--case", help="One case, by its number")] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="One rule, by its id")] = None,
    department: Annotated[str | None, typer.Option("--department", help="One department")] = None,
    now: NowOpt = None,
) -> None:
    """Hold back the notices of a case, a rule or a department until a time (the alerts are
    still raised and recorded; the notices are kept with the status `silenced`)."""
    from alerts import silences

    chosen = [(s, v) for s, v in (("case", case), ("rule", rule), ("department", department)) if v]
    if len(chosen) != 1:
        raise ConfigError("give exactly one of --case, --rule or --department")
    [(scope, value)] = chosen
    cfg = current_config()
    if scope == "rule":
        from monitor.engine import load_ruleset

        loaded = load_ruleset(cfg.path(cfg.rules.path), frozenset(cfg.notify.routes))
        known = {r.id for f in loaded.files for r in f.spec.rules}
        if value not in known:
            hint = difflib.get_close_matches(value, sorted(known), n=1)
            raise ConfigError(
                f"--rule {value!r}: no such rule" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
    try:
        ends = parse_instant(until, cfg.tz)
    except ValueError as exc:
        raise ConfigError(f"--until: {until!r} is not an ISO 8601 time") from exc
    application = open_application(cfg)
    application.prepare_audit()  # the silence is recorded in the history
    at = now_from(now, cfg)
    with application.state.begin() as conn:
        silence_id = silences.add(conn, cast(silences.Scope, scope), value, ends, reason, by, at)
    application.dispose()
    shown = ends.astimezone(cfg.tz).isoformat()
    say(f"silence {silence_id}: notices for {scope} {value} held back until {shown}")


def _act(alert_id: int, action: str, do: _Action, by: str, note: str, now: str | None) -> None:
    if not by.strip() or not note.strip():
        raise ConfigError("--by and --note must not be empty: the record needs who and why")
    cfg = current_config()
    application = open_application(cfg)
    application.prepare_audit()  # the action is recorded in the history
    at = now_from(now, cfg)
    with application.state.begin() as conn:
        do(conn, alert_id, by.strip(), note.strip(), at)
    application.dispose()
    say(f"alert {alert_id} {action} by {by.strip()}")
