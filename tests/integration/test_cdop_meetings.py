"""CDOP meetings reuse the MACE series (one meeting kind, two uses): a series whose use is the
CDOP is coordinated by the CDOP coordinator and chaired by the CDOP chair, its meetings are
``cdop_meeting`` cases (CDOP-<series>-<date>) whose agenda is the deaths ready for the panel
(references only), and each use's people see only their own meetings."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.app import App
from engine.apps.report.cdop_section import CdopSource
from engine.core.clock import FixedClock
from engine.core.errors import HiddenCaseError, PermissionDeniedError, UsageError
from tests.conftest import london

NOTIFY = {"age_band": "0_to_27_days", "sex": "male", "expected": True, "jar_needed": False}


def _people(app: App) -> None:
    for login, role in (("cdc", "cdop_coordinator"), ("cch", "cdop_chair"),
                        ("cec", "cerar_coordinator"), ("mch", "mace_chair")):
        app.admin.add_user("amy", login, login, f"{login}@example.org", "Agency")
        app.admin.grant("amy", login, role, None)


def _death(app: App, child: str, area: str, ready: bool) -> str:
    ref = app.cdop.open(child, area, None, "amy").ref
    app.cdop.notify(ref, "2024-05-20", actor="amy", **NOTIFY)  # type: ignore[arg-type]
    if ready:
        app.cdop.step(ref, "hold_cdr_meeting", {"cdr_meeting_on": "2024-06-03"}, "amy")
    return ref


def test_a_cdop_series_its_agenda_and_its_record(app: App, clock: FixedClock) -> None:
    _people(app)
    clock.set(london("2024-06-03 09:00"))
    ready = _death(app, "C-41", "cumberland", ready=True)
    _death(app, "C-42", "cumberland", ready=False)  # not yet ready for the panel
    series = app.mace.create_series("Panel", "1m", "wednesday", "14:00", "cch", ["cdc"],
                                    "cdc", starts_on=dt.date(2024, 6, 10), horizon_days=60,
                                    use="cdop")
    refs = [m.ref for m in series.meetings]
    assert refs == ["CDOP-Panel-2024-06-12", "CDOP-Panel-2024-07-10"]
    meeting = refs[0]
    assert app.engine.case(meeting, "cdc").workflow == "cdop_meeting"

    agenda = app.mace.publish(meeting, "cdc")
    assert [d["case_ref"] for d in agenda["deaths"]] == [ready]
    assert set(agenda["deaths"][0]) == {"case_ref", "child_ref"}  # references only
    assert agenda["children"] == []

    clock.set(london("2024-06-12 17:00"))
    app.mace.hold(meeting, "cch", [("health", "cdc")])
    with pytest.raises(UsageError, match="a CDOP meeting: it records no decisions"):
        app.mace.decide(meeting, ready, "review_done", "cch")
    app.cdop.review(ready, "8", False, [], "cch")  # recorded on the death's own case
    app.mace.circulate(meeting, "cdc")
    assert app.mace.close(meeting, "cdc").state == "closed"

    with app.db.begin_read() as conn:
        data = CdopSource().load(conn, dt.date(2024, 4, 1), dt.date(2025, 3, 31))
    section = CdopSource().build(data, dt.date(2024, 4, 1), dt.date(2025, 3, 31), None)
    assert {k: v for k, _, v in section.figures}["cdop_meetings"] == 1


def test_each_use_has_its_own_coordinator_chair_and_readers(app: App,
                                                           clock: FixedClock) -> None:
    _people(app)
    clock.set(london("2024-06-03 09:00"))
    with pytest.raises(PermissionDeniedError, match="cdop_coordinator"):
        app.mace.create_series("P1", "1m", "wednesday", "14:00", "cch", [], "cec",
                               starts_on=dt.date(2024, 6, 10), use="cdop")
    with pytest.raises(PermissionDeniedError, match="cerar_coordinator"):
        app.mace.create_series("M1", "2w", "wednesday", "10:00", "mch", [], "cdc",
                               starts_on=dt.date(2024, 6, 10))
    with pytest.raises(UsageError, match="does not hold the CDOP chair role"):
        app.mace.create_series("P2", "1m", "wednesday", "14:00", "mch", [], "cdc",
                               starts_on=dt.date(2024, 6, 10), use="cdop")
    app.mace.create_series("Panel", "1m", "wednesday", "14:00", "cch", [], "cdc",
                           starts_on=dt.date(2024, 6, 10), horizon_days=20, use="cdop")
    app.mace.create_series("North", "2w", "wednesday", "10:00", "mch", [], "cec",
                           starts_on=dt.date(2024, 6, 10), horizon_days=20)
    assert [s.name for s in app.mace.all_series("cdc")] == ["Panel"]
    assert [s.name for s in app.mace.all_series("cec")] == ["North"]
    assert {m.ref for m in app.mace.meetings("cch")} == {"CDOP-Panel-2024-06-12"}
    with pytest.raises(HiddenCaseError):
        app.engine.case("CDOP-Panel-2024-06-12", "cec")
    with pytest.raises(HiddenCaseError):
        app.engine.case("MACE-North-2024-06-12", "cdc")
    # the daily job generates the series of the uses its user coordinates
    clock.set(london("2024-07-01 06:00"))
    made = {m.ref for m in app.mace.generate("cdc")}
    assert made == {"CDOP-Panel-2024-07-10"}
