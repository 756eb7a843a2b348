"""The global options' state for one command: the database, the actor, the clock and the
settings, with the engine built on first use. Not a command group; nothing here prints.

It lives outside ``cli.py`` so that ``python -m cli`` (where ``cli`` runs as ``__main__``) and
the command modules see one and the same ``Runtime`` class.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.app import App
    from engine.core.service import Engine
    from engine.core.settings import Settings


# Whether this process has frozen its start-up objects already (once: a process that runs
# many commands, such as the tests, freezes only what its first application left alive).
_frozen = False


@dataclass
class Runtime:
    """What the global options say; the application is built on first use, by the
    composition root (:func:`engine.app.build_app`), as every front end builds it."""

    db_url: str | None
    actor: str | None
    now: str | None
    config: str | None
    _app: Any = field(default=None, repr=False)
    _settings: Any = field(default=None, repr=False)
    _clock: Any = field(default=None, repr=False)
    _actor: Any = field(default=None, repr=False)
    _collector_paused: bool = field(default=False, repr=False)

    def pause_collector(self) -> None:
        """Start-up imports and wires a few hundred thousand objects that live as long as
        the command (modules, tables, the engine); the cyclic garbage collector would walk
        them again and again as they are made (about a tenth of ``case show``). It is
        paused until the application is built (then they are frozen out of later
        collections) or the command ends, whichever comes first."""
        if gc.isenabled():
            gc.disable()
            self._collector_paused = True

    def resume_collector(self, freeze: bool = False) -> None:
        global _frozen
        if self._collector_paused:
            self._collector_paused = False
            if freeze and not _frozen:
                gc.freeze()
                _frozen = True
            gc.enable()

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
            app = self.app()  # demo mode as the database records it, never from a file
            self._actor = app.admin.resolve_actor(self.os_login, self.actor, app.demo_mode)
        return self._actor  # type: ignore[no-any-return]

    def clock(self) -> Any:
        if self._clock is None:
            from engine.core.clock import FixedClock, SystemClock, parse_instant

            self._clock = FixedClock(parse_instant(self.now)) if self.now else SystemClock()
        return self._clock

    def app(self, check_schema: bool = True) -> App:
        """The application; ``check_schema=False`` only for ``init``, which makes the schema."""
        if self._app is None:
            from engine.app import build_app

            self._app = build_app(self.settings, self.clock(), check_schema=check_schema)
            self.resume_collector(freeze=True)
        return self._app  # type: ignore[no-any-return]

    def registry(self) -> Any:
        """The workflow definitions alone (``workflow`` commands need no database)."""
        from engine.core.registry import WorkflowRegistry

        return WorkflowRegistry.from_directory(self.settings.workflows_dir,
                                               self.settings.workflow_cache)

    def engine(self) -> Engine:
        return self.app().engine

    def close(self) -> None:
        """Mirror the audit head outside the database, then release connections."""
        try:
            if self._app is not None:
                self._app.close()
        finally:
            self.resume_collector()
