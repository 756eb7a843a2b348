"""The figures service: import the CSV of figures from other systems, and list them. One
transaction each; never prints, never reads the wall clock.

The CSV has a header row naming ``measure, area, period, value, source`` (any order). A
measure is a code of ``config/measures.yaml``; an area an area's code, or ``partnership``
(or empty) for the whole partnership; a period one of
:data:`~engine.domains.figures.measures.PERIOD_FORMS`; a count a whole number of 0 or more.
The first problem is one line naming the row (the header is row 1) and nothing of the file
is imported. A figure already held for the same measure, area and period is replaced (the
old row kept, marked replaced), unless the file gives the same value and source.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from engine.core.csvfile import csv_records
from engine.core.errors import UsageError, did_you_mean
from engine.core.service import Engine
from engine.core.store.models import ImportedFigure
from engine.domains.figures.measures import (
    PERIOD_FORMS,
    Measure,
    Period,
    load_measures,
    parse_period,
)

COLUMNS = ("measure", "area", "period", "value", "source")
PARTNERSHIP = "partnership"
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_MAX_SOURCE = 200
_MAX_VALUE = 32


@dataclass(frozen=True)
class FigureRow:
    row: int
    measure: Measure
    area: str | None
    period: Period
    value: str
    source: str


@dataclass(frozen=True)
class FigureView:
    measure: str
    label: str
    area: str | None
    period: str
    value: str
    source: str
    imported_by: str
    imported_at: dt.datetime
    replaced_at: dt.datetime | None
    area_label: str = "The partnership"

    def to_json(self) -> dict[str, Any]:
        return {"measure": self.measure, "label": self.label,
                "area": self.area or PARTNERSHIP, "area_label": self.area_label,
                "period": self.period, "value": self.value,
                "source": self.source, "imported_by": self.imported_by,
                "imported_at": self.imported_at.isoformat(),
                "replaced_at": self.replaced_at.isoformat() if self.replaced_at else None}


@dataclass(frozen=True)
class FiguresImported:
    added: int
    replaced: int
    unchanged: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _number(text: str, measure: Measure, where: str) -> str:
    raw = text.strip().replace(",", "")
    if len(raw) > _MAX_VALUE:  # the column's width (and int() refuses 4,300+ digits)
        raise UsageError(f"{where}: the value is longer than {_MAX_VALUE} characters")
    if not _NUMBER.fullmatch(raw):
        raise UsageError(f"{where}: the value '{text}' is not a number")
    if measure.count:
        if raw.startswith("-"):
            raise UsageError(f"{where}: the value '{text}' is negative, and {measure.label} "
                             "is a count")
        if not raw.isdigit():
            raise UsageError(f"{where}: the value '{text}' is not a whole number, and "
                             f"{measure.label} is a count")
        return str(int(raw))
    return raw


def parse_figures(text: str, measures: Mapping[str, Measure],
                  areas: Mapping[str, str]) -> list[FigureRow]:
    """The rows of the CSV, each checked; the first problem is a UsageError naming its row."""
    rows: list[FigureRow] = []
    seen: dict[tuple[str, str | None, str], int] = {}
    known_areas = [*areas, PARTNERSHIP]
    for number, cells in csv_records(text, COLUMNS, "the figures file"):
        where = f"row {number}"
        got = {n: c.strip() for n, c in cells.items()}
        for name, value in got.items():
            if _CONTROL.search(value):
                raise UsageError(f"{where}: the {name} holds a control character")
        code = got["measure"]
        measure = measures.get(code)
        if measure is None:
            raise UsageError(f"{where}: unknown measure '{code}'"
                             f"{did_you_mean(code, measures)}; the measures are in "
                             "config/measures.yaml")
        area_code = got["area"] or PARTNERSHIP
        if area_code not in known_areas:
            raise UsageError(f"{where}: unknown area '{area_code}'"
                             f"{did_you_mean(area_code, known_areas)}; use an area's code "
                             f"({', '.join(sorted(areas)) or 'none set up'}) or "
                             f"'{PARTNERSHIP}' for the whole partnership")
        try:
            period = parse_period(got["period"])
        except ValueError:
            raise UsageError(f"{where}: the period '{got['period']}' is not one of "
                             f"{PERIOD_FORMS}") from None
        if not got["value"]:
            raise UsageError(f"{where}: the value is missing")
        value = _number(got["value"], measure, where)
        if not got["source"]:
            raise UsageError(f"{where}: the source is missing: name the system or "
                             "report the figure comes from")
        if len(got["source"]) > _MAX_SOURCE:
            raise UsageError(f"{where}: the source is longer than {_MAX_SOURCE} "
                             "characters")
        area = None if area_code == PARTNERSHIP else area_code
        key = (code, area, period.text)
        if key in seen:
            raise UsageError(f"{where}: the same measure, area and period as row "
                             f"{seen[key]}: give each figure once")
        seen[key] = number
        rows.append(FigureRow(number, measure, area, period, value, got["source"]))
    if not rows:
        raise UsageError("the figures file holds no figures")
    return rows


class FiguresService:
    def __init__(self, engine: Engine, measures: Mapping[str, Measure] | None = None) -> None:
        self.engine = engine
        self.clock = engine.clock
        self._measures = dict(measures) if measures is not None else None

    @property
    def measures(self) -> dict[str, Measure]:
        if self._measures is None:  # read when first needed (commands that never ask)
            self._measures = load_measures()
        return self._measures

    def import_csv(self, text: str, actor: str) -> FiguresImported:
        now = self.clock.now()
        with self.engine.unit(actor, "figures.import") as unit:
            unit.require()
            areas = dict(unit.access.areas())
            rows = parse_figures(text, self.measures, areas)
            session = unit.session
            added = replaced = unchanged = 0
            for row in rows:
                current = session.scalars(select(ImportedFigure).where(
                    ImportedFigure.measure == row.measure.code,  # type: ignore[arg-type]
                    ImportedFigure.area == row.area,  # type: ignore[arg-type]
                    ImportedFigure.period == row.period.text,  # type: ignore[arg-type]
                    col(ImportedFigure.replaced_at).is_(None))).first()
                if current is not None:
                    if current.value == row.value and current.source == row.source:
                        unchanged += 1
                        continue
                    current.replaced_at = now
                    session.add(current)
                    replaced += 1
                else:
                    added += 1
                session.add(ImportedFigure(
                    measure=row.measure.code, area=row.area, period=row.period.text,
                    period_start=row.period.start, period_end=row.period.end, value=row.value,
                    source=row.source, imported_by=actor, imported_at=now))
            unit.note(added=added, replaced=replaced, unchanged=unchanged)
            return FiguresImported(added, replaced, unchanged)

    def figures(self, actor: str, measure: str | None = None, period: str | None = None,
                include_replaced: bool = False) -> list[FigureView]:
        """The figures held (current ones unless asked), by period, measure and area."""
        if measure is not None and measure not in self.measures:
            raise UsageError(f"unknown measure '{measure}'{did_you_mean(measure, self.measures)}")
        wanted: Period | None = None
        if period is not None:
            try:
                wanted = parse_period(period)
            except ValueError:
                raise UsageError(f"the period '{period}' is not one of {PERIOD_FORMS}") from None
        with self.engine.unit(actor, "figures.list") as unit:
            unit.require()
            query = select(ImportedFigure)
            if not include_replaced:
                query = query.where(col(ImportedFigure.replaced_at).is_(None))
            if measure is not None:
                query = query.where(ImportedFigure.measure == measure)  # type: ignore[arg-type]
            if wanted is not None:
                query = query.where(ImportedFigure.period == wanted.text)  # type: ignore[arg-type]
            query = query.order_by(col(ImportedFigure.period_start), col(ImportedFigure.measure),
                                   col(ImportedFigure.area), col(ImportedFigure.id))
            out = []
            names = dict(unit.access.areas())
            for f in unit.session.scalars(query):
                known = self.measures.get(f.measure)
                out.append(FigureView(f.measure, known.label if known else f.measure, f.area,
                                      f.period, f.value, f.source, f.imported_by,
                                      f.imported_at, f.replaced_at,
                                      names.get(f.area, f.area) if f.area
                                      else "The partnership"))
            unit.note(count=len(out))
            return out


__all__ = ["COLUMNS", "PARTNERSHIP", "FigureView", "FiguresImported", "FiguresService",
           "parse_figures"]
