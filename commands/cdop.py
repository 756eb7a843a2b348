"""``safeguard cdop``: child death reviews: the notification, agencies' reporting forms (one
deadline per agency), the child death review meeting, the CDOP review, the NCMD form, closure,
and the link with a practice review."""

from __future__ import annotations

from typing import Any

import click

from commands._common import _app, _emit, _runtime, day_option, json_option

AGE_BANDS = ("0_to_27_days", "28_to_364_days", "1_to_4_years", "5_to_9_years",
             "10_to_14_years", "15_to_17_years")
JAR_REASONS = ("external_causes", "sudden_unexplained", "custody_or_detention",
               "suspicious_circumstances", "unattended_stillbirth")
DOMAINS = ("child", "parenting", "environment", "service")
YES_NO = click.Choice(["yes", "no"])

note_option = click.option("--note", help="A note for the history (no names).")


def _cdop() -> Any:
    return _app().cdop


def _emit_case(as_json: bool, view: Any) -> None:
    from engine.core.present import case_text

    _emit(as_json, view.to_json(), lambda: case_text(view))


@click.group()
def cdop() -> None:
    """Child death reviews: notification, agency forms, CDOP review, NCMD."""


@cdop.command("open")
@click.option("--child", "child_ref", required=True, help="The child's reference (no names).")
@click.option("--area", required=True, help="The partnership area the child lived in.")
@click.option("--known-at", metavar="DATETIME",
              help="When the death became known (default: now); the notification is due "
                   "24 hours later.")
@click.option("--ref", help="The case reference (default CDR-CHILD).")
@note_option
@json_option
def cdop_open(child_ref: str, area: str, known_at: str | None, ref: str | None,
              note: str | None, as_json: bool) -> None:
    """Open a child death review case when a death becomes known."""
    _emit_case(as_json, _cdop().open(child_ref, area, known_at, _runtime().actor_name, ref,
                                     note))


@cdop.command("notify")
@click.argument("ref")
@click.option("--died-on", required=True, metavar="DATE", help="The date of death.")
@click.option("--age-band", required=True, type=click.Choice(AGE_BANDS))
@click.option("--sex", required=True, type=click.Choice(["male", "female", "not_known"]))
@click.option("--expected", required=True, type=YES_NO, help="Was the death expected?")
@click.option("--jar", "jar", required=True, type=YES_NO,
              help="Does it need a joint agency response?")
@click.option("--jar-reason", type=click.Choice(JAR_REASONS),
              help="Why (needed with --jar yes).")
@click.option("--abuse-or-neglect", type=click.Choice(["none", "suspected", "known"]),
              help="Known or suspected abuse or neglect (then link a practice review).")
@click.option("--at", "at", metavar="DATETIME", help="When notified (default: now).")
@note_option
@json_option
def cdop_notify(ref: str, died_on: str, age_band: str, sex: str, expected: str, jar: str,
                jar_reason: str | None, abuse_or_neglect: str | None, at: str | None,
                note: str | None, as_json: bool) -> None:
    """Record the notification of the death REF."""
    view = _cdop().notify(ref, died_on, age_band, sex, expected == "yes", jar == "yes",
                          _runtime().actor_name, jar_reason, abuse_or_neglect, at, note)
    _emit_case(as_json, view)


@cdop.command("request")
@click.argument("ref")
@click.option("--agency", required=True, help="The agency asked (one deadline per agency).")
@day_option
@note_option
@json_option
def cdop_request(ref: str, agency: str, on: str | None, note: str | None,
                 as_json: bool) -> None:
    """Ask an agency for its reporting form: its own deadline starts."""
    _emit_case(as_json, _cdop().request(ref, agency, _runtime().actor_name, on, note))


@cdop.command("received")
@click.argument("ref")
@click.option("--agency", required=True, help="The agency whose form arrived.")
@day_option
@note_option
@json_option
def cdop_received(ref: str, agency: str, on: str | None, note: str | None,
                  as_json: bool) -> None:
    """Record an agency's reporting form received."""
    _emit_case(as_json, _cdop().received(ref, agency, _runtime().actor_name, on, note))


@cdop.command("meeting")
@click.argument("ref")
@day_option
@note_option
@json_option
def cdop_meeting(ref: str, on: str | None, note: str | None, as_json: bool) -> None:
    """Record the child death review meeting: the case is ready for the CDOP."""
    from commands._common import _day

    _emit_case(as_json, _cdop().step(ref, "hold_cdr_meeting",
                                     {"cdr_meeting_on": _day(on).isoformat()},
                                     _runtime().actor_name, note))


@cdop.command("review")
@click.argument("ref")
@click.option("--category", required=True, metavar="1-10",
              help="The category of death, 1 to 10 (as on the analysis form).")
@click.option("--modifiable", required=True, type=YES_NO, help="Modifiable factors?")
@click.option("--domain", "domains", multiple=True, type=click.Choice(DOMAINS),
              help="A domain of the modifiable factors (repeatable).")
@click.option("--learning", help="The learning points (no names).")
@day_option
@note_option
@json_option
def cdop_review(ref: str, category: str, modifiable: str, domains: tuple[str, ...],
                learning: str | None, on: str | None, note: str | None,
                as_json: bool) -> None:
    """Record the CDOP review of the death REF."""
    view = _cdop().review(ref, category, modifiable == "yes", list(domains),
                          _runtime().actor_name, learning, on, note)
    _emit_case(as_json, view)


@cdop.command("ncmd")
@click.argument("ref")
@day_option
@json_option
def cdop_ncmd(ref: str, on: str | None, as_json: bool) -> None:
    """Record the analysis form sent to the National Child Mortality Database."""
    from commands._common import _day

    _emit_case(as_json, _cdop().step(ref, "record_ncmd",
                                     {"ncmd_submitted_on": _day(on).isoformat()},
                                     _runtime().actor_name))


@cdop.command("close")
@click.argument("ref")
@click.option("--reason", help="Close without a review, with the reason (not normally "
                               "resident, a stillbirth).")
@day_option
@json_option
def cdop_close(ref: str, reason: str | None, on: str | None, as_json: bool) -> None:
    """Close the case (once the NCMD has the form, or with --reason)."""
    _emit_case(as_json, _cdop().close(ref, _runtime().actor_name, on, reason))


@cdop.command("link")
@click.argument("ref")
@click.argument("other")
@json_option
def cdop_link(ref: str, other: str, as_json: bool) -> None:
    """Link a death with abuse or neglect to its practice review (either order)."""
    _emit_case(as_json, _cdop().link(ref, other, _runtime().actor_name))


@cdop.command("refer")
@click.argument("ref")
@click.option("--ref", "review_ref", required=True, help="The new practice review's reference.")
@click.option("--label", help="A short label for lists (no names).")
@click.option("--aware-on", metavar="DATE", help="When the LA became aware (default: today).")
@note_option
@json_option
def cdop_refer(ref: str, review_ref: str, label: str | None, aware_on: str | None,
               note: str | None, as_json: bool) -> None:
    """Open the practice review of the death REF, linked to it."""
    _emit_case(as_json, _cdop().refer(ref, review_ref, _runtime().actor_name, label,
                                      aware_on, note))


@cdop.command("show")
@click.argument("ref")
@json_option
def cdop_show(ref: str, as_json: bool) -> None:
    """Show a death: state, data, deadlines, linked cases."""
    _emit_case(as_json, _cdop().show(ref, _runtime().actor_name))


@cdop.command("list")
@click.option("--all", "include_closed", is_flag=True, help="Include closed cases.")
@click.option("--state", help="Only cases in this state (e.g. awaiting_cdop).")
@json_option
def cdop_list(include_closed: bool, state: str | None, as_json: bool) -> None:
    """The deaths under review, by date of death."""
    from engine.core.present import table
    from engine.domains.cdop.words import AGE_BANDS as BANDS

    rows = _cdop().deaths(_runtime().actor_name, include_closed, state)

    def text() -> str:
        if not rows:
            return "No deaths."
        return table(("REF", "CHILD", "STATE", "DIED ON", "AGE BAND", "FORMS AWAITED",
                      "NEXT DUE", "OVERDUE"),
                     [(r.ref, r.child_ref, r.state, r.died_on or "",
                       BANDS.get(r.age_band or "", r.age_band or ""),
                       r.open_requests or "", r.next_due or "", r.overdue or "")
                      for r in rows])

    _emit(as_json, [r.to_json() for r in rows], text)
