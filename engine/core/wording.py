"""Deadlines in words, for people: what is due, for which item, when, and what to do. Pure.

Emails and pages say "return home interview for missing episode M2 (returned at 21:30 on
Sunday 10 March 2024), due by 21:30 on Wednesday 13 March 2024, 2 working days left", never
"rhi" or "72 hours after returned_at (rhi_hours)". Every word comes from the workflow
definition (labels, descriptions, ``rule_label``, ``what_to_do``: data a partnership edits) or
from a name turned into words (:func:`~engine.core.definition.label_for`). Counts are never
negative: a deadline is either so many working days (or hours) away, due today, or overdue by
so many.

Reads nothing and renders no template; it must not see personal fields (the caller passes
only a keyed clock's ``item_fields``, which the loader refuses to be personal).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from engine.core.calendar import WorkingCalendar
from engine.core.clock import LONDON, as_utc, london_date
from engine.core.definition import ClockDef, FieldDef, WorkflowDef, label_for
from engine.core.rules import parse_rule

_BOUND_SOURCE = re.compile(r"\s*\([^()]*\)\s*$")  # '... (rhi_hours)': where the amount came from


def day_words(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def instant_words(at: dt.datetime) -> str:
    """'21:30 on Sunday 10 March 2024' (Europe/London)."""
    local = as_utc(at).astimezone(LONDON)
    return f"{local:%H:%M} on {day_words(local.date())}"


def due_words(due_at: dt.datetime, due_day: dt.date | None) -> str:
    """When a deadline is due: its day for day rules, the time and day for hour rules."""
    return day_words(due_day) if due_day is not None else instant_words(due_at)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def timing_words(due_at: dt.datetime, due_day: dt.date | None, now: dt.datetime,
                 cal: WorkingCalendar) -> tuple[str, int]:
    """('3 working days left' | 'due today' | 'overdue by 2 working days', working days
    late: 0 unless overdue). Hour rules count hours (days once it is two days or more)."""
    today = london_date(now)
    if due_day is None:
        hours = int((as_utc(due_at) - as_utc(now)).total_seconds() // 3600)
        late_days = max(cal.working_days_between(london_date(due_at), today), 0)
        if as_utc(due_at) > as_utc(now):
            return (_plural(hours, "hour") + " left" if hours < 48
                    else _plural(hours // 24, "day") + " left"), 0
        over = -hours
        return ("overdue by " + (_plural(over, "hour") if over < 48
                                 else _plural(over // 24, "day"))), late_days
    if due_day == today:
        return "due today", 0
    if due_day > today:
        left = cal.working_days_between(today, due_day)
        return (_plural(left, "working day") + " left" if left
                else _plural((due_day - today).days, "day") + " left"), 0
    late = cal.working_days_between(due_day, today)
    if late == 0:  # due on a weekend or holiday just gone
        return f"overdue since {due_day:%A}", 0
    return "overdue by " + _plural(late, "working day"), late


def lower_first(text: str) -> str:
    """'Return time' -> 'return time' for use mid-sentence; 'LCSPR ...' stays as written."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def role_words(role: str) -> str:
    return label_for(role)


def _anchor_words(definition: WorkflowDef, name: str) -> str:
    """How a rule names the field it counts from: the field's description when it reads as
    a phrase ('the day the concern was received'), else its label."""
    field = definition.fields.get(name)
    if field is None:
        return label_for(name)
    text = field.description.split(" (")[0].strip()
    return text if text.startswith("the ") else lower_first(field.title)


def rule_words(definition: WorkflowDef, clock: ClockDef | None, rule_text: str = "") -> str:
    """The rule that set a due date, in words. ``rule_text`` is the deadline's stored rule
    (with a parameter's value bound, e.g. '72 hours after returned_at (rhi_hours)')."""
    if clock is not None and clock.rule_label:
        return clock.rule_label
    rule = parse_rule(_BOUND_SOURCE.sub("", rule_text)) if rule_text else None
    if rule is None and clock is not None:
        rule = clock.rule
    if rule is None:
        return ""
    amount = rule.amount
    if rule.param is not None:  # not bound to a case: the parameter's value, or its table
        value = definition.parameters.get(rule.param)
        amount = value if isinstance(value, int) else -1
    key = definition.fields.get(rule.key_field or "")
    varies = f"as many as the {lower_first(key.title) if key else 'case'} sets"
    if rule.kind == "every_weeks":
        every = f"every {_plural(amount, 'week')}" if amount >= 0 else \
            f"every so many weeks ({varies})"
        return f"{every} while the case is {label_for(rule.state or '')}"
    anchor = _anchor_words(definition, rule.anchor or "")
    if rule.kind == "working_days_after" and amount == 0:
        return f"on {anchor}"
    unit = {"working_days_after": "working day", "working_days_before": "working day",
            "months_after": "calendar month", "hours_after": "hour"}[rule.kind]
    direction = "before" if rule.kind == "working_days_before" else "after"
    counted = _plural(amount, unit) if amount >= 0 else f"{unit}s ({varies})"
    return f"{counted} {direction} {anchor}"


def what_to_do(definition: WorkflowDef, clock: ClockDef | None) -> str:
    """What meets the deadline: the clock's ``what_to_do``, else the descriptions of the
    steps that meet it."""
    if clock is None:
        return ""
    if clock.what_to_do:
        return clock.what_to_do
    steps = [t.description or label_for(t.trigger) for t in definition.transitions
             if t.trigger in clock.met.fire]
    return " or ".join(dict.fromkeys(steps)) or clock.title


def value_words(field: FieldDef | None, value: str) -> str:
    """A field's stored value as people read it (dates and times in words)."""
    if field is not None and field.type in ("date", "datetime"):
        try:
            if field.type == "date":
                return day_words(dt.date.fromisoformat(value))
            return instant_words(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    if field is not None and field.type == "choice":
        return value.replace("_", " ")
    return value


def item_words(definition: WorkflowDef, clock: ClockDef | None, key: str | None,
               values: Mapping[str, str]) -> tuple[str, str]:
    """(name, details) of a keyed deadline's item: ('missing episode M2', 'returned at:
    21:30 on Sunday 10 March 2024'); ('', '') when unkeyed."""
    if clock is None or not clock.keyed_by or not key:
        return "", ""
    keyed = definition.fields.get(clock.keyed_by)
    short = f"{lower_first(keyed.title) if keyed else label_for(clock.keyed_by)} {key}"
    parts = []
    for name in clock.item_fields:
        value = values.get(name)
        field = definition.fields.get(name)
        if value and field is not None and not field.personal:
            parts.append(f"{lower_first(field.title)}: {value_words(field, str(value))}")
    return short, "; ".join(parts)


__all__ = ["day_words", "due_words", "instant_words", "item_words", "lower_first", "role_words",
           "rule_words", "timing_words", "value_words", "what_to_do"]
