"""Notifications: deadline alerts turned into emails, and their delivery (issue 4).

    templates/      NAME.subject.txt, NAME.txt, NAME.html per alert kind and event (data)
    render.py       sandboxed Jinja2, StrictUndefined, allow-listed context (no case data)
    recipients.py   role -> addresses (settings-backed until users and roles exist)
    outbox.py       enqueue in the caller's transaction; claim, finish, build the message
    transports.py   SMTP, a folder of .eml files, an in-memory fake
    service.py      Notifier: sweep, dispatch, digest, retry, and their queries
    scheduler.py    APScheduler 3 in the foreground (the only user of the wall clock)
    invitations.py  meeting invitations (text/calendar REQUEST) for the MACE issue

The engine only ever enqueues; it never sends mail itself.
"""
