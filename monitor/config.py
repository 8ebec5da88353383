"""Configuration: `config.yaml` as a frozen pydantic model, with environment overrides.

Relative paths resolve against the folder of the config file. Environment variables win
over the file: SUNLIGHT_CONFIG (which file), SUNLIGHT_DATABASE_URL (source and state in one
database), SUNLIGHT_SOURCE_URL, SUNLIGHT_STATE_URL, SUNLIGHT_SMTP_URL, SUNLIGHT_METRICS_PORT,
SUNLIGHT_METRICS_HOST, SUNLIGHT_TIMEZONE, SUNLIGHT_LOG_FORMAT, SUNLIGHT_AUDIT_KEY (the
history's key) and SUNLIGHT_WEB_SECRET (the console's session secret), which config.yaml
itself may not hold.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor import urls
from monitor.errors import ConfigError

# The `notify` section lives in its own module; re-exported, as callers import it from here.
from monitor.notifyconfig import Mailbox as Mailbox
from monitor.notifyconfig import NotifyConfig as NotifyConfig
from monitor.notifyconfig import QuietHours as QuietHours
from monitor.notifyconfig import Route as Route
from monitor.notifyconfig import Rung as Rung
from monitor.notifyconfig import SmtpConfig as SmtpConfig
from monitor.notifyconfig import Strict as _Strict

DEFAULT_CONFIG = Path("config.yaml")


class DatabaseConfig(_Strict):
    url: str = "sqlite:///data/sunlight.db"
    source_url: str | None = None  # when the source is another database (a platform's views)
    state_url: str | None = None
    manage_source_schema: bool | None = None  # default: only when source and state are one database
    auto_upgrade: bool = True  # upgrade an existing schema when a command opens the database

    @field_validator("url", "source_url", "state_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        return None if value is None else urls.database_url(value)

    @property
    def source(self) -> str:
        return self.source_url or self.url

    @property
    def state(self) -> str:
        return self.state_url or self.url

    @property
    def manages_source(self) -> bool:
        if self.manage_source_schema is not None:
            return self.manage_source_schema
        return self.source == self.state


class RulesConfig(_Strict):
    path: Path = Path("rules")
    calendar: Path = Path("rules/calendar")
    reload_check_seconds: float = Field(default=5.0, gt=0)


class DaemonConfig(_Strict):
    poll_interval_seconds: float = Field(default=30.0, gt=0)
    batch_size: int = Field(default=2000, ge=1)
    gap_timeout_seconds: float = Field(default=600.0, ge=0)
    change_overlap_seconds: float = Field(default=300.0, ge=0)
    # Processes that evaluate (one core each); more than 1 needs PostgreSQL or MariaDB state.
    workers: int = Field(default=1, ge=1, le=64)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class SourceConfig(_Strict):
    """When the source counts as at fault, and evaluation pauses (monitor.source.health)."""

    # A table that lost more than this share of its rows since the last pass is at fault.
    max_drop_fraction: float = Field(default=0.5, gt=0, lt=1)
    # Once at fault, evaluation resumes when the table holds this share of the rows known
    # before: a restore half done is not yet the source.
    resume_fraction: float = Field(default=0.9, gt=0, le=1)
    # Tables known to hold fewer rows are not checked for losses (a new, empty installation).
    min_rows: int = Field(default=100, ge=1)

    @model_validator(mode="after")
    def _resume_above_drop(self) -> SourceConfig:
        if self.resume_fraction < 1 - self.max_drop_fraction:
            raise ValueError(
                f"resume_fraction ({self.resume_fraction}) must be at least 1 - max_drop_fraction "
                f"({1 - self.max_drop_fraction:g}), or a fault would end while its loss is still there"
            )
        return self


class MetricsConfig(_Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9308, ge=0, le=65535)
    # The gauges summarising stored state group every open case: at most this often.
    state_refresh_seconds: float = Field(default=30.0, ge=0)


class AuditConfig(_Strict):
    """The key that signs the alert history and the anchors kept outside the database."""

    # Read by every command that writes history; generated (mode 0600) when it is left at
    # this default and absent, by `run`, `demo` and `db upgrade` only (alerts.audit.keys).
    key_file: Path = Path("data/audit.key")
    previous_key_files: tuple[Path, ...] = ()  # retired keys that `audit verify` still checks with
    anchor_file: Path = Path("data/audit-anchors.log")
    anchor_interval_minutes: float = Field(default=60.0, gt=0)
    # From SUNLIGHT_AUDIT_KEY only (load_config refuses it in the file): wins over key_file.
    key: SecretStr | None = None


class AssessmentConfig(_Strict):
    """The monthly assessment (绩效评估): the scoring scheme `sunlight report` applies."""

    # Default: `assessment/scheme.yaml` inside the rules folder, edited beside the rules.
    scheme: Path | None = None


class WebConfig(_Strict):
    """The console (`sunlight web`): where it listens, the address notices link to, 督办 reply
    limits and the login lock. The session secret comes from SUNLIGHT_WEB_SECRET or
    `secret_file`, never from this file."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # The address people reach the console at; every notice links to {base_url}/cases/ID.
    base_url: str = "http://127.0.0.1:8080"
    reply_days_default: int = Field(default=5, ge=1)  # working days a 督办 gives to reply
    reply_days_max: int = Field(default=20, ge=1)
    session_hours: float = Field(default=8.0, gt=0)  # a sign-in lasts this long
    login_max_failures: int = Field(default=5, ge=1)  # failures within the window lock the account
    login_window_minutes: float = Field(default=15.0, gt=0)
    login_lock_minutes: float = Field(default=15.0, gt=0)
    # The public pages under /public (published assessment, 办件查询), without login.
    public_pages: bool = True
    public_lookups_per_minute: int = Field(default=10, ge=1)  # 办件查询 per client and process
    # Generated (mode 0600) when left at this default, absent and the state is SQLite.
    secret_file: Path = Path("data/web.secret")
    # From SUNLIGHT_WEB_SECRET only (load_config refuses it in the file).
    secret: SecretStr | None = None

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return urls.web_url(value).rstrip("/")

    @model_validator(mode="after")
    def _reply_days(self) -> WebConfig:
        if self.reply_days_default > self.reply_days_max:
            raise ValueError(
                f"reply_days_default ({self.reply_days_default}) exceeds "
                f"reply_days_max ({self.reply_days_max})"
            )
        return self

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


class Config(_Strict):
    timezone: str = "Asia/Shanghai"
    database: DatabaseConfig = DatabaseConfig()
    rules: RulesConfig = RulesConfig()
    daemon: DaemonConfig = DaemonConfig()
    source: SourceConfig = SourceConfig()
    metrics: MetricsConfig = MetricsConfig()
    notify: NotifyConfig = NotifyConfig()
    audit: AuditConfig = AuditConfig()
    assessment: AssessmentConfig = AssessmentConfig()
    web: WebConfig = WebConfig()
    base_dir: Path = Path()
    # Set by load_config, not by the file: where the values came from, for error messages.
    file: Path | None = None
    env_overrides: dict[str, str] = Field(default_factory=dict)  # dotted key -> variable

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def origin(self, key: str) -> str:
        """Where a dotted key's value was set, for a message that sends a person there."""
        if key in self.env_overrides:
            return self.env_overrides[key]
        return f"`{key}` in {self.file}" if self.file is not None else f"`{key}` (default)"

    def database_origin(self, which: Literal["source", "state"]) -> str:
        own = f"database.{which}_url"
        if getattr(self.database, f"{which}_url") is not None:
            return self.origin(own)
        return self.origin("database.url")

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def scheme_path(self) -> Path:
        """The scoring scheme's file: as configured, or beside the rules."""
        if self.assessment.scheme is not None:
            return self.path(self.assessment.scheme)
        return self.path(self.rules.path) / "assessment" / "scheme.yaml"

    def path(self, value: Path) -> Path:
        """A configured path, resolved against the config file's folder."""
        return value if value.is_absolute() else self.base_dir / value

    def url(self, value: str) -> str:
        """A SQLite URL with a relative path is resolved like any other configured path."""
        prefix = "sqlite:///"
        if value.startswith(prefix) and not value.startswith(prefix + "/") and value != "sqlite:///:memory:":
            return prefix + str(self.path(Path(value[len(prefix) :])))
        return value

    @property
    def source_url(self) -> str:
        return self.url(self.database.source)

    @property
    def state_url(self) -> str:
        return self.url(self.database.state)


_KNOWN = sorted(
    {"timezone", "database", "rules", "daemon", "source", "metrics", "notify", "audit", "web"}
    | set(DatabaseConfig.model_fields)
    | set(RulesConfig.model_fields)
    | set(DaemonConfig.model_fields)
    | set(SourceConfig.model_fields)
    | set(MetricsConfig.model_fields)
    | set(NotifyConfig.model_fields)
    | set(SmtpConfig.model_fields)
    | set(Route.model_fields)
    | set(Rung.model_fields)
    | set(QuietHours.model_fields)
    | set(AuditConfig.model_fields) - {"key"}
    | set(WebConfig.model_fields) - {"secret"}
)
AUDIT_KEY_ENV = "SUNLIGHT_AUDIT_KEY"
WEB_SECRET_ENV = "SUNLIGHT_WEB_SECRET"  # noqa: S105 - the variable's name, not a secret


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


_ENV = {
    "SUNLIGHT_DATABASE_URL": ("database", "url"),
    "SUNLIGHT_SOURCE_URL": ("database", "source_url"),
    "SUNLIGHT_STATE_URL": ("database", "state_url"),
    "SUNLIGHT_SMTP_URL": ("notify", "smtp", "url"),
    "SUNLIGHT_METRICS_PORT": ("metrics", "port"),
    "SUNLIGHT_METRICS_HOST": ("metrics", "host"),
    "SUNLIGHT_TIMEZONE": ("timezone",),
    "SUNLIGHT_LOG_FORMAT": ("daemon", "log_format"),
}


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the config file (optional when it is the default one) and apply the environment."""
    env = os.environ if environ is None else environ
    explicit = path is not None or "SUNLIGHT_CONFIG" in env
    file = path or Path(env.get("SUNLIGHT_CONFIG", str(DEFAULT_CONFIG)))
    data: dict[str, Any] = {}
    if file.exists():
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{file}: not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{file}: the configuration must be a mapping")
        data = loaded or {}
    elif explicit:
        raise ConfigError(f"{file}: configuration file not found")
    audit = data.get("audit")
    if isinstance(audit, dict) and "key" in audit:
        raise ConfigError(
            f"{file}: `audit.key`: the history's key must not be in the configuration file; "
            f"set {AUDIT_KEY_ENV} or put it in the file named by `audit.key_file`"
        )
    web = data.get("web")
    if isinstance(web, dict) and "secret" in web:
        raise ConfigError(
            f"{file}: `web.secret`: the session secret must not be in the configuration file; "
            f"set {WEB_SECRET_ENV} or leave it to `web.secret_file`"
        )
    overrides: dict[str, str] = {}
    for var, key in _ENV.items():
        if env.get(var):
            _set(data, key, env[var])
            overrides[".".join(key)] = var
    if env.get(AUDIT_KEY_ENV):
        _set(data, ("audit", "key"), env[AUDIT_KEY_ENV])
        overrides["audit.key"] = AUDIT_KEY_ENV
    if env.get(WEB_SECRET_ENV):
        _set(data, ("web", "secret"), env[WEB_SECRET_ENV])
        overrides["web.secret"] = WEB_SECRET_ENV
    for internal in ("base_dir", "file", "env_overrides"):
        data.pop(internal, None)
    data["base_dir"] = file.resolve().parent
    data["file"] = file if file.exists() else None
    data["env_overrides"] = overrides
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("; ".join(_explain(e, file, overrides) for e in exc.errors())) from exc


def _explain(err: Any, file: Path, overrides: Mapping[str, str]) -> str:
    """One error, blamed on the environment variable that set the value, else the file."""
    where = ".".join(str(x) for x in err["loc"])
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(err["loc"][-1]), _KNOWN, n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        return f"{file}: unknown key `{where}`{hint}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    var = overrides.get(where)
    if var is not None:
        # A URL's message shows it with its password hidden; other values are shown as given.
        shown = "" if var.endswith(("_URL", "_KEY", "_PASSWORD", "_SECRET")) else f"={err['input']!r}"
        return f"environment variable {var}{shown} (sets `{where}`): {msg}"
    return f"{file}: `{where}`: {msg}"
