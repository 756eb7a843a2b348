"""`safeguard demo`: a fresh SQLite database and one practice review driven through its first
stages in simulated time, through the same Engine API the CLI uses. Generated references only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from engine.admin import Admin
from engine.calendar import WorkingCalendar
from engine.clock import LONDON, FixedClock
from engine.loader import WorkflowRegistry
from engine.present import case_text
from engine.service import Engine
from engine.settings import SHIPPED_WORKFLOWS, default_head_file
from engine.store.database import Database

# (London wall time of the step, trigger, fields)
STEPS: list[tuple[str, str, dict[str, str]]] = [
    ("2024-06-07 10:00", "notify", {"notified_on": "2024-06-07", "partners_told_on": "2024-06-07"}),
    ("2024-06-21 16:00", "submit_rapid_review",
     {"rr_submitted_on": "2024-06-21", "rr_recommendation": "lcspr"}),
    ("2024-07-05 11:00", "record_panel_response",
     {"panel_response": "agreed", "panel_response_on": "2024-07-04"}),
    ("2024-07-08 14:00", "commission_lcspr",
     {"decision_on": "2024-07-08", "decision_rationale": "learning about multi-agency practice"}),
    ("2024-07-22 09:30", "appoint_reviewer",
     {"reviewer": "REV-07", "reviewer_appointed_on": "2024-07-22"}),
]


def _at(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LONDON)


def _people(admin: Admin, you: str) -> None:
    """Two areas, a chair and business support; you as administrator and partnership manager."""
    admin.bootstrap(you)
    admin.add_area(you, "cumberland", "Cumberland")
    admin.add_area(you, "westmorland_furness", "Westmorland and Furness")
    admin.grant(you, you, "partnership_manager", None)
    for login, name, role in [("chair", "Case review chair", "case_review_chair"),
                              ("support", "Business support", "business_support")]:
        admin.add_user(you, login, name, f"{login}@partnership.example", "Partnership")
        admin.grant(you, login, role, None)


def run_demo(folder: str | None, echo: Callable[[str], None], you: str = "demo") -> Path:
    if folder is None:
        from platformdirs import user_data_path

        base = user_data_path("safeguard")
    else:
        base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    path = base / "demo.db"
    for stale in (path, path.with_name("demo.db-wal"), path.with_name("demo.db-shm"),
                  path.with_name("demo.db.audit-head.json")):
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    db = Database(url)
    echo(f"Initialised {url} at schema {db.upgrade()}.")

    clock = FixedClock(_at("2024-06-03 09:15"))
    engine = Engine(db, WorkflowRegistry.from_directory(SHIPPED_WORKFLOWS), clock,
                    WorkingCalendar(), default_head_file(url))
    _people(Admin(db, clock, engine.gate), you)
    ref = "PR-2024-001"
    view = engine.open_case("practice_review", ref, {
        "became_aware_on": "2024-06-03", "child_ref": "C-58213", "label": "Demo review"},
        actor="support", note="serious incident reported by children's social care",
        area="cumberland")
    echo(f"\n== {clock.now():%Y-%m-%d}: opened {ref}\n")
    echo(case_text(view))
    for when, trigger, values in STEPS:
        clock.set(_at(when))
        view = engine.fire(ref, trigger, values, actor="chair")
        echo(f"\n== {when}: {trigger}")
    echo("")
    echo(case_text(view))
    echo(f"\nExplore it: safeguard --db {url} case history {ref}")
    db.dispose()
    return path
