"""An hour-rule deadline met at its due instant is met ("within 72 hours" includes the 72nd
hour's end); a day rule is unchanged (issue 14)."""

from __future__ import annotations

import datetime as dt

from engine.app import App
from engine.core.clock import FixedClock
from engine.core.deadlines import BREACHED, MET, OPEN, effective_status
from tests.conftest import london


def _rhi(view: object) -> str:
    return next(d.status for d in view.case.deadlines  # type: ignore[attr-defined]
                if d.name == "rhi")


def test_an_rhi_at_exactly_72_hours_is_on_time(app: App, clock: FixedClock) -> None:
    clock.set(london("2024-06-03 09:00"))
    ref = app.cerar.open("C-72", "2024-06-03", "police", "cumberland", "coord").case.ref
    app.cerar.fire(ref, "screen", {"screened_on": "2024-06-03"}, "coord")
    clock.set(london("2024-06-03 13:00"))
    app.cerar.record_missing(ref, "2024-06-03T10:00", "2024-06-03T12:00", "coord")
    clock.set(london("2024-06-06 12:00"))
    assert _rhi(app.cerar.show(ref, "coord")) == OPEN  # at the due instant: still in time
    view = app.cerar.record_rhi(ref, "M1", "held", "2024-06-06T12:00", "coord")
    assert _rhi(view) == MET
    clock.set(london("2024-06-06 15:00"))
    app.cerar.record_missing(ref, "2024-06-06T13:00", "2024-06-06T14:00", "coord")
    clock.set(london("2024-06-09 14:01"))
    view = app.cerar.record_rhi(ref, "M2", "held", "2024-06-09T14:01", "coord")
    assert [d.status for d in view.case.deadlines
            if d.name == "rhi"] == [MET, BREACHED]


def test_effective_status_day_rules_unchanged() -> None:
    due = dt.datetime(2024, 6, 4, 23, 0, tzinfo=dt.UTC)
    assert effective_status(OPEN, due, due) == BREACHED
    assert effective_status(OPEN, due, due, hourly=True) == OPEN
    assert effective_status(OPEN, due, due + dt.timedelta(seconds=1), hourly=True) == BREACHED
