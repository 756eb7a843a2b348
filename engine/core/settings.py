"""Settings: shipped defaults, then a TOML file of the partnership's, then the environment.

This module reads files and the environment; nothing else in the engine does.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.core.clock import parse_date
from engine.core.errors import BadDateError, DeploymentError, UsageError

DEFAULTS = Path(__file__).resolve().parents[2] / "config" / "default.toml"
SHIPPED_WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def default_database_url() -> str:
    from platformdirs import user_data_path

    return f"sqlite:///{user_data_path('safeguard') / 'safeguard.db'}"


def _workflow_cache(value: Any) -> Path | None:
    """``[workflows] cache`` or SAFEGUARD_CACHE_DIR: a folder, "off", or empty for the
    user's cache directory."""
    if not isinstance(value, str):
        raise UsageError('workflows.cache must be a folder, "off", or empty for your cache '
                         "directory")
    if value.strip().lower() == "off":
        return None
    if value.strip():
        return Path(value).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path("safeguard") / "workflows"


def default_head_file(url: str) -> Path:
    """Beside a SQLite database file; otherwise in the user's data directory, per database."""
    import hashlib

    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url.removeprefix("sqlite:///") + ".audit-head.json")
    from platformdirs import user_data_path

    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return user_data_path("safeguard") / f"audit-head-{digest}.json"


@dataclass(frozen=True)
class NotificationSettings:
    """[notifications] and [smtp] (issue 4). SMTP credentials come from the environment
    (SAFEGUARD_SMTP_USER, SAFEGUARD_SMTP_PASSWORD) or the settings file; never the database."""

    transport: str = "eml"  # eml (a folder of .eml files), smtp, memory
    eml_dir: Path | None = None  # default: 'outbox' in the user's data directory
    sender: str = "safeguard@localhost"
    base_url: str = "http://127.0.0.1:8000"
    recipients: dict[str, tuple[str, ...]] = field(default_factory=dict)  # role -> addresses
    # "directory": users holding the role for the case's area, plus `recipients`;
    # "settings": `recipients` alone.
    recipients_from: str = "directory"
    max_attempts: int = 10
    backoff_seconds: int = 60
    lease_seconds: int = 300
    sweep_minutes: int = 5
    digest_hour: int = 7
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = field(default=None, repr=False)
    smtp_password: str | None = field(default=None, repr=False)
    smtp_timeout: float = 30.0


@dataclass(frozen=True)
class Settings:
    database_url: str
    sqlite_synchronous: str = "FULL"
    subdivision: str = "ENG"
    closure_days: tuple[dt.date, ...] = ()
    workflows_dir: Path = SHIPPED_WORKFLOWS
    # Where parsed workflow definitions are kept between commands (None: not kept).
    workflow_cache: Path | None = None
    demo_mode: bool = False
    audit_head_file: Path | None = None
    audit_key: bytes | None = field(default=None, repr=False)  # only from the environment
    # Earlier audit keys (SAFEGUARD_AUDIT_OLD_KEYS, separated by spaces or commas): records
    # made with them still verify after 'safeguard audit rotate-key'.
    audit_old_keys: tuple[bytes, ...] = field(default=(), repr=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)


def _private_group(info: os.stat_result) -> bool:
    """The file's group is its owner's own (a user private group, umask 002): no one else
    can write through it."""
    import grp
    import pwd

    try:
        owner = pwd.getpwuid(info.st_uid)
        group = grp.getgrgid(info.st_gid)
    except KeyError:
        return False
    return info.st_gid == owner.pw_gid and set(group.gr_mem) <= {owner.pw_name}


def check_owner(path: Path, what: str) -> None:
    """A file that decides who may do what (the settings, the workflow definitions) must be
    changeable only by the administrator: owned by root or by whoever runs the command, and
    not writable by others. Otherwise the command is refused before it starts."""
    if not hasattr(os, "getuid"):  # pragma: no cover - POSIX permissions only
        return
    try:
        info = path.stat()
    except OSError:
        return  # reading it reports what is wrong
    if info.st_mode & 0o002 or (info.st_mode & 0o020 and not _private_group(info)):
        raise DeploymentError(
            f"{what} {path} is writable by others (mode {info.st_mode & 0o777:o}): "
            f"settings that grant power must be changeable by their owner alone; "
            f"chmod go-w {path}")
    if info.st_uid not in (0, os.getuid()):
        import pwd

        try:
            owner = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            owner = str(info.st_uid)
        raise DeploymentError(
            f"{what} {path} belongs to '{owner}', not to you or root: settings that grant "
            "power must be owned by the administrator who runs safeguard, or by root")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise UsageError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"configuration file {path} is not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(config_file: str | None = None, database_url: str | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    check_owner(DEFAULTS, "the installed configuration")
    raw = _read_toml(DEFAULTS)
    chosen = config_file or env.get("SAFEGUARD_CONFIG")
    if chosen:
        check_owner(Path(chosen), "configuration file")
        raw = _merge(raw, _read_toml(Path(chosen)))
    database = raw.get("database", {})
    calendar = raw.get("calendar", {})
    workflows = raw.get("workflows", {})
    url = database_url or env.get("SAFEGUARD_DATABASE_URL") or database.get("url") \
        or default_database_url()
    days = calendar.get("closure_days", [])
    if not isinstance(days, list) or len(days) > 10_000:
        raise UsageError("calendar.closure_days must be a list of ISO dates")
    try:
        closures = tuple(d if isinstance(d, dt.date) and not isinstance(d, dt.datetime)
                         else parse_date(str(d)) for d in days)
    except BadDateError as exc:
        raise UsageError(f"calendar.closure_days: {exc}") from None
    folder = workflows.get("directory") or ""
    head = str(raw.get("audit", {}).get("head_file") or "")
    return _check(Settings(
        database_url=url,
        sqlite_synchronous=str(database.get("sqlite_synchronous", "FULL")),
        subdivision=str(calendar.get("subdivision", "ENG")),
        closure_days=closures,
        workflows_dir=Path(folder).expanduser() if folder else SHIPPED_WORKFLOWS,
        workflow_cache=_workflow_cache(env.get("SAFEGUARD_CACHE_DIR",
                                               workflows.get("cache", ""))),
        demo_mode=_flag(raw.get("access", {}).get("demo_mode", False), "access.demo_mode"),
        audit_head_file=Path(head).expanduser() if head else default_head_file(url),
        audit_key=env["SAFEGUARD_AUDIT_KEY"].encode() if env.get("SAFEGUARD_AUDIT_KEY")
        else None,
        audit_old_keys=tuple(k.encode() for k in
                             env.get("SAFEGUARD_AUDIT_OLD_KEYS", "").replace(",", " ").split()),
        raw=raw,
        notifications=_notifications(raw, env),
    ))


def _choice(value: Any, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise UsageError(f"{name} '{value}': use {' or '.join(allowed)}")
    return str(value)


def _bounded(value: Any, name: str, low: int, high: int) -> int:
    """A whole-number setting within [low, high], or a message naming the key and the range."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise UsageError(f"{name} must be a whole number from {low} to {high}; got {value!r}")
    try:
        number = int(value) if not isinstance(value, str) or len(value) < 20 else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise UsageError(f"{name} must be a whole number from {low} to {high}; got {value!r}")
    return number


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be true or false; got {value!r}")
    return value


# The database URL schemes safeguard runs on.
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
SUBDIVISIONS = ("ENG", "WLS")


def check_database_url(url: str) -> str:
    scheme, sep, _rest = url.partition("://")
    if not sep or scheme not in DATABASE_SCHEMES:
        raise UsageError(f"database URL scheme '{scheme if sep else url[:40]}' is not "
                         f"supported; use {' or '.join(s + '://' for s in DATABASE_SCHEMES)}")
    return url


DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def app_base_url(raw: Mapping[str, Any]) -> str:
    """The web application's address: one setting, ``[web] base_url``, for the links in emails
    and for sign-in links alike. ``[notifications] base_url`` (where older configurations set
    the email links) is still read, but the two may not disagree."""
    web = (raw.get("web") or {}).get("base_url")
    older = (raw.get("notifications") or {}).get("base_url")
    for name, value in (("web", web), ("notifications", older)):
        if value is not None and (not isinstance(value, str) or "://" not in value):
            raise UsageError(f"[{name}] base_url must be the web application's address, such "
                             f"as https://safeguard.example.org; got {value!r}")
    if web and older and web.rstrip("/") != older.rstrip("/"):
        raise UsageError(f"[web] base_url ({web}) and [notifications] base_url ({older}) differ: "
                         "set only [web] base_url, the web application's address, which the "
                         "links in emails and sign-in links both use")
    return str(web or older or DEFAULT_BASE_URL).rstrip("/")


def _check(settings: Settings) -> Settings:
    """Refuse settings that cannot work, naming the key and what is allowed."""
    check_database_url(settings.database_url)
    _choice(settings.subdivision, SUBDIVISIONS, "calendar.subdivision")
    if not settings.workflows_dir.is_dir():
        raise UsageError(f"workflows.directory '{settings.workflows_dir}' is not a folder")
    check_owner(settings.workflows_dir, "the workflows folder")  # the roles are in the YAML
    for path in sorted(settings.workflows_dir.glob("*.yaml")):
        check_owner(path, "workflow definition")
    return settings


def _notifications(raw: dict[str, Any], env: Mapping[str, str]) -> NotificationSettings:
    notes, smtp = raw.get("notifications", {}), raw.get("smtp", {})
    table = notes.get("recipients", {})
    if not isinstance(table, dict) or not all(
            isinstance(v, list) and all(isinstance(a, str) for a in v) for v in table.values()):
        raise UsageError("notifications.recipients must map a role to a list of addresses")
    transport = str(env.get("SAFEGUARD_MAIL_TRANSPORT") or notes.get("transport", "eml"))
    if transport not in ("eml", "smtp", "memory"):
        raise UsageError(f"notifications.transport '{transport}': use eml, smtp or memory")
    folder = str(env.get("SAFEGUARD_EML_DIR") or notes.get("eml_dir") or "")
    try:
        return NotificationSettings(
            transport=transport,
            eml_dir=Path(folder).expanduser() if folder else None,
            sender=str(notes.get("sender", "safeguard@localhost")),
            base_url=app_base_url(raw),
            recipients={str(k): tuple(v) for k, v in table.items()},
            recipients_from=_choice(notes.get("recipients_from", "directory"),
                                    ("directory", "settings"), "notifications.recipients_from"),
            max_attempts=_bounded(notes.get("max_attempts", 10),
                                  "notifications.max_attempts", 1, 100),
            backoff_seconds=_bounded(notes.get("backoff_seconds", 60),
                                     "notifications.backoff_seconds", 1, 86_400),
            lease_seconds=_bounded(notes.get("lease_seconds", 300),
                                   "notifications.lease_seconds", 1, 3_600),
            sweep_minutes=_bounded(notes.get("sweep_minutes", 5),
                                   "notifications.sweep_minutes", 1, 1_440),
            digest_hour=_bounded(notes.get("digest_hour", 7), "notifications.digest_hour",
                                 0, 23),
            smtp_host=str(env.get("SAFEGUARD_SMTP_HOST") or smtp.get("host", "localhost")),
            smtp_port=_bounded(env.get("SAFEGUARD_SMTP_PORT") or smtp.get("port", 25),
                               "smtp.port", 1, 65_535),
            smtp_starttls=_flag(smtp.get("starttls", False), "smtp.starttls"),
            smtp_user=env.get("SAFEGUARD_SMTP_USER") or smtp.get("user") or None,
            smtp_password=env.get("SAFEGUARD_SMTP_PASSWORD") or smtp.get("password") or None,
            smtp_timeout=float(_bounded(smtp.get("timeout", 30), "smtp.timeout", 1, 600)),
        )
    except (TypeError, ValueError) as exc:
        raise UsageError(f"[notifications]/[smtp] settings: {exc}") from None
