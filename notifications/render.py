"""Render notification templates: subject, plain text and HTML, from an allow-listed context.

Templates live in ``notifications/templates/`` as ``NAME.subject.txt``, ``NAME.txt`` and
``NAME.html``. They run in Jinja2's sandbox with :class:`StrictUndefined` (a missing variable
is an error, not an empty string), HTML parts autoescaped (:mod:`notifications.jinja`, loaded
when the first email is rendered: listing the outbox or the alerts needs no template engine).

Privacy: email is not secure. A template never sees case data: :func:`alert_context` is built
from the definition (workflow, stage, deadline and what to do), the case reference, the due
date and a link; :func:`render` refuses any key outside :data:`ALLOWED_KEYS`. No field of the
case (personal or free text) can reach a subject, body or header.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core import wording
from engine.core.calendar import WorkingCalendar
from engine.core.clock import end_of_day, start_of_day
from engine.core.definition import ASSIGNEE, WorkflowDef, label_for
from engine.core.errors import TemplateError
from engine.core.wording import (
    day_words,
    instant_words,
    item_words,
    role_words,
    rule_words,
    timing_words,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"

# What a template may be given. Nothing here comes from a case's data fields, except a keyed
# deadline's ``item``: the non-personal fields its clock's ``item_fields`` name (an action's
# summary, an episode's return time), so an email says which action or episode it is about.
ALLOWED_KEYS = frozenset({
    "case_ref", "workflow", "workflow_title", "stage", "stage_description", "deadline",
    "what_to_do", "rule", "due_date", "due_iso", "working_days_left", "kind", "link",
    "recipient_role", "today", "items", "base_url", "item", "item_short", "what",
    "what_full", "due_when", "timing", "overdue", "days_late", "by_time",
    "new_items", "overdue_items", "soon_items", "last_digest", "meeting_when",
})


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def template_names() -> list[str]:
    return sorted(p.name[: -len(".subject.txt")] for p in TEMPLATES.glob("*.subject.txt"))


def render(name: str, context: Mapping[str, Any]) -> Rendered:
    """Subject (one line), text and HTML of template ``name``; TemplateError if it fails."""
    extra = set(context) - ALLOWED_KEYS
    if extra:
        raise TemplateError(name, f"context keys not allowed in email: {sorted(extra)}")
    from notifications import jinja  # the template engine, when an email is rendered

    try:
        parts = [template.render(**context) for template in jinja.templates(name)]
    except jinja.TemplateNotFound as exc:
        raise TemplateError(name, f"no template file {exc.name}", template_names()) from None
    except jinja.JinjaTemplateError as exc:
        raise TemplateError(name, str(exc)) from None
    subject = " ".join(parts[0].split())
    return Rendered(subject[:300], parts[1], parts[2])


def show_day(day: dt.date) -> str:
    return day_words(day)


def alert_context(definition: WorkflowDef, case_ref: str, state: str, deadline: str,
                  due_day: dt.date, today: dt.date, kind: str, recipient_role: str,
                  base_url: str, cal: WorkingCalendar, rule: str = "", *,
                  due_at: dt.datetime | None = None, now: dt.datetime | None = None,
                  key: str | None = None,
                  item_values: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The whole of what an alert email may say, in words: what is due (the clock's label,
    and for a keyed deadline its item), for which case, when (a time for hour rules), how
    far off or overdue, the rule and what to do. Built from the definition, the deadline
    and a keyed deadline's non-personal item fields; never other case data.

    ``due_at``: the deadline's instant (hour rules show its time); ``now``: the moment the
    email speaks of (default: the start of ``today``).
    """
    clock = definition.clocks.get(deadline)
    stage = definition.states.get(state)
    hourly = clock is not None and clock.rule.kind == "hours_after" and due_at is not None
    at = due_at if due_at is not None else end_of_day(due_day)
    moment = now if now is not None else start_of_day(today)
    label = clock.title if clock else label_for(deadline)
    short, details = item_words(definition, clock, key, item_values or {})
    full = short + (f" ({details})" if details else "")
    if not short:  # 'rapid review'
        what = what_full = label
    elif short.lower().startswith(label.lower()):  # 'action A3 (summary: ...)'
        what, what_full = short, full
    else:  # 'return home interview (missing episode M2, returned at: ...)'
        what = f"{label} ({short})"
        what_full = f"{label} ({short}" + (f", {details})" if details else ")")
    timing, late = timing_words(at, None if hourly else due_day, moment, cal)
    return {
        "case_ref": case_ref,
        "workflow": definition.name,
        "workflow_title": definition.title,
        "stage": state,
        "stage_description": stage.description if stage else label_for(state),
        "deadline": label,
        "item": full,
        "item_short": short,
        "what": what,
        "what_full": what_full,
        "what_to_do": wording.what_to_do(definition, clock) or label,
        "rule": rule_words(definition, clock, rule),
        "due_date": show_day(due_day),
        "due_when": instant_words(at) if hourly else show_day(due_day),
        "by_time": hourly,
        "due_iso": due_day.isoformat(),
        "working_days_left": cal.working_days_between(today, due_day),
        "timing": timing,
        "overdue": timing.startswith("overdue"),
        "days_late": late,
        "kind": kind,
        "link": f"{base_url}/cases/{case_ref}",
        "recipient_role": ("the person responsible for it" if recipient_role == ASSIGNEE
                           else role_words(recipient_role)),
        "today": show_day(today),
    }


__all__ = ["ALLOWED_KEYS", "Rendered", "alert_context", "render", "show_day",
           "template_names"]
