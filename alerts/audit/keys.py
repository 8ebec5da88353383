"""The key that signs the alert history, kept outside the database.

Every history row's hash is an HMAC-SHA256 under a key from SUNLIGHT_AUDIT_KEY or the file
`audit.key_file`, so whoever can write to the database but lacks the key cannot rewrite a
row and recompute the chain. Each row records the key's id (the first 8 hex digits of the
key's SHA-256), so a key can be retired: `audit.previous_key_files` keeps old keys for
`audit verify`, and the writers accept a chain whose newest row is signed by one of them.

The key reaches the writers with the state engine (`keyed`): every function that appends
history gets it from its connection, and one without a key fails with a clear error rather
than writing an unsigned row.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, select

from monitor.config import AUDIT_KEY_ENV, Config
from monitor.errors import ConfigError
from monitor.state.schema import chain_head

MIN_KEY_BYTES = 32
OPTION = "sunlight_audit_keys"  # the execution option that carries the keyring


class AuditKeyError(ConfigError):
    """The history's key is missing, unreadable, too short, or not the one the chain uses."""


@dataclass(frozen=True, slots=True)
class AuditKey:
    key_id: str
    secret: bytes = field(repr=False)
    origin: str  # the variable or the file it came from


@dataclass(frozen=True, slots=True)
class Keyring:
    """The key new rows are signed with, and the retired ones the chain may still hold."""

    current: AuditKey
    previous: tuple[AuditKey, ...] = ()

    def find(self, key_id: str) -> AuditKey | None:
        return next((k for k in (self.current, *self.previous) if k.key_id == key_id), None)

    def by_id(self) -> dict[str, AuditKey]:
        return {k.key_id: k for k in (*reversed(self.previous), self.current)}


def key_id(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()[:8]


def _checked(secret: bytes, origin: str) -> AuditKey:
    if len(secret) < MIN_KEY_BYTES:
        raise AuditKeyError(
            f"audit key {origin} holds {len(secret)} bytes; a key needs at least {MIN_KEY_BYTES} "
            "(`sunlight audit keygen FILE` writes one)"
        )
    return AuditKey(key_id(secret), secret, origin)


def read_key_file(path: Path) -> AuditKey:
    """A key file's key (surrounding whitespace, such as a final newline, is not part of it)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise AuditKeyError(f"audit key file {path} does not exist") from exc
    except OSError as exc:
        raise AuditKeyError(f"audit key file {path} cannot be read: {exc.strerror or exc}") from exc
    return _checked(raw.strip(), f"file {path}")


def key_path(cfg: Config) -> Path:
    return cfg.path(cfg.audit.key_file)


def current_key(cfg: Config) -> AuditKey:
    if cfg.audit.key is not None:
        return _checked(cfg.audit.key.get_secret_value().strip().encode(), AUDIT_KEY_ENV)
    return read_key_file(key_path(cfg))


def load_keyring(cfg: Config) -> Keyring:
    """The configured keys; the first problem found is raised."""
    return Keyring(current_key(cfg), tuple(read_key_file(cfg.path(p)) for p in cfg.audit.previous_key_files))


def key_problems(cfg: Config) -> tuple[list[str], list[str]]:
    """What `sunlight check` says of the keys: (errors, notes)."""
    errors: list[str] = []
    notes: list[str] = []
    path = key_path(cfg)
    generated = cfg.audit.key is None and "key_file" not in cfg.audit.model_fields_set
    if generated and not path.exists():
        notes.append(f"audit key {path} does not exist yet: `sunlight run` will generate it")
    else:
        try:
            key = current_key(cfg)
            notes.append(f"audit key {key.key_id} from {key.origin}")
            if cfg.audit.key is None:
                notes.extend(_loose(path))
        except AuditKeyError as exc:
            errors.append(str(exc))
    for p in cfg.audit.previous_key_files:
        try:
            read_key_file(cfg.path(p))
        except AuditKeyError as exc:
            errors.append(f"audit.previous_key_files: {exc}")
    return errors, notes


def _loose(path: Path) -> list[str]:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o027:  # the daemon's group may read it (a root-owned file), nobody else
        return [
            f"warning: audit key file {path} is open beyond its owner and group (mode {mode:04o}): "
            "chmod 600 it"
        ]
    return []


def signed_by(conn: Connection) -> str | None:
    """The key id of the chain's newest row (None: empty, or written before the keyed chain)."""
    row = conn.execute(select(chain_head.c.key_id).where(chain_head.c.id == 1)).first()
    return None if row is None else row.key_id


def ensure_key(cfg: Config, engine: Engine) -> Keyring:
    """The keys for a command that writes history: generated once (mode 0600) when the key
    file is left at its default, absent, and no row is signed yet; then checked against the
    chain. Call after the schema is upgraded."""
    path = key_path(cfg)
    if cfg.audit.key is None and "key_file" not in cfg.audit.model_fields_set and not path.exists():
        with engine.connect() as conn:
            signed = signed_by(conn)
        if signed is not None:
            raise AuditKeyError(
                f"audit key file {path} is missing, but the history is signed with key {signed}: "
                f"restore the file (or set {AUDIT_KEY_ENV}); a new key would not verify the chain"
            )
        generate(path)
    keys = load_keyring(cfg)
    with engine.connect() as conn:
        check_chain_key(keys, signed_by(conn))
    return keys


def check_chain_key(keys: Keyring, signed: str | None) -> None:
    if signed is not None and keys.find(signed) is None:
        raise AuditKeyError(
            f"the history's newest row is signed with key {signed}, but the configured key is "
            f"{keys.current.key_id} ({keys.current.origin}) and audit.previous_key_files holds no key "
            f"{signed}: configure the right key, or list the retired one there"
        )


def generate(path: Path) -> AuditKey:
    """Write a new random key to `path` (mode 0600); never over an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key_file(path)  # another process made it first: use that one
    with os.fdopen(fd, "wb") as out:
        out.write(secret + b"\n")
        out.flush()
        os.fsync(out.fileno())
    return AuditKey(key_id(secret), secret, f"file {path}")


def keyed(engine: Engine, keys: Keyring) -> Engine:
    """The same engine (and pool), with the keys every history writer reads from it."""
    return engine.execution_options(**{OPTION: keys})


def keyring_of(conn: Connection) -> Keyring:
    keys = conn.get_execution_options().get(OPTION)
    if not isinstance(keys, Keyring):
        raise AuditKeyError(
            f"no audit key: set {AUDIT_KEY_ENV} or provide audit.key_file; "
            "the history is never written unsigned"
        )
    return keys


def has_keys(conn: Connection) -> bool:
    return isinstance(conn.get_execution_options().get(OPTION), Keyring)
