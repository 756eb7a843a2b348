"""A MACE action's owner gets its reminders, due and overdue notices; the chair hears only
at escalation (the action clock's ladder in mace_meeting.yaml, recipients per rung)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.core.clock import FixedClock
from engine.core.settings import NotificationSettings
from engine.core.store.database import Database
from notifications.transports import MemoryTransport
from tests.conftest import london, make_app, seed_access


def test_action_owner_is_reminded_and_the_chair_gets_the_escalation(
        db: Database, clock: FixedClock, tmp_path: Path) -> None:
    seed_access(db, users=("owen", "mchair"))
    memory = MemoryTransport()
    app = make_app(db, clock, tmp_path / "head.json",
                   notifications=NotificationSettings(transport="memory",
                                                      recipients_from="directory"),
                   transport=lambda: memory)
    clock.set(london("2024-06-03 09:00"))
    view = app.mace.create_series("North", "2w", "wednesday", "10:00", "chair", ["amy"],
                                  "coord", horizon_days=10)
    ref = view.meetings[0].ref
    app.mace.publish(ref, "coord")
    clock.set(london("2024-06-05 12:00"))
    app.mace.hold(ref, "coord", [("police", "amy")])
    app.mace.add_action(ref, "share the intelligence", "owen", "police",
                        dt.date(2024, 6, 14), "coord")
    by_kind: dict[str, set[str]] = {}
    day = dt.date(2024, 6, 5)
    while day <= dt.date(2024, 6, 21):
        clock.set(london(f"{day.isoformat()} 08:00"))
        swept = app.notifier.sweep()
        assert swept.unaddressed == 0
        day += dt.timedelta(days=1)
    with db.read() as session:
        from sqlalchemy import select

        from engine.core.store.models import Alert, Deadline
        rows = session.execute(select(Alert.kind, Alert.recipients).join(
            Deadline, Deadline.id == Alert.deadline_id).where(
            Deadline.name == "action", Alert.status == "raised")).all()
    for kind, recipients in rows:
        by_kind.setdefault(kind, set()).update(r["address"] for r in recipients)
    assert set(by_kind) == {"reminder", "due", "overdue", "escalation"}
    for kind in ("reminder", "due", "overdue"):
        assert by_kind[kind] == {"owen@example.org"}, kind
    assert "owen@example.org" in by_kind["escalation"]
    assert "mchair@example.org" in by_kind["escalation"]  # the chair role's holders
