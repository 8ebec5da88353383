"""Configuration: strict keys, relative paths, environment overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import load_config
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_loads_and_resolves_paths_against_its_folder() -> None:
    cfg = load_config(ROOT / "config.yaml", environ={})
    assert cfg.source_url == f"sqlite:///{ROOT / 'data' / 'sunlight.db'}"
    assert cfg.path(cfg.rules.path) == ROOT / "rules"
    assert cfg.path(cfg.notify.eml_dir) == ROOT / "data" / "outbox"
    assert cfg.database.manages_source
    assert str(cfg.tz) == "Asia/Shanghai"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "SUNLIGHT_CONFIG": str(ROOT / "config.yaml"),
        "SUNLIGHT_SOURCE_URL": "postgresql+psycopg://ro@platform/platform",
        "SUNLIGHT_STATE_URL": "postgresql+psycopg://sunlight@db/sunlight",
        "SUNLIGHT_SMTP_URL": "smtp+starttls://mail.example.gov.cn:587",
        "SUNLIGHT_METRICS_PORT": "9400",
        "SUNLIGHT_TIMEZONE": "Asia/Urumqi",
    }
    cfg = load_config(environ=env)
    assert cfg.source_url == "postgresql+psycopg://ro@platform/platform"
    assert cfg.state_url == "postgresql+psycopg://sunlight@db/sunlight"
    assert not cfg.database.manages_source  # a platform's database is only read
    assert cfg.notify.smtp.url == "smtp+starttls://mail.example.gov.cn:587"
    assert cfg.metrics.port == 9400
    assert str(cfg.tz) == "Asia/Urumqi"
    one = load_config(ROOT / "config.yaml", environ={"SUNLIGHT_DATABASE_URL": "sqlite:///x/y.db"})
    assert one.source_url == one.state_url == f"sqlite:///{ROOT / 'x' / 'y.db'}"


def test_mistakes_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("metrics:\n  prot: 9000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key `metrics.prot` \(did you mean `port`\?\)"):
        load_config(bad, environ={})
    bad.write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        load_config(bad, environ={})
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "missing.yaml", environ={})
    with pytest.raises(ConfigError, match=r"metrics\.port"):
        load_config(ROOT / "config.yaml", environ={"SUNLIGHT_METRICS_PORT": "many"})


def test_without_a_file_the_embedded_defaults_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = load_config(environ={})
    assert cfg.source_url == f"sqlite:///{tmp_path / 'data' / 'sunlight.db'}"
    assert cfg.notify.smtp.url is None and cfg.metrics.host == "127.0.0.1"


BAD_ADDRESSES = [
    "not an address",
    "a@b.cn, c@d.cn",
    "Sunlight <sunlight@localhost",
    "ops@example.gov.cn\r\nBcc: evil@attacker.example",
    "ops@example.gov.cn\u2028Bcc: evil@attacker.example",
    "=?utf-8?q?x=0D=0ABcc:_evil@attacker.example?= <ops@example.gov.cn>",
    "张三@例子.中国",
]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
@pytest.mark.parametrize(
    ("key", "notify"),
    [
        ("notify.smtp.sender", lambda a: {"smtp": {"sender": a}}),
        (
            "notify.routes.office.recipients.1",
            lambda a: {"routes": {"office": {"recipients": ["ok@x.cn", a]}}},
        ),
        (
            "notify.routes.department.by_department.市监局.0",
            lambda a: {"routes": {"department": {"by_department": {"市监局": [a]}}}},
        ),
        ("notify.report_recipients.0", lambda a: {"report_recipients": [a]}),
    ],
)
def test_sunlight_check_refuses_a_bad_address_in_one_line_naming_its_key(
    tmp_path: Path, key: str, notify: Any, address: str
) -> None:
    """The same parser as the notices' headers: what it refuses, the configuration refuses."""
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps({"notify": notify(address)}, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(path), "check"])
    assert isinstance(result.exception, ConfigError)
    message = str(result.exception)
    assert f"`{key}`: {address!r}" in message
    assert "\n" not in message and "\r" not in message and "\u2028" not in message


def test_a_display_name_and_the_shipped_sender_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    body = {"notify": {"smtp": {"sender": "阳光监察 <jjjc@example.gov.cn>"}, "report_recipients": ["a@b.cn"]}}
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    assert load_config(path, environ={}).notify.smtp.sender == "阳光监察 <jjjc@example.gov.cn>"
    assert load_config(ROOT / "config.yaml", environ={}).notify.smtp.sender


@pytest.mark.parametrize("name", ["纪检", "a b", "a.b", "x\r\ny"])
def test_a_route_name_that_cannot_be_part_of_a_message_id_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps({"notify": {"routes": {name: {}}}}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"`notify\.routes`: route name .*Message-ID"):
        load_config(path, environ={})


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("database.url", "postgres://u@db/x", "unknown database 'postgres'"),
        ("database.url", "postgresql+psycopg3://u@db/x", "unknown driver 'psycopg3'"),
        ("database.state_url", "not a url", "is not a database URL"),
        ("database.source_url", "sqlite://host/data.db", "a SQLite URL has no host"),
        ("notify.smtp.url", "smtp//mail.example.gov.cn:25", "must start with smtp://"),
        ("notify.smtp.url", "http://mail.example.gov.cn", "must start with smtp://"),
        ("notify.smtp.url", "smtps://:465", "no host"),
        ("notify.smtp.url", "smtp://mail.example.gov.cn:99999", "port must be a number from 1 to 65535"),
        ("notify.case_url", "zwfw.example.gov.cn/{case_id}", "must be an http:// or https:// address"),
        ("notify.case_url", "https://zwfw.example.gov.cn/{case}", "the only placeholder it may hold"),
    ],
)
def test_every_url_is_checked_and_the_key_named(tmp_path: Path, key: str, value: str, says: str) -> None:
    body: dict[str, object] = {}
    node = body
    *parents, last = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})  # type: ignore[assignment]
    node[last] = value
    file = tmp_path / "config.yaml"
    file.write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(file, environ={})
    assert str(caught.value).startswith(f"{file}: `{key}`: ") and says in str(caught.value)


def test_a_bad_override_blames_the_variable_and_hides_a_password(tmp_path: Path) -> None:
    file = tmp_path / "config.yaml"
    file.write_text("notify:\n  smtp:\n    url: smtp://mail.example.gov.cn:25\n", encoding="utf-8")
    env = {"SUNLIGHT_SMTP_URL": "smtp//sunlight:secret@mail:25", "SUNLIGHT_METRICS_PORT": "many"}
    with pytest.raises(ConfigError) as caught:
        load_config(file, environ=env)
    message = str(caught.value)
    assert "environment variable SUNLIGHT_SMTP_URL (sets `notify.smtp.url`): " in message
    assert "environment variable SUNLIGHT_METRICS_PORT='many' (sets `metrics.port`)" in message
    assert str(file) not in message and "secret" not in message
    cfg = load_config(file, environ={"SUNLIGHT_STATE_URL": "postgresql+psycopg://u@db/s"})
    assert cfg.database_origin("state") == "SUNLIGHT_STATE_URL"
    assert cfg.database_origin("source") == f"`database.url` in {file}"
    assert cfg.origin("notify.smtp.url") == f"`notify.smtp.url` in {file}"


def test_the_urls_sunlight_uses_are_accepted() -> None:
    env = {
        "SUNLIGHT_CONFIG": str(ROOT / "config.yaml"),
        "SUNLIGHT_SOURCE_URL": "mysql+pymysql://ro@platform:3306/platform?charset=utf8mb4",
        "SUNLIGHT_STATE_URL": "mariadb+pymysql://sunlight@db/sunlight",
        "SUNLIGHT_SMTP_URL": "smtps://sunlight:p%40ss@mail.example.gov.cn",
    }
    cfg = load_config(environ=env)
    assert cfg.notify.smtp.url == env["SUNLIGHT_SMTP_URL"]
    assert load_config(environ={**env, "SUNLIGHT_SMTP_URL": "smtp://relay"}).notify.smtp.url == "smtp://relay"
