"""`sunlight audit …`: verify the history, anchor its head, make a key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli_common import current_config
from monitor.errors import ConfigError
from monitor.terminal import say

audit_app = typer.Typer(help="The tamper-evident alert history.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            "--anchor", help="SEQ:HMAC of a head kept elsewhere (a digest's 存证链 line); repeatable"
        ),
    ] = None,
) -> None:
    """Replay the history: every link and HMAC, the alerts against it, the anchors; exit 1
    with one line per finding. Reads only: never upgrades the schema or makes a key."""
    from alerts.audit.anchors import parse_anchor, read_anchors
    from alerts.audit.keys import AuditKeyError, read_key_file
    from alerts.audit.replay import Finding
    from alerts.audit.verify import verify
    from monitor.app import build
    from monitor.startup import check_files

    cfg = current_config()
    given = [parse_anchor(a) for a in anchor or []]
    problems: list[Finding] = []
    keys = {}
    try:
        from alerts.audit.keys import current_key

        key = current_key(cfg)
        keys[key.key_id] = key
    except AuditKeyError as exc:
        problems.append(Finding("no_key", f"{exc}: keyed rows cannot be checked"))
    for p in cfg.audit.previous_key_files:
        try:
            old = read_key_file(cfg.path(p))
            keys.setdefault(old.key_id, old)
        except AuditKeyError as exc:
            problems.append(Finding("no_key", f"audit.previous_key_files: {exc}"))
    path = cfg.path(cfg.audit.anchor_file)
    # The anchor file is read before the database: an anchor appended meanwhile is then
    # always of a head the snapshot already holds.
    stored, unreadable = read_anchors(path)
    problems.extend(Finding("anchor_unreadable", line) for line in unreadable)
    check_files(cfg, create=False, only=("state",))  # a missing SQLite file is one line
    application = build(cfg)
    try:
        report = verify(
            application.state, keys, [*stored, *given], anchor_expected=None if given else str(path)
        )
    finally:
        application.dispose()
    # A key that cannot be read matters only where rows need it: then it is the reason.
    findings = [*(problems if "unknown_key" in report.names() else []), *report.findings]
    if not findings:
        say(f"ok: {report.summary}")
        return
    for f in findings:
        say(str(f), err=True)
    say(f"TAMPERED or damaged: {len(findings)} finding(s) in {report.rows} history rows", err=True)
    raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor() -> None:
    """Print the history's head and append it to the anchor file (after checking that the
    chain continues the last anchor there)."""
    from alerts.audit.anchors import anchor_head
    from monitor.app import build
    from monitor.startup import check_files
    from monitor.timeutil import utcnow

    cfg = current_config()
    check_files(cfg, create=False, only=("state",))  # a missing SQLite file is one line
    application = build(cfg)
    if application.keys is None:
        from alerts.audit.keys import load_keyring

        load_keyring(cfg)  # raises the reason: the key is needed to check the rows
    path = cfg.path(cfg.audit.anchor_file)
    try:
        outcome = anchor_head(application.state, path, utcnow().astimezone(cfg.tz))
    finally:
        application.dispose()
    if outcome.problems:
        for line in outcome.problems:
            say(line, err=True)
        say(f"not anchored: the chain does not continue the last anchor in {path}", err=True)
        raise typer.Exit(1)
    head = outcome.head
    assert head is not None
    say(f"{head.digest_line()} (row {head.seq}, hmac {head.hash}, key {head.key_id or 'unkeyed'})")
    if outcome.written is not None:
        say(f"appended to {path}")
    else:
        say("the history is empty: nothing to anchor")


@audit_app.command("keygen")
def audit_keygen(path: Annotated[Path, typer.Argument(help="The new key file (must not exist)")]) -> None:
    """Write a new random audit key (mode 0600) for a rotation; never overwrites a file."""
    from alerts.audit.keys import generate

    if path.exists():
        raise ConfigError(f"{path} exists: a key file is never overwritten")
    key = generate(path)
    say(f"key {key.key_id} written to {path}")
