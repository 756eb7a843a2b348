"""What goes on a MACE agenda, from facts gathered at publication time. Pure.

The service gathers :class:`ChildFacts` for every open CERAR case, the open actions from
earlier meetings and the items the coordinator added; :func:`build_agenda` decides who is on
the agenda and why, and orders the children by level of concern (high, medium, low, then
children not yet assessed), then by review date and reference.

A child is on the agenda when any of these holds (each is a reason shown on the agenda):

* ``listed``: medium or high concern, or a low-concern child flagged for MACE;
* ``review_due``: listed, and the next review falls due before the next meeting;
* ``new_referral``: the concern was received since the last meeting;
* ``level_changed``: the level of concern changed since the last meeting;
* ``missing``: a missing episode ended since the last meeting;
* ``rhi_outstanding``: a return home interview is still due;
* ``strategy_meeting``: a strategy meeting is due after repeated missing episodes;
* ``placed_in_area`` / ``placed_out_of_area``: at risk (listed) and placed across a boundary.

Privacy: an agenda carries references (case and child), levels, dates and counts; never a
name, and none of the free text recorded on a case (reasons, notes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.domains.cerar.rules import listed_for_mace, risk_rank


@dataclass(frozen=True)
class LevelChange:
    on: dt.date
    old: str | None
    new: str


@dataclass(frozen=True)
class RhiDue:
    episode: str
    due: str  # ISO datetime with the London offset


@dataclass(frozen=True)
class ChildFacts:
    """What the agenda needs to know of one open CERAR case."""

    case_ref: str
    child_ref: str
    state: str
    concern_received_on: dt.date
    risk_level: str | None = None
    mace_flag: str | None = None
    next_review_due: dt.date | None = None
    level_changes: tuple[LevelChange, ...] = ()  # all of them; the agenda picks the recent
    returns: tuple[dt.date, ...] = ()  # London days of the returns of every missing episode
    rhi_outstanding: tuple[RhiDue, ...] = ()
    strategy_meeting_due: dt.date | None = None
    placement: str | None = None
    placing_authority: str | None = None
    host_authority: str | None = None


@dataclass(frozen=True)
class ActionFacts:
    ref: str
    meeting: str  # the meeting (case reference) that agreed it
    child_ref: str | None
    summary: str
    owner: str
    agency: str
    due_on: dt.date


@dataclass(frozen=True)
class Item:
    kind: str  # place, person, theme
    text: str


@dataclass(frozen=True)
class AgendaChild:
    case_ref: str
    child_ref: str
    risk_level: str | None
    reasons: tuple[str, ...]
    review_due: dt.date | None
    level_changes: tuple[LevelChange, ...]
    missing_since: int
    rhi_outstanding: tuple[RhiDue, ...]
    strategy_meeting_due: dt.date | None
    placement: str | None
    placing_authority: str | None
    host_authority: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "case_ref": self.case_ref, "child_ref": self.child_ref,
            "risk_level": self.risk_level, "reasons": list(self.reasons),
            "review_due": _iso(self.review_due),
            "level_changes": [{"on": c.on.isoformat(), "from": c.old, "to": c.new}
                              for c in self.level_changes],
            "missing_episodes_since_last_meeting": self.missing_since,
            "rhi_outstanding": [{"episode": r.episode, "due": r.due}
                                for r in self.rhi_outstanding],
            "strategy_meeting_due": _iso(self.strategy_meeting_due),
            "placement": self.placement, "placing_authority": self.placing_authority,
            "host_authority": self.host_authority,
        }


@dataclass(frozen=True)
class Agenda:
    meeting: str
    series: str
    meeting_on: dt.date
    starts_at: str
    built_at: str
    since: dt.date | None  # the last meeting (None: the first of its series)
    until: dt.date | None  # the next meeting
    children: tuple[AgendaChild, ...]
    actions: tuple[ActionFacts, ...]
    items: tuple[Item, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "meeting": self.meeting, "series": self.series,
            "meeting_on": self.meeting_on.isoformat(), "starts_at": self.starts_at,
            "built_at": self.built_at, "since": _iso(self.since), "until": _iso(self.until),
            "children": [c.to_json() for c in self.children],
            "actions": [{"ref": a.ref, "meeting": a.meeting, "child_ref": a.child_ref,
                         "summary": a.summary, "owner": a.owner, "agency": a.agency,
                         "due_on": a.due_on.isoformat(),
                         # judged against the day it is built, not the meeting's day
                         "overdue": a.due_on < dt.date.fromisoformat(self.built_at[:10])}
                        for a in self.actions],
            "places": [i.text for i in self.items if i.kind == "place"],
            "persons": [i.text for i in self.items if i.kind == "person"],
            "themes": [i.text for i in self.items if i.kind == "theme"],
        }


def judged(data: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """An agenda (its JSON form, as published) with each action's ``overdue`` judged against
    ``today``: an action due on the 21st is not overdue when the agenda is read on the 16th,
    whatever the meeting's date."""
    actions = [dict(a) | {"overdue": dt.date.fromisoformat(a["due_on"]) < today}
               for a in data.get("actions", [])]
    return dict(data) | {"actions": actions}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _after(day: dt.date, since: dt.date | None) -> bool:
    return since is None or day > since


def reasons_for(child: ChildFacts, since: dt.date | None, until: dt.date | None,
                ) -> tuple[str, ...]:
    """Why ``child`` is on an agenda whose window is (since, until); () if it is not."""
    listed = listed_for_mace(child.risk_level, child.mace_flag)
    out: list[str] = []
    if listed:
        out.append("listed")
        due = child.next_review_due
        if due is not None and (until is None or due < until):
            out.append("review_due")
    if _after(child.concern_received_on, since):
        out.append("new_referral")
    if any(_after(c.on, since) for c in child.level_changes):
        out.append("level_changed")
    if any(_after(r, since) for r in child.returns):
        out.append("missing")
    if child.rhi_outstanding:
        out.append("rhi_outstanding")
    if child.strategy_meeting_due is not None:
        out.append("strategy_meeting")
    if listed and child.placement in ("placed_in_area", "placed_out_of_area"):
        out.append(child.placement)
    return tuple(out)


def build_agenda(meeting: str, series: str, meeting_on: dt.date, starts_at: str,
                 built_at: str, since: dt.date | None, until: dt.date | None,
                 children: Sequence[ChildFacts], actions: Sequence[ActionFacts],
                 items: Sequence[Item] = ()) -> Agenda:
    """The agenda of one meeting, ordered by level of concern."""
    chosen: list[AgendaChild] = []
    for child in children:
        reasons = reasons_for(child, since, until)
        if not reasons:
            continue
        chosen.append(AgendaChild(
            case_ref=child.case_ref, child_ref=child.child_ref, risk_level=child.risk_level,
            reasons=reasons, review_due=child.next_review_due,
            level_changes=tuple(c for c in child.level_changes if _after(c.on, since)),
            missing_since=sum(1 for r in child.returns if _after(r, since)),
            rhi_outstanding=child.rhi_outstanding,
            strategy_meeting_due=child.strategy_meeting_due, placement=child.placement,
            placing_authority=child.placing_authority, host_authority=child.host_authority))
    far = dt.date.max
    chosen.sort(key=lambda c: (risk_rank(c.risk_level), c.review_due or far, c.child_ref,
                               c.case_ref))
    ordered_actions = sorted(actions, key=lambda a: (a.due_on, a.meeting, a.ref))
    return Agenda(meeting, series, meeting_on, starts_at, built_at, since, until,
                  tuple(chosen), tuple(ordered_actions), tuple(items))


_REASON_TEXT = {
    "listed": "", "review_due": "review due", "new_referral": "new referral",
    "level_changed": "level changed", "missing": "missing", "rhi_outstanding": "",
    "strategy_meeting": "", "placed_in_area": "placed in area",
    "placed_out_of_area": "placed out of area",
}


def agenda_text(data: dict[str, Any]) -> str:
    """The agenda (its JSON form) as text for the terminal or an email: references only."""
    from engine.core.present import table

    if data.get("use") == "cdop":  # a CDOP meeting's agenda: the deaths ready for review
        from engine.domains.cdop.agenda import panel_agenda_text

        return panel_agenda_text(data)

    lines = [f"MACE agenda: {data['meeting']} ({data['series']})",
             f"Meeting: {data['starts_at'].replace('T', ' ')[:16]} (Europe/London)",
             f"Built {data['built_at'].replace('T', ' ')[:16]} from the data since "
             f"{data['since'] or 'the start of the series'}"
             + (f"; reviews due before {data['until']}" if data["until"] else ""),
             "", f"1. Children ({len(data['children'])}), by level of concern"]
    rows = []
    for c in data["children"]:
        why = [_REASON_TEXT[r] for r in c["reasons"] if _REASON_TEXT.get(r)]
        for change in c["level_changes"]:
            why.append(f"assessed {change['to']} on {change['on']}" if not change["from"]
                       else f"{change['from']} -> {change['to']} on {change['on']}")
        if c["missing_episodes_since_last_meeting"]:
            why.append(f"{c['missing_episodes_since_last_meeting']} missing episode(s)")
        if c["strategy_meeting_due"]:
            why.append(f"strategy meeting due {c['strategy_meeting_due']}")
        for rhi in c["rhi_outstanding"]:
            why.append(f"RHI {rhi['episode']} due {rhi['due'].replace('T', ' ')[:16]}")
        if c["placing_authority"]:
            why.append(f"placed by {c['placing_authority']}")
        if c["host_authority"]:
            why.append(f"placed in {c['host_authority']}")
        rows.append((c["child_ref"], c["case_ref"], c["risk_level"] or "not assessed",
                     c["review_due"] or "", "; ".join(dict.fromkeys(w for w in why if w))))
    lines.append(table(("CHILD", "CASE", "LEVEL", "REVIEW DUE", "WHY"), rows, "  ")
                 if rows else "  (none)")
    lines += ["", f"2. Open actions from earlier meetings ({len(data['actions'])})"]
    action_rows = [(a["ref"], a["meeting"], a["child_ref"] or "", a["owner"], a["agency"],
                    a["due_on"] + (" OVERDUE" if a["overdue"] else ""), a["summary"])
                   for a in data["actions"]]
    lines.append(table(("ACTION", "MEETING", "CHILD", "OWNER", "AGENCY", "DUE", "SUMMARY"),
                       action_rows, "  ") if action_rows else "  (none)")
    for number, (key, title) in enumerate(
            (("places", "Places"), ("persons", "Persons of concern"), ("themes", "Themes")),
            start=3):
        lines += ["", f"{number}. {title}"]
        lines += [f"  - {text}" for text in data[key]] or ["  (none)"]
    return "\n".join(lines)


__all__ = ["ActionFacts", "Agenda", "ChildFacts", "Item", "LevelChange", "RhiDue",
           "agenda_text", "build_agenda", "judged", "reasons_for"]
