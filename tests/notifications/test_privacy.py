"""Privacy: no case field (personal or free text) ever reaches an email.

Every field of every case is filled with a marker string; then every alert rung of every
deadline is swept, every template previewed, the digest built and every message delivered
through the .eml transport. No marker may appear in any subject, body, header or attachment
name, in the outbox or in the files written.
"""

from __future__ import annotations

import email
from pathlib import Path

from sqlalchemy import select

from engine.core.clock import FixedClock
from engine.core.service import Engine
from engine.core.store.cases import CaseStore
from engine.core.store.database import Database
from engine.core.store.models import Case, OutboxMessage
from notifications.outbox import build_message
from notifications.render import template_names
from notifications.service import Notifier
from notifications.transports import EmlFolderTransport
from tests.conftest import london
from tests.notifications.conftest import OPEN_FIELDS, settings


def _fill_with_markers(db: Database, engine: Engine) -> list[str]:
    markers = []
    with db.write() as session:
        for case in session.scalars(select(Case)):
            definition = engine.definition(CaseStore(session.connection()), case.workflow,
                                           case.workflow_version)
            data = dict(case.data)
            for name in definition.fields:
                marker = f"MARKER{case.id}x{name}"
                markers.append(marker)
                data[name] = marker
            case.data = data
            session.add(case)
    return markers


def test_no_case_field_reaches_any_email(engine: Engine, clock: FixedClock, db: Database,
                                         tmp_path: Path) -> None:
    for i in range(3):
        engine.open_case("practice_review", f"PR-{i}", {**OPEN_FIELDS, "label": "x"},
                         actor="amy")
    engine.fire("PR-1", "notify", {"notified_on": "2024-06-04"}, actor="amy")
    markers = _fill_with_markers(db, engine)
    folder = tmp_path / "eml"
    notifier = Notifier(engine, settings(), lambda: EmlFolderTransport(folder))
    texts: list[str] = []
    day = london("2024-06-03 07:30")
    for _ in range(40):  # every rung of every deadline, and a digest every morning
        clock.set(day)
        notifier.sweep()
        notifier.digest()
        day = day.replace(day=day.day + 1) if day.day < 28 else day.replace(
            month=day.month + 1, day=1)
    for name in template_names():
        for ref in ("PR-0", "PR-1"):
            out = notifier.preview(name, ref, "amy")
            texts += [out.subject, out.text, out.html]
    assert notifier.dispatch().sent > 10
    with db.read() as session:
        rows = list(session.scalars(select(OutboxMessage)))
    assert {r.template for r in rows} >= {"reminder", "due", "overdue", "escalation", "digest"}
    for row in rows:
        message = build_message(row, "safeguard@example.org", clock.now())
        texts.append(message.as_string())
        texts += [f"{k}: {v}" for k, v in message.items()]
        texts += [part.get_filename() or "" for part in message.walk()]
    for path in folder.glob("*.eml"):
        parsed = email.message_from_bytes(path.read_bytes())
        texts += [path.name, parsed.as_string()]
        texts += [part.get_filename() or "" for part in parsed.walk()]
    leaks = sorted({m for m in markers for t in texts if m in t})
    print(f"privacy: {len(rows)} messages, {len(texts)} texts, {len(markers)} markers, "
          f"{len(leaks)} leaked")
    assert leaks == []
