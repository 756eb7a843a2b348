"""The measures a figure may be imported for, as data (``config/measures.yaml``), and the
period forms a figure is for. Pure apart from reading the measures file.

Periods:

- ``2023-24``: a reporting year, 1 April 2023 to 31 March 2024;
- ``2023-24 Q1`` .. ``2023-24 Q4``: its quarters (Q1 April to June, ... Q4 January to March);
- ``2024-01``: a calendar month. A text that reads as a reporting year is one (``2011-12`` is
  the year 2011-12, never December 2011), so months are from 2012 on.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from engine.core.errors import UsageError

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "measures.yaml"
_YEAR = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-(\d{2}) ?Q([1-4])")
PERIOD_FORMS = "2023-24 (a reporting year), 2023-24 Q1 (its quarter), 2024-01 (a month)"


@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    unit: str
    count: bool


@dataclass(frozen=True)
class Period:
    text: str  # as stored: '2023-24', '2023-24 Q1', '2024-01'
    start: dt.date
    end: dt.date  # both ends included

    @property
    def label(self) -> str:
        return reporting_label(self.text)


def load_measures(path: Path = SHIPPED) -> dict[str, Measure]:
    """code -> measure; a malformed file is a UsageError naming the entry."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, Measure] = {}
    for i, entry in enumerate(raw.get("measures") or []):
        if not isinstance(entry, dict) or not entry.get("code") or not entry.get("label"):
            raise UsageError(f"{path}: measures[{i}] needs a code and a label")
        code = str(entry["code"])
        if code in out:
            raise UsageError(f"{path}: measures[{i}]: the code '{code}' is listed twice")
        out[code] = Measure(code, str(entry["label"]), str(entry.get("unit") or ""),
                            entry.get("count", True) is True)
    return out


def _year_start(first: str, second: str) -> int | None:
    year = int(first)
    return year if (year + 1) % 100 == int(second) else None


def parse_period(text: str) -> Period:
    """The period ``text`` names (see the module's forms); else a ValueError."""
    raw = " ".join(text.split())
    quarter = _QUARTER.fullmatch(raw)
    if quarter:
        year = _year_start(quarter.group(1), quarter.group(2))
        if year is None:
            raise ValueError(raw)
        q = int(quarter.group(3))
        month = 4 + 3 * (q - 1)
        start_year = year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        start = dt.date(start_year, month, 1)
        end_month = month + 2
        end = dt.date(start_year, end_month, calendar.monthrange(start_year, end_month)[1])
        return Period(f"{quarter.group(1)}-{quarter.group(2)} Q{q}", start, end)
    match = _YEAR.fullmatch(raw)
    if not match:
        raise ValueError(raw)
    year = _year_start(match.group(1), match.group(2))
    if year is not None:
        return Period(raw, dt.date(year, 4, 1), dt.date(year + 1, 3, 31))
    y, m = int(match.group(1)), int(match.group(2))
    if not 1 <= m <= 12:
        raise ValueError(raw)
    return Period(raw, dt.date(y, m, 1), dt.date(y, m, calendar.monthrange(y, m)[1]))


def reporting_label(text: str) -> str:
    """'2023-24' -> '2023/24'; '2023-24 Q1' -> '2023/24 Q1'; '2024-01' -> 'January 2024'."""
    period = parse_period(text)
    if period.end.month - period.start.month == 0 and period.start.year == period.end.year:
        return f"{period.start:%B %Y}"
    return text.replace("-", "/", 1)


__all__ = ["PERIOD_FORMS", "Measure", "Period", "load_measures", "parse_period",
           "reporting_label"]
