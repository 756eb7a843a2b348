"""Settings: shipped defaults, then a TOML file of the partnership's, then the environment.

This module reads files and the environment; nothing else in the engine does.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import UsageError

DEFAULTS = Path(__file__).resolve().parent.parent / "config" / "default.toml"
SHIPPED_WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


def default_database_url() -> str:
    from platformdirs import user_data_path

    return f"sqlite:///{user_data_path('safeguard') / 'safeguard.db'}"


def default_head_file(url: str) -> Path:
    """Beside a SQLite database file; otherwise in the user's data directory, per database."""
    import hashlib

    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url.removeprefix("sqlite:///") + ".audit-head.json")
    from platformdirs import user_data_path

    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return user_data_path("safeguard") / f"audit-head-{digest}.json"


@dataclass(frozen=True)
class Settings:
    database_url: str
    sqlite_synchronous: str = "FULL"
    subdivision: str = "ENG"
    closure_days: tuple[dt.date, ...] = ()
    workflows_dir: Path = SHIPPED_WORKFLOWS
    demo_mode: bool = False
    audit_head_file: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


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
    raw = _read_toml(DEFAULTS)
    chosen = config_file or env.get("SAFEGUARD_CONFIG")
    if chosen:
        raw = _merge(raw, _read_toml(Path(chosen)))
    database = raw.get("database", {})
    calendar = raw.get("calendar", {})
    workflows = raw.get("workflows", {})
    url = database_url or env.get("SAFEGUARD_DATABASE_URL") or database.get("url") \
        or default_database_url()
    try:
        closures = tuple(dt.date.fromisoformat(str(d)) for d in calendar.get("closure_days", []))
    except ValueError as exc:
        raise UsageError(f"calendar.closure_days: {exc}; use ISO dates") from None
    folder = workflows.get("directory") or ""
    head = str(raw.get("audit", {}).get("head_file") or "")
    return Settings(
        database_url=url,
        sqlite_synchronous=str(database.get("sqlite_synchronous", "FULL")),
        subdivision=str(calendar.get("subdivision", "ENG")),
        closure_days=closures,
        workflows_dir=Path(folder).expanduser() if folder else SHIPPED_WORKFLOWS,
        demo_mode=bool(raw.get("access", {}).get("demo_mode", False)),
        audit_head_file=Path(head).expanduser() if head else default_head_file(url),
        raw=raw,
    )
