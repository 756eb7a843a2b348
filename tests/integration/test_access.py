"""Access control: every role against every command in two areas, involvement, the actor.

The expected outcomes below are the specification (issue: access control), written out by hand
from the practice-review definition's roles, not computed from the code under test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.apps.report.status import dashboard
from engine.core.access import PARTNERSHIP_WIDE
from engine.core.admin import Admin
from engine.core.clock import FixedClock
from engine.core.dataprotection import DataProtection
from engine.core.errors import (
    CaseNotFoundError,
    HiddenCaseError,
    PermissionDeniedError,
    UnknownUserError,
)
from engine.core.gate import PERSONAL_MARK, RESTRICTED_MARK
from engine.core.registry import WorkflowRegistry
from engine.core.roles import ROLES
from engine.core.service import Engine
from engine.core.store.database import Database
from engine.core.store.models import AuditRecord, Case, CaseEvent, Deadline, RoleGrant, User
from tests.conftest import london, make_app

OPEN = {"became_aware_on": "2024-06-03", "child_ref": "C-77", "label": "Matrix",
        "child_name": "Zed Quill", "child_dob": "2012-05-01"}
TO_REVIEW = [("notify", {"notified_on": "2024-06-07"}),
             ("submit_rapid_review", {"rr_submitted_on": "2024-06-20"}),
             ("commission_lcspr", {"decision_on": "2024-07-01"}),
             ("appoint_reviewer", {"reviewer": "u_independent_reviewer",
                                   "reviewer_appointed_on": "2024-07-02"})]

# command -> the roles (granted for the case's area) that may run it
READ = {"partnership_manager", "business_support", "case_review_member", "case_review_chair",
        "independent_reviewer"}
EXPECTED: dict[str, set[str]] = {
    "show": READ,
    "history": READ,
    "advance": {"case_review_chair", "business_support", "independent_reviewer"},
    "correct": {"business_support", "case_review_chair", "partnership_manager"},
    "export": {"case_review_chair", "partnership_manager"},
    "hold": {"partnership_manager"},
    "open": {"business_support", "case_review_chair", "partnership_manager"},
    "user_add": {"administrator"},
    "grant": {"administrator"},
    "audit_log": {"auditor"},
    "audit_verify": {"auditor", "administrator"},
    "retention": {"administrator"},
    # the dashboard shows the area's undelivered mail (with recipient addresses) only to
    # those who read that area's mail, as 'notifications list' does
    "status": {"business_support", "partnership_manager"},
    # the alerts and the outbox: the same readers, each their own areas' cases
    "alerts_list": {"business_support", "partnership_manager"},
    "notifications_list": {"business_support", "partnership_manager"},
}
AREA_BOUND = {"show", "history", "advance", "correct", "export", "hold", "open", "status",
              "alerts_list", "notifications_list"}


@pytest.fixture
def world(db: Database, registry: WorkflowRegistry, tmp_path: Path,
          ) -> Iterator[dict[str, Any]]:
    clock = FixedClock(london("2024-07-10 10:00"))
    app = make_app(db, clock, tmp_path / "head.json")
    engine, admin = app.engine, app.admin
    admin.add_area("amy", "north", "North")
    admin.add_area("amy", "south", "South")
    for role in ROLES:
        login = f"u_{role}"
        admin.add_user("amy", login, role, f"{login}@example.org", "Agency")
        admin.grant("amy", login, role, None if role in PARTNERSHIP_WIDE else "north")
    for area in ("north", "south"):
        engine.open_case("practice_review", f"PR-{area}", OPEN, actor="amy", area=area)
        for trigger, values in TO_REVIEW:
            engine.fire(f"PR-{area}", trigger, values, actor="amy")
    yield {"engine": engine, "admin": admin, "db": db, "clock": clock,
           "dp": app.data_protection, "audit": app.audit, "notifier": app.notifier}


def _snapshot(db: Database) -> tuple[Any, ...]:
    with db.read() as s:
        counts = tuple(int(s.scalar(select(func.count()).select_from(m)) or 0)
                       for m in (Case, CaseEvent, Deadline, User, RoleGrant))
        versions = tuple(s.scalars(select(Case.version).order_by(Case.id)))
        refused = int(s.scalar(select(func.count()).select_from(AuditRecord)
                               .where(AuditRecord.outcome == "refused")) or 0)
    return counts, versions, refused


def _command(world: dict[str, Any], name: str, actor: str, area: str,
             serial: Iterator[int]) -> Callable[[], object]:
    engine: Engine = world["engine"]
    ref = f"PR-{area}"
    n = next(serial)
    return {
        "show": lambda: engine.case(ref, actor),
        "history": lambda: engine.history(ref, actor),
        "advance": lambda: engine.fire(ref, "receive_draft",
                                       {"draft_received_on": "2024-07-10"}, actor=actor),
        "correct": lambda: engine.correct(ref, {"label": f"Matrix {n}"}, actor=actor,
                                          note="matrix"),
        "export": lambda: world["dp"].export(ref, actor),
        "hold": lambda: world["dp"].set_hold(ref, actor, "public inquiry"),
        "open": lambda: engine.open_case("practice_review", f"PR-NEW-{n}", OPEN, actor=actor,
                                         area=area),
        "user_add": lambda: world["admin"].add_user(actor, f"new{n}", "New", "n@example.org",
                                                    "LA"),
        "grant": lambda: world["admin"].grant(actor, "u_auditor", "mace_member", area),
        "audit_log": lambda: world["audit"].log(actor),
        "audit_verify": lambda: world["audit"].verify(actor),
        "retention": lambda: world["dp"].retention_run(actor, dry_run=True),
        "status": lambda: _shows(dashboard(engine, actor).to_json(),
                                 ("undelivered_alerts",), ref),
        "alerts_list": lambda: _shows({"alerts": world["notifier"].alerts(actor)},
                                      ("alerts",), ref),
        "notifications_list": lambda: _shows(
            {"outbox": [(m.subject, m.body_text) for m in world["notifier"].messages(actor)]},
            ("outbox",), ref),
    }[name]


def _shows(board: dict[str, Any], parts: tuple[str, ...], ref: str) -> None:
    """A view 'refuses' an area by leaving its case out: raised as a refusal for the matrix."""
    if not any(ref in str(board.get(part) or "") for part in parts):
        raise _NotShown(ref)


class _NotShown(Exception):
    pass


def test_every_role_every_command_two_areas(world: dict[str, Any]) -> None:
    engine: Engine = world["engine"]
    serial = itertools.count(1)
    outcomes: dict[tuple[str, str, str], bool] = {}
    # alerts raised, and emails undelivered, for both areas' cases: swept when a deadline is
    # near (the clock then put back, so every command runs as before)
    world["clock"].set(london("2025-06-01 10:00"))
    world["notifier"].sweep()
    world["clock"].set(london("2024-07-10 10:00"))
    for role, command, area in itertools.product(sorted(ROLES), sorted(EXPECTED),
                                                 ("north", "south")):
        actor = f"u_{role}"
        before = _snapshot(world["db"])
        try:
            _command(world, command, actor, area, serial)()
            outcomes[(role, command, area)] = True
        except _NotShown:
            outcomes[(role, command, area)] = False
        except HiddenCaseError as exc:  # answered as if the case did not exist; audited
            outcomes[(role, command, area)] = False
            assert str(exc) == str(CaseNotFoundError(f"PR-{area}"))
            assert actor in exc.reason and "needs" in exc.reason
            counts, versions, refused = _snapshot(world["db"])
            assert (counts, versions) == before[:2], (role, command, area)
            assert refused == before[2] + 1, (role, command, area)
        except PermissionDeniedError as exc:
            outcomes[(role, command, area)] = False
            assert actor in str(exc) and "needs" in str(exc)
            counts, versions, refused = _snapshot(world["db"])
            assert (counts, versions) == before[:2], (role, command, area)
            assert refused == before[2] + 1, (role, command, area)
    expected = {(role, command, area): (role in EXPECTED[command] and
                                        (area == "north" or command not in AREA_BOUND))
                for role, command, area in outcomes}
    wrong = sorted(k for k in outcomes if outcomes[k] != expected[k])
    assert not wrong, wrong
    assert engine.case("PR-north", "u_case_review_chair").state == "in_review"


def test_a_reviewer_sees_only_the_review_they_are_appointed_to(world: dict[str, Any]) -> None:
    engine: Engine = world["engine"]
    admin: Admin = world["admin"]
    admin.add_user("amy", "rita", "Rita", "rita@example.org", "Independent")
    admin.grant("amy", "rita", "independent_reviewer", None)
    engine.open_case("practice_review", "PR-OTHER", OPEN, actor="amy", area="north")
    for trigger, values in TO_REVIEW[:-1]:
        engine.fire("PR-OTHER", trigger, values, actor="amy")
    with pytest.raises(CaseNotFoundError):  # answered as for an unknown reference
        engine.case("PR-OTHER", "rita")
    assert engine.cases("rita") == []
    engine.fire("PR-OTHER", "appoint_reviewer", {"reviewer": "rita",
                                                  "reviewer_appointed_on": "2024-07-10"},
                actor="amy")
    assert engine.case("PR-OTHER", "rita").state == "in_review"
    assert [c.ref for c in engine.cases("rita")] == ["PR-OTHER"]
    # Guessing another reference gets her nothing: refused, or not found, never the data.
    with pytest.raises(CaseNotFoundError) as refused:
        engine.history("PR-north", "rita")
    assert "Zed" not in str(refused.value)
    with pytest.raises(CaseNotFoundError) as unknown:
        engine.case("PR-NOPE", "rita")
    assert str(unknown.value).replace("PR-NOPE", "PR-north") == str(refused.value)


def test_personal_fields_are_masked_and_never_in_events_or_audit(
        world: dict[str, Any]) -> None:
    engine: Engine = world["engine"]
    member = engine.case("PR-north", "u_case_review_member")
    assert member.data["child_name"] == RESTRICTED_MARK
    assert member.data["child_dob"] == RESTRICTED_MARK
    chair = engine.case("PR-north", "u_case_review_chair")
    assert chair.data["child_name"] == "Zed Quill"
    opened = engine.history("PR-north", "u_case_review_chair")[0]
    assert opened.changes["child_name"] == [None, PERSONAL_MARK]
    trail = world["audit"].log("u_auditor")
    assert trail and all("Zed" not in str(e.to_json()) for e in trail)


def test_disabled_and_unknown_users_can_do_nothing(world: dict[str, Any]) -> None:
    engine: Engine = world["engine"]
    world["admin"].disable("amy", "u_case_review_chair")
    with pytest.raises(UnknownUserError, match="disabled"):
        engine.case("PR-north", "u_case_review_chair")
    with pytest.raises(UnknownUserError, match="not a registered user"):
        engine.case("PR-north", "mallory")
    actors = [e.actor for e in world["audit"].log("u_auditor")]
    assert "u_case_review_chair" in actors  # their history remains
    assert "mallory" in actors  # and the attempt is on record


def test_act_as_is_for_administrators_and_its_refusal_is_audited(
        world: dict[str, Any]) -> None:
    admin: Admin = world["admin"]
    assert admin.resolve_actor("u_administrator", "u_auditor", demo_mode=False) == "u_auditor"
    assert admin.resolve_actor("u_auditor", None, demo_mode=False) == "u_auditor"
    assert admin.resolve_actor("u_auditor", "u_partnership_manager", demo_mode=True) == \
        "u_partnership_manager"
    with pytest.raises(PermissionDeniedError, match="act as u_partnership_manager"):
        admin.resolve_actor("u_auditor", "u_partnership_manager", demo_mode=False)
    last = world["audit"].log("u_auditor")[-1]
    assert (last.actor, last.action, last.outcome) == ("u_auditor", "act_as", "refused")


def test_export_holds_and_retention(world: dict[str, Any], db: Database) -> None:
    dp: DataProtection = world["dp"]
    exported = dp.export("PR-north", "u_partnership_manager")
    assert exported["case"]["data"]["child_name"] == "Zed Quill"
    assert [e["trigger"] for e in exported["events"]][:2] == ["open", "notify"]
    assert {i["kind"] for i in exported["involvement"]} == {"reviewer"}
    assert any(a["action"] == "case.export" for a in exported["audit"])
    assert exported["alerts"] == []  # no alert raised yet; the emails are the events' own
    assert {n["template"] for n in exported["notifications"]} == {"case_event"}

    world["clock"].set(london("2087-05-02 09:00"))  # 75 years after the child's birth
    dp.set_hold("PR-south", "amy", "public inquiry")
    due = dp.retention_run("u_administrator", dry_run=True)
    assert {(i.ref, i.held) for i in due} == {("PR-north", False), ("PR-south", True)}
    assert world["engine"].case("PR-north", "amy").data["child_name"] == "Zed Quill"
    dp.retention_run("u_administrator", dry_run=False)
    erased = world["engine"].case("PR-north", "amy")
    assert "child_name" not in erased.data and "child_dob" not in erased.data
    assert erased.data["child_ref"] == "C-77"
    assert world["engine"].case("PR-south", "amy").data["child_name"] == "Zed Quill"
    assert world["audit"].verify("u_auditor").ok


def test_a_replaced_reviewer_loses_the_review(world: dict[str, Any]) -> None:
    engine: Engine = world["engine"]
    admin: Admin = world["admin"]
    for login in ("rita", "ravi", "rosa"):
        admin.add_user("amy", login, login, f"{login}@example.org", "Independent")
        admin.grant("amy", login, "independent_reviewer", None)
    engine.fire("PR-north", "appoint_reviewer", {"reviewer": "rita",
                                                  "reviewer_appointed_on": "2024-07-10"},
                actor="amy")
    assert engine.case("PR-north", "rita").ref == "PR-north"
    engine.fire("PR-north", "appoint_reviewer", {"reviewer": "ravi",
                                                  "reviewer_appointed_on": "2024-07-11"},
                actor="amy")
    with pytest.raises(HiddenCaseError):
        engine.case("PR-north", "rita")
    engine.correct("PR-north", {"reviewer": "rosa"}, actor="amy", note="it was Rosa")
    assert engine.case("PR-north", "rosa").ref == "PR-north"
    with pytest.raises(HiddenCaseError):
        engine.case("PR-north", "ravi")


def test_a_legal_hold_needs_a_reason(world: dict[str, Any]) -> None:
    from engine.core.errors import UsageError

    with pytest.raises(UsageError, match="needs its reason"):
        world["dp"].set_hold("PR-north", "amy", "  ")
