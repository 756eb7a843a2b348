"""``safeguard case``: open, advance, correct, show, list and the history of cases; the
subject-access export and legal holds."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from commands._common import (
    COUNT,
    LIMIT,
    _assignments,
    _check_writable,
    _emit,
    _runtime,
    json_option,
    set_option,
    workflow_option,
)


@click.group()
def case() -> None:
    """Cases: open, advance, correct, show, list, history."""


@case.command("open")
@click.argument("workflow_name", metavar="WORKFLOW")
@click.option("--ref", required=True, help="The case reference (unique in the workflow).")
@click.option("--area", help="The partnership area the case belongs to (if more than one).")
@set_option
@click.option("--note", help="A note for the history.")
@json_option
def case_open(workflow_name: str, ref: str, area: str | None, assignments: Sequence[str],
              note: str | None, as_json: bool) -> None:
    """Open a case of WORKFLOW."""
    from engine.core.present import case_text

    runtime = _runtime()
    view = runtime.engine().open_case(workflow_name, ref, _assignments(assignments),
                                      runtime.actor_name, note, command="case open", area=area)
    _emit(as_json, view.to_json(), lambda: case_text(view))


@case.command("advance")
@click.argument("ref")
@click.argument("trigger")
@set_option
@click.option("--note", help="A note for the history.")
@click.option("--expect-version", type=COUNT, metavar="N",
              help="Refuse if the case is no longer at version N (someone else changed it).")
@workflow_option
@json_option
def case_advance(ref: str, trigger: str, assignments: Sequence[str], note: str | None,
                 expect_version: int | None, workflow: str | None, as_json: bool) -> None:
    """Fire TRIGGER on case REF."""
    from engine.core.present import case_text

    runtime = _runtime()
    view = runtime.engine().fire(ref, trigger, _assignments(assignments), runtime.actor_name,
                                 note, workflow, expect_version, command="case advance")
    _emit(as_json, view.to_json(), lambda: case_text(view))


@case.command("correct")
@click.argument("ref")
@set_option
@click.option("--note", required=True, help="Why the recorded value was wrong.")
@workflow_option
@json_option
def case_correct(ref: str, assignments: Sequence[str], note: str, workflow: str | None,
                 as_json: bool) -> None:
    """Correct recorded fields of case REF; deadlines counted from them are recomputed."""
    from engine.core.present import case_text

    runtime = _runtime()
    view = runtime.engine().correct(ref, _assignments(assignments), runtime.actor_name, note,
                                    workflow, command="case correct")
    _emit(as_json, view.to_json(), lambda: case_text(view))


@case.command("show")
@click.argument("ref")
@workflow_option
@json_option
def case_show(ref: str, workflow: str | None, as_json: bool) -> None:
    """Show case REF: state, data, deadlines and what can happen next."""
    from engine.core.present import case_text

    runtime = _runtime()
    view = runtime.engine().case(ref, runtime.actor_name, workflow, "case show")
    _emit(as_json, view.to_json(), lambda: case_text(view))


@case.command("list")
@click.option("--workflow", "-w", help="Only this workflow.")
@click.option("--state", "-s", help="Only cases in this state.")
@click.option("--overdue", is_flag=True, help="Only cases with an open deadline past due.")
@click.option("--limit", type=LIMIT, default=50, show_default=True,
              help="At most this many cases (one page).")
@click.option("--offset", type=COUNT, default=0,
              help="Skip this many cases first (the next page: --offset 50).")
@json_option
def case_list(workflow: str | None, state: str | None, overdue: bool, limit: int, offset: int,
              as_json: bool) -> None:
    """List cases with their next deadline, a page at a time (the total is shown)."""
    from engine.core.present import case_page_text

    runtime = _runtime()
    page = runtime.engine().case_page(runtime.actor_name, workflow, state, overdue,
                                      "case list", limit=limit, offset=offset)
    # JSON stays a list of the page's cases (as scripts read it); the text shows the total.
    _emit(as_json, page.to_json()["cases"], lambda: case_page_text(page))


@case.command("history")
@click.argument("ref")
@workflow_option
@json_option
def case_history(ref: str, workflow: str | None, as_json: bool) -> None:
    """Show every event of case REF, oldest first."""
    from engine.core.present import history_text

    runtime = _runtime()
    events = runtime.engine().history(ref, runtime.actor_name, workflow, "case history")
    _emit(as_json, [e.to_json() for e in events], lambda: history_text(events))


# -- access control, audit and data protection ------------------------------------------------
@case.command("export")
@click.argument("ref")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to FILE (default: stdout).")
@workflow_option
def case_export(ref: str, out: str | None, workflow: str | None) -> None:
    """Everything held about case REF, as JSON (subject access requests, transfers)."""
    runtime = _runtime()
    _check_writable(out)
    data = runtime.app().data_protection.export(ref, runtime.actor_name, workflow,
                                                "case export")
    text = json.dumps(data, indent=2, default=str)
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        click.echo(f"Wrote {out}.")
    else:
        click.echo(text)


@case.command("hold")
@click.argument("ref")
@click.option("--reason", required=True, help="Why (e.g. a public inquiry).")
@workflow_option
def case_hold(ref: str, reason: str, workflow: str | None) -> None:
    """Place a legal hold on case REF: nothing of it may be erased while held."""
    runtime = _runtime()
    runtime.app().data_protection.set_hold(ref, runtime.actor_name, reason, workflow,
                                           "case hold")
    click.echo(f"Case {ref} is on legal hold.")


@case.command("release")
@click.argument("ref")
@workflow_option
def case_release(ref: str, workflow: str | None) -> None:
    """Lift the legal hold on case REF."""
    runtime = _runtime()
    runtime.app().data_protection.set_hold(ref, runtime.actor_name, None, workflow,
                                           "case release")
    click.echo(f"Case {ref} is no longer on legal hold.")
