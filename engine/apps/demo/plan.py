"""The demonstration year's business plan and figures from other systems.

A plan shaped like the seed report's Appendix C: three priorities, twenty actions with their
timescales, the group responsible and an owner among the demo users, imported on the year's
first day; each owner records a quarterly update (RAG and a note) around the day it falls
due, some late, some missed, so reminders, overdue notices and escalations to the business
group chair happen as they would. Action BP-08 stops being updated after its first quarter
and is red by rule at the year's end; BP-13 is rated red by hand. On 10 April 2024 business
support imports the year's figures (2023-24 and 2022-23, per area, and the child deaths by
category for the years before the system). Synthetic numbers of a realistic size. A random
generator of its own, so the rest of the year is the same with or without the plan.
"""

from __future__ import annotations

import datetime as dt
import random
from functools import partial
from typing import TYPE_CHECKING

from engine.core.clock import london_date

if TYPE_CHECKING:
    from engine.apps.demo.year import Year

CHAIR = "bg.chair"
OWNERS = ("support", "crg.chair", "cerar.mgr", "mace.chair", "health.rep", "police.rep",
          "sc.rep", CHAIR)
PRIORITIES = (
    ("Improving responses to neglect",
     "Practitioners across the partnership can identify, assess and intervene early to "
     "prevent the harmful impact of neglect on children and young people"),
    ("Safeguarding adolescents from risks and harms outside the home",
     "All partners can show how they recognise, respond to and evaluate the risks of child "
     "exploitation and other extra-familial harm, working together to reduce risk"),
    ("Embedding learning from practice",
     "Learning and practice improvements from reviews are disseminated and embedded in "
     "partner agencies and have a demonstrable impact for children and families"),
)
# ref, priority (index), action, timescale, responsible
ACTIONS: tuple[tuple[str, int, str, str, str], ...] = (
    ("BP-01", 0, "Embed the agreed neglect assessment tool across partner agencies",
     "2023-12-31", "Area safeguarding groups"),
    ("BP-02", 0, "Undertake neglect scrutiny work and agree its action plan", "2023-09-30",
     "CSCP scrutineer"),
    ("BP-03", 0, "Re-establish the neglect task and finish group", "2023-06-30",
     "Business group"),
    ("BP-04", 0, "Launch the neglect strategy with key indicators in the dataset",
     "2024-03-31", "Neglect task and finish group"),
    ("BP-05", 0, "Safeguarding week session on best practice with neglect", "2023-10-31",
     "Learning and improvement group"),
    ("BP-06", 0, "Audit the use of the neglect tool in early help assessments", "2024-06-30",
     "Area safeguarding groups"),
    ("BP-07", 1, "Work plan to deliver the child exploitation strategy", "2023-07-31",
     "Missing, exploited and trafficked children group"),
    ("BP-08", 1, "Review the MET strategic group's membership and links", "2023-11-30",
     "Missing, exploited and trafficked children group"),
    ("BP-09", 1, "Agency action plans for the contextual safeguarding review", "2024-01-31",
     "All partner agencies"),
    ("BP-10", 1, "Embed the partnership's approach to transitional safeguarding",
     "2024-03-31", "Transitional safeguarding group"),
    ("BP-11", 1, "Evaluate the CERAR risk assessment process", "2023-12-31",
     "Complex safeguarding teams"),
    ("BP-12", 1, "Monthly MACE meetings with a published agenda and actions", "2023-09-30",
     "MACE"),
    ("BP-13", 1, "Return home interviews offered within 72 hours of every return",
     "2024-03-31", "Children's social care"),
    ("BP-14", 2, "Quality assurance and scrutiny framework reviewed by the board",
     "2023-09-30", "Business group"),
    ("BP-15", 2, "Recruit and support a pool of young scrutineers", "2024-03-31",
     "Business group"),
    ("BP-16", 2, "Review the performance dataset and its quarterly exceptions report",
     "2023-12-31", "Business group"),
    ("BP-17", 2, "Impact-focused work plans for every subgroup", "2023-06-30",
     "All subgroup chairs"),
    ("BP-18", 2, "Communication strategy for learning from reviews", "2024-02-29",
     "Business group and agency communications"),
    ("BP-19", 2, "Annual practice week with practitioners' feedback evaluated", "2024-03-31",
     "Learning and improvement group"),
    ("BP-20", 2, "Embed the threshold document in training and briefings", "2024-01-31",
     "Learning and improvement group"),
)
STOPS = "BP-08"  # updated once, then never: red by rule at the year's end
BY_HAND = "BP-13"  # rated red by its owner
NOTES = {"green": ("On track; progress reported to the business group",
                   "Work under way as planned", "Milestones met this quarter"),
         "amber": ("Slipping: capacity in the lead agency", "Delayed while a chair is found",
                   "At risk: awaiting data from partners"),
         "red": ("Off track: no lead agency capacity this quarter",),
         "blue": ("Complete; evidence reported to the business group", "Complete")}
# measure, 2022-23 (Cumberland, Westmorland and Furness), 2023-24 (the same): synthetic
FIGURES: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("mash_contacts", (6890, 5341), (7124, 5502)),
    ("csc_referrals", (1302, 1035), (1268, 1011)),
    ("child_protection_plans", (251, 201), (238, 196)),
    ("children_looked_after", (412, 329), (425, 331)),
    ("placed_in_area_by_other_las", (139, 118), (146, 121)),
    ("missing_episodes_all", (88, 66), (94, 71)),
)
PARTNERSHIP_FIGURES = (("training_events", 82, 91), ("training_attendees", 2845, 3012),
                       ("elearning_completions", 9549, 10217))
# CDOP categories 1..10 for 2019-20 .. 2022-23 (the years before safeguard held reviews)
CDOP = {"2019-20": (0, 0, 1, 0, 3, 2, 8, 7, 1, 1), "2020-21": (0, 1, 2, 3, 1, 3, 2, 6, 0, 4),
        "2021-22": (0, 1, 2, 2, 0, 1, 1, 1, 0, 0), "2022-23": (1, 2, 1, 1, 2, 2, 3, 5, 1, 2)}
SOURCES = {"mash_contacts": "MASH case management system",
           "csc_referrals": "Children's social care (case management system)",
           "child_protection_plans": "Children's social care (case management system)",
           "children_looked_after": "Children's social care (SSDA903 return)",
           "placed_in_area_by_other_las":
               "Children's social care (notifications from placing authorities)",
           "missing_episodes_all": "Police and children's social care missing records",
           "training_events": "CSCP learning management system",
           "training_attendees": "CSCP learning management system",
           "elearning_completions": "CSCP e-learning platform"}
FIGURES_DAY = dt.date(2024, 4, 10)


def plan_csv() -> str:
    lines = ["ref,priority,outcome,action,timescale,responsible,owner"]
    for n, (ref, p, action, due, responsible) in enumerate(ACTIONS):
        priority, outcome = PRIORITIES[p]
        owner = OWNERS[n % len(OWNERS)]
        lines.append(",".join(f'"{v}"' for v in (ref, priority, outcome, action, due,
                                                 responsible, owner)))
    return "\n".join(lines) + "\n"


def figures_csv() -> str:
    lines = ["measure,area,period,value,source"]
    for measure, before, now in FIGURES:
        for period, values in (("2022-23", before), ("2023-24", now)):
            for area, value in zip(("cumberland", "westmorland_furness"), values,
                                   strict=True):
                lines.append(f'{measure},{area},{period},{value},"{SOURCES[measure]}"')
    for measure, before_total, now_total in PARTNERSHIP_FIGURES:
        for period, value in (("2022-23", before_total), ("2023-24", now_total)):
            lines.append(f'{measure},partnership,{period},{value},"{SOURCES[measure]}"')
    for period, counts in CDOP.items():
        for category, value in enumerate(counts, start=1):
            lines.append(f"child_deaths_category_{category},partnership,{period},{value},"
                         '"CDOP annual reports (before safeguard)"')
    return "\n".join(lines) + "\n"


class DemoPlan:
    """Schedules the plan's import, its quarterly updates and the figures' import."""

    def __init__(self, year: Year, seed: int) -> None:
        self.year = year
        self.rng = random.Random(seed * 7 + 11)  # its own: the rest of the year is unchanged
        self.owner = {ref: OWNERS[n % len(OWNERS)] for n, (ref, *_r) in enumerate(ACTIONS)}
        self.due = {ref: dt.date.fromisoformat(due) for ref, _p, _a, due, _r in ACTIONS}

    def people(self) -> None:
        """Owners may update their own actions; the chair hears of what is escalated."""
        admin, you = self.year.app.admin, self.year.you
        for login in dict.fromkeys(OWNERS):
            admin.grant(you, login, "business_group_member", None)

    def schedule(self) -> None:
        from engine.apps.demo.year import START, _at

        self.year.at(_at(START, "10:00"), self._import)
        self.year.at(_at(FIGURES_DAY, "11:00"), lambda: self.year.app.figures.import_csv(
            figures_csv(), "support"))

    def _import(self) -> None:
        from engine.apps.demo.year import START

        self.year.app.plan.import_plan("business-plan-2023-24.csv", plan_csv(), "support",
                                       START.isoformat())
        for ref, *_rest in ACTIONS:
            self._next(ref, START, first=True)

    def _next(self, ref: str, since: dt.date, first: bool = False) -> None:
        """The owner's next update: around 13 weeks on, sometimes late, sometimes missed."""
        from engine.apps.demo.year import END, _at

        if ref == STOPS and not first:
            return
        roll = self.rng.random()
        offset = self.rng.randrange(-9, 1) if roll < 0.85 else self.rng.randrange(2, 12)
        if roll > 0.96:
            offset += 91  # a quarter missed: overdue, then escalated to the chair
        day = self.year.working(since + dt.timedelta(weeks=13, days=offset))
        if day <= END:
            self.year.at(_at(day, "14:30"), partial(self._update, ref))

    def _update(self, ref: str) -> None:
        today = london_date(self.year.clock.now())
        due = self.due[ref]
        if ref == BY_HAND and today >= dt.date(2023, 10, 1):
            rag = "red"
        elif today >= due - dt.timedelta(days=21) and self.rng.random() < 0.6:
            rag = "blue"
        else:
            rag = "amber" if self.rng.random() < 0.25 or today > due else "green"
        note = self.rng.choice(NOTES[rag])
        if rag != "blue" and today > due:
            note += "; timescale extended by the business group"
        self.year.app.plan.update(ref, rag, note, self.owner[ref])
        if rag != "blue":
            self._next(ref, today)


__all__ = ["ACTIONS", "DemoPlan", "figures_csv", "plan_csv"]
