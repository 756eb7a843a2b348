"""Child death reviews through the CDOP service: who may do what (every role, two areas), one
deadline per agency asked, and the link with a practice review, shown on both cases as far as
each reader may see.

The expected outcomes below are written out by hand from child_death_review.yaml's roles.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.app import App
from engine.core.access import PARTNERSHIP_WIDE
from engine.core.clock import FixedClock
from engine.core.errors import (
    CaseNotFoundError,
    HiddenCaseError,
    PermissionDeniedError,
    UsageError,
)
from engine.core.present import case_text
from engine.core.roles import ROLES
from engine.core.store.models import AuditRecord, CaseLink
from tests.conftest import london

ADMIN = "amy"  # every role, every area
READERS = {"cdop_chair", "cdop_coordinator", "designated_doctor", "partnership_manager"}
EXPECTED: dict[str, set[str]] = {
    "open": {"cdop_coordinator", "designated_doctor"},
    "notify": {"cdop_coordinator", "designated_doctor"},
    "request": {"cdop_coordinator"},
    "received": {"cdop_coordinator"},
    "meeting": {"cdop_coordinator", "designated_doctor"},
    "review": {"cdop_chair"},
    "ncmd": {"cdop_coordinator"},
    "close_without_review": {"cdop_chair"},
    "show": READERS,
    "list": READERS,
}
NOTIFY = {"died_on": "2024-06-01", "age_band": "0_to_27_days", "sex": "female",
          "expected": False, "jar_needed": False}


@pytest.fixture
def world(app: App, clock: FixedClock) -> App:
    clock.set(london("2024-06-03 09:00"))
    for area in ("north", "south"):
        app.admin.add_area(ADMIN, area, area.title())
    for role in ROLES:
        login = f"u_{role}"
        app.admin.add_user(ADMIN, login, role, f"{login}@example.org", "Agency")
        app.admin.grant(ADMIN, login, role, None if role in PARTNERSHIP_WIDE else "north")
    return app


def _death(app: App, ref: str, area: str, upto: str, abuse: str | None = None) -> str:
    """A death opened by the administrator and taken up to the state ``upto``."""
    cdop = app.cdop
    cdop.open(ref.removeprefix("CDR-"), area, None, ADMIN, ref=ref)
    order = ["awaiting_notification", "gathering_information", "awaiting_cdop", "reviewed"]
    if order.index(upto) >= 1:
        cdop.notify(ref, **NOTIFY, actor=ADMIN, abuse_or_neglect=abuse)
    if order.index(upto) >= 2:
        cdop.step(ref, "hold_cdr_meeting", {"cdr_meeting_on": "2024-06-03"}, ADMIN)
    if order.index(upto) >= 3:
        cdop.review(ref, "8", False, [], ADMIN)
    return ref


def _command(app: App, name: str, actor: str, area: str, n: int) -> Callable[[], object]:
    cdop, ref = app.cdop, f"CDR-{area}-{n}"
    if name == "open":
        return lambda: cdop.open(f"C-{area}-{n}", area, None, actor)
    if name == "list":
        _death(app, ref, area, "awaiting_notification")
        return lambda: _listed(cdop.deaths(actor), ref)
    upto = {"notify": "awaiting_notification", "request": "gathering_information",
            "meeting": "gathering_information", "review": "awaiting_cdop",
            "ncmd": "reviewed", "close_without_review": "gathering_information",
            "show": "gathering_information", "received": "gathering_information"}[name]
    _death(app, ref, area, upto)
    if name == "received":
        cdop.request(ref, "Police", ADMIN)
    return {
        "notify": lambda: cdop.notify(ref, **NOTIFY, actor=actor),
        "request": lambda: cdop.request(ref, "Police", actor),
        "received": lambda: cdop.received(ref, "Police", actor),
        "meeting": lambda: cdop.step(ref, "hold_cdr_meeting",
                                     {"cdr_meeting_on": "2024-06-03"}, actor),
        "review": lambda: cdop.review(ref, "3", True, ["environment"], actor),
        "ncmd": lambda: cdop.step(ref, "record_ncmd", {"ncmd_submitted_on": "2024-06-03"},
                                  actor),
        "close_without_review": lambda: cdop.close(ref, actor, reason="not resident here"),
        "show": lambda: cdop.show(ref, actor),
    }[name]


class _NotListed(Exception):
    pass


def _listed(rows: list[Any], ref: str) -> None:
    if ref not in [r.ref for r in rows]:
        raise _NotListed(ref)


def test_every_role_every_cdop_command_two_areas(world: App) -> None:
    serial = itertools.count(1)
    outcomes = {}
    for role, command, area in itertools.product(sorted(ROLES), sorted(EXPECTED),
                                                 ("north", "south")):
        run = _command(world, command, f"u_{role}", area, next(serial))
        try:
            run()
            outcomes[(role, command, area)] = True
        except (PermissionDeniedError, HiddenCaseError, _NotListed):
            outcomes[(role, command, area)] = False
    expected = {key: key[0] in EXPECTED[key[1]] and key[2] == "north" for key in outcomes}
    wrong = sorted(k for k in outcomes if outcomes[k] != expected[k])
    assert not wrong, wrong


def test_one_deadline_per_agency_asked(app: App, clock: FixedClock) -> None:
    ref = _death(app, "CDR-C-1", "cumberland", "gathering_information")
    clock.set(london("2024-06-04 09:00"))
    for agency in ("Police", "GP", "School"):
        app.cdop.request(ref, agency, ADMIN)
    with pytest.raises(UsageError, match=r"Police was already asked .*form awaited"):
        app.cdop.request(ref, "police", ADMIN)
    with pytest.raises(UsageError, match="2024-06-10 is still to come"):  # not yet arrived
        app.cdop.received(ref, "School", ADMIN, on="2024-06-10")
    clock.set(london("2024-06-10 09:00"))
    app.cdop.received(ref, "School", ADMIN, on="2024-06-10")
    with pytest.raises(UsageError, match=r"no reporting form is awaited from 'School'.*"
                                         "awaited: GP, Police"):
        app.cdop.received(ref, "School", ADMIN)
    with pytest.raises(UsageError, match=r"already asked .*form received"):
        app.cdop.request(ref, "School", ADMIN)
    forms = {d.key: (d.due, d.status) for d in app.cdop.show(ref, ADMIN).deadlines
             if d.name == "information"}
    assert forms == {"Police": ("2024-07-02", "open"), "GP": ("2024-07-02", "open"),
                     "School": ("2024-07-02", "met")}
    assert [(r.ref, r.open_requests) for r in app.cdop.deaths(ADMIN)] == [(ref, 2)]
    # the generic route refuses the domain's steps and names the command
    with pytest.raises(UsageError, match="safeguard cdop request"):
        app.engine.fire(ref, "request_information", {"request_agency": "Health visitor",
                                                     "requested_on": "2024-06-04"}, ADMIN)


def _links(app: App) -> int:
    with app.db.begin_read() as conn:
        return int(conn.scalar(select(func.count()).select_from(CaseLink)) or 0)


def _review(app: App, ref: str, area: str) -> str:
    app.engine.open_case("practice_review", ref, {
        "became_aware_on": "2024-06-03", "child_ref": "C-77", "label": "Child death"},
        ADMIN, area=area)
    return ref


@pytest.fixture
def linked(world: App) -> Iterator[App]:
    _death(world, "CDR-N-1", "north", "gathering_information", abuse="suspected")
    _review(world, "PR-N-1", "north")
    yield world


def test_a_link_is_made_from_either_side_and_shown_on_both(linked: App) -> None:
    app = linked
    # the partnership manager reads both; the practice review's side first
    app.cdop.link("PR-N-1", "CDR-N-1", "u_partnership_manager")
    assert _links(app) == 1
    pm_death = app.engine.case("CDR-N-1", "u_partnership_manager")
    assert [(lv.ref, lv.visible, lv.state) for lv in pm_death.links] == [
        ("PR-N-1", True, "awaiting_notification")]
    pm_review = app.engine.case("PR-N-1", "u_partnership_manager")
    assert [(lv.ref, lv.visible, lv.state) for lv in pm_review.links] == [
        ("CDR-N-1", True, "gathering_information")]
    # a reader of one side sees only the other's reference
    coordinator = app.engine.case("CDR-N-1", "u_cdop_coordinator")
    assert coordinator.to_json()["links"] == [{"ref": "PR-N-1"}]
    assert "PR-N-1" in case_text(coordinator)
    assert "Practice review" not in case_text(coordinator)
    chair = app.engine.case("PR-N-1", "u_case_review_chair")
    assert chair.to_json()["links"] == [{"ref": "CDR-N-1"}]
    # the audit record of the link names both cases
    with app.db.begin_read() as conn:
        record = conn.execute(select(AuditRecord.case_ref, AuditRecord.detail)  # type: ignore[call-overload]
                              .where(AuditRecord.action == "cdop.link")).one()
    assert record.case_ref == "PR-N-1" and record.detail["cases"] == ["CDR-N-1"]
    with pytest.raises(UsageError, match="already linked"):
        app.cdop.link("CDR-N-1", "PR-N-1", "u_partnership_manager")
    assert _links(app) == 1


def test_a_link_needs_both_cases_readable_and_abuse_or_neglect(linked: App) -> None:
    app = linked
    # the coordinator cannot read the practice review: answered as for an unknown case
    with pytest.raises(CaseNotFoundError, match="PR-N-1"):
        app.cdop.link("CDR-N-1", "PR-N-1", "u_cdop_coordinator")
    with pytest.raises(CaseNotFoundError, match="CDR-N-1"):
        app.cdop.link("PR-N-1", "CDR-N-1", "u_case_review_chair")
    _death(app, "CDR-N-2", "north", "gathering_information")  # no abuse or neglect recorded
    with pytest.raises(UsageError, match="records no known or suspected abuse or neglect"):
        app.cdop.link("CDR-N-2", "PR-N-1", ADMIN)
    with pytest.raises(UsageError, match="a link joins a child death review case and a "
                                         "practice review case"):
        app.cdop.link("CDR-N-1", "CDR-N-2", ADMIN)
    assert _links(app) == 0


def test_refer_opens_the_practice_review_linked_in_the_deaths_area(linked: App) -> None:
    app = linked
    view = app.cdop.refer("CDR-N-1", "PR-N-2", "u_partnership_manager")
    assert view.ref == "PR-N-2" and view.data["child_ref"] == "CDR-N-1".removeprefix("CDR-")
    assert [lv.ref for lv in view.links] == ["CDR-N-1"]
    # opened in the death's area: the north case review chair may read it
    assert app.engine.case("PR-N-2", "u_case_review_chair").ref == "PR-N-2"
    # the coordinator may not open a practice review: refused, nothing opened or linked
    with pytest.raises(PermissionDeniedError):
        app.cdop.refer("CDR-N-1", "PR-N-3", "u_cdop_coordinator")
    with pytest.raises(CaseNotFoundError):
        app.engine.case("PR-N-3", ADMIN)
    assert _links(app) == 1
