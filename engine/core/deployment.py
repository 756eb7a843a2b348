"""Settings that grant power come from the deployment, not from whoever runs a command.

Demo mode (anyone may act as anyone), the workflows folder (which roles may do what) and where
case emails are addressed (``[notifications]`` recipients, recipients_from, base_url, sender) are
recorded in the database when it is made (``safeguard init``, or ``safeguard demo`` for a
demonstration database); the audit key is recorded in the chain's head (see
:mod:`engine.core.store.access_store`). A command whose configuration disagrees with what the
database recorded is refused before it does anything, so a ``--config`` file or
``SAFEGUARD_CONFIG`` can never widen anyone's power. Demo mode exists only in databases made by
``safeguard demo``.

This module decides; the SQL is in the store.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection

from engine.core.errors import DeploymentError
from engine.core.settings import SHIPPED_WORKFLOWS, Settings
from engine.core.store.access_store import record_deployment, recorded_deployment

DEMO_MODE = "demo_mode"
WORKFLOWS = "workflows_dir"
# Where case emails go and what they link to: an email enqueued by a command is addressed then,
# so a file of one's own must not send another area's case references elsewhere.
MAIL = "mail_addressing"


def _workflows(settings: Settings) -> str:
    folder = settings.workflows_dir.expanduser().resolve()
    return "shipped" if folder == SHIPPED_WORKFLOWS.resolve() else str(folder)


def _mail(settings: Settings) -> str:
    notes = settings.notifications
    return json.dumps({"recipients_from": notes.recipients_from,
                       "recipients": {k: sorted(v) for k, v in notes.recipients.items()},
                       "base_url": notes.base_url, "sender": notes.sender}, sort_keys=True)


def values(settings: Settings, *, demo: bool = False) -> dict[str, str]:
    recorded = {DEMO_MODE: "true" if demo else "false", WORKFLOWS: _workflows(settings)}
    if not demo:  # a demonstration's emails are addressed by the demo itself, to .eml files
        recorded[MAIL] = _mail(settings)
    return recorded


def record_at_init(conn: Connection, settings: Settings) -> None:
    """``safeguard init``: record the deployment's settings (a repeated init must agree)."""
    if settings.demo_mode:
        raise DeploymentError("demo mode exists only in databases made by 'safeguard demo': "
                              "remove [access] demo_mode from the configuration")
    check(conn, settings)
    record_deployment(conn, values(settings))


def record_demo(conn: Connection, settings: Settings) -> None:
    record_deployment(conn, values(settings, demo=True))


def check(conn: Connection, settings: Settings) -> bool:
    """Refuse a configuration that disagrees with the recorded one; returns whether the
    database is a demonstration database (where demo mode holds, whatever a file says)."""
    recorded = recorded_deployment(conn)
    demo = recorded.get(DEMO_MODE) == "true"
    if settings.demo_mode and not demo:
        raise DeploymentError("[access] demo_mode is set, but this database was not made by "
                              "'safeguard demo': demo mode is refused")
    folder = recorded.get(WORKFLOWS)
    if folder is not None and folder != _workflows(settings):
        raise DeploymentError(f"[workflows] directory is '{_workflows(settings)}', but this "
                              f"database was set up with '{folder}': use the deployment's "
                              "configuration")
    mail = recorded.get(MAIL)
    if mail is not None and mail != _mail(settings):
        raise DeploymentError("[notifications] recipients, recipients_from or sender, or "
                              "[web] base_url, differ from those this database was set up "
                              "with: use the deployment's configuration")
    return demo
