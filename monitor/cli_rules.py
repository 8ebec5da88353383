"""`sunlight check`, `test-rules` and `backtest`: the configuration and the rules, before they run."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.cli_common import current_config, open_application, print_json
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.terminal import cell, say
from monitor.timeutil import utcnow

rules_commands = typer.Typer()


@rules_commands.command()
def check(
    path: Annotated[
        Path | None, typer.Argument(help="A rule file or folder (default: the configured rules)")
    ] = None,
    connect: Annotated[
        bool,
        typer.Option("--connect", help="Also reach the state and source databases and the SMTP server"),
    ] = False,
) -> None:
    """Check the configuration and the rule files; exit 2 listing every error. With
    --connect, one line per database and the SMTP server; exit 1 if one fails."""
    from monitor.calendar.overlay import read_overlays
    from monitor.calendar.sources import check_lines
    from monitor.calendar.workdays import build_calendar
    from monitor.engine import load_ruleset
    from monitor.errors import RuleError
    from monitor.timeutil import local_date

    cfg = current_config()
    target = path or cfg.path(cfg.rules.path)
    try:
        rules = load_ruleset(target, frozenset(cfg.notify.routes))
    except RuleError as exc:
        for problem in exc.problems:
            say(problem, err=True)
        say(f"{len(exc.problems)} error(s) in {target}", err=True)
        raise typer.Exit(2) from exc
    from alerts.audit.keys import key_problems

    key_errors, key_notes = key_problems(cfg)
    if key_errors:
        for problem in key_errors:
            say(problem, err=True)
        say(f"{len(key_errors)} error(s) in the audit key configuration", err=True)
        raise typer.Exit(2)
    from monitor.channelcheck import channel_problems

    channel_errors, channel_notes = channel_problems(cfg)
    if channel_errors:
        for problem in channel_errors:
            say(problem, err=True)
        say(f"{len(channel_errors)} error(s) in the notice channels", err=True)
        raise typer.Exit(2)
    key_notes = [*key_notes, *channel_notes]
    scheme_line = _check_scheme(cfg)
    overlays, covered = read_overlays(cfg.path(cfg.rules.calendar))
    calendar = build_calendar(overlays, covered)
    line, warnings = check_lines(calendar, overlays, covered, local_date(utcnow(), cfg.tz))
    say(f"ok: configuration valid; {rules.rule_count} rules in {len(rules.files)} files; {scheme_line}{line}")
    for warning in warnings:
        say(warning)
    # Not an error of the author's: the condition still means what CEL says, only slower.
    for sentence in rules.distrusted.values():
        say(f"warning: {sentence}")
    for note in key_notes:
        say(note)
    if connect and not _connect_lines(cfg):
        raise typer.Exit(1)


def _check_scheme(cfg: Config) -> str:
    """The scoring scheme checked as strictly as a rule file: exit 2 listing its problems. A
    scheme left at its default place and absent is no error: the report then has no scores."""
    from monitor.assessment.scheme import load_scheme
    from monitor.errors import RuleError

    path = cfg.scheme_path()
    if cfg.assessment.scheme is None and not path.exists():
        return ""
    try:
        scheme = load_scheme(path)
    except RuleError as exc:
        for problem in exc.problems:
            say(problem, err=True)
        say(f"{len(exc.problems)} error(s) in the scoring scheme {path}", err=True)
        raise typer.Exit(2) from exc
    return f"scoring scheme “{scheme.title}” with {len(scheme.indicators)} indicators; "


def _connect_lines(cfg: Config) -> bool:
    """`check --connect`: each dependency on one line; True when all answered."""
    from monitor.startup import Probe, probe_database

    probes = [probe_database(cfg, "state"), probe_database(cfg, "source")]
    smtp = cfg.notify.smtp
    if smtp.url is None:
        probes.append(Probe("smtp", True, f"not used: notices are written to {cfg.path(cfg.notify.eml_dir)}"))
    else:
        from alerts.notify.smtp import SmtpNotifier
        from monitor.errors import UnreachableError

        notifier = SmtpNotifier(smtp)
        try:
            notifier.probe()
            probes.append(Probe("smtp", True, f"{notifier.where} answered EHLO"))
        except UnreachableError as exc:
            probes.append(Probe("smtp", False, str(exc)))
    for probe in probes:
        say(probe.line(), err=not probe.ok)
    return all(p.ok for p in probes)


@rules_commands.command("test-rules")
def test_rules(
    path: Annotated[
        Path | None, typer.Argument(help="A rule folder (its tests/ are run) or one fixture file")
    ] = None,
    show: Annotated[bool, typer.Option("--show", help="Print every finding's sentence")] = False,
) -> None:
    """Run the rule tests (YAML fixtures); exit 1 when one fails, 2 when a file is invalid."""
    from monitor.calendar import load_calendar
    from monitor.engine import load_ruleset
    from monitor.engine.ruletest import locate, run_fixtures
    from monitor.errors import RuleError

    cfg = current_config()
    folder, files = locate(path or cfg.path(cfg.rules.path))
    if not files:
        raise ConfigError(f"{folder}: no rule tests (tests/*.yaml)")
    try:
        rules = load_ruleset(folder, frozenset(cfg.notify.routes))
        outcomes = run_fixtures(files, rules, load_calendar(cfg.path(cfg.rules.calendar)), cfg.tz)
    except RuleError as exc:
        for problem in exc.problems:
            say(problem, err=True)
        raise typer.Exit(2) from exc
    failed = [o for o in outcomes if not o.ok]
    if show:
        for o in outcomes:
            say(f"{'ok  ' if o.ok else 'FAIL'} {o.file.name}: {o.name}")
            for line in o.said:
                say(f"  {line}")
    for o in failed:
        say(f"FAIL {o.file.name}: {o.name}", err=True)
        for line in o.missing:
            say(f"  expected but not raised: {line}", err=True)
        for line in o.unexpected:
            say(f"  raised but not expected: {line}", err=True)
        for line in o.wrong_words:
            say(f"  wrong words: {line}", err=True)
    say(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    scheme_failed = _test_scheme(cfg) if path is None else False
    if failed or scheme_failed:
        raise typer.Exit(1)


def _test_scheme(cfg: Config) -> bool:
    """The scoring scheme's fixtures (assessment/tests/*.yaml), when it has any; whether one failed."""
    from monitor.assessment.scheme import load_scheme
    from monitor.assessment.schemetest import run, scheme_fixtures
    from monitor.errors import RuleError

    files = scheme_fixtures(cfg.scheme_path())
    if not files:
        return False
    try:
        outcomes = run(load_scheme(cfg.scheme_path()), files)
    except RuleError as exc:
        for problem in exc.problems:
            say(problem, err=True)
        raise typer.Exit(2) from exc
    bad = [o for o in outcomes if not o.ok]
    for o in bad:
        say(f"FAIL {o.file.name}: {o.name}: {'; '.join(o.problems)}", err=True)
    say(f"scoring scheme: {len(outcomes) - len(bad)} passed, {len(bad)} failed")
    return bool(bad)


@rules_commands.command()
def backtest(
    from_: Annotated[str, typer.Option("--from", help="First day of the window (YYYY-MM-DD)")],
    to: Annotated[str, typer.Option("--to", help="Last day of the window (YYYY-MM-DD)")],
    rules: Annotated[Path | None, typer.Option("--rules", help="The proposed rule folder")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Replay recorded history under a proposed rule set and compare with the current one."""
    from rich.progress import Progress

    from monitor.backtest import backtest as run_backtest
    from monitor.backtest import cases_in_window
    from monitor.engine import load_ruleset
    from monitor.errors import RuleError

    cfg = current_config()
    try:
        start, end = date.fromisoformat(from_), date.fromisoformat(to)
    except ValueError as exc:
        raise ConfigError(f"--from and --to must be dates (YYYY-MM-DD): {exc}") from exc
    if end < start:
        raise ConfigError("--to is before --from")
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, not {fmt!r}")
    application = open_application(cfg)
    holder = application.holder()
    routes = frozenset(cfg.notify.routes)
    try:
        proposed = load_ruleset(rules, routes) if rules is not None else holder.rules()
    except RuleError as exc:
        for problem in exc.problems:
            say(problem, err=True)
        raise typer.Exit(2) from exc
    ids = cases_in_window(application.source, start, end, cfg.tz)
    until = min(datetime.combine(end, datetime.max.time(), tzinfo=cfg.tz), utcnow())
    reader = application.pipeline(holder).reader
    with Progress(disable=fmt == "json", transient=True) as progress:
        task = progress.add_task("replaying cases", total=len(ids))
        report = run_backtest(
            reader,
            ids,
            holder.rules(),
            proposed,
            holder.calendar(),
            until,
            cfg.tz,
            lambda n: progress.advance(task, n),
        )
    application.dispose()
    _backtest_output(report, fmt)


def _backtest_output(report: Any, fmt: str) -> None:
    keys = sorted(set(report.current) | set(report.proposed))
    rows = [
        {
            "rule": r,
            "department": d,
            "level": lv,
            "current": report.current[(r, d, lv)],
            "proposed": report.proposed[(r, d, lv)],
        }
        for r, d, lv in keys
    ]
    changes = [
        {
            "case_id": c.case_id,
            "department": c.department,
            "only_current": c.only_current,
            "only_proposed": c.only_proposed,
        }
        for c in report.changes
    ]
    if fmt == "json":
        print_json(
            {"cases": report.cases, "by_rule": rows, "changed_cases": changes, "truncated": report.truncated}
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=cell(f"{report.cases} cases replayed"))
    for name in ("rule", "department", "level", "current", "proposed", "change"):
        table.add_column(name)
    for r in rows:
        delta = r["proposed"] - r["current"]
        table.add_row(
            *map(cell, (r["rule"], r["department"], r["level"], r["current"], r["proposed"], f"{delta:+d}"))
        )
    Console().print(table)
    say(f"{len(changes)} cases would change")
    for c in changes[:50]:
        say(f"  {c['case_id']} ({c['department']}): -{c['only_current']} +{c['only_proposed']}")
