"""`sunlight web`: the supervision console, served by uvicorn over the state database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli_common import current_config, open_application
from monitor.config import Config
from monitor.terminal import say

if TYPE_CHECKING:
    from fastapi import FastAPI

web_commands = typer.Typer()


def build_console(cfg: Config) -> FastAPI:
    """The console's app for a configuration: the databases opened, the history's key ready
    (acknowledging writes history), the rules loaded, the session secret found."""
    from monitor.console.context import Services
    from monitor.web.app import create_app
    from monitor.web.secret import session_secret

    secret = session_secret(cfg)  # before any database: a missing secret is one line, exit 2
    application = open_application(cfg)
    try:
        application.prepare_audit()
        holder = application.holder()
    except BaseException:
        application.dispose()
        raise
    scheme = cfg.scheme_path() if cfg.scheme_path().exists() else None
    services = Services(application.state, application.source, holder, cfg.tz, cfg.notify, scheme)
    return create_app(services, cfg.web, secret)


@web_commands.command()
def web(
    host: Annotated[
        str | None, typer.Option("--host", help="Listen on this address (default: web.host)")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Listen on this port (default: web.port)")
    ] = None,
) -> None:
    """Serve the supervision console (pages and /api)."""
    import uvicorn

    cfg = current_config()
    app = build_console(cfg)
    bind_host, bind_port = host or cfg.web.host, port or cfg.web.port
    say(f"console at {cfg.web.base_url} (listening on {bind_host}:{bind_port})")
    uvicorn.run(app, host=bind_host, port=bind_port, log_level="warning", proxy_headers=True)
