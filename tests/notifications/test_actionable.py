"""Emails a chair can act on (issue 14): every alert email says what is due, for which case,
when (a time for hour clocks) and what to do, in words; a keyed deadline's email names its
item (an action's reference and summary, a missing episode's return time); no identifier of
a field, clock, rule, parameter, state or trigger reaches any email text.

Rendered for every clock of every shipped workflow and every alert template (pure), and read
back from the demonstration year's outbox.
"""

from __future__ import annotations

import datetime as dt
import email
import re
from email.message import Message

import pytest

from engine.core.calendar import WorkingCalendar
from engine.core.definition import WorkflowDef
from engine.core.registry import WorkflowRegistry
from engine.core.settings import SHIPPED_WORKFLOWS
from engine.core.wording import rule_words, timing_words
from notifications.render import alert_context, render
from tests.conftest import DemoYear

REGISTRY = WorkflowRegistry.from_directory(SHIPPED_WORKFLOWS)
KINDS = ("reminder", "due", "overdue", "escalation")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
ITEM_VALUES = {"action_summary": "chase the school attendance figures",
               "action_owner_agency": "Education", "action_owner": "amy",
               "action_agency": "education", "returned_at": "2024-03-10T21:30:00+00:00"}


def identifiers(definition: WorkflowDef) -> set[str]:
    names = {*definition.fields, *definition.clocks, *definition.parameters,
             *definition.states, *definition.triggers}
    return {n for n in names if "_" in n}


def _words_only(text: str) -> str:
    """The text without its links (a URL may hold anything)."""
    return re.sub(r"https?://\S+", "", text)


def _cases() -> list[tuple[str, str, str]]:
    return [(w, c, k) for w in REGISTRY.names() for c in REGISTRY.get(w).clocks
            for k in KINDS]


@pytest.mark.parametrize(("workflow", "clock", "kind"), _cases())
def test_every_alert_email_is_in_words(workflow: str, clock: str, kind: str) -> None:
    definition = REGISTRY.get(workflow)
    spec = definition.clocks[clock]
    hourly = spec.rule.kind == "hours_after"
    due_at = dt.datetime(2024, 3, 13, 21, 30, tzinfo=dt.UTC)
    due_day = dt.date(2024, 3, 13)
    now = {"reminder": dt.datetime(2024, 3, 11, 7, tzinfo=dt.UTC),
           "due": dt.datetime(2024, 3, 13, 7, tzinfo=dt.UTC),
           "overdue": dt.datetime(2024, 3, 14, 7, tzinfo=dt.UTC),
           "escalation": dt.datetime(2024, 3, 18, 7, tzinfo=dt.UTC)}[kind]
    bound = spec.rule.text.replace(spec.rule.param or "\0", "72") if spec.rule.param \
        and not spec.rule.key_field else spec.rule.text
    context = alert_context(
        definition, "C-1001", definition.initial_state, clock, due_day, now.date(), kind,
        "assignee" if spec.keyed_by else (spec.owner or "partnership_manager"),
        "https://sg.example.org", WorkingCalendar(), bound,
        due_at=due_at if hourly else None, now=now,
        key="A3" if spec.keyed_by == "action_ref" else ("M2" if spec.keyed_by else None),
        item_values=ITEM_VALUES)
    out = render(kind, context)
    first = out.text.splitlines()[0]
    for text in (out.subject, out.text, out.html):
        words = _words_only(text)
        assert not SNAKE.findall(words), (workflow, clock, kind, SNAKE.findall(words))
        assert not identifiers(definition) & set(re.findall(r"[a-z0-9_]+", words))
    for line in (out.subject, first):  # what, which case, when, what to do
        assert "C-1001" in line
        assert spec.title.lower() in line.lower() or (spec.keyed_by and "A3" in line)
        assert ("21:30 on Wednesday 13 March 2024" if hourly
                else "Wednesday 13 March 2024") in line
        assert context["what_to_do"] in line
    assert not re.search(r"[ (]-\d", _words_only(out.text)), "a negative count"
    if spec.keyed_by == "action_ref":
        assert "action A3" in out.subject and "chase the school attendance figures" in first
    if spec.keyed_by == "episode":
        assert "return home interview (missing episode M2) for C-1001" in out.subject
        assert "(missing episode M2, returned at: 21:30 on Sunday 10 March 2024)" in first


def test_rules_in_words() -> None:
    cerar, mace = REGISTRY.get("cerar"), REGISTRY.get("mace_meeting")
    assert rule_words(cerar, cerar.clocks["rhi"], "72 hours after returned_at (rhi_hours)") \
        == "72 hours after the time the child returned"
    assert rule_words(mace, mace.clocks["action"], "0 working days after action_due_on") \
        == "on the day the action is due"
    assert rule_words(cerar, cerar.clocks["review"], "every 6 weeks while in assessed "
                      "(review_weeks[risk_level], risk_level=medium)") \
        == "every 6 weeks while the case is assessed"


def test_counts_are_never_negative() -> None:
    cal = WorkingCalendar()
    due = dt.datetime(2024, 6, 10, 23, tzinfo=dt.UTC)
    assert timing_words(due, dt.date(2024, 6, 10), dt.datetime(2024, 6, 24, 8, tzinfo=dt.UTC),
                        cal) == ("overdue by 10 working days", 10)
    assert timing_words(due, None, dt.datetime(2024, 6, 11, 4, tzinfo=dt.UTC), cal)[0] \
        == "overdue by 5 hours"
    assert timing_words(due, None, dt.datetime(2024, 6, 10, 20, tzinfo=dt.UTC), cal)[0] \
        == "3 hours left"
    assert timing_words(due, dt.date(2024, 6, 10), dt.datetime(2024, 6, 10, 8,
                                                               tzinfo=dt.UTC), cal)[0] \
        == "due today"


def _text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    return ""


def test_the_demo_years_emails_are_in_words(demo_year: DemoYear) -> None:
    names = set().union(*(identifiers(REGISTRY.get(w)) for w in REGISTRY.names()))
    keyed = {"action": 0, "episode": 0}
    files = sorted(demo_year.emails.glob("*.eml"))
    assert files
    for path in files:
        message = email.message_from_bytes(path.read_bytes())
        subject, text = str(message["Subject"]), _text(message)
        words = _words_only(f"{subject}\n{text}")
        assert not SNAKE.findall(words), (path.name, SNAKE.findall(words))
        assert not names & set(re.findall(r"[a-z0-9_]+", words)), path.name
        if message["Subject"].startswith(("Reminder", "Due", "Overdue", "Escalation")):
            first = text.splitlines()[0]
            if " action A" in subject:  # the action's reference and its summary
                keyed["action"] += 1
                assert "(summary: " in first, path.name
            if "return home interview" in subject:  # the episode and its return time
                keyed["episode"] += 1
                assert re.search(r"\(missing episode M\d+, returned at: \d\d:\d\d on ",
                                 first), path.name
                assert re.search(r"by \d\d:\d\d on ", subject), path.name
    assert keyed["action"] > 20 and keyed["episode"] > 10, keyed
