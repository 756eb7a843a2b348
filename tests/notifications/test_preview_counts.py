"""Preview never shows a negative count of days left (issue 14)."""

from __future__ import annotations

from engine.core.clock import FixedClock
from engine.core.service import Engine
from notifications.service import Notifier
from tests.conftest import london
from tests.notifications.conftest import OPEN_FIELDS


def test_a_reminder_preview_of_an_overdue_deadline_says_overdue(
        engine: Engine, notifier: Notifier, clock: FixedClock) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-24 09:00"))
    text = notifier.preview("reminder", "PR-1", "amy").text
    assert "-" + "1" not in text.split("(")[1].split(")")[0]
    assert "overdue by 10 working days" in text and "left)" not in text
