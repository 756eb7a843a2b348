"""The composition root: the one place that wires the application.

:func:`build_app` makes the database handle, the workflow registry, the calendar, the engine
with its audit gate, the CERAR, MACE, CDOP, business plan and figures services, the notifier
with its recipients and transport, the mailers the engine and MACE hand their emails to,
administration, data protection and the audit trail. The CLI, the demonstration year, the
benchmarks, the tests and the web application all build their application here, so every
front end and the demo send exactly the emails a real deployment would. Nothing else
constructs an ``Engine`` or a service with defaults of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.core import deployment
from engine.core.accounts import Accounts, WebSettings
from engine.core.admin import Admin
from engine.core.auditing import AuditTrail
from engine.core.calendar import WorkingCalendar
from engine.core.casework import CaseWork
from engine.core.clock import Clock
from engine.core.dataprotection import DataProtection
from engine.core.loader import WorkflowRegistry
from engine.core.service import Engine
from engine.core.settings import Settings
from engine.core.store.database import Database
from engine.domains.cdop.service import CdopService
from engine.domains.cerar.service import CerarService
from engine.domains.figures.service import FiguresService
from engine.domains.mace.service import MaceService
from engine.domains.plan.service import PlanService

if TYPE_CHECKING:
    from notifications.service import Notifier
    from notifications.transports import Transport


@dataclass
class App:
    settings: Settings
    clock: Clock
    db: Database
    engine: Engine
    admin: Admin
    cerar: CerarService
    mace: MaceService
    cdop: CdopService
    notifier: Notifier
    data_protection: DataProtection
    audit: AuditTrail
    accounts: Accounts
    casework: CaseWork
    plan: PlanService
    figures: FiguresService
    # A demonstration database (made by 'safeguard demo'): anyone may act as anyone. Recorded
    # in the database, never taken from a settings file.
    demo_mode: bool = False

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
    from notifications.events import EventMailer
    from notifications.invitations import InvitationMailer
    from notifications.recipients import DirectoryRecipients, SettingsRecipients
    from notifications.service import Notifier, make_transport

    own_db = db is None
    if db is None:
        db = Database(settings.database_url, settings.sqlite_synchronous)
    demo_mode = False
    try:
        if check_schema:
            db.ensure_current()
            with db.begin_read() as conn:  # a configuration that widens power is refused
                demo_mode = deployment.check(conn, settings)
        registry = WorkflowRegistry.from_directory(settings.workflows_dir)
    except BaseException:
        if own_db:  # refused: nothing will close it for us
            db.dispose()
        raise
    calendar = WorkingCalendar(settings.closure_days, settings.subdivision)
    engine = Engine(db, registry, clock, calendar, settings.audit_head_file,
                    settings.audit_key)
    engine.gate.old_keys = settings.audit_old_keys
    notes = settings.notifications
    resolver = DirectoryRecipients(db, notes.recipients) \
        if notes.recipients_from == "directory" else SettingsRecipients(notes.recipients)
    engine.on_event = EventMailer(engine, notes, resolver)
    domain = str(settings.raw.get("mace", {}).get("email_domain") or "safeguard.invalid")
    cerar = CerarService(engine)
    mace = MaceService(engine, cerar, email_domain=domain,
                       on_invitation=InvitationMailer(engine, notes, domain))
    notifier = Notifier(engine, notes, transport or (lambda: make_transport(notes)), resolver)
    return App(settings=settings, clock=clock, db=db, engine=engine,
               admin=Admin(db, clock, engine.gate), cerar=cerar, mace=mace,
               cdop=CdopService(engine),
               notifier=notifier, data_protection=DataProtection(engine),
               audit=AuditTrail(db, engine.gate),
               accounts=Accounts(db, clock, engine.gate, WebSettings.from_raw(settings.raw)),
               casework=CaseWork(engine), plan=PlanService(engine),
               figures=FiguresService(engine), demo_mode=demo_mode)


__all__ = ["App", "build_app"]
