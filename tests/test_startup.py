"""Start-up failures as a person meets them: the real CLI in a process, one line on standard
error naming what, where and what to do, exit code 2, and nothing created by accident."""

from __future__ import annotations

import socket
import subprocess
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, inspect, make_url

from tests.conftest import (
    MARIADB_URL,
    PG_URL,
    RULES,
    run_cli,
    scratch_database,
    server_or_skip,
    upgraded,
    write_config,
)

CLOSED = {
    "postgres": "postgresql+psycopg://postgres@127.0.0.1:1/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:1/test",
}
NOW = "2026-11-23T10:00:00+08:00"


def cli(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(config, *args, **env)


def one_line(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2 and exactly one line on standard error, holding every word given."""
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sunlight: ") and "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "sunlight.db"


@pytest.fixture
def config(tmp_path: Path, db_file: Path) -> Path:
    return write_config(tmp_path, f"sqlite:///{db_file}")


# -- a database that is not there -----------------------------------------------------------


@pytest.mark.parametrize(
    "args", [("alerts",), ("run", "--once", "--now", NOW), ("run",), ("audit", "verify")]
)
def test_a_mistyped_sqlite_path_is_refused_and_nothing_is_created(
    config: Path, db_file: Path, args: tuple[str, ...]
) -> None:
    line = one_line(cli(config, *args), f"no database at {db_file}", "create it with `sunlight db upgrade`")
    assert "`database.url` in" in line and str(config) in line
    assert not db_file.exists() and not db_file.parent.exists()


def test_db_upgrade_demo_and_run_init_are_the_commands_that_create_a_database(tmp_path: Path) -> None:
    for name, args in {
        "upgrade": ("db", "upgrade"),
        "demo": ("demo", "--cases", "5", "--now", NOW),
        "init": ("run", "--once", "--init", "--now", NOW),
    }.items():
        folder = tmp_path / name
        folder.mkdir()
        db = folder / "data" / "sunlight.db"
        done = cli(write_config(folder, f"sqlite:///{db}"), *args)
        assert done.returncode == 0, done.stderr
        assert db.is_file(), name
        assert cli(folder / "config.yaml", "audit", "verify").returncode == 0, name


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_an_empty_database_is_refused_unless_run_init(tmp_path: Path, kind: str) -> None:
    with _empty_database(tmp_path, kind) as url:
        config = write_config(tmp_path, url)
        one_line(cli(config, "alerts"), "no Sunlight schema in the state database", "sunlight db upgrade")
        # The daemon with its endpoints on, as shipped: still one line.
        served = write_config(tmp_path, url, metrics={"enabled": True, "port": 0})
        one_line(cli(served, "run"), "no Sunlight schema", "sunlight run --init")
        engine = create_engine(url)
        try:
            assert inspect(engine).get_table_names() == []  # refused, and left as it was
        finally:
            engine.dispose()
        config = write_config(tmp_path, url)
        done = cli(config, "run", "--once", "--init", "--now", NOW)
        assert done.returncode == 0, done.stderr
        assert cli(config, "alerts").returncode == 0


def _empty_database(tmp_path: Path, kind: str) -> AbstractContextManager[str]:
    if kind == "sqlite":
        path = tmp_path / "empty.db"
        path.touch()  # an empty file is an SQLite database with no tables
        return nullcontext(f"sqlite:///{path}")
    return scratch_database(kind)


# -- a database that does not answer ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["postgres", "mariadb"])
def test_an_unreachable_database_is_one_line_naming_the_variable_that_set_it(config: Path, kind: str) -> None:
    for args in (("alerts",), ("run", "--once", "--now", NOW)):
        done = cli(config, *args, SUNLIGHT_DATABASE_URL=CLOSED[kind])
        one_line(
            done, "is unreachable", "127.0.0.1:1", "(SUNLIGHT_DATABASE_URL)", "check that the server runs"
        )


@pytest.mark.parametrize("kind", ["postgres", "mariadb"])
def test_a_database_that_does_not_exist_on_the_server_is_not_waited_for(config: Path, kind: str) -> None:
    """The server answered no: permanent, so one line and exit 2, even for the daemon."""
    base = PG_URL if kind == "postgres" else MARIADB_URL
    server_or_skip(base, kind).dispose()
    url = make_url(base).set(database="no_such_db_x").render_as_string(hide_password=False)
    one_line(cli(config, "run", SUNLIGHT_DATABASE_URL=url), "refused", "no_such_db_x", "fix the URL")


# -- the port, the environment, the files ------------------------------------------------------


def test_a_busy_metrics_port_is_one_line(tmp_path: Path, db_file: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = upgraded(
            write_config(tmp_path, f"sqlite:///{db_file}", metrics={"enabled": True, "port": port})
        )
        one_line(
            cli(config, "run"), f"127.0.0.1:{port} is in use", "`metrics.port` in", "choose another port"
        )
        line = one_line(cli(config, "run", SUNLIGHT_METRICS_PORT=str(port)), "is in use")
        assert "SUNLIGHT_METRICS_PORT" in line


@pytest.mark.parametrize(
    ("var", "value", "key"),
    [
        ("SUNLIGHT_METRICS_PORT", "many", "metrics.port"),
        ("SUNLIGHT_SMTP_URL", "http://mail.example.gov.cn", "notify.smtp.url"),
        ("SUNLIGHT_STATE_URL", "postgres://sunlight:secret@db/sunlight", "database.state_url"),
    ],
)
def test_a_bad_environment_variable_is_blamed_not_the_config_file(
    config: Path, var: str, value: str, key: str
) -> None:
    for args in (("check",), ("run",)):
        line = one_line(cli(config, *args, **{var: value}), f"environment variable {var}", f"`{key}`")
        assert "config.yaml" not in line and "secret" not in line


def test_a_bad_config_file_is_one_line_naming_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("daemon:\n  pol_interval_seconds: 5\n", encoding="utf-8")
    one_line(
        cli(config, "run"), str(config), "unknown key `daemon.pol_interval_seconds`", "poll_interval_seconds"
    )


def test_a_bad_rules_folder_is_one_line(tmp_path: Path, db_file: Path) -> None:
    missing = tmp_path / "rulez"
    config = upgraded(
        write_config(tmp_path, f"sqlite:///{db_file}", rules={"path": str(missing), "calendar": str(RULES)})
    )
    for args in (("run",), ("run", "--once", "--now", NOW)):
        one_line(cli(config, *args), f"the rules in {missing}", "no rule files", "run `sunlight check`")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("smtp//mail.example.gov.cn:25", "must start with smtp://"),
        ("http://mail.example.gov.cn", "must start with smtp://"),
        ("smtp://:25", "no host"),
        ("smtp://mail.example.gov.cn:70000", "port must be a number"),
    ],
)
def test_check_refuses_the_smtp_urls_the_daemon_cannot_use(tmp_path: Path, url: str, says: str) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}", notify={"smtp": {"url": url}})
    one_line(cli(config, "check"), str(config), "`notify.smtp.url`", says)


# -- check --connect ------------------------------------------------------------------------


class _Accept:
    async def handle_DATA(self, *_args: object) -> str:  # noqa: N802 - aiosmtpd's hook name
        return "250 OK"


def test_check_connect_reaches_each_dependency_and_says_which_failed(tmp_path: Path, db_file: Path) -> None:
    port = free_port()
    server = Controller(_Accept(), hostname="127.0.0.1", port=port, ready_timeout=10)
    server.start()
    try:
        config = upgraded(
            write_config(
                tmp_path, f"sqlite:///{db_file}", notify={"smtp": {"url": f"smtp://127.0.0.1:{port}"}}
            )
        )
        good = cli(config, "check", "--connect")
        assert good.returncode == 0, good.stderr
        assert f"state_db: ok: sqlite:///{db_file}" in good.stdout
        assert f"source_db: ok: sqlite:///{db_file}" in good.stdout
        assert f"smtp: ok: 127.0.0.1:{port} answered EHLO" in good.stdout
    finally:
        server.stop()
    bad = cli(config, "check", "--connect", SUNLIGHT_STATE_URL=CLOSED["postgres"])
    assert bad.returncode == 1, bad.stdout + bad.stderr
    failed = bad.stderr.splitlines()
    assert len(failed) == 2 and "Traceback" not in bad.stderr, bad.stderr
    assert failed[0].startswith("state_db: FAILED: ") and "is unreachable" in failed[0]
    assert failed[1].startswith("smtp: FAILED: ") and f"127.0.0.1:{port}" in failed[1]
    assert f"source_db: ok: sqlite:///{db_file}" in bad.stdout
    missing = cli(write_config(tmp_path / "data", f"sqlite:///{tmp_path / 'nope.db'}"), "check", "--connect")
    assert missing.returncode == 1 and "state_db: FAILED: no database at" in missing.stderr
    assert not (tmp_path / "nope.db").exists()
