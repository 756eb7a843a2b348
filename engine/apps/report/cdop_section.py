"""The annual report's child death review section: a section source (see the report's section
contract): ``load`` reads the period's child death review cases (and the four years before,
for the trend) in one bounded query of named fields; ``build`` is pure.

Counted: deaths notified in the period (by the day the notification was recorded) by age
band and by sex; reviews completed in the period (the day the CDOP reviewed the death) by
category, those of deaths before the period counted apart; modifiable factors and their
domains; CDOP meetings held (the ``cdop_meeting`` cases held in the period, from a series
whose use is the CDOP; where the partnership keeps no such series, the days the panel
recorded reviews); and reviews completed by category in the period and each of the four
years before it (the trend chart's table).
References and counts only; labels are the seed report's words.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.apps.report.figures import Chart, Section
from engine.core.clock import end_of_day, london_date, start_of_day
from engine.core.store.cases import CASES
from engine.core.store.models import ImportedFigure
from engine.domains.cdop.words import AGE_BANDS, CATEGORIES, DOMAINS, SEXES

WORKFLOW = "child_death_review"
MEETINGS = "cdop_meeting"
HELD = ("held", "minutes_circulated", "closed")
TREND_YEARS = 5
# The case fields the section reads, and nothing else (the workflow has no personal field,
# and even so only these are selected).
FIELDS = ("died_on", "notified_at", "age_band", "sex", "expected", "jar_needed",
          "cdop_reviewed_on", "category", "modifiable_factors", "modifiable_domains")


@dataclass(frozen=True)
class DeathRow:
    area: str | None
    died_on: dt.date | None
    notified_on: dt.date | None  # the London day the notification was recorded
    age_band: str | None
    sex: str | None
    expected: str | None
    jar_needed: str | None
    reviewed_on: dt.date | None
    category: str | None
    modifiable: str | None
    domains: tuple[str, ...]


@dataclass(frozen=True)
class CdopData:
    """What ``load`` reads: the deaths, and the CDOP meetings held (area, day) when the
    partnership keeps its panel's meetings here (``keeps_meetings``)."""

    deaths: tuple[DeathRow, ...]
    meetings: tuple[tuple[str | None, dt.date], ...] = ()
    keeps_meetings: bool = False
    # Reviews by category of the years before the system was in use, imported from the
    # panel's earlier records (``figures import``, measures child_deaths_category_N, for
    # the whole partnership): (first day, last day) -> (category number -> count, sources).
    imported: dict[tuple[dt.date, dt.date], tuple[dict[int, int], frozenset[str]]] = \
        field(default_factory=dict)


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text[:10]) if text else None


def _day_of(text: str | None) -> dt.date | None:
    """The London day of a recorded instant (an ISO datetime with its offset)."""
    return london_date(dt.datetime.fromisoformat(text)) if text else None


def years_before(start: dt.date, end: dt.date, n: int) -> tuple[dt.date, dt.date]:
    """The period ``n`` years before [start, end] (29 February falls back to the 28th)."""
    def back(day: dt.date) -> dt.date:
        try:
            return day.replace(year=day.year - n)
        except ValueError:
            return day.replace(year=day.year - n, day=28)
    return back(start), back(end)


def period_label(start: dt.date, end: dt.date) -> str:
    """'2023/24' for a financial year (1 April to 31 March), else the two dates."""
    if (start.month, start.day, end.month, end.day) == (4, 1, 3, 31) \
            and end.year == start.year + 1:
        return f"{start.year}/{end.year % 100:02d}"
    return f"{start.isoformat()} to {end.isoformat()}"


class CdopSource:
    key = "child_deaths"
    title = "Child death reviews"

    def load(self, conn: sa.Connection, start: dt.date, end: dt.date) -> CdopData:
        """The deaths alive in the five years to the period's end (opened by its end and
        not closed before the first of those years began), and the period's CDOP meetings
        held."""
        first, _ = years_before(start, end, TREND_YEARS - 1)
        data = CASES.c.data
        query = (sa.select(CASES.c.area, *(data[f].as_string().label(f) for f in FIELDS))
                 .where(CASES.c.workflow == WORKFLOW,
                        CASES.c.opened_at <= end_of_day(end),
                        sa.or_(CASES.c.closed_at.is_(None),
                               CASES.c.closed_at >= start_of_day(first)))
                 .order_by(CASES.c.id))
        rows = []
        for r in conn.execute(query):
            rows.append(DeathRow(
                area=r.area, died_on=_date(r.died_on), notified_on=_day_of(r.notified_at),
                age_band=r.age_band, sex=r.sex, expected=r.expected, jar_needed=r.jar_needed,
                reviewed_on=_date(r.cdop_reviewed_on), category=r.category,
                modifiable=r.modifiable_factors,
                domains=tuple(d for d in (r.modifiable_domains or "").split(",") if d)))
        keeps = conn.scalar(sa.select(CASES.c.id).where(CASES.c.workflow == MEETINGS)
                            .limit(1)) is not None
        held = []
        if keeps:
            day = CASES.c.data["held_on"].as_string()
            # Only the period's meetings: one held in it was opened by its end and not
            # closed before it began (ISO days compare as text).
            for area, text in conn.execute(sa.select(CASES.c.area, day).where(
                    CASES.c.workflow == MEETINGS, CASES.c.state.in_(HELD),
                    CASES.c.opened_at <= end_of_day(end),
                    sa.or_(CASES.c.closed_at.is_(None),
                           CASES.c.closed_at >= start_of_day(start)),
                    day >= start.isoformat(), day <= end.isoformat())):
                when = _date(text)
                if when is not None and start <= when <= end:
                    held.append((area, when))
        return CdopData(tuple(rows), tuple(held), keeps, self._imported(conn, first, end))

    @staticmethod
    def _imported(conn: sa.Connection, first: dt.date, end: dt.date,
                  ) -> dict[tuple[dt.date, dt.date], tuple[dict[int, int], frozenset[str]]]:
        figure = ImportedFigure.__table__.c  # type: ignore[attr-defined]
        out: dict[tuple[dt.date, dt.date], tuple[dict[int, int], frozenset[str]]] = {}
        for measure, start, stop, value, source in conn.execute(
                sa.select(figure.measure, figure.period_start, figure.period_end,
                          figure.value, figure.source)
                .where(figure.measure.like("child_deaths_category_%"),
                       figure.replaced_at.is_(None), figure.area.is_(None),
                       figure.period_start >= first, figure.period_end <= end)):
            number = measure.rsplit("_", 1)[1]
            if not number.isdigit() or not value.isdigit():
                continue
            counts, sources = out.get((start, stop), ({}, frozenset()))
            counts[int(number)] = int(value)
            out[(start, stop)] = (counts, sources | {source})
        return out

    def build(self, loaded: Any, start: dt.date, end: dt.date, area: str | None) -> Section:
        data: CdopData = loaded
        rows = [r for r in data.deaths if area is None or r.area == area]
        section = Section(self.key, self.title)

        def within(day: dt.date | None, a: dt.date = start, b: dt.date = end) -> bool:
            return day is not None and a <= day <= b

        notified = [r for r in rows if within(r.notified_on)]
        reviewed = [r for r in rows if within(r.reviewed_on) and r.category in CATEGORIES]
        if not notified and not reviewed:
            return section  # no records in this period: said so, not zeros
        earlier = [r for r in reviewed if r.died_on is not None and r.died_on < start]
        modifiable = [r for r in reviewed if r.modifiable == "yes"]
        section.add("deaths_notified", "Deaths notified", len(notified))
        section.add("unexpected", "Unexpected deaths notified",
                    sum(1 for r in notified if r.expected == "no"))
        section.add("joint_agency_responses", "Deaths needing a joint agency response",
                    sum(1 for r in notified if r.jar_needed == "yes"))
        section.add("reviews_completed", "Reviews completed", len(reviewed))
        section.add("reviews_of_deaths_in_period", "Reviews completed of deaths in the period",
                    len(reviewed) - len(earlier))
        section.add("reviews_of_earlier_deaths",
                    "Reviews completed of deaths in earlier years", len(earlier))
        section.add("modifiable_factors", "Reviews finding modifiable factors", len(modifiable))
        # The panel serves the whole partnership (its series is filed under one area only
        # because every case has one): its meetings are counted for the partnership, not by
        # area (as MACE meetings are).
        held: int | None = None
        if area is None and data.keeps_meetings:
            held = len(data.meetings)
        elif area is None:  # the panel reviews deaths at its meetings: a day of reviews
            held = len({r.reviewed_on for r in reviewed})
        section.add("cdop_meetings", "CDOP meetings held", held)

        bands = Counter(r.age_band for r in notified)
        section.tables.append(("Deaths notified by age band", ("Age band", "Deaths"),
                               [(label, bands[code]) for code, label in AGE_BANDS.items()]))
        sexes = Counter(r.sex for r in notified)
        section.tables.append(("Deaths notified by sex", ("Sex", "Deaths"),
                               [(label, sexes[code]) for code, label in SEXES.items()]))
        categories = Counter(r.category for r in reviewed)
        section.tables.append((
            "Reviews completed by category", ("Category", "Reviews"),
            [(f"{n}. {label}", categories[code]) for code, (n, label) in CATEGORIES.items()]))
        domains = Counter(d for r in modifiable for d in r.domains)
        section.tables.append(("Modifiable factors by domain", ("Domain", "Reviews"),
                               [(label, domains[code]) for code, label in DOMAINS.items()]))
        trend = self._trend(rows, start, end, data.imported if area is None else {})
        section.tables.append(trend)
        section.chart = trend_chart(*trend)
        return section

    @staticmethod
    def _trend(rows: list[DeathRow], start: dt.date, end: dt.date,
               imported: dict[tuple[dt.date, dt.date], tuple[dict[int, int], frozenset[str]]],
               ) -> tuple[str, tuple[str, ...], list[tuple[Any, ...]]]:
        """Reviews completed by category in the period and each of the four years before
        it, oldest first (the trend chart's table). A year whose reviews are recorded here
        counts them. One without (before the system was in use: at most the deaths of that
        year still under review when it began are recorded) takes the figures imported for
        it, its column naming their source; else, if deaths were notified here that year,
        none were reviewed (zeros); else it is not available (None), not a column of zeros."""
        periods = [years_before(start, end, n) for n in range(TREND_YEARS - 1, -1, -1)]

        def recorded(a: dt.date, b: dt.date, reviews: bool) -> bool:
            return any(day is not None and a <= day <= b for r in rows
                       for day in ((r.reviewed_on,) if reviews
                                   else (r.notified_on, r.reviewed_on)))

        columns: list[str] = ["Category"]
        counts: list[dict[str, int] | None] = []
        for a, b in periods:
            if (a, b) in imported and not recorded(a, b, reviews=True):
                by_number, sources = imported[(a, b)]
                counts.append({code: by_number.get(n, 0)
                               for code, (n, _label) in CATEGORIES.items()})
                columns.append(f"{period_label(a, b)} from {', '.join(sorted(sources))}")
            elif recorded(a, b, reviews=False):
                counts.append(Counter(r.category for r in rows if r.category is not None
                                      and r.reviewed_on is not None
                                      and a <= r.reviewed_on <= b))
                columns.append(period_label(a, b))
            else:
                counts.append(None)
                columns.append(period_label(a, b))
        table = [(f"{n}. {label}", *(None if c is None else c.get(code, 0) for c in counts))
                 for code, (n, label) in CATEGORIES.items()]
        return ("Reviews completed by category over five years", tuple(columns), table)


def trend_chart(title: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Chart:
    """The five-year trend drawn as horizontal bars, one group per category (its words
    read across) and one bar per year; a year not available is left out (not drawn as
    zeros), and a year's bar is named by the year alone (the table names the source)."""
    years = [(i, name.split(" from ", 1)[0]) for i, name in enumerate(columns) if i > 0
             and any(r[i] is not None for r in rows)]
    return Chart(title, tuple(str(r[0]) for r in rows),
                 tuple((name, tuple(float(r[i]) for r in rows)) for i, name in years),
                 "bars")


__all__ = ["CdopData", "CdopSource", "DeathRow", "period_label", "years_before"]
