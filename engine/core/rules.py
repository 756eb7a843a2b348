"""Deadline rules: parse their text and compute a due instant from an anchor. Pure.

Rule grammar (case and extra spaces are ignored):

    N working day(s) after FIELD       N working day(s) before FIELD
    N calendar month(s) after FIELD    N hour(s) after FIELD
    every N week(s) while in STATE

N is a whole number, or a parameter of the workflow (its top-level ``parameters:``): a number
(``initial_assessment_days working days after concern_received_on``) or a table keyed by a
choice field (``every review_weeks[risk_level] weeks while in assessed``). A parametrised rule
is bound to a case's data (:func:`bind_rule`) before a due point is computed from it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.core.calendar import WorkingCalendar, add_months
from engine.core.clock import as_utc, end_of_day, london_date, start_of_day
from engine.core.definition import Parameter, RuleDef
from engine.core.errors import FieldError

_NAME = r"([a-z][a-z0-9_]*)"
# A number, a parameter name, or a parameter table indexed by a field: 6, weeks, weeks[level]
_AMOUNT = r"(\d+|[a-z][a-z0-9_]*(?:\[[a-z][a-z0-9_]*\])?)"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("working_days_after", re.compile(rf"^{_AMOUNT} working days? after {_NAME}$")),
    ("working_days_before", re.compile(rf"^{_AMOUNT} working days? before {_NAME}$")),
    ("months_after", re.compile(rf"^{_AMOUNT} calendar months? after {_NAME}$")),
    ("hours_after", re.compile(rf"^{_AMOUNT} hours? after {_NAME}$")),
    ("every_weeks", re.compile(rf"^every {_AMOUNT} weeks? while in {_NAME}$")),
)

RULE_FORMS = (
    "'N working days after FIELD', 'N working days before FIELD', "
    "'N calendar months after FIELD', 'N hours after FIELD', 'every N weeks while in STATE' "
    "(N a number, a parameter name or PARAMETER[CHOICE_FIELD])"
)


def _split_amount(token: str) -> tuple[int | None, str | None, str | None]:
    """'6' -> (6, None, None); 'x' -> (None, 'x', None); 'x[f]' -> (None, 'x', 'f')."""
    if token.isdigit():
        return int(token), None, None
    name, _, rest = token.partition("[")
    return None, name, (rest.rstrip("]") or None)


def rule_parameter(text: str) -> tuple[str, str | None] | None:
    """The (parameter, key field) a rule's text names, whether or not it exists."""
    normal = " ".join(str(text).lower().split())
    for _kind, pattern in _PATTERNS:
        match = pattern.match(normal)
        if match:
            _number, param, key = _split_amount(match.group(1))
            return (param, key) if param is not None else None
    return None


def parse_rule(text: str, parameters: Mapping[str, Parameter] | None = None) -> RuleDef | None:
    """The rule the text states, or None if it is not one of :data:`RULE_FORMS`.

    A rule that names a parameter is read only when ``parameters`` holds it, with the right
    shape (a number for ``name``, a table for ``name[field]``).
    """
    normal = " ".join(str(text).lower().split())
    for kind, pattern in _PATTERNS:
        match = pattern.match(normal)
        if not match:
            continue
        number, param, key = _split_amount(match.group(1))
        name = match.group(2)
        if param is not None:
            value = (parameters or {}).get(param)
            if value is None or isinstance(value, int) != (key is None):
                return None
        amount = number if number is not None else 0
        if kind == "every_weeks":
            if number is not None and amount < 1:
                return None
            return RuleDef(text=normal, kind="every_weeks", amount=amount, state=name,
                           param=param, key_field=key)
        return RuleDef(text=normal, kind=kind, amount=amount, anchor=name,  # type: ignore[arg-type]
                       param=param, key_field=key)
    return None


def bind_rule(rule: RuleDef, parameters: Mapping[str, Parameter],
              data: Mapping[str, str]) -> RuleDef:
    """A parametrised rule with its amount read for this case (the text says where from)."""
    if rule.param is None:
        return rule
    value = parameters[rule.param]
    if isinstance(value, int):
        amount, source = value, rule.param
    else:
        assert rule.key_field is not None
        key = data.get(rule.key_field)
        if not key or key not in value:
            raise FieldError(rule.key_field, f"the rule '{rule.text}' reads field "
                             f"'{rule.key_field}', which has no value",
                             cli=f"add --set {rule.key_field}=...")
        amount, source = value[key], f"{rule.param}[{rule.key_field}], {rule.key_field}={key}"
    token = f"{rule.param}[{rule.key_field}]" if rule.key_field else rule.param
    concrete = rule.text.replace(token, str(amount), 1)
    return RuleDef(text=f"{concrete} ({source})", kind=rule.kind, amount=amount,
                   anchor=rule.anchor, state=rule.state)


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
