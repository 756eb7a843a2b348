"""A MACE action's owner gets its reminders, due and overdue notices; the chair hears only
at escalation (the action clock's ladder in mace_meeting.yaml, recipients per rung); a
dropped action's owner hears no more of it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlmodel import col

from engine.app import App
from engine.core.clock import FixedClock
from engine.core.settings import NotificationSettings
from engine.core.store.database import Database
from engine.core.store.models import Alert, Deadline
from notifications.transports import MemoryTransport
from tests.conftest import london, make_app, seed_access


def _held(db: Database, clock: FixedClock, tmp_path: Path) -> tuple[App, str]:
    """An application mailing the directory's addresses, and a meeting held on 5 June with
    one action owned by owen, due on the 14th (A1)."""
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
    return app, ref


def _sweep(app: App, clock: FixedClock, first: dt.date, last: dt.date, at: str = "08:00",
           ) -> None:
    day = first
    while day <= last:
        clock.set(london(f"{day.isoformat()} {at}"))
        swept = app.notifier.sweep()
        assert swept.unaddressed == 0
        day += dt.timedelta(days=1)


def _raised(db: Database) -> list[tuple[str | None, str, list[dict[str, str]]]]:
    """(action, kind, recipients) of each alert raised on an action, oldest first."""
    with db.read() as session:
        return [(key, kind, recipients) for key, kind, recipients in session.execute(
            select(col(Deadline.key), col(Alert.kind), col(Alert.recipients)).join(
                Deadline, col(Deadline.id) == col(Alert.deadline_id)).where(
                col(Deadline.name) == "action", col(Alert.status) == "raised")
            .order_by(col(Alert.id)))]


def test_action_owner_is_reminded_and_the_chair_gets_the_escalation(
        db: Database, clock: FixedClock, tmp_path: Path) -> None:
    app, _ref = _held(db, clock, tmp_path)
    _sweep(app, clock, dt.date(2024, 6, 5), dt.date(2024, 6, 21))
    by_kind: dict[str, set[str]] = {}
    for _key, kind, recipients in _raised(db):
        by_kind.setdefault(kind, set()).update(r["address"] for r in recipients)
    assert set(by_kind) == {"reminder", "due", "overdue", "escalation"}
    for kind in ("reminder", "due", "overdue"):
        assert by_kind[kind] == {"owen@example.org"}, kind
    assert "owen@example.org" in by_kind["escalation"]
    assert "mchair@example.org" in by_kind["escalation"]  # the chair role's holders


def test_a_dropped_action_s_owner_hears_no_more(db: Database, clock: FixedClock,
                                               tmp_path: Path) -> None:
    app, ref = _held(db, clock, tmp_path)
    app.mace.add_action(ref, "visit the park", "owen", "police", dt.date(2024, 6, 14), "coord")

    def kinds() -> dict[str, list[str]]:
        raised = _raised(db)
        return {key: [kind for k, kind, _ in raised if k == key] for key in ("A1", "A2")}

    # Both are due on the 14th: their first reminder is 5 working days before.
    _sweep(app, clock, dt.date(2024, 6, 5), dt.date(2024, 6, 7), at="18:00")
    assert kinds() == {"A1": ["reminder"], "A2": ["reminder"]}
    app.mace.drop_action(ref, "A2", "another meeting took it over", "coord")
    with db.read() as session:
        row = session.scalar(select(Deadline).where(col(Deadline.name) == "action",
                                                    col(Deadline.key) == "A2"))
        assert row is not None and (row.status, row.next_alert_at) == ("cancelled", None)
    _sweep(app, clock, dt.date(2024, 6, 8), dt.date(2024, 6, 21))  # due, overdue, escalation
    after = kinds()
    assert set(after["A1"]) == {"reminder", "due", "overdue", "escalation"}  # kept open
    assert after["A2"] == ["reminder"]  # the one raised before it was dropped, no more
