"""Need-to-know for MACE: a member sees the meetings they are invited to, and the children on
those meetings' published agendas while the children's cases are open; nothing else."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.app import App
from engine.core.clock import FixedClock
from engine.core.errors import HiddenCaseError, PermissionDeniedError
from engine.domains.mace.service import MaceService
from tests.conftest import london


def _child(mace: MaceService, clock: FixedClock, child: str, level: str) -> str:
    today = clock.now().date().isoformat()
    ref = mace.cerar.open(child, today, "police", "cumberland", "coord").case.ref
    mace.cerar.fire(ref, "screen", {"screened_on": today}, "coord")
    mace.cerar.fire(ref, "assess", {"assessed_on": today, "risk_level": level}, "mgr")
    return ref


def test_a_mace_member_sees_only_what_their_meetings_need(app: App,
                                                          clock: FixedClock) -> None:
    engine, admin = app.engine, app.admin
    for login in ("mem", "other"):
        admin.add_user("amy", login, login, f"{login}@police.example", "Police")
        admin.grant("amy", login, "mace_member", "cumberland")
    mace = app.mace
    clock.set(london("2024-06-03 09:00"))
    high = _child(mace, clock, "C-HIGH-1", "high")
    _child(mace, clock, "C-LOW-1", "low")  # on the agenda as a new referral
    series = mace.create_series("North", "2w", "wednesday", "10:00", "chair", ["mem"],
                                "coord", starts_on=dt.date(2024, 6, 3), horizon_days=20)
    meeting = series.meetings[0].ref

    assert engine.case(meeting, "mem").ref == meeting  # invited
    with pytest.raises((PermissionDeniedError, HiddenCaseError)):
        engine.case(meeting, "other")  # not invited
    with pytest.raises((PermissionDeniedError, HiddenCaseError)):
        engine.case(high, "mem")  # not on a published agenda yet

    agenda = mace.publish(meeting, "coord")
    on_agenda = {child["case_ref"] for child in agenda["children"]}
    assert high in on_agenda
    assert engine.case(high, "mem").state == "assessed"
    assert {c.ref for c in engine.cases("mem", "cerar")} == on_agenda
    late = _child(mace, clock, "C-LATE-1", "high")  # after the agenda was published
    for ref, who in [(late, "mem"), (high, "other")]:
        with pytest.raises((PermissionDeniedError, HiddenCaseError)):
            engine.case(ref, who)

    mace.cerar.fire(high, "close", {"closed_on": "2024-06-10", "close_reason": "moved away"},
                    "mgr")
    with pytest.raises((PermissionDeniedError, HiddenCaseError)):
        engine.case(high, "mem")  # only while the child is open


def test_a_series_belongs_to_one_area_and_its_agendas_to_its_children(
        app: App, clock: FixedClock) -> None:
    from engine.core.errors import UsageError

    app.admin.add_area("amy", "westmorland", "Westmorland")
    mace = app.mace
    clock.set(london("2024-06-03 09:00"))
    today = clock.now().date().isoformat()
    refs = {}
    for area in ("cumberland", "westmorland"):
        ref = mace.cerar.open(f"C-{area[:3]}-1", today, "police", area, "coord").case.ref
        mace.cerar.fire(ref, "screen", {"screened_on": today}, "coord")
        mace.cerar.fire(ref, "assess", {"assessed_on": today, "risk_level": "high"}, "mgr")
        refs[area] = ref
    with pytest.raises(UsageError, match="choose the case's area"):
        mace.create_series("Both", "2w", "wednesday", "10:00", "chair", ["amy"], "coord",
                           starts_on=dt.date(2024, 6, 3), horizon_days=20)
    series = mace.create_series("West", "2w", "wednesday", "10:00", "chair", [], "coord",
                                starts_on=dt.date(2024, 6, 3), horizon_days=20,
                                area="westmorland")
    agenda = mace.agenda(series.meetings[0].ref, "coord")
    assert [c["case_ref"] for c in agenda["children"]] == [refs["westmorland"]]


def test_changing_the_members_moves_need_to_know_and_the_invitations(
        app: App, clock: FixedClock) -> None:
    sent: list[tuple[str, str, tuple[str, ...]]] = []
    engine, mace = app.engine, app.mace
    mace.on_invitation = lambda _s, inv: sent.append((inv.ref, inv.method, inv.people))
    clock.set(london("2024-06-03 09:00"))
    series = mace.create_series("North", "2w", "wednesday", "10:00", "chair", ["amy"], "coord",
                                starts_on=dt.date(2024, 6, 3), horizon_days=20)
    meeting = series.meetings[0].ref
    app.admin.add_user("amy", "newm", "N", "n@x.org", "Police")
    app.admin.grant("amy", "newm", "mace_member", None)
    app.admin.add_user("amy", "oldm", "O", "o@x.org", "Police")
    app.admin.grant("amy", "oldm", "mace_member", None)
    mace.change_series("North", "coord", members=["oldm"])
    assert engine.case(meeting, "oldm").ref == meeting
    sent.clear()
    mace.change_series("North", "coord", members=["newm"])
    assert engine.case(meeting, "newm").ref == meeting
    with pytest.raises((PermissionDeniedError, HiddenCaseError)):
        engine.case(meeting, "oldm")
    assert (meeting, "REQUEST", ("chair", "newm")) in sent
    sent.clear()
    mace.change_series("North", "coord", every="1m")
    assert any(method == "CANCEL" for _ref, method, _people in sent)
