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
