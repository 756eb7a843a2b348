"""Unit tests of rendering: every template renders; undefined variables and keys outside the
allow-list are errors; HTML is escaped. Pure, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.core.calendar import WorkingCalendar
from engine.core.errors import TemplateError
from engine.core.registry import WorkflowRegistry
from engine.core.settings import SHIPPED_WORKFLOWS
from notifications.render import ALLOWED_KEYS, alert_context, render, template_names

DEFINITION = WorkflowRegistry.from_directory(SHIPPED_WORKFLOWS).get("practice_review")


def context(**over: object) -> dict[str, object]:
    base = alert_context(DEFINITION, "PR-1", "rapid_review", "rapid_review",
                         dt.date(2024, 6, 24), dt.date(2024, 6, 17), "reminder",
                         "case_review_chair", "https://sg.example.org", WorkingCalendar())
    base.update(over)
    return base


def test_every_template_has_three_parts_and_renders() -> None:
    names = template_names()
    assert {"reminder", "due", "overdue", "escalation", "digest", "case_event"} <= set(names)
    for name in names:
        ctx: dict[str, object] = context()
        if name == "digest":
            ctx = {"items": [context()], "today": "Monday 17 June 2024",
                   "base_url": "https://sg.example.org", "new_items": [context()],
                   "overdue_items": [], "soon_items": [], "last_digest": ""}
        out = render(name, ctx)
        assert out.subject and "\n" not in out.subject
        assert "PR-1" in out.text and "PR-1" in out.html


def test_reminder_says_case_stage_due_date_and_what_to_do() -> None:
    out = render("reminder", context())
    assert out.subject == ("Reminder: rapid review for PR-1 due by Monday 24 June 2024: "
                           "complete the rapid review and send it, with the partners' "
                           "decision, to the Panel")
    assert "5 working days left" in out.text
    assert "the partners are carrying out the rapid review" in out.text
    assert "15 working days after the day the local authority became aware" in out.text
    assert "https://sg.example.org/cases/PR-1" in out.text


def test_undefined_variable_is_an_error() -> None:
    ctx = context()
    del ctx["due_when"]
    with pytest.raises(TemplateError, match="due_when"):
        render("reminder", ctx)


def test_keys_outside_the_allow_list_are_refused() -> None:
    assert "data" not in ALLOWED_KEYS and "child_ref" not in ALLOWED_KEYS
    with pytest.raises(TemplateError, match="not allowed"):
        render("reminder", context(child_name="X"))


def test_unknown_template_names_near_miss() -> None:
    with pytest.raises(TemplateError, match="did you mean 'reminder'"):
        render("remindr", context())


def test_html_is_escaped_text_is_not() -> None:
    out = render("due", context(case_ref="A<b>&"))
    assert "A&lt;b&gt;&amp;" in out.html and "A<b>&" in out.text


def test_templates_cannot_reach_python_internals() -> None:
    from notifications.jinja import environment

    template = environment().from_string("{{ case_ref.__class__.__mro__ }}")
    with pytest.raises(Exception, match=r"unsafe|not safely"):
        template.render(case_ref="x")


def test_inlined_includes_render_as_jinja_includes_them() -> None:
    """Templates are loaded with their includes inlined (one context per email, not one per
    include): every part of every template renders exactly as Jinja's own include does."""
    from jinja2 import FileSystemLoader

    from notifications.jinja import environment
    from notifications.render import TEMPLATES

    inlined = environment()
    plain = inlined.overlay(loader=FileSystemLoader(str(TEMPLATES)), cache_size=0)
    assert "include" not in inlined.loader.get_source(inlined, "reminder.txt")[0]  # type: ignore[union-attr]
    digest = {"items": [context(), context(overdue=True)], "today": "Monday 17 June 2024",
              "base_url": "https://sg.example.org", "new_items": [context()],
              "overdue_items": [context(overdue=True)], "soon_items": [],
              "last_digest": "Monday 10 June 2024"}
    for name in template_names():
        for suffix in ("subject.txt", "txt", "html"):
            ctx = digest if name == "digest" else context(meeting_when="Monday 10 June")
            want = plain.get_template(f"{name}.{suffix}").render(**ctx)
            assert inlined.get_template(f"{name}.{suffix}").render(**ctx) == want, name
