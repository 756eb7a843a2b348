"""``safeguard cerar``: CERAR cases of children at risk of exploitation: screening, the risk
assessment, levels, reviews, missing episodes and return home interviews, placements, step
down and close."""

from __future__ import annotations

from typing import Any

import click

from commands._common import (
    _app,
    _day,
    _emit,
    _runtime,
    day_option,
    json_option,
)


def _cerar() -> Any:
    return _app().cerar


def _emit_child(as_json: bool, view: Any) -> None:
    from engine.domains.mace.present import child_text

    _emit(as_json, view.to_json(), lambda: child_text(view))


def _cerar_fire(ref: str, trigger: str, values: dict[str, str], note: str | None,
                as_json: bool) -> None:
    view = _cerar().fire(ref, trigger, values, _runtime().actor_name, note)
    _emit_child(as_json, view)


note_option = click.option("--note", help="A note for the history (no names).")


@click.group()
def cerar() -> None:
    """CERAR: children at risk of exploitation, levels, reviews, missing episodes."""


@cerar.command("open")
@click.option("--child", "child_ref", required=True, help="The child's reference (no names).")
@click.option("--concern-on", required=True, metavar="DATE", help="The day the concern came.")
@click.option("--agency", required=True, help="The referring agency.")
@click.option("--area", required=True, help="The partnership area.")
@click.option("--ref", help="The case reference (default CE-CHILD).")
@click.option("--name", "child_name", help="The child's name (personal: never on agendas).")
@note_option
@json_option
def cerar_open(child_ref: str, concern_on: str, agency: str, area: str, ref: str | None,
               child_name: str | None, note: str | None, as_json: bool) -> None:
    """Open a CERAR case from a screened concern."""
    extra = {"child_name": child_name} if child_name else {}
    view = _cerar().open(child_ref, concern_on, agency, area, _runtime().actor_name, ref,
                         extra, note)
    _emit_child(as_json, view)


@cerar.command("screen")
@click.argument("ref")
@day_option
@note_option
@json_option
def cerar_screen(ref: str, on: str | None, note: str | None, as_json: bool) -> None:
    """Screen the concern in: the initial risk assessment is due."""
    _cerar_fire(ref, "screen", {"screened_on": _day(on).isoformat()}, note, as_json)


@cerar.command("assess")
@click.argument("ref")
@click.option("--level", required=True, type=click.Choice(["low", "medium", "high"]))
@day_option
@note_option
@json_option
def cerar_assess(ref: str, level: str, on: str | None, note: str | None, as_json: bool) -> None:
    """Record the initial risk assessment meeting and the level of concern."""
    _cerar_fire(ref, "assess", {"assessed_on": _day(on).isoformat(), "risk_level": level},
                note, as_json)


@cerar.command("level")
@click.argument("ref")
@click.option("--level", required=True, type=click.Choice(["low", "medium", "high"]))
@click.option("--reason", required=True, help="Why the level changed.")
@click.option("--on", "on", metavar="DATE",
              help="The day it changed (default: today; not to come, not before the case "
                   "opened): the next review counts from it.")
@json_option
def cerar_level(ref: str, level: str, reason: str, on: str | None, as_json: bool) -> None:
    """Change the level of concern; the next review is rescheduled from the day of the change."""
    values = {"risk_level": level, "level_change_reason": reason}
    if on:
        values["level_changed_on"] = on
    _cerar_fire(ref, "change_risk_level", values, None, as_json)


@cerar.command("review")
@click.argument("ref")
@day_option
@click.option("--outcome", help="What the review concluded (no names).")
@json_option
def cerar_review(ref: str, on: str | None, outcome: str | None, as_json: bool) -> None:
    """Record a review; the next one is due at the level's interval."""
    values = {"reviewed_on": _day(on).isoformat()}
    if outcome:
        values["review_note"] = outcome
    _cerar_fire(ref, "record_review", values, None, as_json)


@cerar.command("flag")
@click.argument("ref")
@click.option("--off", is_flag=True, help="Stop listing the child at MACE.")
@click.option("--reason", help="Why the child is listed.")
@json_option
def cerar_flag(ref: str, off: bool, reason: str | None, as_json: bool) -> None:
    """List a low-concern child at MACE (medium and high are listed anyway)."""
    values = {"mace_flag": "no" if off else "yes"}
    if reason:
        values["mace_flag_reason"] = reason
    _cerar_fire(ref, "flag_for_mace", values, None, as_json)


@cerar.command("missing")
@click.argument("ref")
@click.option("--from", "went", required=True, metavar="DATETIME", help="Went missing at.")
@click.option("--returned", required=True, metavar="DATETIME", help="Returned at.")
@note_option
@json_option
def cerar_missing(ref: str, went: str, returned: str, note: str | None, as_json: bool) -> None:
    """Record a missing episode: an RHI is due 72 hours after the return."""
    view = _cerar().record_missing(ref, went, returned, _runtime().actor_name, note)
    _emit_child(as_json, view)


@cerar.command("rhi")
@click.argument("ref")
@click.argument("episode")
@click.option("--outcome", required=True, type=click.Choice(["held", "declined"]))
@click.option("--at", "at", required=True, metavar="DATETIME", help="When it was held/declined.")
@click.option("--note", help="The reason, when declined (no names).")
@json_option
def cerar_rhi(ref: str, episode: str, outcome: str, at: str, note: str | None,
              as_json: bool) -> None:
    """Record the return home interview of EPISODE (M1, M2, ...)."""
    view = _cerar().record_rhi(ref, episode, outcome, at, _runtime().actor_name, note)
    _emit_child(as_json, view)


@cerar.command("strategy-meeting")
@click.argument("ref")
@day_option
@json_option
def cerar_strategy_meeting(ref: str, on: str | None, as_json: bool) -> None:
    """Record the strategy meeting held after repeated missing episodes."""
    _cerar_fire(ref, "record_strategy_meeting",
                {"strategy_meeting_held_on": _day(on).isoformat()}, None, as_json)


@cerar.command("placement")
@click.argument("ref")
@click.option("--placed-in-area-by", "placing", metavar="LA", help="The placing authority.")
@click.option("--placed-out-of-area-in", "host", metavar="LA", help="The host authority.")
@click.option("--none", "clear", is_flag=True, help="No cross-boundary placement.")
@json_option
def cerar_placement(ref: str, placing: str | None, host: str | None, clear: bool,
                    as_json: bool) -> None:
    """Record a placement in the area by another LA, or out of the area."""
    from engine.core.errors import UsageError

    if sum(map(bool, (placing, host, clear))) != 1:
        raise UsageError("give one of --placed-in-area-by LA, --placed-out-of-area-in LA, "
                         "--none")
    values = {"placement": "none"}
    if placing:
        values = {"placement": "placed_in_area", "placing_authority": placing}
    elif host:
        values = {"placement": "placed_out_of_area", "host_authority": host}
    _cerar_fire(ref, "set_placement", values, None, as_json)


@cerar.command("step-down")
@click.argument("ref")
@click.option("--to", "to", required=True, type=click.Choice(["single_agency", "early_help"]))
@click.option("--service", required=True, help="The receiving service.")
@day_option
@json_option
def cerar_step_down(ref: str, to: str, service: str, on: str | None, as_json: bool) -> None:
    """Step the plan down; the case's open deadlines end."""
    _cerar_fire(ref, "step_down", {"stepped_down_on": _day(on).isoformat(), "step_down_to": to,
                                   "receiving_service": service}, None, as_json)


@cerar.command("close")
@click.argument("ref")
@click.option("--reason", required=True, help="Why the case is closed.")
@day_option
@json_option
def cerar_close(ref: str, reason: str, on: str | None, as_json: bool) -> None:
    """Close the case; its open deadlines end."""
    _cerar_fire(ref, "close", {"closed_on": _day(on).isoformat(), "close_reason": reason},
                None, as_json)


@cerar.command("show")
@click.argument("ref")
@json_option
def cerar_show(ref: str, as_json: bool) -> None:
    """Show a CERAR case with its deadlines and missing episodes."""
    _emit_child(as_json, _cerar().show(ref, _runtime().actor_name))


@cerar.command("list")
@click.option("--all", "include_closed", is_flag=True, help="Include closed cases.")
@click.option("--level", type=click.Choice(["low", "medium", "high"]), help="Only this level.")
@click.option("--review-before", metavar="DATE", help="Only reviews due before DATE.")
@json_option
def cerar_list(include_closed: bool, level: str | None, review_before: str | None,
               as_json: bool) -> None:
    """The children, by level of concern and next review."""
    from engine.domains.mace.present import children_text

    rows = _cerar().children(_runtime().actor_name, include_closed, level,
                             _day(review_before) if review_before else None)
    _emit(as_json, [r.to_json() for r in rows], lambda: children_text(rows))
