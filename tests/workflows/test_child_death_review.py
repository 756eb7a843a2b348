"""The child death review workflow: the definition loads with the domain notes' timescales,
and a death goes from notification to closure with each deadline where the rules put it
(each step its own transaction, the case read back from the database between them)."""

from __future__ import annotations

import datetime as dt

from engine.app import App
from engine.core.clock import FixedClock
from engine.core.registry import WorkflowRegistry
from engine.core.views import CaseView
from tests.conftest import london

COORD = "coord"


def _deadlines(view: CaseView) -> dict[str, tuple[str, str]]:
    return {d.name + (f" {d.key}" if d.key else ""): (d.due, d.status) for d in view.deadlines}


def test_the_definition_has_the_domain_notes_timescales(registry: WorkflowRegistry) -> None:
    d = registry.get("child_death_review")
    assert d.initial_state == "awaiting_notification"
    assert "awaiting_cdop" in d.states and d.states["closed"].final
    assert d.parameters["notification_hours"] == 24
    assert d.parameters["notification_escalation_hours"] == 48
    assert d.clocks["information"].keyed_by == "request_agency"
    assert d.fields["age_band"].choices == (
        "0_to_27_days", "28_to_364_days", "1_to_4_years", "5_to_9_years", "10_to_14_years",
        "15_to_17_years")
    assert len(d.fields["category"].choices) == 10
    assert not d.personal_fields()  # references only: nowhere to put a name
    escalation = d.clocks["notification_escalation"].alerts
    assert [(r.kind, r.to) for r in escalation] == [
        ("escalation", ("cdop_chair", "designated_doctor"))]
    # every step but the domain's own is a plain step; the domain's name their command
    assert {t.trigger: t.via for t in d.transitions if t.via} == {
        "notify": "safeguard cdop notify", "request_information": "safeguard cdop request",
        "receive_information": "safeguard cdop received", "review": "safeguard cdop review"}


def test_a_death_from_notification_to_closure(app: App, clock: FixedClock) -> None:
    cdop = app.cdop
    clock.set(london("2024-11-29 09:00"))  # a Friday
    view = cdop.open("C-501", "cumberland", "2024-11-29T08:30", COORD)
    assert view.ref == "CDR-C-501" and view.state == "awaiting_notification"
    # 24 and 48 clock hours after the death became known (London times, GMT in November)
    assert _deadlines(view) == {
        "notification": ("2024-11-30T08:30+00:00", "open"),
        "notification_escalation": ("2024-12-01T08:30+00:00", "open")}

    clock.set(london("2024-11-30 10:00"))  # 25.5 hours on: late, but before the escalation
    view = cdop.notify("CDR-C-501", "2024-11-29", "28_to_364_days", "male", False, True,
                       COORD, jar_reason="sudden_unexplained")
    assert view.state == "gathering_information"
    shown = _deadlines(app.engine.case("CDR-C-501", COORD))
    assert shown["notification"] == ("2024-11-30T08:30+00:00", "breached")  # met late
    assert shown["notification_escalation"] == ("2024-12-01T08:30+00:00", "met")
    # calendar months after the death, clamped to the month's end
    assert shown["cdr_meeting"] == ("2025-02-28", "open")
    assert shown["cdop_review"] == ("2025-05-29", "open")

    # one deadline per agency asked: 20 working days (2 December 2024 -> 2 January 2025,
    # Christmas Day, Boxing Day and New Year's Day skipped)
    clock.set(london("2024-12-02 09:00"))
    cdop.request("CDR-C-501", "Police", COORD)
    cdop.request("CDR-C-501", "GP", COORD)
    clock.set(london("2024-12-10 09:00"))
    view = cdop.received("CDR-C-501", "gp", COORD)  # named as the agency was asked
    shown = _deadlines(app.engine.case("CDR-C-501", COORD))
    assert shown["information Police"] == ("2025-01-02", "open")
    assert shown["information GP"] == ("2025-01-02", "met")

    clock.set(london("2025-01-15 09:00"))
    view = cdop.step("CDR-C-501", "hold_cdr_meeting", {"cdr_meeting_on": "2025-01-15"},
                     COORD)
    assert view.state == "awaiting_cdop"
    assert [r.ref for r in cdop.deaths(COORD, state="awaiting_cdop")] == ["CDR-C-501"]

    clock.set(london("2025-03-12 09:00"))
    view = cdop.review("CDR-C-501", "10", True, ["parenting", "environment"], COORD,
                       "safer sleep")
    assert view.state == "reviewed"
    assert view.data["category"] == "sudden_unexpected_unexplained"
    assert view.data["modifiable_domains"] == "parenting,environment"
    # the NCMD analysis form: 5 working days after the review
    assert _deadlines(view)["ncmd"] == ("2025-03-19", "open")
    clock.set(london("2025-03-14 09:00"))
    cdop.step("CDR-C-501", "record_ncmd", {"ncmd_submitted_on": "2025-03-14"}, COORD)
    view = cdop.close("CDR-C-501", COORD)
    assert view.state == "closed" and view.final
    # the form never returned is closed with the case, not left open
    assert all(d.status != "open" for d in view.deadlines)


def test_a_late_notification_breaches_and_reaches_the_escalation(app: App,
                                                                  clock: FixedClock) -> None:
    clock.set(london("2024-06-03 09:00"))
    app.cdop.open("C-502", "cumberland", None, COORD)
    clock.set(london("2024-06-05 09:01"))  # 48 hours and a minute
    view = app.engine.case("CDR-C-502", COORD)
    assert {d.name: d.status for d in view.deadlines} == {
        "notification": "breached", "notification_escalation": "breached"}
    due = {d.name: d.due_at for d in view.deadlines}
    assert due["notification_escalation"] - due["notification"] == dt.timedelta(hours=24)
