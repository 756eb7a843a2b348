"""The global options' state for one command: the database, the actor, the clock and the
settings, with the engine built on first use. Not a command group; nothing here prints.

It lives outside ``cli.py`` so that ``python -m cli`` (where ``cli`` runs as ``__main__``) and
the command modules see one and the same ``Runtime`` class.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.core.service import Engine
    from engine.core.settings import Settings


@dataclass
class Runtime:
    """What the global options say; the engine is built on first use."""

    db_url: str | None
    actor: str | None
    now: str | None
    config: str | None
    _engine: Any = field(default=None, repr=False)
    _settings: Any = field(default=None, repr=False)
    _databases: list[Any] = field(default_factory=list, repr=False)
    _actor: Any = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from engine.core.settings import load_settings

            self._settings = load_settings(self.config, self.db_url)
        return self._settings  # type: ignore[no-any-return]

    @property
    def os_login(self) -> str:
        import getpass

        return getpass.getuser()

    @property
    def actor_name(self) -> str:
        """The registered user this command acts as (``--as`` only where it is allowed)."""
        if self._actor is None:
            self._actor = self.admin().resolve_actor(self.os_login, self.actor,
                                                     self.settings.demo_mode)
        return self._actor  # type: ignore[no-any-return]

    def admin(self) -> Any:
        from engine.core.admin import Admin

        return Admin(self.engine().db, self.engine().clock, self.engine().gate)

    def close(self) -> None:
        """Mirror the audit head outside the database, then release connections."""
        if self._engine is not None:
            # Never mask the command's own outcome: a head file that could not be written
            # shows up in 'safeguard audit verify'.
            with contextlib.suppress(Exception):
                self._engine.gate.sync(self._engine.db)
        for db in self._databases:
            db.dispose()

    def clock(self) -> Any:
        from engine.core.clock import FixedClock, SystemClock, parse_instant

        return FixedClock(parse_instant(self.now)) if self.now else SystemClock()

    def database(self) -> Any:
        from engine.core.store.database import Database

        db = Database(self.settings.database_url, self.settings.sqlite_synchronous)
        self._databases.append(db)
        return db

    def registry(self) -> Any:
        from engine.core.loader import WorkflowRegistry

        return WorkflowRegistry.from_directory(self.settings.workflows_dir)

    def engine(self) -> Engine:
        if self._engine is None:
            from engine.core.calendar import WorkingCalendar
            from engine.core.service import Engine

            db = self.database()
            db.ensure_current()
            calendar = WorkingCalendar(self.settings.closure_days, self.settings.subdivision)
            self._engine = Engine(db, self.registry(), self.clock(), calendar,
                                  self.settings.audit_head_file, self.settings.audit_key)
            from notifications.events import EventMailer
            from notifications.recipients import DirectoryRecipients, SettingsRecipients

            notes = self.settings.notifications
            resolver = DirectoryRecipients(db, notes.recipients) \
                if notes.recipients_from == "directory" else SettingsRecipients(notes.recipients)
            self._engine.on_event = EventMailer(self._engine, notes, resolver)
        return self._engine  # type: ignore[no-any-return]
