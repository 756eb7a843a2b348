"""Definition checking: every problem is reported with file, YAML path, line and a hint."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.core.errors import DefinitionError, Problem
from engine.core.loader import load_file, load_text
from engine.core.settings import SHIPPED_WORKFLOWS

GOOD = textwrap.dedent("""\
    workflow: tiny
    version: 1
    fields:
      started_on: {type: date}
      done_on: {type: date}
    open:
      requires: [started_on]
    states:
      waiting: {initial: true, description: waiting}
      done: {final: true, description: done}
    transitions:
      - trigger: finish
        from: waiting
        to: done
        requires: [done_on]
    clocks:
      finish_by:
        rule: 2 working days after started_on
        starts: {enter: [waiting]}
        met: {fire: [finish]}
    """)


def problems(text: str) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "tiny.yaml")
    return caught.value.problems


def test_every_shipped_workflow_loads() -> None:
    files = sorted(SHIPPED_WORKFLOWS.glob("*.yaml"))
    assert files
    for path in files:
        definition = load_file(path)
        assert definition.name == path.stem
        assert len(definition.digest) == 64


def test_a_minimal_definition_loads() -> None:
    definition = load_text(GOOD, "tiny.yaml")
    assert definition.initial_state == "waiting"
    assert definition.clocks["finish_by"].rule.amount == 2


def test_unknown_state_is_reported_with_path_line_and_suggestion() -> None:
    found = problems(GOOD.replace("to: done", "to: dnoe"))
    [problem] = [p for p in found if p.path == "transitions[0].to"]
    assert problem.path == "transitions[0].to"
    assert problem.line == 14
    assert "unknown state 'dnoe'" in problem.message
    assert "did you mean 'done'" in problem.message
    assert str(problem).startswith("tiny.yaml:14: transitions[0].to:")


def test_several_problems_are_all_reported() -> None:
    text = GOOD.replace("to: done", "to: dnoe").replace(
        "2 working days after started_on", "2 working days after strated_on")
    found = problems(text)
    paths = {p.path for p in found}
    assert {"transitions[0].to", "clocks.finish_by.rule"} <= paths


def test_unreachable_state_and_non_final_dead_end() -> None:
    text = GOOD.replace("  done: {final: true, description: done}",
                        "  done: {final: true, description: done}\n"
                        "  limbo: {description: nobody gets here}")
    found = problems(text)
    messages = [p.message for p in found if p.path == "states.limbo"]
    assert any("cannot be reached" in m for m in messages)
    assert any("dead end but not final" in m for m in messages)


def test_duplicate_trigger_from_one_state() -> None:
    text = GOOD.replace("    requires: [done_on]\n",
                        "    requires: [done_on]\n  - trigger: finish\n    from: waiting\n"
                        "    to: done\n", 1)
    [problem] = problems(text)
    assert "duplicate trigger 'finish' from state 'waiting'" in problem.message
    assert problem.path == "transitions[1]"


def test_final_state_with_exits_and_missing_initial() -> None:
    text = GOOD.replace("waiting: {initial: true, description: waiting}",
                        "waiting: {description: waiting}")
    assert any("exactly one state must be initial" in p.message for p in problems(text))
    text = GOOD.replace("from: waiting", "from: [waiting, done]")
    assert any("final state 'done' has transitions" in p.message for p in problems(text))


def test_clock_problems_unknown_field_state_trigger_and_rule() -> None:
    for old, new, expected in [
        ("2 working days after started_on", "2 fortnights after started_on", "cannot read rule"),
        ("starts: {enter: [waiting]}", "starts: {enter: [wating]}", "unknown state 'wating'"),
        ("met: {fire: [finish]}", "met: {fire: [finnish]}", "unknown trigger 'finnish'"),
        ("2 working days after started_on", "every 2 weeks while in nowhere",
         "unknown state 'nowhere'"),
    ]:
        found = problems(GOOD.replace(old, new))
        assert any(expected in p.message for p in found), (new, found)
        assert all(p.hint for p in found if expected in p.message)


def test_unknown_keys_roles_and_field_types() -> None:
    found = problems(GOOD.replace("    requires: [done_on]\n",
                                  "    requires: [done_on]\n    roels: [x]\n"))
    assert any("unknown key 'roels'" in p.message and "did you mean 'roles'" in p.message
               for p in found)
    found = problems(GOOD.replace("    requires: [done_on]\n",
                                  "    requires: [done_on]\n    roles: [case_reveiw_chair]\n"))
    assert any("unknown role 'case_reveiw_chair'" in p.message for p in found)
    found = problems(GOOD.replace("started_on: {type: date}", "started_on: {type: day}"))
    assert any(p.path == "fields.started_on.type" for p in found)


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    [problem] = problems("workflow: [unclosed\n")
    assert "not valid YAML" in problem.message
    with pytest.raises(DefinitionError, match="cannot read"):
        load_file(tmp_path / "missing.yaml")


def test_a_clock_started_on_open_must_count_from_an_opening_field() -> None:
    text = GOOD.replace("2 working days after started_on", "2 working days after done_on")
    found = problems(text)
    [problem] = [p for p in found if p.path == "clocks.finish_by.starts"]
    assert "counts from 'done_on', which opening does not require" in problem.message
    assert "fire: [finish]" in problem.hint


def test_the_rapid_review_anchor_is_configurable_as_data() -> None:
    """Some partnerships count the rapid review from the notification: a two-line change."""
    import datetime as dt

    from engine.core.calendar import WorkingCalendar
    from engine.core.deadlines import StartDeadline, plan_deadlines

    text = (SHIPPED_WORKFLOWS / "practice_review.yaml").read_text().replace(
        "    rule: 15 working days after became_aware_on\n"
        "    starts: {enter: [awaiting_notification]}",
        "    rule: 15 working days after notified_on\n"
        "    starts: {fire: [notify]}")
    definition = load_text(text, "local.yaml")
    assert definition.clocks["rapid_review"].rule.anchor == "notified_on"
    data = {"became_aware_on": "2024-06-03", "notified_on": "2024-06-07"}
    ops = plan_deadlines(definition, "notify", "rapid_review", "rapid_review",
                         {"became_aware_on": "2024-06-03"}, data, [],
                         dt.datetime(2024, 6, 7, 9, tzinfo=dt.UTC), WorkingCalendar())
    [start] = [o for o in ops if isinstance(o, StartDeadline)]
    assert (start.name, start.due.day) == ("rapid_review", dt.date(2024, 6, 28))


def test_via_names_the_domain_command_that_owns_a_trigger() -> None:
    text = GOOD.replace("    requires: [done_on]\n",
                        '    requires: [done_on]\n    via: "safeguard tiny finish"\n')
    definition = load_text(text, "tiny.yaml")
    assert definition.transitions[0].via == "safeguard tiny finish"
    assert definition.via_for("finish") == "safeguard tiny finish"
    assert definition.via_for("nothing") is None
    assert load_text(GOOD, "tiny.yaml").via_for("finish") is None  # generic by default


@pytest.mark.parametrize("value", ["3", "[safeguard, tiny]", '""', '"finish"',
                                   '"safeguard tiny\\nfinish"', '"Safeguard Tiny Finish"'])
def test_a_bad_via_is_reported_with_file_and_line(value: str) -> None:
    text = GOOD.replace("    requires: [done_on]\n",
                        f"    requires: [done_on]\n    via: {value}\n")
    [problem] = problems(text)
    assert problem.path == "transitions[0].via"
    assert problem.line == 16
    assert str(problem).startswith("tiny.yaml:16: transitions[0].via: 'via' must name the "
                                   "command that records 'finish'")
    assert "safeguard mace decide" in problem.hint


def test_every_transition_of_a_trigger_has_the_same_via() -> None:
    text = GOOD.replace("  waiting: {initial: true, description: waiting}\n",
                        "  waiting: {initial: true, description: waiting}\n"
                        "  paused: {description: paused}\n").replace(
        "    requires: [done_on]\n",
        '    requires: [done_on]\n    via: "safeguard tiny finish"\n'
        "  - trigger: finish\n    from: paused\n    to: done\n    requires: [done_on]\n"
        "  - trigger: pause\n    from: waiting\n    to: paused\n")
    [problem] = problems(text)
    assert problem.path == "transitions[1]" and problem.line == 18
    assert "'finish' is owned by 'safeguard tiny finish' on another transition but by " \
        "'(no command)' here" in problem.message


# The triggers whose domain keeps records or rules beyond the case row, and their commands.
DOMAIN_OWNED = {
    "mace_meeting": {
        "publish_agenda": "safeguard mace publish",
        "reschedule": "safeguard mace reschedule",
        "cancel": "safeguard mace cancel",
        "hold": "safeguard mace hold",
        "record_decision": "safeguard mace decide",
        "add_action": "safeguard mace action add",
        "complete_action": "safeguard mace action done",
        "drop_action": "safeguard mace action drop",
        "close": "safeguard mace close",
    },
    "cerar": {
        "change_risk_level": "safeguard cerar level",
        "record_missing_episode": "safeguard cerar missing",
        "record_rhi": "safeguard cerar rhi",
    },
    "practice_review": {},
}


def test_the_shipped_workflows_mark_exactly_the_domain_owned_triggers() -> None:
    for name, owned in DOMAIN_OWNED.items():
        definition = load_file(SHIPPED_WORKFLOWS / f"{name}.yaml")
        assert {t.trigger: t.via for t in definition.transitions if t.via} == owned, name


def test_plan_and_date_keys_on_a_clock_are_checked() -> None:
    plan = GOOD.replace("    met: {fire: [finish]}\n",
                        "    met: {fire: [finish]}\n"
                        "    plan: {summary: done_on, owner: nobody}\n"
                        "    not_before_start: sometimes\n"
                        "    changed_on: done_on\n")
    found = {(p.path, p.message.split(":")[0]) for p in problems(plan)}
    paths = {path for path, _ in found}
    assert {"clocks.finish_by.plan", "clocks.finish_by.plan.owner",
            "clocks.finish_by.not_before_start", "clocks.finish_by.changed_on"} <= paths
    # The shipped ones: the practice review's action plan, the agenda's floor, the review's
    # rescheduling from the day of a level change.
    review = load_file(SHIPPED_WORKFLOWS / "practice_review.yaml").clocks["action"]
    assert review.plan is not None and review.plan.reason == "action_drop_reason"
    assert load_file(SHIPPED_WORKFLOWS / "mace_meeting.yaml").clocks["agenda"].not_before_start
    assert load_file(SHIPPED_WORKFLOWS / "cerar.yaml").clocks["review"].changed_on == \
        "level_changed_on"
