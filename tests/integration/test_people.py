"""People named in a command are registered users, and mail goes to their registered
address (issue 14): refusals name the problem ("did you mean") and write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from engine.app import App
from engine.core.clock import FixedClock
from engine.core.errors import FieldError, UsageError
from engine.core.store.access_store import AccessStore
from engine.core.store.cases import CaseStore
from engine.core.store.database import Database
from engine.core.store.models import Case, MaceSeries, OutboxMessage
from tests.conftest import london, make_app
from tests.integration.test_engine import TO_PUBLISHED


@pytest.fixture
def app(db: Database, clock: FixedClock, tmp_path: Path) -> App:
    return make_app(db, clock, tmp_path / "audit-head.json")


def _count(db: Database, model: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_unknown_or_duplicate_people_are_refused_and_nothing_is_written(
        app: App, db: Database, clock: FixedClock) -> None:
    clock.set(london("2024-06-03 09:00"))
    before = (_count(db, MaceSeries), _count(db, Case), _count(db, OutboxMessage))
    with pytest.raises(UsageError, match=r"member 'amyy' is not a registered user "
                                         r"\(did you mean 'amy'\?\)"):
        app.mace.create_series("North", "2w", "wednesday", "10:00", "chair",
                               ["amyy", "bob"], "coord")
    with pytest.raises(UsageError, match="chair 'nobody' is not a registered user"):
        app.mace.create_series("North", "2w", "wednesday", "10:00", "nobody", ["amy"],
                               "coord")
    with pytest.raises(UsageError, match="member 'amy' is named twice"):
        app.mace.create_series("North", "2w", "wednesday", "10:00", "chair",
                               ["amy", "amy"], "coord")
    assert (_count(db, MaceSeries), _count(db, Case), _count(db, OutboxMessage)) == before

    view = app.mace.create_series("North", "2w", "wednesday", "10:00", "chair", ["amy"],
                                  "coord", horizon_days=20)
    with pytest.raises(UsageError, match="member 'zed' is not a registered user"):
        app.mace.change_series("North", "coord", members=["amy", "zed"])
    ref = view.meetings[0].ref
    clock.set(london("2024-06-05 12:00"))
    with pytest.raises(UsageError, match="attendee 'nobody' is not a registered user"):
        app.mace.hold(ref, "coord", [("police", "nobody")])
    app.mace.publish(ref, "coord")
    app.mace.hold(ref, "coord", [("police", "bob")])
    with pytest.raises(UsageError, match="owner 'ammy' is not a registered user "
                                         r"\(did you mean 'amy'\?\)"):
        app.mace.add_action(ref, "share the intelligence", "ammy", "police",
                            london("2024-06-12 00:00").date(), "coord")


def test_the_reviewer_is_a_registered_user(app: App) -> None:
    engine = app.engine
    engine.open_case("practice_review", "PR-9", {"became_aware_on": "2024-06-03",
                                                  "child_ref": "C-9", "label": "r"}, "amy")
    for trigger, values in TO_PUBLISHED[:3]:
        engine.fire("PR-9", trigger, values, "amy")
    with pytest.raises(UsageError, match="the reviewer 'Jane Smith' is not a registered"):
        engine.fire("PR-9", "appoint_reviewer", {"reviewer": "Jane Smith",
                                                 "reviewer_appointed_on": "2024-07-02"}, "amy")
    view = engine.case("PR-9", "amy")
    assert "reviewer" not in view.data and view.state == "lcspr_commissioned"
    # One person named is read by login; a misspelt one still gets a suggestion, and a
    # disabled one is refused.
    with pytest.raises(UsageError, match=r"the reviewer 'bbo' is not a registered user "
                                         r"\(did you mean 'bob'\?\)"):
        engine.fire("PR-9", "appoint_reviewer", {"reviewer": "bbo",
                                                 "reviewer_appointed_on": "2024-07-02"}, "amy")
    with app.db.begin() as conn:
        store = AccessStore(conn)
        user_id = store.user_id("bob")
        assert user_id is not None
        store.disable(user_id, london("2024-06-03 09:00"))
    with pytest.raises(UsageError, match="the reviewer 'bob' is disabled"):
        engine.fire("PR-9", "appoint_reviewer", {"reviewer": "bob",
                                                 "reviewer_appointed_on": "2024-07-02"}, "amy")
    engine.fire("PR-9", "appoint_reviewer", {"reviewer": "coord",
                                             "reviewer_appointed_on": "2024-07-02"}, "amy")
    assert engine.case("PR-9", "amy").data["reviewer"] == "coord"
    with app.db.begin_read() as conn:
        [case] = CaseStore(conn).find("PR-9")
        involved = AccessStore(conn).involvement_of(case.id)
    assert [(i["login"], i["kind"]) for i in involved] == [("coord", "reviewer")]


def test_a_name_is_not_a_reference(app: App) -> None:
    with pytest.raises(FieldError, match="at least one digit"):
        app.cerar.open("Jayden-Smith", "2024-06-03", "police", "cumberland", "coord")
    with pytest.raises(FieldError, match="at least one digit"):
        app.engine.open_case("practice_review", "PR-8", {
            "became_aware_on": "2024-06-03", "child_ref": "Jayden", "label": "r"}, "amy")
    assert app.cerar.open("C-58213", "2024-06-03", "police", "cumberland",
                          "coord").case.ref == "CE-C-58213"


def test_invitations_use_registered_addresses(app: App, clock: FixedClock) -> None:
    clock.set(london("2024-06-03 09:00"))
    view = app.mace.create_series("North", "2w", "wednesday", "10:00", "chair",
                                  ["amy", "bob"], "coord", horizon_days=20)
    _method, payload = app.mace.invitation(view.meetings[0].ref, "chair")
    event = Calendar.from_ical(payload).walk("VEVENT")[0]
    assert str(event["ORGANIZER"]) == "mailto:chair@example.org"
    attendees = event["ATTENDEE"] if isinstance(event["ATTENDEE"], list) \
        else [event["ATTENDEE"]]
    # The chair attends as the chair (nothing to answer); the members with RSVP.
    assert sorted((str(a), a.params["ROLE"], a.params["RSVP"]) for a in attendees) == [
        ("mailto:amy@example.org", "REQ-PARTICIPANT", "TRUE"),
        ("mailto:bob@example.org", "REQ-PARTICIPANT", "TRUE"),
        ("mailto:chair@example.org", "CHAIR", "FALSE")]
