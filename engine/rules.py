"""Deadline rules: parse their text and compute a due instant from an anchor. Pure.

Rule grammar (case and extra spaces are ignored):

    N working day(s) after FIELD       N working day(s) before FIELD
    N calendar month(s) after FIELD    N hour(s) after FIELD
    every N week(s) while in STATE
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from engine.calendar import WorkingCalendar, add_months
from engine.clock import as_utc, end_of_day, london_date, start_of_day
from engine.definition import RuleDef

_NAME = r"([a-z][a-z0-9_]*)"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("working_days_after", re.compile(rf"^(\d+) working days? after {_NAME}$")),
    ("working_days_before", re.compile(rf"^(\d+) working days? before {_NAME}$")),
    ("months_after", re.compile(rf"^(\d+) calendar months? after {_NAME}$")),
    ("hours_after", re.compile(rf"^(\d+) hours? after {_NAME}$")),
    ("every_weeks", re.compile(rf"^every (\d+) weeks? while in {_NAME}$")),
)

RULE_FORMS = (
    "'N working days after FIELD', 'N working days before FIELD', "
    "'N calendar months after FIELD', 'N hours after FIELD', 'every N weeks while in STATE'"
)


def parse_rule(text: str) -> RuleDef | None:
    """The rule the text states, or None if it is not one of :data:`RULE_FORMS`."""
    normal = " ".join(str(text).lower().split())
    for kind, pattern in _PATTERNS:
        match = pattern.match(normal)
        if match:
            amount, name = int(match.group(1)), match.group(2)
            if kind == "every_weeks":
                if amount < 1:
                    return None
                return RuleDef(text=normal, kind="every_weeks", amount=amount, state=name)
            return RuleDef(text=normal, kind=kind, amount=amount, anchor=name)  # type: ignore[arg-type]
    return None


@dataclass(frozen=True)
class Due:
    """When a deadline passes: ``at`` is the instant; ``day`` the London date for day rules."""

    at: dt.datetime
    day: dt.date | None


def compute_due(rule: RuleDef, anchor: dt.date | dt.datetime, cal: WorkingCalendar) -> Due:
    """The due point of ``rule`` counted from ``anchor`` (a date, or an instant for hours)."""
    if rule.kind == "hours_after":
        if not isinstance(anchor, dt.datetime):
            anchor = start_of_day(anchor)
        return Due(at=as_utc(anchor) + dt.timedelta(hours=rule.amount), day=None)
    day = london_date(anchor) if isinstance(anchor, dt.datetime) else anchor
    if rule.kind == "working_days_after":
        due = cal.add_working_days(day, rule.amount)
    elif rule.kind == "working_days_before":
        due = cal.subtract_working_days(day, rule.amount)
    elif rule.kind == "months_after":
        due = add_months(day, rule.amount)
    else:  # every_weeks
        due = day + dt.timedelta(weeks=rule.amount)
    return Due(at=end_of_day(due), day=due)
