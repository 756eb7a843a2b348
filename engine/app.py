"""The composition root: the one place that wires the application.

:func:`build_app` makes the database handle, the workflow registry, the calendar and the
engine with its audit gate, and checks the deployment; the CERAR, MACE, CDOP, business plan
and figures services, the notifier with its recipients and transport, the mailers the engine
and MACE hand their emails to, accounts, administration, data protection and the audit trail
are wired here too, each when a command first asks for it (a command imports and builds only
what it uses: ``case show`` needs no template engine, no password hasher and no domain). The
CLI, the demonstration year, the benchmarks, the tests and the web application all build their
application here, so every front end and the demo send exactly the emails a real deployment
would. Nothing else constructs an ``Engine`` or a service with defaults of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from engine.core import deployment
from engine.core.accounts import WebSettings
from engine.core.admin import Admin
from engine.core.calendar import WorkingCalendar
from engine.core.clock import Clock
from engine.core.notices import CaseEventNotice
from engine.core.registry import WorkflowRegistry
from engine.core.service import Engine
from engine.core.settings import Settings
from engine.core.store.database import Database

if TYPE_CHECKING:
    from engine.core.accounts import Accounts
    from engine.core.auditing import AuditTrail
    from engine.core.casework import CaseWork
    from engine.core.dataprotection import DataProtection
    from engine.domains.cdop.service import CdopService
    from engine.domains.cerar.service import CerarService
    from engine.domains.figures.service import FiguresService
    from engine.domains.mace.service import MaceService
    from engine.domains.plan.service import PlanService
    from notifications.events import EventMailer
    from notifications.recipients import RecipientResolver
    from notifications.service import Notifier
    from notifications.transports import Transport


class App:
    """The wired application. The engine and administration are built with it; every other
    service on first use (its module is imported then: the imports inside the properties
    below are deliberate). The services hold no state a second instance would miss, and the
    engine's event emails go through :meth:`_on_event`, so a command that never fires a
    notifying transition never loads the notifications package."""

    def __init__(self, settings: Settings, clock: Clock, db: Database, engine: Engine,
                 web: WebSettings, transport: Callable[[], Transport] | None,
                 demo_mode: bool) -> None:
        self.settings, self.clock, self.db, self.engine = settings, clock, db, engine
        self.admin = Admin(db, clock, engine.gate)
        self._web, self._transport = web, transport
        # A demonstration database (made by 'safeguard demo'): anyone may act as anyone.
        # Recorded in the database, never taken from a settings file.
        self.demo_mode = demo_mode
        engine.on_event = self._on_event

    # -- the domains --------------------------------------------------------------------
    @cached_property
    def cerar(self) -> CerarService:
        from engine.domains.cerar.service import CerarService

        return CerarService(self.engine)

    @cached_property
    def mace(self) -> MaceService:
        from engine.domains.mace.service import MaceService
        from notifications.invitations import InvitationMailer

        domain = str(self.settings.raw.get("mace", {}).get("email_domain")
                     or "safeguard.invalid")
        return MaceService(self.engine, self.cerar, email_domain=domain, on_invitation=
                           InvitationMailer(self.engine, self.settings.notifications, domain))

    @cached_property
    def cdop(self) -> CdopService:
        from engine.domains.cdop.service import CdopService

        return CdopService(self.engine)

    @cached_property
    def plan(self) -> PlanService:
        from engine.domains.plan.service import PlanService

        return PlanService(self.engine)

    @cached_property
    def figures(self) -> FiguresService:
        from engine.domains.figures.service import FiguresService

        return FiguresService(self.engine)

    # -- the core's other services --------------------------------------------------------
    @cached_property
    def casework(self) -> CaseWork:
        from engine.core.casework import CaseWork

        return CaseWork(self.engine)

    @cached_property
    def data_protection(self) -> DataProtection:
        from engine.core.dataprotection import DataProtection

        return DataProtection(self.engine)

    @cached_property
    def audit(self) -> AuditTrail:
        from engine.core.auditing import AuditTrail

        return AuditTrail(self.db, self.engine.gate)

    @cached_property
    def accounts(self) -> Accounts:
        from engine.core.accounts import Accounts

        return Accounts(self.db, self.clock, self.engine.gate, self._web)

    # -- mail -----------------------------------------------------------------------------
    @cached_property
    def recipients(self) -> RecipientResolver:
        """Role -> addresses, shared by the event emails and the notifier."""
        from notifications.recipients import DirectoryRecipients, SettingsRecipients

        notes = self.settings.notifications
        if notes.recipients_from == "directory":
            return DirectoryRecipients(self.db, notes.recipients)
        return SettingsRecipients(notes.recipients)

    @cached_property
    def event_mailer(self) -> EventMailer:
        from notifications.events import EventMailer

        return EventMailer(self.engine, self.settings.notifications, self.recipients)

    def _on_event(self, conn: Connection, notice: CaseEventNotice) -> object:
        """The engine's event hook (inside the fire's transaction): the event emails."""
        return self.event_mailer(conn, notice)

    @cached_property
    def notifier(self) -> Notifier:
        from notifications.service import Notifier, make_transport

        notes = self.settings.notifications
        return Notifier(self.engine, notes, self._transport or (lambda: make_transport(notes)),
                        self.recipients)

    def daily_jobs(self) -> list[tuple[str, Callable[[str], object]]]:
        """What the scheduler runs once a day as its user: MACE meetings generated up to
        each series' horizon (idempotent; the scheduler must not import the domains)."""
        def generate(actor: str) -> str:
            made = self.mace.generate(actor)
            return f"{len(made)} meeting(s) generated" + (
                f": {', '.join(m.ref for m in made)}" if made else "")
        return [("mace generate", generate)]

    def close(self) -> None:
        """Mirror the audit head outside the database, then release connections."""
        # Never mask the command's own outcome: a head file that could not be written shows
        # up in 'safeguard audit verify'.
        with contextlib.suppress(Exception):
            self.engine.gate.drain()
            self.engine.gate.sync(self.db)
        self.db.dispose()


def build_app(settings: Settings, clock: Clock, *, check_schema: bool = True,
              transport: Callable[[], Transport] | None = None,
              db: Database | None = None) -> App:
    """The application over ``settings`` at the time ``clock`` gives.

    ``check_schema``: refuse a database that is not initialised or not at this version's
    schema (``safeguard init`` creates or upgrades it). ``transport``: where mail goes
    (default: as the settings say). ``db``: an open handle to reuse (tests, the demo).
    """
    own_db = db is None
    if db is None:
        db = Database(settings.database_url, settings.sqlite_synchronous)
    demo_mode = False
    try:
        if check_schema:
            db.ensure_current()
            with db.begin_read() as conn:  # a configuration that widens power is refused
                demo_mode = deployment.check(conn, settings)
        registry = WorkflowRegistry.from_directory(settings.workflows_dir,
                                                   settings.workflow_cache)
        web = WebSettings.from_raw(settings.raw)  # a bad [web] is refused by every command
    except BaseException:
        if own_db:  # refused: nothing will close it for us
            db.dispose()
        raise
    calendar = WorkingCalendar(settings.closure_days, settings.subdivision)
    engine = Engine(db, registry, clock, calendar, settings.audit_head_file,
                    settings.audit_key)
    engine.gate.old_keys = settings.audit_old_keys
    return App(settings, clock, db, engine, web, transport, demo_mode)


__all__ = ["App", "build_app"]
