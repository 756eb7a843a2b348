"""The demonstration year's business plan and figures: shaped like the seed's Appendix C,
with at least one action red by rule, and the year's imported figures, read through the
report's section sources (read only: no service call, so nothing is written)."""

from __future__ import annotations

import re

from engine.apps.demo.plan import ACTIONS, CHAIR, PRIORITIES
from engine.apps.demo.year import END, YEAR
from engine.apps.report.figures_section import FiguresSource
from engine.apps.report.plan_section import PlanSource
from engine.core.store.database import Database
from tests.conftest import DemoYear


def test_the_demo_year_has_a_plan_and_figures(demo_year: DemoYear) -> None:
    assert len(PRIORITIES) == 3 and len(ACTIONS) == 20
    db = Database(demo_year.url)
    try:
        with db.begin_read() as conn:
            plan = PlanSource().build(PlanSource().load(conn, *YEAR), *YEAR, None)
            at_end = PlanSource().build(PlanSource().load(conn, YEAR[0], END),
                                        YEAR[0], END, None)
            figures = FiguresSource().build(FiguresSource().load(conn, *YEAR), *YEAR, None)
            earlier = FiguresSource().load(conn, YEAR[0].replace(year=2022),
                                           YEAR[1].replace(year=2023))
    finally:
        db.dispose()
    counts = {k: v for k, _, v in plan.figures}
    assert counts["actions"] == 20
    assert counts["rag_red"] >= 1 and counts["red_by_rule"] >= 1
    assert sum(counts[f"rag_{r}"] for r in ("blue", "green", "amber", "red")) + \
        counts["not_rated"] + counts["withdrawn"] == 20
    rows = plan.tables[0][2]
    assert any(re.match(r"Red \(past its timescale of .+, no update since .+\)", r[-1])
               for r in rows)
    assert {k for k, _, v in at_end.figures if v} >= {"rag_blue", "rag_red"}
    values = {k: v for k, _, v in figures.figures}
    # The areas' figures summed for the partnership, the partnership's own as given.
    assert values["mash_contacts"] == 7124 + 5502 and values["training_events"] == 91
    assert all(source for *_, source in figures.tables[0][2])
    assert {r.period for r in earlier.figures} == {"2022-23"}
    # Quarterly update requests went to the owners, escalations to the chair too.
    subjects = [line for p in demo_year.emails.glob("*.eml")
                for line in p.read_text(encoding="utf-8").splitlines()
                if line.startswith("Subject: ") and "quarterly update" in line]
    assert any(s.startswith("Subject: Reminder: quarterly update") for s in subjects)
    escalated = [p for p in demo_year.emails.glob("*.eml")
                 if "Subject: Escalation: quarterly update" in p.read_text(encoding="utf-8")]
    assert any(f"{CHAIR}@partnership.example" in p.read_text(encoding="utf-8")
               for p in escalated)
