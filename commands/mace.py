"""``safeguard mace``: MACE meeting series, meetings, agendas, attendance, decisions, actions
and iCalendar invitations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from commands._common import (
    _app,
    _check_writable,
    _day,
    _emit,
    _runtime,
    day_option,
    json_option,
)


def _mace() -> Any:
    return _app().mace


def _actor() -> str:
    return _runtime().actor_name


def _write_ics(out: str, payload: bytes) -> None:
    if out == "-":
        click.echo(payload.decode("utf-8"), nl=False)
        return
    try:
        with open(out, "wb") as handle:
            handle.write(payload)
    except OSError as exc:
        from engine.core.errors import UsageError

        raise UsageError(f"cannot write {out}: {exc.strerror}") from None


@click.group()
def mace() -> None:
    """MACE: meeting series, agendas, records, actions and invitations."""


@mace.group("series")
def mace_series() -> None:
    """MACE meeting series: create, change, show, list, invite."""


@mace_series.command("create")
@click.option("--name", required=True, help="The series name.")
@click.option("--every", required=True, help="2w (fortnightly), 4w or 1m (monthly).")
@click.option("--weekday", required=True, help="monday ... friday.")
@click.option("--time", "at", required=True, metavar="HH:MM", help="Start (Europe/London).")
@click.option("--chair", required=True, metavar="USER")
@click.option("--member", "members", multiple=True, metavar="USER", help="Repeatable.")
@click.option("--starts-on", metavar="DATE", help="First possible day (default today).")
@click.option("--duration", default=120, show_default=True, help="Minutes.")
@click.option("--location", help="Where it meets (or the video link).")
@click.option("--horizon-days", default=90, show_default=True, help="Generate this far ahead.")
@click.option("--on-holiday", default="next", show_default=True,
              type=click.Choice(["skip", "next", "previous"]),
              help="A meeting on a bank holiday is skipped or moved.")
@click.option("--area", help="The partnership area it covers (if there is more than one).")
@click.option("--use", default="mace", show_default=True, type=click.Choice(["mace", "cdop"]),
              help="What its meetings are for: MACE, or the Child Death Overview Panel "
                   "(coordinated by the CDOP coordinator, chaired by the CDOP chair; "
                   "meetings CDOP-NAME-DATE, agendas of the deaths ready for review).")
@json_option
def mace_series_create(name: str, every: str, weekday: str, at: str, chair: str,
                       members: Sequence[str], starts_on: str | None, duration: int,
                       location: str | None, horizon_days: int, on_holiday: str,
                       area: str | None, use: str, as_json: bool) -> None:
    """Create a recurring MACE (or CDOP) series and generate its meetings ahead."""
    from engine.domains.mace.present import series_text

    view = _mace().create_series(
        name, every, weekday, at, chair, members, _runtime().actor_name,
        _day(starts_on) if starts_on else None, duration, location, horizon_days, on_holiday,
        area, use)
    _emit(as_json, view.to_json(), lambda: series_text(view))


@mace_series.command("change")
@click.argument("name")
@click.option("--every", help="New frequency: 2w, 4w or 1m.")
@click.option("--weekday", help="New weekday.")
@click.option("--time", "at", metavar="HH:MM", help="New start time.")
@click.option("--from", "from_date", metavar="DATE", help="Effective from (default today).")
@click.option("--chair", metavar="USER")
@click.option("--member", "members", multiple=True, metavar="USER",
              help="The new member list (repeatable).")
@json_option
def mace_series_change(name: str, every: str | None, weekday: str | None, at: str | None,
                       from_date: str | None, chair: str | None, members: Sequence[str],
                       as_json: bool) -> None:
    """Change a series; meetings before the change, and held ones, are untouched.

    Meetings a new rule drops are cancelled (CANCEL) before its meetings are invited; a new
    time alone moves each meeting to come; people who leave get a CANCEL of each."""
    from engine.domains.mace.present import series_text

    view = _mace().change_series(name, _runtime().actor_name, every, weekday, at,
                                 _day(from_date) if from_date else None, chair,
                                 list(members) if members else None)
    _emit(as_json, view.to_json(), lambda: series_text(view))


@mace_series.command("show")
@click.argument("name")
@json_option
def mace_series_show(name: str, as_json: bool) -> None:
    """Show a series and its meetings."""
    from engine.domains.mace.present import series_text

    view = _mace().series(name, _actor())
    _emit(as_json, view.to_json(), lambda: series_text(view))


@mace_series.command("list")
@json_option
def mace_series_list(as_json: bool) -> None:
    """List the series."""
    views = _mace().all_series(_actor())
    _emit(as_json, [v.to_json() for v in views], lambda: "\n".join(
        f"{v.name}: every {v.every}, {len(v.meetings)} meeting(s)" for v in views)
        or "No series.")


@mace_series.command("invite")
@click.argument("name")
@click.option("--out", required=True, metavar="FILE.ics", help="Where to write it ('-': stdout).")
def mace_series_invite(name: str, out: str) -> None:
    """Write the series' meetings to come as one iCalendar file to import (PUBLISH).

    Each meeting is the event its emailed invitations carry (the same UID), so importing the
    file next to them duplicates nothing."""
    _write_ics(out, _mace().series_invitation(name, _actor()))
    if out != "-":
        click.echo(f"Wrote {out} (METHOD:PUBLISH)")


@mace.command("generate")
@click.option("--series", help="Only this series.")
@json_option
def mace_generate(series: str | None, as_json: bool) -> None:
    """Generate meetings up to each series' horizon (safe to repeat)."""
    from engine.domains.mace.present import meetings_text

    made = _mace().generate(_runtime().actor_name, series)
    _emit(as_json, [m.to_json() for m in made],
          lambda: meetings_text(made) if made else "No new meetings.")


@mace.command("meetings")
@click.option("--series", help="Only this series.")
@click.option("--upcoming", is_flag=True, help="Only meetings still to be held.")
@json_option
def mace_meetings(series: str | None, upcoming: bool, as_json: bool) -> None:
    """List meetings."""
    from engine.domains.mace.present import meetings_text

    views = _mace().meetings(_actor(), series, upcoming)
    _emit(as_json, [m.to_json() for m in views], lambda: meetings_text(views))


@mace.command("show")
@click.argument("meeting")
@json_option
def mace_show(meeting: str, as_json: bool) -> None:
    """Show a meeting: state, time, deadlines, invitation."""
    from engine.domains.mace.present import meeting_text

    view = _mace().meeting(meeting, _actor())
    _emit(as_json, view.to_json(), lambda: meeting_text(view))


@mace.command("agenda")
@click.argument("meeting")
@json_option
def mace_agenda(meeting: str, as_json: bool) -> None:
    """Print the agenda: as published, or a draft from today's data (references only)."""
    from engine.domains.mace.agenda import agenda_text

    data = _mace().agenda(meeting, _actor())
    _emit(as_json, data, lambda: ("DRAFT (not yet published)\n" if data["draft"] else "")
          + agenda_text(data))


@mace.command("item")
@click.argument("meeting")
@click.option("--kind", required=True, type=click.Choice(["place", "person", "theme"]))
@click.option("--text", required=True, help="The item (references, never a child's name).")
def mace_item(meeting: str, kind: str, text: str) -> None:
    """Add a place, person of concern or theme to a meeting's agenda."""
    _mace().add_item(meeting, kind, text, _runtime().actor_name)
    click.echo(f"Added a {kind} to the agenda of {meeting}.")


@mace.command("publish")
@click.argument("meeting")
@json_option
def mace_publish(meeting: str, as_json: bool) -> None:
    """Build the agenda from the data now and publish it."""
    from engine.domains.mace.agenda import agenda_text

    data = _mace().publish(meeting, _runtime().actor_name)
    _emit(as_json, data, lambda: agenda_text(data))


@mace.command("hold")
@click.argument("meeting")
@click.option("--present", "present", multiple=True, required=True, metavar="AGENCY=USER",
              help="Who attended, by agency (repeatable).")
@click.option("--apologies", multiple=True, metavar="AGENCY", help="Agencies that sent apologies.")
@day_option
@json_option
def mace_hold(meeting: str, present: Sequence[str], apologies: Sequence[str], on: str | None,
              as_json: bool) -> None:
    """Record the meeting as held, with attendance; the minutes become due."""
    from engine.core.errors import UsageError
    from engine.domains.mace.present import meeting_text

    pairs = []
    for item in present:
        agency, sep, person = item.partition("=")
        if not sep or not agency.strip() or not person.strip():
            raise UsageError(f"'{item}' is not AGENCY=USER, e.g. police=j.smith")
        pairs.append((agency.strip(), person.strip()))
    view = _mace().hold(meeting, _runtime().actor_name, pairs, apologies,
                        _day(on) if on else None)
    _emit(as_json, view.to_json(), lambda: meeting_text(view))


@mace.command("decide")
@click.argument("meeting")
@click.argument("case_ref", metavar="CASE")
@click.option("--decision", required=True,
              type=click.Choice(["level_confirmed", "level_changed", "review_done",
                                 "step_down"]))
@click.option("--level", type=click.Choice(["low", "medium", "high"]))
@click.option("--reason", help="Why (for a level change); a note otherwise (no names).")
@click.option("--to", "to", type=click.Choice(["single_agency", "early_help"]))
@click.option("--service", help="The receiving service, for a step down.")
@json_option
def mace_decide(meeting: str, case_ref: str, decision: str, level: str | None,
                reason: str | None, to: str | None, service: str | None, as_json: bool) -> None:
    """Record a decision for a child; the child's CERAR case is updated with it."""
    out = _mace().decide(meeting, case_ref, decision, _runtime().actor_name, level, reason,
                         to, service)
    _emit(as_json, out, lambda: f"{meeting}: {decision} for {case_ref}; next review "
          + (next((d["due"] for d in out["child"]["deadlines"]
                   if d["name"] == "review" and d["status"] == "open"), "none")))


@mace.group("action")
def mace_action() -> None:
    """Actions agreed at meetings: add, done, drop, list."""


@mace_action.command("add")
@click.argument("meeting")
@click.option("--summary", required=True, help="What is to be done (no names).")
@click.option("--owner", required=True, metavar="USER")
@click.option("--agency", required=True)
@click.option("--due", required=True, metavar="DATE")
@click.option("--child", "child_case", metavar="CASE", help="The child's CERAR case, if any.")
@json_option
def mace_action_add(meeting: str, summary: str, owner: str, agency: str, due: str,
                    child_case: str | None, as_json: bool) -> None:
    """Record an action agreed at MEETING (its due date is a deadline)."""
    view = _mace().add_action(meeting, summary, owner, agency, _day(due),
                              _runtime().actor_name, child_case)
    _emit(as_json, view.to_json(), lambda: f"{view.meeting} {view.ref}: {view.summary} "
          f"({view.owner}, {view.agency}) due {view.due_on.isoformat()}")


@mace_action.command("done")
@click.argument("meeting")
@click.argument("action")
@day_option
@json_option
def mace_action_done(meeting: str, action: str, on: str | None, as_json: bool) -> None:
    """Record ACTION of MEETING done."""
    view = _mace().complete_action(meeting, action, _runtime().actor_name,
                                   _day(on) if on else None)
    _emit(as_json, view.to_json(), lambda: f"{view.meeting} {view.ref}: done "
          f"{view.done_on.isoformat() if view.done_on else ''}")


@mace_action.command("drop")
@click.argument("meeting")
@click.argument("action")
@click.option("--reason", required=True, help="Why it is no longer needed (no names).")
@day_option
@json_option
def mace_action_drop(meeting: str, action: str, reason: str, on: str | None,
                     as_json: bool) -> None:
    """Drop ACTION of MEETING, no longer needed, with the reason (its reminders stop)."""
    view = _mace().drop_action(meeting, action, reason, _actor(), _day(on) if on else None)
    _emit(as_json, view.to_json(), lambda: f"{view.meeting} {view.ref}: dropped "
          f"{view.dropped_on.isoformat() if view.dropped_on else ''}: {view.drop_reason}")


@mace_action.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only open actions.")
@click.option("--meeting", help="Only this meeting's actions.")
@json_option
def mace_action_list(open_only: bool, meeting: str | None, as_json: bool) -> None:
    """List actions, by due date."""
    from engine.domains.mace.present import actions_text

    views = _mace().actions(_actor(), open_only, meeting)
    _emit(as_json, [a.to_json() for a in views], lambda: actions_text(views))


@mace.command("minutes")
@click.argument("meeting")
@day_option
@json_option
def mace_minutes(meeting: str, on: str | None, as_json: bool) -> None:
    """Record the minutes circulated."""
    from engine.domains.mace.present import meeting_text

    view = _mace().circulate(meeting, _runtime().actor_name, _day(on) if on else None)
    _emit(as_json, view.to_json(), lambda: meeting_text(view))


@mace.command("close")
@click.argument("meeting")
@json_option
def mace_close(meeting: str, as_json: bool) -> None:
    """Close a meeting record (every action must be done or dropped)."""
    from engine.domains.mace.present import meeting_text

    view = _mace().close(meeting, _runtime().actor_name)
    _emit(as_json, view.to_json(), lambda: meeting_text(view))


@mace.command("cancel")
@click.argument("meeting")
@click.option("--reason", required=True)
@click.option("--out", metavar="FILE.ics", help="Also write the cancellation (METHOD:CANCEL).")
@json_option
def mace_cancel(meeting: str, reason: str, out: str | None, as_json: bool) -> None:
    """Cancel one meeting."""
    from engine.domains.mace.present import meeting_text

    _check_writable(out)
    view = _mace().cancel(meeting, _actor(), reason)
    if out and view.ics:
        _write_ics(out, view.ics)
    _emit(as_json, view.to_json(), lambda: meeting_text(view))


@mace.command("reschedule")
@click.argument("meeting")
@click.option("--on", "on", required=True, metavar="DATE", help="The new day.")
@click.option("--time", "at", metavar="HH:MM", help="The new start (default: the series').")
@click.option("--reason", required=True)
@click.option("--out", metavar="FILE.ics", help="Also write the updated invitation.")
@json_option
def mace_reschedule(meeting: str, on: str, at: str | None, reason: str, out: str | None,
                    as_json: bool) -> None:
    """Move one meeting to another day (and time)."""
    from engine.domains.mace.present import meeting_text

    _check_writable(out)
    view = _mace().reschedule(meeting, _day(on), _actor(), reason, at)
    if out and view.ics:
        _write_ics(out, view.ics)
    _emit(as_json, view.to_json(), lambda: meeting_text(view))


@mace.command("invite")
@click.argument("meeting")
@click.option("--out", required=True, metavar="FILE.ics", help="Where to write it ('-': stdout).")
def mace_invite(meeting: str, out: str) -> None:
    """Write MEETING's invitation (REQUEST; CANCEL once cancelled) as iCalendar."""
    method, payload = _mace().invitation(meeting, _actor())
    _write_ics(out, payload)
    if out != "-":
        click.echo(f"Wrote {out} (METHOD:{method})")
