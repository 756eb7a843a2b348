"""CERAR rules that are not a state graph. Pure: no database, no clock, no I/O.

* Who is listed for MACE: medium and high concern always, low only when flagged.
* Missing episodes are numbered M1, M2, ... per case.
* The repeated-missing rule: when ``episodes`` (3) or more returns fall inside a window of
  ``window_days`` (30) days, the window counting the first return's London day as day 1
  (so returns on 1 June and 30 June are inside 30 days; 1 June and 1 July are not), a
  strategy meeting is called for. Only returns after the day the last strategy meeting was
  called for count again, so one cluster raises one meeting.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence

from engine.core.clock import london_date

RISK_LEVELS = ("high", "medium", "low")
# Agenda order: high first; children not yet assessed after the assessed ones.
RISK_RANK: Mapping[str | None, int] = {"high": 0, "medium": 1, "low": 2, None: 3}

DEFAULT_EPISODES = 3
DEFAULT_WINDOW_DAYS = 30

_EPISODE = re.compile(r"^M(\d+)$")


def risk_rank(level: str | None) -> int:
    return RISK_RANK.get(level, 3)


def listed_for_mace(risk_level: str | None, mace_flag: str | None) -> bool:
    """Medium and high concern children are listed for MACE; low ones only when flagged."""
    return risk_level in ("medium", "high") or mace_flag == "yes"


def next_episode_ref(existing: Iterable[str]) -> str:
    """The next episode reference of a case: M1 for the first, then M2, ..."""
    numbers = [int(m.group(1)) for ref in existing if (m := _EPISODE.match(ref))]
    return f"M{max(numbers, default=0) + 1}"


def returns_in_window(returns: Sequence[dt.datetime], window_days: int) -> int:
    """The most returns inside any window of ``window_days`` London days that ends with the
    latest return (the newest episode is what raises the meeting)."""
    if not returns:
        return 0
    days = sorted(london_date(r) for r in returns)
    first_day_allowed = days[-1] - dt.timedelta(days=window_days - 1)
    return sum(1 for d in days if d >= first_day_allowed)


def strategy_meeting_due(returns: Sequence[dt.datetime], last_raised_on: dt.date | None = None,
                         episodes: int = DEFAULT_EPISODES,
                         window_days: int = DEFAULT_WINDOW_DAYS) -> bool:
    """Whether the returns (newest last or not; order does not matter) call for a strategy
    meeting, counting only returns after ``last_raised_on``."""
    counted = [r for r in returns
               if last_raised_on is None or london_date(r) > last_raised_on]
    return returns_in_window(counted, window_days) >= episodes



def mentions_name(text: str, names: Iterable[str]) -> str | None:
    """The first of ``names`` (a child's full name, or any part of it of three letters or
    more, as a whole word) that ``text`` contains, ignoring case; None if none does."""
    words = set(re.findall(r"[a-z']+", text.lower()))
    lowered = text.lower()
    for name in names:
        full = " ".join(name.lower().split())
        if not full:
            continue
        if full in lowered or any(len(p) >= 3 and p in words for p in full.split()):
            return name
    return None


__all__ = [
    "RISK_LEVELS", "listed_for_mace", "mentions_name", "next_episode_ref", "returns_in_window",
    "risk_rank",
    "strategy_meeting_due",
]
