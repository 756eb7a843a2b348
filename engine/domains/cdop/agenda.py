"""A CDOP meeting's agenda: the child death review cases ready for the panel
(``awaiting_cdop``) in the series' area, by date of death. References only (the case and
the child's reference): never a name, a cause or any free text of the case.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from engine.core.clock import show_instant
from engine.core.store.models import Case

WORKFLOW = "child_death_review"
READY = "awaiting_cdop"


def panel_agenda(session: Session, meeting: str, series: str, area: str | None,
                 meeting_on: dt.date, starts_at: dt.datetime, now: dt.datetime,
                 items: dict[str, list[str]]) -> dict[str, Any]:
    """The agenda's JSON form (the MACE agenda's keys, so one renderer reads both)."""
    query = select(Case).where(col(Case.workflow) == WORKFLOW, col(Case.state) == READY)
    if area is not None:
        query = query.where(col(Case.area) == area)
    ready = sorted(session.scalars(query),
                   key=lambda c: (c.data.get("died_on") or "", c.ref))
    return {"use": "cdop", "meeting": meeting, "series": series,
            "meeting_on": meeting_on.isoformat(), "starts_at": show_instant(starts_at),
            "built_at": show_instant(now), "since": None, "until": None,
            "deaths": [{"case_ref": c.ref, "child_ref": c.data.get("child_ref", "")}
                       for c in ready],
            "children": [], "actions": [], "places": items.get("place", []),
            "persons": items.get("person", []), "themes": items.get("theme", [])}


def panel_agenda_text(data: dict[str, Any]) -> str:
    lines = [f"CDOP agenda: {data['meeting']} ({data['series']})",
             f"Meeting: {data['starts_at'].replace('T', ' ')[:16]} (Europe/London)",
             f"Built {data['built_at'].replace('T', ' ')[:16]}", "",
             f"1. Deaths ready for review ({len(data['deaths'])})"]
    lines += [f"  - {d['case_ref']} (child {d['child_ref']})" for d in data["deaths"]] \
        or ["  (none)"]
    lines += ["", "2. Themes"]
    lines += [f"  - {t}" for t in data["themes"]] or ["  (none)"]
    return "\n".join(lines)


__all__ = ["panel_agenda", "panel_agenda_text"]
