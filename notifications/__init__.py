"""Notifications: deadline alerts turned into emails, and their delivery (issue 4).

    templates/      NAME.subject.txt, NAME.txt, NAME.html per alert kind and event (data)
    render.py       sandboxed Jinja2, StrictUndefined, allow-listed context (no case data)
    recipients.py   role -> addresses (the user directory, or the settings)
    outbox.py       the outbox table (the notifier's own): enqueue, claim, finish, list
    transports.py   SMTP, a folder of .eml files, an in-memory fake
    service.py      Notifier: sweep, dispatch, digest, retry, and their queries
    scheduler.py    APScheduler 3 in the foreground (the only user of the wall clock)
    invitations.py  meeting invitations (text/calendar REQUEST) for the MACE issue
    events.py       workflow-event emails (a transition's ``notify`` roles)

The engine only ever enqueues; it never sends mail itself. This package reaches the engine's
tables only through ``engine.core.store`` (``alert_store``, ``directory``, ``cases``) and takes
what the engine and the domains hand it as ``engine.core.notices``; it imports no domain.
"""
