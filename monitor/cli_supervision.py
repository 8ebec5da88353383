"""`sunlight supervision …`: the open 督办 and the printable 工作督办函.

The command line is the office's own shell on the server: it reads as the office (every
department). Issuing, replying and ruling are the console's (the web layer calls
alerts.supervision with the signed-in person)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli_common import NowOpt, current_config, now_from, open_application, print_json
from monitor.config import Config

if TYPE_CHECKING:
    from alerts.supervision import Settings

supervision_app = typer.Typer(help="The 督办 (工作督办函): open ones and the printable letter.")


def _settings(cfg: Config) -> Settings:
    from alerts.supervision import settings_for

    return settings_for(cfg)


@supervision_app.command("list")
def supervision_list(now: NowOpt = None) -> None:
    """The open 督办 with their reply deadlines and whether each is overdue (JSON)."""
    from alerts.supervision import open_supervisions
    from monitor.access import SYSTEM

    cfg = current_config()
    application = open_application(cfg)
    with application.state.connect() as conn:
        rows = open_supervisions(conn, SYSTEM, now=now_from(now, cfg))
    application.dispose()
    print_json([s.as_json(cfg.tz) for s in rows])


@supervision_app.command("letter")
def supervision_letter(
    supervision_id: int,
    issuer: Annotated[
        str, typer.Option("--issuer", help="The issuing office as the letter names it")
    ] = "纪检监察室",
    now: NowOpt = None,
) -> None:
    """The printable 工作督办函 of one 督办 as HTML on standard output (`> letter.html`)."""
    from alerts.supervision.letter import render_letter
    from monitor.access import SYSTEM

    cfg = current_config()
    settings = _settings(cfg)
    application = open_application(cfg)
    with application.state.connect() as conn:
        page = render_letter(
            conn, SYSTEM, supervision_id, now=now_from(now, cfg), settings=settings, issuer=issuer
        )
    application.dispose()
    typer.echo(page, nl=False)
