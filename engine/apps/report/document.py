"""The annual report as a document: numbered chapters like the seed report's, each with the
partnership's own words (narrative Markdown) and the sections computed by the section
sources, every figure for the partnership and per area, for the period and the previous year
(same length, a year earlier) with the change.

Pure: :func:`compose` takes what the sources loaded and builds; nothing here reads the
database or the clock. A section source is any object with ``key``, ``title``,
``load(conn, start, end)`` and ``build(loaded, start, end, area)`` (see
:mod:`engine.apps.report.sources`); the previous year is compared by its figures alone, so a
source may also have ``load_figures(conn, start, end)``, reading what ``build`` needs for
the figures (its tables may come out empty), which is then used for that year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.apps.report.figures import Section, chart_of

# The narrative files a partnership writes (in the folder given by --narrative).
NARRATIVE = {"foreword": "foreword.md", "scrutiny": "scrutiny.md",
             "learning": "learning.md", "priorities": "priorities.md"}
NARRATIVE_WHAT = {"foreword": "the partnership's foreword",
                  "scrutiny": "the independent scrutineer's statement",
                  "learning": "the learning from reviews",
                  "priorities": "the priorities for next year"}


@dataclass(frozen=True)
class ChapterPlan:
    title: str
    narrative: str | None  # a key of NARRATIVE
    sources: tuple[str, ...]  # section keys, in order (absent ones are skipped)
    appendix: str | None = None  # its letter, for an appendix


def plan(end: dt.date) -> tuple[ChapterPlan, ...]:
    """The chapters, titled and ordered like the seed report's. Sources whose key is in no
    chapter go to "Other figures" before the summary."""
    nxt = f"{end.year}/{(end.year + 1) % 100:02d}"
    return (
        ChapterPlan("Foreword", "foreword", ()),
        ChapterPlan("Independent Scrutiny", "scrutiny", ()),
        ChapterPlan("Children and Young People in the Area", None,
                    ("imported_figures", "other_systems", "figures")),
        ChapterPlan("Missing, Exploited and Trafficked Children", None,
                    ("cerar", "missing", "mace", "placed")),
        ChapterPlan("Learning and Improvement", "learning", ("rapid_reviews",)),
        ChapterPlan("Local Child Safeguarding Practice Reviews (LCSPRs)", None,
                    ("lcspr", "actions")),
        ChapterPlan("Child Death Review and the Child Death Overview Panel (CDOP)", None,
                    ("child_deaths", "cdop")),
        ChapterPlan(f"Summary and Priorities for {nxt}", "priorities", ()),
        ChapterPlan("Business Plan Delivery Plan, update as at "
                    f"{end.day} {end:%B %Y}", None, ("plan", "business_plan", "delivery_plan"),
                    appendix="C"),
    )


class SectionSource(Protocol):
    key: str
    title: str

    def load(self, conn: Any, start: dt.date, end: dt.date) -> Any: ...

    def build(self, loaded: Any, start: dt.date, end: dt.date,
              area: str | None) -> Section: ...


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The same days a year earlier (29 February becomes the 28th)."""
    def back(day: dt.date) -> dt.date:
        try:
            return day.replace(year=day.year - 1)
        except ValueError:
            return day.replace(year=day.year - 1, day=28)
    return back(start), back(end)


def period_label(start: dt.date, end: dt.date) -> str:
    """'2024/25' for an April-to-March year, else the dates."""
    if (start.month, start.day, end.month, end.day) == (4, 1, 3, 31) \
            and end.year == start.year + 1:
        return f"{start.year}/{end.year % 100:02d}"
    return f"{start.day} {start:%b %Y} to {end.day} {end:%b %Y}"


def change(now: Any, before: Any) -> float | int | None:
    """``now - before`` when both are numbers, else None (not available)."""
    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)
    if not (number(now) and number(before)):
        return None
    diff = now - before
    return round(diff, 1) if isinstance(diff, float) else diff


@dataclass(frozen=True)
class Compared:
    """One figure: this period, the previous year and the change (None = not available)."""

    value: Any
    previous: Any
    change: Any


@dataclass
class FigureRow:
    key: str
    label: str
    partnership: Compared
    areas: dict[str, Compared | None] = field(default_factory=dict)  # None: area no records


@dataclass
class SectionResult:
    key: str
    number: str
    title: str
    current: Section  # the partnership, this period
    previous: Section  # the partnership, the previous year
    rows: list[FigureRow]
    area_empty: dict[str, bool]

    @property
    def empty(self) -> bool:
        return self.current.empty

    def to_json(self) -> dict[str, Any]:
        out = self.current.to_json()
        out.update(number=self.number, title=self.title, empty=self.empty,
                   previous_empty=self.previous.empty)
        for figure, row in zip(out["figures"], self.rows, strict=True):
            figure.update(previous=row.partnership.previous, change=row.partnership.change,
                          areas={name: None if c is None else {
                              "value": c.value, "previous": c.previous, "change": c.change}
                              for name, c in row.areas.items()})
        return out


@dataclass
class Chapter:
    number: str
    title: str
    narrative_key: str | None
    narrative: str | None  # the Markdown, None when its file is missing
    sections: list[SectionResult]

    @property
    def heading(self) -> str:
        """'3 Children and Young People in the Area'; an appendix's title names its letter
        already ('Appendix C: ...'), so it is not numbered twice."""
        return f"{self.number} {self.title}" if self.number.isdigit() else self.title

    @property
    def placeholder(self) -> str | None:
        """What to write, when the narrative file is missing."""
        if self.narrative_key is None or self.narrative is not None:
            return None
        what = NARRATIVE_WHAT[self.narrative_key]
        verb = "go" if self.narrative_key == "priorities" else "goes"  # plural
        return (f"Placeholder: {what} {verb} here. Write it in "
                f"{NARRATIVE[self.narrative_key]} in the narrative folder (--narrative).")


@dataclass
class AnnualReport:
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    areas: list[tuple[str, str]]  # code, name
    chapters: list[Chapter]

    @property
    def sections(self) -> list[SectionResult]:
        return [s for c in self.chapters for s in c.sections]

    @property
    def label(self) -> str:
        return period_label(self.start, self.end)

    @property
    def previous_label(self) -> str:
        return period_label(self.previous_start, self.previous_end)

    def flat(self) -> dict[str, Any]:
        """Every partnership figure of the period as ``section.figure`` -> value."""
        return {f"{s.key}.{k}": v for s in self.sections for k, _, v in s.current.figures}

    def to_json(self) -> dict[str, Any]:
        return {"title": "Annual report", "from": self.start.isoformat(),
                "to": self.end.isoformat(), "period": self.label,
                "previous": {"from": self.previous_start.isoformat(),
                             "to": self.previous_end.isoformat(),
                             "period": self.previous_label},
                "areas": [name for _, name in self.areas],
                "chapters": [{"number": c.number, "title": c.title,
                              "narrative": c.narrative, "placeholder": c.placeholder,
                              "sections": [s.key for s in c.sections]}
                             for c in self.chapters],
                "sections": [s.to_json() for s in self.sections]}


def _named(section: Section, names: Mapping[str, str]) -> Section:
    """Area codes in the section's 'Area' columns as the areas' names."""
    tables = []
    for title, columns, rows in section.tables:
        if "Area" in columns:
            i = columns.index("Area")
            rows = [tuple(names.get(v, v) if j == i and isinstance(v, str) else v
                          for j, v in enumerate(r)) for r in rows]
        tables.append((title, columns, rows))
    section.tables = tables
    return section


def _compare(now: Section, before: Section) -> dict[str, Compared]:
    old = {k: v for k, _, v in before.figures}
    return {k: Compared(v, None if before.empty else old.get(k),
                        None if before.empty else change(v, old.get(k)))
            for k, _, v in now.figures}


def compare_section(source: SectionSource, now: Any, before: Any, start: dt.date,
                    end: dt.date, areas: Sequence[tuple[str, str]], number: str,
                    ) -> SectionResult:
    """One source's section: the partnership and each area, this period and the last."""
    names = dict(areas)
    prev = previous_period(start, end)
    current = _named(source.build(now, start, end, None), names)
    previous = _named(source.build(before, *prev, None), names)
    whole = _compare(current, previous)
    by_area: dict[str, dict[str, Compared]] = {}
    area_empty: dict[str, bool] = {}
    for code, name in areas:
        here = source.build(now, start, end, code)
        area_empty[name] = here.empty
        by_area[name] = _compare(here, source.build(before, *prev, code))
    rows = [FigureRow(k, label, whole[k],
                      {name: by_area[name].get(k) for _, name in areas})
            for k, label, _ in current.figures]
    return SectionResult(source.key, number, current.title or source.title, current,
                         previous, rows, area_empty)


def compose(loaded: Sequence[tuple[SectionSource, Any, Any]], start: dt.date, end: dt.date,
            areas: Sequence[tuple[str, str]], narrative: Mapping[str, str]) -> AnnualReport:
    """The report from each source with what it loaded for the period and the year before."""
    by_key = {src.key: (src, now, before) for src, now, before in loaded}
    plans = list(plan(end))
    placed = {k for p in plans for k in p.sources}
    others = tuple(k for k in by_key if k not in placed)
    if others:
        plans.insert(-2, ChapterPlan("Other Figures", None, others))
    chapters = []
    n = 0
    for p in plans:
        keys = [k for k in p.sources if k in by_key]
        if p.narrative is None and not keys:
            continue  # a chapter of figures no source gives (yet)
        if p.appendix is None:
            n += 1
        number = str(n) if p.appendix is None else p.appendix
        title = p.title if p.appendix is None else f"Appendix {p.appendix}: {p.title}"
        sections = [compare_section(*by_key[k], start, end, areas, f"{number}.{i}")
                    for i, k in enumerate(keys, 1)]
        chapters.append(Chapter(number, title, p.narrative,
                                narrative.get(p.narrative) if p.narrative else None,
                                sections))
    return AnnualReport(start, end, *previous_period(start, end), list(areas), chapters)


__all__ = ["AnnualReport", "Chapter", "Compared", "FigureRow", "SectionResult", "chart_of",
           "compose", "previous_period"]
