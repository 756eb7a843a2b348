"""The report's plan and figures section sources: ``build`` on hand-made rows (pure), and
``load`` + ``build`` on a database built through the services, with counts made by hand."""

from __future__ import annotations

import datetime as dt

from engine.app import App
from engine.apps.report.figures import RAG_COLOURS, Chart
from engine.apps.report.figures_section import FigureRow, FiguresData, FiguresSource
from engine.apps.report.plan_section import (
    PlanActionRow,
    PlanData,
    PlanSource,
    PlanUpdateRow,
)
from engine.core.clock import FixedClock
from engine.domains.figures.measures import Measure
from tests.conftest import london

START, END = dt.date(2023, 4, 1), dt.date(2024, 3, 31)
D = dt.date.fromisoformat


def _action(ref: str, due: str) -> PlanActionRow:
    return PlanActionRow(ref, "Neglect", "Identified early", f"Action {ref}", D(due),
                         "Business group", D("2023-04-03"))


def _update(ref: str, on: str, rag: str, trigger: str = "record_update") -> PlanUpdateRow:
    return PlanUpdateRow(ref, D(on), trigger, rag, f"note {on}", D(on))


def test_plan_build_counts_by_rag_at_the_periods_end() -> None:
    data = PlanData(
        (_action("BP-1", "2023-09-30"), _action("BP-2", "2024-06-30"),
         _action("BP-3", "2023-12-31"), _action("BP-10", "2024-03-31"),
         _action("BP-4", "2024-06-30")),
        (_update("BP-1", "2023-07-01", "green"),  # past its timescale since: red by rule
         _update("BP-2", "2023-07-01", "green"), _update("BP-2", "2024-01-05", "amber"),
         _update("BP-3", "2023-12-01", "blue", "complete"),
         PlanUpdateRow("BP-4", D("2023-10-01"), "withdraw", None, None, None)))
    section = PlanSource().build(data, START, END, None)
    figures = {k: v for k, _, v in section.figures}
    assert figures == {"actions": 5, "rag_blue": 1, "rag_green": 0, "rag_amber": 1,
                       "rag_red": 1, "red_by_rule": 1, "not_rated": 1, "withdrawn": 1}
    [(title, columns, rows)] = section.tables
    assert title == "Business plan delivery plan: update as at 31 March 2024"
    assert columns[-1] == "RAG" and [r[2].split(".")[0] for r in rows] == [
        "BP-1", "BP-2", "BP-3", "BP-4", "BP-10"]  # in reference order, numbers as numbers
    by_ref = {r[2].split(".")[0]: r for r in rows}
    assert by_ref["BP-1"][-1] == ("Red (past its timescale of 30 September 2023, no update "
                                  "since 1 July 2023)")
    assert by_ref["BP-2"][-2:] == ("note 2024-01-05", "Amber (at risk)")
    assert by_ref["BP-4"][-1] == "Withdrawn" and by_ref["BP-10"][-1] == "Not yet rated"
    chart = section.chart
    assert isinstance(chart, Chart) and chart.title == \
        "Business plan actions by RAG at the period's end"
    assert chart.categories == ("Blue", "Green", "Amber", "Red")
    assert chart.series == (("Count", (1, 0, 1, 1)),)
    assert chart.colours == tuple(RAG_COLOURS[w] for w in chart.categories)  # RAG colours
    # The plan is the partnership's: an area's section is empty, as is an empty period.
    assert PlanSource().build(data, START, END, "cumberland").figures == []
    empty = PlanSource().build(PlanData((), ()), START, END, None)
    assert empty.figures == [] and empty.tables == []


MEASURES = {"mash_contacts": Measure("mash_contacts", "MASH contacts", "contacts", True),
            "training_events": Measure("training_events", "Training events", "events", True)}
AREAS = {"cumberland": "Cumberland", "westmorland_furness": "Westmorland and Furness"}


def _figure(measure: str, area: str | None, period: str, value: str) -> FigureRow:
    from engine.domains.figures.measures import parse_period

    p = parse_period(period)
    return FigureRow(measure, area, p.text, p.start, p.end, value, f"source of {measure}")


def test_figures_build_per_area_and_for_the_partnership() -> None:
    data = FiguresData((
        _figure("mash_contacts", "cumberland", "2023-24", "7124"),
        _figure("mash_contacts", "westmorland_furness", "2023-24", "5502"),
        _figure("training_events", None, "2023-24", "91"),
        _figure("training_events", None, "2023-24 Q1", "20")), AREAS)
    source = FiguresSource(MEASURES)
    whole = source.build(data, START, END, None)
    assert whole.figures == [("mash_contacts", "MASH contacts", 12626),  # the areas' sum
                             ("training_events", "Training events", 91)]
    [(_title, columns, rows)] = whole.tables
    assert columns == ("Measure", "Area", "Period", "Value", "Source")
    assert rows[0] == ("MASH contacts", "Cumberland", "2023/24", 7124, "source of mash_contacts")
    assert ("Training events", "The partnership", "2023/24 Q1", 20,
            "source of training_events") in rows
    west = source.build(data, START, END, "westmorland_furness")
    # Training events are held for the partnership only: not available for an area.
    assert west.figures == [("mash_contacts", "MASH contacts", 5502),
                            ("training_events", "Training events", None)]
    assert [r[1] for r in west.tables[0][2]] == ["Westmorland and Furness"]
    # One area's figure missing: the partnership's is not computed (not a false sum).
    partial = FiguresData(data.figures[:1], AREAS)
    assert source.build(partial, START, END, None).figures == []
    nothing = source.build(FiguresData((), AREAS), START, END, None)
    assert nothing.figures == [] and nothing.tables == []


PLAN = ("ref,priority,outcome,action,timescale,responsible,owner\n"
        "BP-1,P,O,First,2023-09-30,Group,amy\n"
        "BP-2,P,O,Second,2024-06-30,Group,bob\n"
        "BP-3,P,O,Third,2023-12-31,Group,amy\n"
        "BP-4,P,O,Fourth,2024-03-31,Group,bob\n")
FIGURES = ("measure,area,period,value,source\n"
           "mash_contacts,cumberland,2023-24,100,MASH\n"
           "mash_contacts,partnership,2023-24,250,MASH\n"
           "mash_contacts,partnership,2022-23,240,MASH\n"
           "training_events,partnership,2024-04,7,LMS\n")


def test_load_and_build_on_a_database(app: App, clock: FixedClock) -> None:
    clock.set(london("2023-04-03 09:00"))
    app.plan.import_plan("plan.csv", PLAN, "amy", "2023-04-03")
    for when, ref, rag in (("2023-07-03 10:00", "BP-1", "green"),
                           ("2023-07-03 11:00", "BP-2", "green"),
                           ("2023-11-20 10:00", "BP-3", "blue"),
                           ("2024-01-08 10:00", "BP-2", "amber"),
                           ("2024-04-05 10:00", "BP-4", "blue"),  # after the year: not counted
                           ("2024-04-05 11:00", "BP-1", "green")):
        clock.set(london(when))
        app.plan.update(ref, rag, f"update {when}", "amy")
    app.figures.import_csv(FIGURES, "amy")
    plan, figures = PlanSource(), FiguresSource()
    with app.db.begin_read() as conn:
        plan_rows = plan.load(conn, START, END)
        figure_rows = figures.load(conn, START, END)
    section = plan.build(plan_rows, START, END, None)
    # By hand at 31 March 2024: BP-1 green in July, past 30 September, no update since: red
    # by rule; BP-2 amber; BP-3 complete; BP-4 not rated (its update came after the year).
    assert {k: v for k, _, v in section.figures} == {
        "actions": 4, "rag_blue": 1, "rag_green": 0, "rag_amber": 1, "rag_red": 1,
        "red_by_rule": 1, "not_rated": 1, "withdrawn": 0}
    values = {k: v for k, _, v in figures.build(figure_rows, START, END, None).figures}
    assert values == {"mash_contacts": 250}  # the partnership's own; 2022-23 and April apart
    rows = figures.build(figure_rows, START, END, "cumberland").tables[0][2]
    assert rows == [("Contacts into the Multi-Agency Safeguarding Hub", "Cumberland",
                     "2023/24", 100, "MASH")]
    with app.db.begin_read() as conn:
        last_year = figures.build(figures.load(conn, D("2022-04-01"), D("2023-03-31")),
                                  D("2022-04-01"), D("2023-03-31"), None)
    assert {k: v for k, _, v in last_year.figures} == {"mash_contacts": 240}
