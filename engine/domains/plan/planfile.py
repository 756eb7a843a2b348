"""The business plan file: CSV or YAML in, plan rows out, every row checked. Pure (reads the
text it is given; no database, no clock).

CSV: a header row naming the columns ``ref, priority, outcome, action, timescale,
responsible, owner`` (any order, case and spaces ignored), one action per row. YAML: the
plan's shape as people write it::

    priorities:
      - priority: Improving responses to neglect
        outcomes:
          - outcome: Practitioners identify neglect early
            actions:
              - {ref: BP-06, action: Embed the assessment tools, timescale: 2024-03-31,
                 responsible: Area safeguarding groups, owner: amy}

A timescale is a day (``2024-03-31``) or a month (``2024-03``: its last day). The first
problem found is a :class:`~engine.core.errors.UsageError` naming the row (``row 4``: the
CSV's line, the header being row 1) or the entry (``priorities[1].outcomes[0].actions[2]``)
and what is wrong, so nothing of a bad file is imported.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from engine.core.csvfile import csv_records
from engine.core.errors import DefinitionError, UsageError, did_you_mean

COLUMNS = ("ref", "priority", "outcome", "action", "timescale", "responsible", "owner")
# The longest text each column takes (the workflow's max_length for its field).
LIMITS = {"ref": 32, "priority": 200, "outcome": 600, "action": 600, "responsible": 200,
          "owner": 64}
_REF = re.compile(r"(?=.*[0-9])[A-Za-z0-9][A-Za-z0-9-]{1,31}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class PlanRow:
    """One action of the plan as the file gives it; ``where`` names its row or entry."""

    where: str
    ref: str
    priority: str
    outcome: str
    action: str
    timescale: dt.date
    responsible: str
    owner: str

    def fields(self) -> dict[str, str]:
        """The workflow's fields for this action."""
        return {"action_ref": self.ref, "priority": self.priority, "outcome": self.outcome,
                "summary": self.action, "due_on": self.timescale.isoformat(),
                "responsible": self.responsible, "owner": self.owner}


def parse_timescale(text: str) -> dt.date:
    """``2024-03-31`` as itself, ``2024-03`` as the month's last day; else a ValueError."""
    raw = text.strip()
    month = _MONTH.fullmatch(raw)
    if month:
        year, number = int(month.group(1)), int(month.group(2))
        if not 1 <= number <= 12:
            raise ValueError(raw)
        return dt.date(year, number, calendar.monthrange(year, number)[1])
    return dt.date.fromisoformat(raw)


def _row(where: str, values: Mapping[str, Any]) -> PlanRow:
    got: dict[str, str] = {}
    for name in COLUMNS:
        value = values.get(name)
        text = "" if value is None else str(value).strip()
        if not text:
            raise UsageError(f"{where}: the {name} is missing: every action needs "
                             f"{', '.join(COLUMNS)}")
        if _CONTROL.search(text):
            raise UsageError(f"{where}: the {name} holds a control character: use plain text")
        if name in LIMITS and len(text) > LIMITS[name]:
            raise UsageError(f"{where}: the {name} is longer than {LIMITS[name]} characters")
        got[name] = text
    if not _REF.fullmatch(got["ref"]):
        raise UsageError(f"{where}: the ref '{got['ref']}' is not a reference: letters, digits "
                         "and hyphens with at least one digit, e.g. BP-07")
    try:
        day = parse_timescale(got["timescale"])
    except ValueError:
        raise UsageError(f"{where}: the timescale '{got['timescale']}' is not a date: use "
                         "YYYY-MM-DD, or YYYY-MM for the month's end") from None
    return PlanRow(where, got["ref"], got["priority"], got["outcome"], got["action"], day,
                   got["responsible"], got["owner"])


def _check_unique(rows: Iterable[PlanRow]) -> list[PlanRow]:
    seen: dict[str, str] = {}
    out = []
    for row in rows:
        if row.ref in seen:
            raise UsageError(f"{row.where}: the ref '{row.ref}' is also at {seen[row.ref]}: "
                             "give each action its own reference")
        seen[row.ref] = row.where
        out.append(row)
    if not out:
        raise UsageError("the plan file holds no actions")
    return out


def parse_csv(text: str) -> list[PlanRow]:
    rows = [_row(f"row {number}", cells)
            for number, cells in csv_records(text, COLUMNS, "the plan file")]
    return _check_unique(rows)


def _list(value: Any, where: str, key: str) -> list[Any]:
    items = value.get(key) if isinstance(value, dict) else None
    if not isinstance(items, list) or not items:
        raise UsageError(f"{where}: needs a list '{key}:'")
    return items


def parse_yaml(text: str) -> list[PlanRow]:
    from engine.core.loader import _compose  # the definitions' bounded safe loader

    try:
        _node, raw = _compose(text, "the plan file")  # no 'billion laughs'
    except DefinitionError as exc:
        raise UsageError(str(exc.problems[0]) if exc.problems else str(exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise UsageError(f"{line}the plan file is not YAML") from None
    rows = []
    for p, priority in enumerate(_list(raw, "the plan", "priorities")):
        where_p = f"priorities[{p}]"
        for o, outcome in enumerate(_list(priority, where_p, "outcomes")):
            where_o = f"{where_p}.outcomes[{o}]"
            for a, action in enumerate(_list(outcome, where_o, "actions")):
                where = f"{where_o}.actions[{a}]"
                if not isinstance(action, dict):
                    keys = [c for c in COLUMNS if c not in ("priority", "outcome")]
                    raise UsageError(f"{where}: an action is a mapping of "
                                     f"{', '.join(keys)}")
                extra = [k for k in action if k not in COLUMNS]
                if extra:
                    raise UsageError(f"{where}: unknown key '{extra[0]}'"
                                     f"{did_you_mean(str(extra[0]), COLUMNS)}")
                ref = action.get("ref")
                rows.append(_row(f"{where} ({ref})" if ref else where, {
                    **action, "priority": priority.get("priority"),
                    "outcome": outcome.get("outcome")}))
    return _check_unique(rows)


def parse_plan(name: str, text: str) -> list[PlanRow]:
    """The plan in ``text``, read as CSV or YAML by the file name's ending."""
    lower = name.lower()
    if lower.endswith(".csv"):
        return parse_csv(text)
    if lower.endswith((".yaml", ".yml")):
        return parse_yaml(text)
    raise UsageError(f"{name}: a plan file is .csv or .yaml")


__all__ = ["COLUMNS", "PlanRow", "parse_csv", "parse_plan", "parse_timescale", "parse_yaml"]
