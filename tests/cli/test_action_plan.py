"""A practice review's action plan as items, through the CLI: `case show` lists each action,
an unknown or reused action reference is refused, `close` waits until every action is done or
dropped with a reason, and a dropped action is on record."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import Result

from tests.conftest import cli_as

REF = "PR-2024-001"
TO_ACTION_PLAN = [
    ("2024-06-07T10:00", "notify", {"notified_on": "2024-06-07"}),
    ("2024-06-20T10:00", "submit_rapid_review", {"rr_submitted_on": "2024-06-20"}),
    ("2024-07-01T10:00", "commission_lcspr", {"decision_on": "2024-07-01"}),
    ("2024-07-02T10:00", "appoint_reviewer", {"reviewer": "bob",
                                              "reviewer_appointed_on": "2024-07-02"}),
    ("2024-11-01T10:00", "approve_final", {"planned_publication_on": "2024-12-10"}),
    ("2024-11-20T10:00", "send_to_panel", {"sent_to_panel_on": "2024-11-20"}),
    ("2024-12-10T10:00", "publish", {"published_on": "2024-12-10"}),
    ("2024-12-16T10:00", "record_dissemination", {
        "training_reviewed_on": "2024-12-16", "policies_reviewed_on": "2024-12-16",
        "website_updated_on": "2024-12-16", "learning_brief_on": "2024-12-16",
        "workshops_held_on": "2024-12-16", "assurance_sought_on": "2024-12-16"}),
    ("2025-01-06T10:00", "start_action_plan", {"action_plan_started_on": "2025-01-06"}),
]


@pytest.fixture
def run(db_url: str) -> Any:
    return cli_as(db_url, "chair")


def advance(run: Any, now: str, trigger: str, values: dict[str, str], code: int = 0) -> Result:
    sets = [part for k, v in values.items() for part in ("--set", f"{k}={v}")]
    return run(now, "case", "advance", REF, trigger, *sets, code=code)


def show(run: Any, now: str) -> dict[str, Any]:
    return json.loads(run(now, "case", "show", REF, "--json").output)  # type: ignore[no-any-return]


def refused(run: Any, now: str, trigger: str, values: dict[str, str], *needles: str) -> str:
    """The step is refused with one line naming the problem, exit 2, and nothing written."""
    before = show(run, now)
    result = advance(run, now, trigger, values, code=2)
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and line.startswith("Error:"), result.output
    for needle in needles:
        assert needle in line, line
    after = show(run, now)
    assert (after["version"], after["plan"], after["state"]) == \
        (before["version"], before["plan"], before["state"])
    return line


@pytest.fixture
def plan(run: Any) -> Any:
    run("2024-06-03T09:15", "case", "open", "practice_review", "--ref", REF,
        "--set", "became_aware_on=2024-06-03", "--set", "child_ref=C-58213",
        "--set", "label=Review 1")
    for now, trigger, values in TO_ACTION_PLAN:
        advance(run, now, trigger, values)
    for ref, summary, agency, due in (("A1", "audit of referrals", "ICB", "2025-03-31"),
                                      ("A2", "training for GPs", "ICB", "2025-02-28"),
                                      ("A3", "joint protocol", "Police", "2025-06-30")):
        advance(run, "2025-01-07T10:00", "add_action", {
            "action_ref": ref, "action_summary": summary, "action_owner_agency": agency,
            "action_due_on": due})
    return run


def test_case_show_lists_the_action_plan_judged_against_now(plan: Any) -> None:
    advance(plan, "2025-03-03T10:00", "complete_action",
            {"action_ref": "A2", "action_done_on": "2025-03-03"})
    items = {i["ref"]: i for i in show(plan, "2025-04-02T09:00")["plan"]}
    assert list(items) == ["A1", "A2", "A3"]
    # The second action has the same owner as the first: each keeps its own fields.
    assert items["A2"] == {"ref": "A2", "summary": "training for GPs", "owner": "ICB",
                           "due": "2025-02-28", "status": "done", "done_on": "2025-03-03",
                           "late": True, "reason": None}
    assert (items["A1"]["status"], items["A1"]["owner"]) == ("overdue", "ICB")
    assert (items["A3"]["status"], items["A3"]["summary"]) == ("open", "joint protocol")
    # The same day A1 falls due it is still open.
    assert show(plan, "2025-03-31T16:00")["plan"][0]["status"] == "open"

    text = plan("2025-04-02T09:00", "case", "show", REF).output
    section = text.split("Action plan:")[1].split("Next steps:")[0]
    assert "A1" in section and "audit of referrals" in section and "OVERDUE" in section
    assert "2025-03-03 (late)" in section and "joint protocol" in section


def test_an_unknown_or_used_action_reference_is_refused(plan: Any) -> None:
    line = refused(plan, "2025-02-03T10:00", "complete_action",
                   {"action_ref": "A9", "action_done_on": "2025-02-03"}, "'A9'", "A1, A2, A3")
    assert "no action" in line
    advance(plan, "2025-02-03T10:00", "complete_action",
            {"action_ref": "A1", "action_done_on": "2025-02-03"})
    refused(plan, "2025-02-04T10:00", "complete_action",
            {"action_ref": "A1", "action_done_on": "2025-02-04"}, "already done", "A2, A3")
    refused(plan, "2025-02-04T10:00", "add_action", {
        "action_ref": "A2", "action_summary": "again", "action_owner_agency": "ICB",
        "action_due_on": "2025-05-01"}, "already has action 'A2'")
    refused(plan, "2025-02-04T10:00", "drop_action",
            {"action_ref": "A7", "action_drop_reason": "no longer needed"}, "'A7'")


def test_close_waits_for_every_action_done_or_dropped_with_a_reason(plan: Any) -> None:
    advance(plan, "2025-03-03T10:00", "complete_action",
            {"action_ref": "A2", "action_done_on": "2025-03-03"})
    line = refused(plan, "2025-04-01T10:00", "close", {"closed_on": "2025-04-01"},
                   "A1, A3", "complete_action", "drop_action")
    assert "A2" not in line
    # Dropping needs a reason.
    refused(plan, "2025-04-01T10:00", "drop_action", {"action_ref": "A3"},
            "action_drop_reason")
    advance(plan, "2025-04-01T10:00", "complete_action",
            {"action_ref": "A1", "action_done_on": "2025-04-01"})
    advance(plan, "2025-04-01T11:00", "drop_action",
            {"action_ref": "A3", "action_drop_reason": "superseded by the county protocol"})
    refused(plan, "2025-04-01T11:30", "drop_action",
            {"action_ref": "A3", "action_drop_reason": "twice"}, "already dropped")
    advance(plan, "2025-04-01T12:00", "close", {"closed_on": "2025-04-01"})

    shown = show(plan, "2025-04-02T09:00")
    assert shown["state"] == "closed"
    items = {i["ref"]: i for i in shown["plan"]}
    assert (items["A3"]["status"], items["A3"]["reason"]) == \
        ("dropped", "superseded by the county protocol")
    assert [i["status"] for i in shown["plan"]] == ["done", "done", "dropped"]
    history = plan("2025-04-02T09:00", "case", "history", REF).output
    assert "drop_action" in history and "superseded by the county protocol" in history
    audit = json.loads(plan("2025-04-02T09:00", "audit", "log", "--case", REF,
                            "--json").output)
    assert any(r.get("action") == "case.advance" and "drop_action" in json.dumps(r)
               for r in audit)
