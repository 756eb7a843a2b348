"""Rules whose amount is a workflow parameter, and the loader's checks of them. Pure."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.core.calendar import WorkingCalendar
from engine.core.errors import DefinitionError, FieldError
from engine.core.loader import load_text
from engine.core.rules import bind_rule, compute_due, parse_rule

CAL = WorkingCalendar()
PARAMS = {"review_weeks": {"low": 12, "medium": 6, "high": 4}, "days": 10}


def test_table_rule_parses_and_binds_per_level() -> None:
    rule = parse_rule("every review_weeks[risk_level] weeks while in assessed", PARAMS)
    assert rule is not None
    assert (rule.kind, rule.param, rule.key_field, rule.state) == (
        "every_weeks", "review_weeks", "risk_level", "assessed")
    for level, weeks in (("low", 12), ("medium", 6), ("high", 4)):
        bound = bind_rule(rule, PARAMS, {"risk_level": level})
        assert bound.amount == weeks
        assert bound.text == (f"every {weeks} weeks while in assessed "
                              f"(review_weeks[risk_level], risk_level={level})")
        due = compute_due(bound, dt.date(2024, 6, 3), CAL)
        assert due.day == dt.date(2024, 6, 3) + dt.timedelta(weeks=weeks)


def test_scalar_parameter_rule() -> None:
    rule = parse_rule("days working days after concern_received_on", PARAMS)
    assert rule is not None and rule.param == "days" and rule.key_field is None
    bound = bind_rule(rule, PARAMS, {})
    assert bound.text == "10 working days after concern_received_on (days)"
    assert compute_due(bound, dt.date(2024, 6, 3), CAL).day == dt.date(2024, 6, 17)


@pytest.mark.parametrize("text", [
    "five working days after x",  # not a known parameter
    "days[risk_level] working days after x",  # a number used as a table
    "every review_weeks weeks while in assessed",  # a table used as a number
])
def test_parameter_rules_that_do_not_fit_are_rejected(text: str) -> None:
    assert parse_rule(text, PARAMS) is None
    assert parse_rule(text) is None


def test_binding_without_the_key_value_names_the_field() -> None:
    rule = parse_rule("every review_weeks[risk_level] weeks while in assessed", PARAMS)
    assert rule is not None
    with pytest.raises(FieldError, match="risk_level"):
        bind_rule(rule, PARAMS, {})


def test_plain_rules_are_unchanged() -> None:
    rule = parse_rule("every 4 weeks while in publication_deferred", PARAMS)
    assert rule is not None and rule.param is None
    assert bind_rule(rule, PARAMS, {}) is rule


BASE = """
workflow: w
version: 1
parameters:
  review_weeks: {low: 12, medium: 6, high: 4}
fields:
  opened_on: {type: date}
  level: {type: choice, choices: [low, medium, high]}
  note: {type: text}
  episode: {type: text}
open: {requires: [opened_on]}
states:
  a: {initial: true, description: a}
  b: {description: b}
  c: {final: true, description: c}
transitions:
  - {trigger: go, from: a, to: b, requires: [level, note, episode]}
  - {trigger: end, from: b, to: c}
clocks:
  review:
    rule: RULE
    met: {fire: [go]}
"""


def _load(rule: str, extra: str = "") -> object:
    return load_text(BASE.replace("RULE", rule) + extra)


def test_loader_accepts_a_table_rule_keyed_by_a_choice_field() -> None:
    definition = _load("every review_weeks[level] weeks while in b")
    assert definition.parameters["review_weeks"] == {"low": 12, "medium": 6, "high": 4}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("rule", "message"), [
    ("every review_wekes[level] weeks while in b", "unknown parameter 'review_wekes' "
     "(did you mean 'review_weeks'?)"),
    ("every review_weeks[note] weeks while in b", "field 'note' is text"),
    ("every review_weeks weeks while in b", "is a table"),
])
def test_loader_reports_bad_parameter_rules(rule: str, message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        _load(rule)
    assert any(message in str(p) for p in caught.value.problems), caught.value.problems


def test_loader_wants_a_number_for_every_choice() -> None:
    text = BASE.replace("RULE", "every review_weeks[level] weeks while in b").replace(
        "{low: 12, medium: 6, high: 4}", "{low: 12, high: 4}")
    with pytest.raises(DefinitionError, match="missing: medium"):
        load_text(text)


def test_loader_checks_keyed_by() -> None:
    text = BASE.replace("RULE", "1 working days after opened_on").replace(
        "    met: {fire: [go]}", "    starts: {fire: [go]}\n    met: {fire: [end]}\n"
        "    keyed_by: episod")
    with pytest.raises(DefinitionError) as caught:
        load_text(text)
    assert "unknown field 'episod' (did you mean 'episode'?)" in [
        p.message for p in caught.value.problems]
