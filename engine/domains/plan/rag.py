"""RAG ratings of business plan actions, in words, and the red-by-rule judgement. Pure.

An update records a rating: blue (complete), green (on track), amber (at risk), red (off
track). An open action whose timescale has passed with no update recorded since is red by
rule, whatever its last rating said: judged on the day asked (``--now``), never stored, and
shown as such ("Red (past its timescale of 31 March 2024, no update since 12 January 2024)").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

RAGS = ("blue", "green", "amber", "red")
WORDS = {"blue": "Blue", "green": "Green", "amber": "Amber", "red": "Red"}
MEANING = {"blue": "complete", "green": "on track", "amber": "at risk", "red": "off track"}
NOT_RATED = "Not yet rated"
WITHDRAWN = "Withdrawn"


def day_words(day: dt.date) -> str:
    """31 March 2024."""
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Rating:
    """What an action's RAG is on a day: ``rag`` None when not rated yet (or withdrawn)."""

    rag: str | None
    by_rule: bool
    text: str

    @property
    def word(self) -> str:
        return WORDS[self.rag] if self.rag else self.text


def rating(state: str, recorded: str | None, due_on: dt.date,
           updated_on: dt.date | None, today: dt.date) -> Rating:
    """The action's rating on ``today``: the recorded one, or red by rule when it is open,
    past its timescale, and not updated since the timescale passed."""
    if state == "withdrawn":
        return Rating(None, False, WITHDRAWN)
    if state == "complete" or recorded == "blue":
        return Rating("blue", False, f"Blue ({MEANING['blue']})")
    if today > due_on and (updated_on is None or updated_on <= due_on):
        since = f"no update since {day_words(updated_on)}" if updated_on else "no update"
        return Rating("red", True, f"Red (past its timescale of {day_words(due_on)}, "
                                   f"{since})")
    if recorded is None:
        return Rating(None, False, NOT_RATED)
    return Rating(recorded, False, f"{WORDS[recorded]} ({MEANING[recorded]})")


__all__ = ["MEANING", "NOT_RATED", "RAGS", "WITHDRAWN", "WORDS", "Rating", "day_words",
           "rating"]
