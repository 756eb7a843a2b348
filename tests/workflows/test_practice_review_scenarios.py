"""Every path of the practice-review workflow, step by step in simulated time.

Between steps the engine and its database handle are thrown away and rebuilt, so each step
starts from what is stored: the stored form must be complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from engine.core.clock import FixedClock
from engine.core.registry import WorkflowRegistry
from engine.core.service import Engine
from engine.core.store.database import Database
from engine.core.views import CaseView
from tests.conftest import london, make_app, seed_access

REF = "PR-2024-007"
OPEN = {"became_aware_on": "2024-06-03", "child_ref": "C-4471", "label": "Scenario"}


@dataclass
class Step:
    at: str
    trigger: str
    values: dict[str, str]
    state: str
    deadlines: dict[str, tuple[str, str]]  # name -> (due, status), for those that must match


COMMON = [
    Step("2024-06-07 10:00", "notify", {"notified_on": "2024-06-07"}, "rapid_review",
         {"notification": ("2024-06-10", "met"), "rapid_review": ("2024-06-24", "open")}),
    Step("2024-06-21 15:00", "submit_rapid_review",
         {"rr_submitted_on": "2024-06-21", "rr_recommendation": "lcspr"}, "awaiting_decision",
         {"rapid_review": ("2024-06-24", "met")}),
    Step("2024-07-03 09:00", "record_panel_response",
         {"panel_response": "agreed", "panel_response_on": "2024-07-02"}, "awaiting_decision",
         {}),
]
TO_SENT = [
    Step("2024-07-08 14:00", "commission_lcspr", {"decision_on": "2024-07-08"},
         "lcspr_commissioned", {"publication": ("2025-01-08", "open")}),
    Step("2024-07-22 09:00", "appoint_reviewer",
         {"reviewer": "bob", "reviewer_appointed_on": "2024-07-22"}, "in_review", {}),
    Step("2024-10-01 09:00", "receive_draft", {"draft_received_on": "2024-10-01"}, "in_review",
         {}),
    Step("2024-11-04 11:00", "approve_final", {"planned_publication_on": "2024-12-02"},
         "final_approved", {"send_to_panel": ("2024-11-21", "open")}),
    Step("2024-11-20 16:00", "send_to_panel", {"sent_to_panel_on": "2024-11-20"},
         "sent_to_panel", {"send_to_panel": ("2024-11-21", "met")}),
]
DISSEMINATE_AND_CLOSE = [
    Step("2024-12-16 10:00", "record_dissemination",
         {"training_reviewed_on": "2024-12-16", "website_updated_on": "2024-12-16",
          "learning_brief_on": "2024-12-13"}, "published", {}),
    Step("2025-01-06 10:00", "start_action_plan", {"action_plan_started_on": "2025-01-06"},
         "action_plan", {}),
    Step("2025-02-10 10:00", "record_dissemination",
         {"policies_reviewed_on": "2025-02-03", "workshops_held_on": "2025-02-07",
          "assurance_sought_on": "2025-02-10"}, "action_plan", {}),
    Step("2025-06-30 10:00", "close", {"closed_on": "2025-06-30"}, "closed", {}),
]

PATHS = {
    "published": COMMON + TO_SENT + [
        Step("2024-12-02 09:00", "publish", {"published_on": "2024-12-02"}, "published",
             {"publication": ("2025-01-08", "met")}),
    ] + DISSEMINATE_AND_CLOSE,
    "deferred_then_published": COMMON + TO_SENT + [
        Step("2024-11-28 12:00", "defer_publication",
             {"deferral_reason": "criminal_proceedings", "deferred_on": "2024-11-28"},
             "publication_deferred",
             {"deferral_review": ("2024-12-26", "open"), "publication": ("2025-01-08", "open")}),
        Step("2024-12-20 10:00", "review_deferral", {"deferral_reviewed_on": "2024-12-20"},
             "publication_deferred", {"deferral_review #2": ("2025-01-17", "open")}),
        # The 6-month target is missed, not paused: it shows as breached while deferred.
        Step("2025-03-03 10:00", "resume_publication", {"planned_publication_on": "2025-03-31"},
             "final_approved",
             {"publication": ("2025-01-08", "breached"), "deferral_review #2":
              ("2025-01-17", "cancelled"), "send_to_panel #2": ("2025-03-20", "open")}),
        Step("2025-03-18 10:00", "send_to_panel", {"sent_to_panel_on": "2025-03-18"},
             "sent_to_panel", {"send_to_panel #2": ("2025-03-20", "met")}),
        Step("2025-03-31 09:00", "publish", {"published_on": "2025-03-31"}, "published",
             {"publication": ("2025-01-08", "breached")}),
    ] + DISSEMINATE_AND_CLOSE,
    "closed_without_review": COMMON + [
        Step("2024-07-08 14:00", "close_without_review",
             {"decision_on": "2024-07-08",
              "decision_rationale": "learning taken forward through the audit programme"},
             "closed", {"notification": ("2024-06-10", "met")}),
    ],
    "national_review": COMMON + [
        Step("2024-07-10 14:00", "refer_national_review", {"decision_on": "2024-07-10"},
             "national_review", {}),
        Step("2025-09-01 10:00", "close", {"closed_on": "2025-09-01"}, "closed", {}),
    ],
}


@pytest.fixture
def fresh_engine(db_url: str, registry: WorkflowRegistry) -> Iterator[object]:
    databases: list[Database] = []

    def make(at: str) -> Engine:
        db = Database(db_url)
        databases.append(db)
        return make_app(db, FixedClock(london(at))).engine

    first = Database(db_url)
    databases.append(first)
    first.upgrade()
    seed_access(first)
    yield make
    for db in databases:
        db.dispose()


def _deadline_key(view: CaseView) -> dict[str, tuple[str, str]]:
    return {d.name + (f" #{d.cycle}" if d.cycle > 1 else ""): (d.due, d.status)
            for d in view.deadlines}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_practice_review_path(path: str, fresh_engine: object) -> None:
    make = fresh_engine
    view = make("2024-06-03 09:30").open_case("practice_review", REF, OPEN, actor="amy")  # type: ignore[operator]
    assert view.state == "awaiting_notification"
    for number, step in enumerate(PATHS[path], start=2):
        engine: Engine = make(step.at)  # type: ignore[operator]
        before = engine.case(REF, "amy")
        assert step.trigger in before.to_json()["available_triggers"], (path, step.trigger)
        engine.fire(REF, step.trigger, step.values, actor="amy")
        after = make(step.at).case(REF, "amy")  # type: ignore[operator]
        assert after.state == step.state, (path, step.trigger)
        assert after.version == number
        found = _deadline_key(after)
        for name, expected in step.deadlines.items():
            assert found.get(name) == expected, (path, step.trigger, name, found)
    final = make("2026-01-01 00:00").case(REF, "amy")  # type: ignore[operator]
    assert final.final and final.state == "closed"
    assert all(d.status in ("met", "breached", "cancelled") for d in final.deadlines)
    history = make("2026-01-01 00:00").history(REF, "amy")  # type: ignore[operator]
    assert [e.trigger for e in history] == ["open"] + [s.trigger for s in PATHS[path]]
