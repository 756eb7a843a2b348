"""The child death review section of the annual report: ``build`` on hand-made rows (pure),
and ``load`` + ``build`` on a database built through the CDOP service, every count made by
hand from the deaths below."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.app import App
from engine.apps.report.cdop_section import (
    CdopData,
    CdopSource,
    DeathRow,
    period_label,
    years_before,
)
from engine.apps.report.figures import Chart, Section
from engine.core.clock import FixedClock
from tests.conftest import DemoYear, london

START, END = dt.date(2023, 4, 1), dt.date(2024, 3, 31)
D = dt.date
MAY1, MAY2 = D(2023, 5, 1), D(2023, 5, 2)


def _row(area: str = "north", died: dt.date | None = MAY1,
         notified: dt.date | None = MAY2, band: str = "0_to_27_days",
         sex: str = "male", reviewed: dt.date | None = None, category: str | None = None,
         modifiable: str | None = None, domains: tuple[str, ...] = (),
         expected: str = "yes", jar: str = "no") -> DeathRow:
    return DeathRow(area, died, notified, band, sex, expected, jar, reviewed, category,
                    modifiable, domains)


def _figures(section: Section) -> dict[str, object]:
    return {k: v for k, _, v in section.figures}


def _table(section: Section, title: str) -> dict[str, tuple[object, ...]]:
    _, _, rows = next(t for t in section.tables if t[0] == title)
    return {r[0]: tuple(r[1:]) for r in rows}


DEATHS = [
    # notified in the period, reviewed in it: category 8, no modifiable factors
    _row(reviewed=D(2023, 11, 8), category="perinatal_neonatal", modifiable="no"),
    # notified in the period, unexpected, a JAR, not yet reviewed; a girl of 15
    _row(band="15_to_17_years", sex="female", expected="no", jar="yes",
         died=D(2024, 2, 1), notified=D(2024, 2, 1)),
    # a death of the year before, reviewed in the period: category 10, modifiable
    _row(died=D(2022, 12, 1), notified=D(2022, 12, 2), band="28_to_364_days",
         reviewed=D(2023, 11, 8), category="sudden_unexpected_unexplained", modifiable="yes",
         domains=("parenting", "environment")),
    # south: notified in the period, reviewed on another day
    _row(area="south", band="1_to_4_years", sex="female", reviewed=D(2024, 1, 10),
         category="infection", modifiable="yes", domains=("service",)),
    # reviewed two years before the period (the trend only)
    _row(died=D(2020, 6, 1), notified=D(2020, 6, 1), reviewed=D(2021, 6, 1),
         category="perinatal_neonatal", modifiable="no"),
    # after the period: nowhere
    _row(died=D(2024, 4, 2), notified=D(2024, 4, 2), reviewed=D(2024, 5, 1),
         category="infection", modifiable="no"),
]
ROWS = CdopData(tuple(DEATHS))


def test_build_counts_the_partnership_and_each_area() -> None:
    source = CdopSource()
    whole = source.build(ROWS, START, END, None)
    assert _figures(whole) == {
        "deaths_notified": 3, "unexpected": 1, "joint_agency_responses": 1,
        "reviews_completed": 3, "reviews_of_deaths_in_period": 2,
        "reviews_of_earlier_deaths": 1, "modifiable_factors": 2,
        "cdop_meetings": 2}  # 8 November 2023 and 10 January 2024
    assert _table(whole, "Deaths notified by age band") == {
        "0-27 days": (1,), "28-364 days": (0,), "1-4 years": (1,), "5-9 years": (0,),
        "10-14 years": (0,), "15-17 years": (1,)}
    assert _table(whole, "Deaths notified by sex") == {
        "Boys": (1,), "Girls": (2,), "Not known": (0,)}
    categories = _table(whole, "Reviews completed by category")
    assert categories["8. Perinatal/neonatal event"] == (1,)
    assert categories["10. Sudden unexpected or unexplained death"] == (1,)
    assert categories["9. Infection"] == (1,)
    assert sum(v[0] for v in categories.values()) == 3  # type: ignore[misc]
    assert _table(whole, "Modifiable factors by domain") == {
        "The child": (0,), "Parenting": (1,), "The environment": (1,),
        "Service provision": (1,)}
    title, columns, _ = whole.tables[-1]
    assert title == "Reviews completed by category over five years"
    assert columns == ("Category", "2019/20", "2020/21", "2021/22", "2022/23", "2023/24")
    trend = _table(whole, title)
    # 2019/20 holds no record at all: not available, rather than zeros
    assert trend["8. Perinatal/neonatal event"] == (None, 0, 1, 0, 1)
    assert trend["9. Infection"] == (None, 0, 0, 0, 1)

    south = source.build(ROWS, START, END, "south")
    assert _figures(south)["deaths_notified"] == 1
    assert _figures(south)["reviews_completed"] == 1
    assert _figures(south)["cdop_meetings"] is None  # the panel's: not counted by area


def test_cdop_meetings_held_are_counted_for_the_partnership_where_the_panel_keeps_them(
        ) -> None:
    # The panel's series is filed under one area (every case has one), yet it serves the
    # partnership: its meetings held are the partnership's figure, not an area's.
    kept = CdopData(tuple(DEATHS), (("north", D(2023, 6, 14)), ("north", D(2023, 9, 13)),
                                    ("north", D(2024, 1, 10))), keeps_meetings=True)
    source = CdopSource()
    assert _figures(source.build(kept, START, END, None))["cdop_meetings"] == 3
    assert _figures(source.build(kept, START, END, "south"))["cdop_meetings"] is None
    assert _figures(source.build(kept, START, END, "north"))["cdop_meetings"] is None


def test_the_trend_takes_imported_figures_for_the_years_before_the_system() -> None:
    """2022/23 has a death recorded (notified then, reviewed in the period) but none of its
    reviews: the figures imported for it stand, not zeros. 2021/22 has figures imported and
    a review recorded: the records stand. 2019/20 and 2020/21 hold nothing."""
    imported = {(D(2022, 4, 1), D(2023, 3, 31)): ({8: 4, 10: 2}, frozenset({"CDOP reports"})),
                (D(2021, 4, 1), D(2022, 3, 31)): ({8: 9}, frozenset({"CDOP reports"}))}
    deaths = (*DEATHS[:4], _row(died=D(2021, 5, 1), notified=D(2021, 5, 2),
                                reviewed=D(2021, 10, 6), category="infection"))
    data = CdopData(deaths, imported=imported)
    whole = CdopSource().build(data, START, END, None)
    title, columns, _ = whole.tables[-1]
    assert columns == ("Category", "2019/20", "2020/21", "2021/22",
                       "2022/23 from CDOP reports", "2023/24")
    trend = _table(whole, title)
    assert trend["8. Perinatal/neonatal event"] == (None, None, 0, 4, 1)
    assert trend["9. Infection"] == (None, None, 1, 0, 1)
    assert trend["10. Sudden unexpected or unexplained death"] == (None, None, 0, 2, 1)
    # The chart leaves out the years not available and names each year alone.
    chart = whole.chart
    assert isinstance(chart, Chart) and chart.kind == "bars"
    assert [name for name, _ in chart.series] == ["2021/22", "2022/23", "2023/24"]
    assert chart.categories[7] == "8. Perinatal/neonatal event"
    assert chart.series[1][1][7] == 4.0
    # An area's trend takes no imported figures (they are the partnership's).
    north = CdopSource().build(data, START, END, "north")
    assert _table(north, title)["8. Perinatal/neonatal event"] == (None, None, 0, 0, 1)


def test_a_period_with_nothing_has_no_figures_and_no_tables() -> None:
    empty = CdopSource().build(ROWS, D(2025, 4, 1), D(2026, 3, 31), None)
    assert empty.figures == [] and empty.tables == [] and empty.chart is None
    assert CdopSource().build(ROWS, START, END, "east").figures == []


def test_periods_in_words() -> None:
    assert period_label(START, END) == "2023/24"
    assert period_label(D(2024, 1, 1), D(2024, 12, 31)) == "2024-01-01 to 2024-12-31"
    assert years_before(D(2024, 2, 29), D(2024, 3, 31), 1) == (D(2023, 2, 28), D(2023, 3, 31))


COORD = "coord"


def _death(app: App, clock: FixedClock, child: str, area: str, died: str, band: str,
           sex: str, expected: bool = True, reviewed: str | None = None,
           category: str = "8", domains: tuple[str, ...] = ()) -> None:
    """A death through the service: known and notified the day after it, reviewed (with its
    NCMD form and closure) on ``reviewed`` if given."""
    cdop = app.cdop
    clock.set(london(f"{(D.fromisoformat(died) + dt.timedelta(days=1)).isoformat()} 09:00"))
    ref = cdop.open(child, area, None, COORD).ref
    cdop.notify(ref, died, band, sex, expected, not expected, COORD,
                jar_reason=None if expected else "external_causes")
    if reviewed:
        clock.set(london(f"{reviewed} 10:00"))
        cdop.step(ref, "hold_cdr_meeting", {"cdr_meeting_on": reviewed}, COORD)
        cdop.review(ref, category, bool(domains), list(domains), COORD)
        cdop.step(ref, "record_ncmd", {"ncmd_submitted_on": reviewed}, COORD)
        cdop.close(ref, COORD)


def test_load_and_build_on_deaths_recorded_through_the_service(app: App,
                                                               clock: FixedClock) -> None:
    app.admin.add_area("amy", "south", "South")
    # 2020/21: a death reviewed in 2021/22 (category 7): the trend only
    _death(app, clock, "C-1", "cumberland", "2021-01-10", "0_to_27_days", "male",
           reviewed="2021-06-02", category="7")
    # 2022/23: a death reviewed in the period (an earlier year's death), category 10
    _death(app, clock, "C-2", "cumberland", "2023-02-01", "28_to_364_days", "female",
           expected=False, reviewed="2023-07-05", category="10", domains=("parenting",))
    # 2023/24: three deaths notified; two reviewed in the period on one day
    _death(app, clock, "C-3", "cumberland", "2023-05-01", "0_to_27_days", "male",
           reviewed="2023-07-05", category="8")
    _death(app, clock, "C-4", "south", "2023-09-12", "15_to_17_years", "male",
           expected=False, reviewed="2024-02-07", category="3",
           domains=("environment", "service"))
    _death(app, clock, "C-5", "cumberland", "2024-03-30", "1_to_4_years", "female")
    # after the period
    _death(app, clock, "C-6", "cumberland", "2024-04-02", "5_to_9_years", "male")

    source = CdopSource()
    with app.db.begin_read() as conn:
        loaded = source.load(conn, START, END)
    whole = source.build(loaded, START, END, None)
    assert _figures(whole) == {
        "deaths_notified": 3, "unexpected": 1, "joint_agency_responses": 1,
        "reviews_completed": 3, "reviews_of_deaths_in_period": 2,
        "reviews_of_earlier_deaths": 1, "modifiable_factors": 2, "cdop_meetings": 2}
    assert _table(whole, "Deaths notified by sex") == {
        "Boys": (2,), "Girls": (1,), "Not known": (0,)}
    trend = _table(whole, "Reviews completed by category over five years")
    # nothing recorded in 2019/20: not available; 2020/21 had a death notified
    assert trend["7. Chromosomal, genetic and congenital anomalies"] == (None, 0, 1, 0, 0)
    assert trend["10. Sudden unexpected or unexplained death"] == (None, 0, 0, 0, 1)
    assert trend["3. Trauma and other external factors"] == (None, 0, 0, 0, 1)
    cumberland = source.build(loaded, START, END, "cumberland")
    assert _figures(cumberland)["deaths_notified"] == 2
    assert _figures(cumberland)["reviews_completed"] == 2
    assert _figures(cumberland)["cdop_meetings"] is None
    assert _table(source.build(loaded, START, END, "south"),
                  "Modifiable factors by domain") == {
        "The child": (0,), "Parenting": (0,), "The environment": (1,),
        "Service provision": (1,)}


@pytest.mark.slow
def test_the_demo_year_reviews_deaths_across_bands_and_categories(demo_year: DemoYear,
                                                                    ) -> None:
    from sqlalchemy import func, select

    from engine.apps.demo.deaths import PANELS, deaths
    from engine.apps.demo.year import YEAR
    from engine.core.store.database import Database
    from engine.core.store.models import CaseLink

    database = Database(demo_year.url)
    try:
        with database.begin_read() as conn:
            section = CdopSource().build(CdopSource().load(conn, *YEAR), *YEAR, None)
            links = conn.scalar(select(func.count()).select_from(CaseLink))
    finally:
        database.dispose()
    figures = _figures(section)
    of_year = [x for x in deaths() if not x.carried]
    assert figures["deaths_notified"] == len(of_year) == 11
    assert figures["reviews_completed"] == sum(1 for x in deaths() if x.panel) == 11
    assert figures["reviews_of_earlier_deaths"] == 3
    assert figures["cdop_meetings"] == len(PANELS)
    assert all(n for (n,) in _table(section, "Deaths notified by age band").values())
    reviewed = _table(section, "Reviews completed by category")
    assert sum(1 for (n,) in reviewed.values() if n) == 9  # all but category 1
    assert links == 1
