"""Render notification templates: subject, plain text and HTML, from an allow-listed context.

Templates live in ``notifications/templates/`` as ``NAME.subject.txt``, ``NAME.txt`` and
``NAME.html``. They run in Jinja2's sandbox with :class:`StrictUndefined` (a missing variable
is an error, not an empty string), HTML parts autoescaped.

Privacy: email is not secure. A template never sees case data: :func:`alert_context` is built
from the definition (workflow, stage, deadline and what to do), the case reference, the due
date and a link; :func:`render` refuses any key outside :data:`ALLOWED_KEYS`. No field of the
case (personal or free text) can reach a subject, body or header.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.sandbox import SandboxedEnvironment

from engine.core.calendar import WorkingCalendar
from engine.core.definition import WorkflowDef
from engine.core.errors import TemplateError

TEMPLATES = Path(__file__).resolve().parent / "templates"

# What a template may be given. Nothing here comes from a case's data fields.
ALLOWED_KEYS = frozenset({
    "case_ref", "workflow", "workflow_title", "stage", "stage_description", "deadline",
    "what_to_do", "rule", "due_date", "due_iso", "working_days_left", "kind", "link",
    "recipient_role", "today", "items", "base_url",
})


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


@lru_cache(maxsize=64)
def _templates(name: str) -> tuple[Template, Template, Template]:
    env = environment()
    subject, text, html = (env.get_template(f"{name}.{suffix}")
                           for suffix in ("subject.txt", "txt", "html"))
    return subject, text, html


def template_names() -> list[str]:
    return sorted(p.name[: -len(".subject.txt")] for p in TEMPLATES.glob("*.subject.txt"))


def render(name: str, context: Mapping[str, Any]) -> Rendered:
    """Subject (one line), text and HTML of template ``name``; TemplateError if it fails."""
    extra = set(context) - ALLOWED_KEYS
    if extra:
        raise TemplateError(name, f"context keys not allowed in email: {sorted(extra)}")
    try:
        parts = [template.render(**context) for template in _templates(name)]
    except TemplateNotFound as exc:
        raise TemplateError(name, f"no template file {exc.name}", template_names()) from None
    except JinjaTemplateError as exc:
        raise TemplateError(name, str(exc)) from None
    subject = " ".join(parts[0].split())
    return Rendered(subject[:300], parts[1], parts[2])


def show_day(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def alert_context(definition: WorkflowDef, case_ref: str, state: str, deadline: str,
                  due_day: dt.date, today: dt.date, kind: str, recipient_role: str,
                  base_url: str, cal: WorkingCalendar, rule: str = "") -> dict[str, Any]:
    """The whole of what an alert email may say. Built from the definition, never case data."""
    clock = definition.clocks.get(deadline)
    stage = definition.states.get(state)
    return {
        "case_ref": case_ref,
        "workflow": definition.name,
        "workflow_title": definition.title,
        "stage": state,
        "stage_description": stage.description if stage else state,
        "deadline": deadline,
        "what_to_do": clock.description if clock and clock.description else deadline,
        "rule": rule or (clock.rule.text if clock else ""),
        "due_date": show_day(due_day),
        "due_iso": due_day.isoformat(),
        "working_days_left": cal.working_days_between(today, due_day),
        "kind": kind,
        "link": f"{base_url}/cases/{case_ref}",
        "recipient_role": recipient_role.replace("_", " "),
        "today": show_day(today),
    }


__all__ = ["ALLOWED_KEYS", "Rendered", "alert_context", "render", "show_day",
           "template_names"]
