"""The dashboard's sections over the known dataset, what a narrower role sees, and the
outbox sections (pending alerts, dead letters)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from engine.app import App
from engine.apps.report.status import dashboard, dashboard_text
from engine.core.admin import Admin
from engine.core.clock import FixedClock
from engine.core.errors import DeliveryError, PermissionDeniedError
from engine.core.service import Engine
from engine.core.settings import NotificationSettings
from notifications.service import Notifier
from tests.conftest import london
from tests.report.dataset import build


class Refusing:
    def send(self, message: EmailMessage) -> None:
        raise DeliveryError("550 mailbox unavailable", permanent=True)

    def close(self) -> None:
        pass


def _keys(items: list[dict[str, str]]) -> set[tuple[str, str, str]]:
    return {(i["workflow"], i["ref"], i["deadline"]) for i in items}


@pytest.fixture
def known(app: App, clock: FixedClock) -> tuple[Engine, str]:
    built = build(app, clock)
    engine = app.engine
    clock.set(london("2025-04-07 09:00"))  # a Monday: the week runs to Sunday 13 April
    return engine, built.meeting


def test_sections_for_the_partnership_manager(known: tuple[Engine, str]) -> None:
    engine, meeting = known
    board = dashboard(engine, "mgr")
    assert board.week_end.isoformat() == "2025-04-13"
    overdue, due = _keys(board.overdue), _keys(board.due_this_week)
    assert {("cerar", "CE-K5", "rhi M1"), ("mace_meeting", meeting, "action A3"),
            ("practice_review", "PR-C", "publication"),
            ("cerar", "CE-K4", "initial_assessment")} <= overdue
    assert ("cerar", "CE-K2", "rhi M2") in due
    assert not any(ref == "PR-D" for _, ref, _ in overdue | due)  # due on 14 April
    assert [p["ref"] for p in board.past_target] == ["PR-C"]
    assert board.next_meeting is None  # one held, the next cancelled
    data = board.to_json()
    assert ("practice_review", "PR-A", "action A2") in overdue  # the plan's overdue action
    assert {"workflow": "practice_review", "owner": "case_review_chair", "count": 3} in \
        data["overdue_by_workflow_owner"]  # publication, the deferral review, action A2
    text = dashboard_text(board)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "Dead-lettered notifications: 0" in text and "PR-C" in text


def test_outbox_sections(known: tuple[Engine, str]) -> None:
    engine, _ = known
    settings = NotificationSettings(transport="memory", max_attempts=1)
    notifier = Notifier(engine, settings, Refusing)
    events = len(dashboard(engine, "mgr").undelivered)  # the workflow events' own emails
    written = notifier.sweep().messages
    assert written > 0
    assert len(dashboard(engine, "mgr").undelivered) == events + written
    notifier.dispatch()
    board = dashboard(engine, "mgr")
    assert len(board.dead_letters) == events + written and board.undelivered == []
    assert "notifications retry --all-failed" in dashboard_text(board)


def test_only_what_the_actor_may_see(known: tuple[Engine, str]) -> None:
    engine, _ = known
    admin = Admin(engine.db, engine.clock, engine.gate)  # the app's own, over the same gate
    for login, role in (("crg", "case_review_chair"), ("aud", "auditor")):
        admin.add_user("amy", login, login, f"{login}@example.org", "Partnership")
        admin.grant("amy", login, role, None)
    board = dashboard(engine, "crg")
    assert {w for w, _, _ in _keys(board.overdue + board.due_this_week)} == {"practice_review"}
    assert board.to_json()["dead_letters"] is None and not board.sees_outbox
    assert "Dead-lettered" not in dashboard_text(board)
    with pytest.raises(PermissionDeniedError):
        dashboard(engine, "aud")
