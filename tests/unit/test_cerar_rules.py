"""CERAR rules without a database: the 3-in-30-days rule at its boundaries, episode numbers,
who is listed for MACE, and the name check."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.core.clock import LONDON
from engine.domains.cerar.rules import (
    listed_for_mace,
    mentions_name,
    next_episode_ref,
    returns_in_window,
    strategy_meeting_due,
)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=LONDON)


def test_three_returns_inside_thirty_days_raise_a_strategy_meeting() -> None:
    # 1 June is day 1 of the window, 30 June is day 30: inside.
    returns = [at("2024-06-01 10:00"), at("2024-06-15 10:00"), at("2024-06-30 23:59")]
    assert returns_in_window(returns, 30) == 3
    assert strategy_meeting_due(returns)


def test_the_thirty_first_day_is_outside() -> None:
    returns = [at("2024-06-01 00:00"), at("2024-06-15 10:00"), at("2024-07-01 00:00")]
    assert returns_in_window(returns, 30) == 2
    assert not strategy_meeting_due(returns)


def test_two_returns_are_not_enough_and_four_are() -> None:
    assert not strategy_meeting_due([at("2024-06-01 10:00"), at("2024-06-02 10:00")])
    assert strategy_meeting_due([at(f"2024-06-0{d} 10:00") for d in (1, 2, 3, 4)])


def test_days_are_london_days() -> None:
    # 23:30 UTC on 30 June is 00:30 BST on 1 July: day 31 of a window starting 1 June.
    first = dt.datetime(2024, 5, 31, 23, 30, tzinfo=dt.UTC)  # 00:30 BST on 1 June
    last = dt.datetime(2024, 6, 30, 23, 30, tzinfo=dt.UTC)  # 00:30 BST on 1 July
    middle = at("2024-06-15 12:00")
    assert not strategy_meeting_due([first, middle, last])
    assert strategy_meeting_due([first, middle, last - dt.timedelta(hours=1)])


def test_only_returns_after_the_last_meeting_was_raised_count_again() -> None:
    returns = [at("2024-06-01 10:00"), at("2024-06-05 10:00"), at("2024-06-09 10:00")]
    assert strategy_meeting_due(returns)
    assert not strategy_meeting_due([*returns, at("2024-06-12 10:00")],
                                    last_raised_on=dt.date(2024, 6, 9))
    assert strategy_meeting_due(
        [*returns, at("2024-06-12 10:00"), at("2024-06-14 10:00"), at("2024-06-20 10:00")],
        last_raised_on=dt.date(2024, 6, 9))


def test_thresholds_are_parameters() -> None:
    returns = [at("2024-06-01 10:00"), at("2024-06-10 10:00")]
    assert strategy_meeting_due(returns, episodes=2, window_days=10)
    assert not strategy_meeting_due(returns, episodes=2, window_days=9)


def test_episode_numbers() -> None:
    assert next_episode_ref([]) == "M1"
    assert next_episode_ref(["M1", "M2", "M10", "X"]) == "M11"


@pytest.mark.parametrize(("level", "flag", "listed"), [
    ("high", None, True), ("medium", "no", True), ("low", None, False), ("low", "yes", True),
    (None, None, False), (None, "yes", True)])
def test_who_is_listed_for_mace(level: str | None, flag: str | None, listed: bool) -> None:
    assert listed_for_mace(level, flag) is listed


def test_mentions_name() -> None:
    names = ["Jo Bloggs", "Sam Li"]
    assert mentions_name("check on jo bloggs at school", names) == "Jo Bloggs"
    assert mentions_name("Bloggs family moved", names) == "Jo Bloggs"
    assert mentions_name("C-1001: refer to early help", names) is None
    assert mentions_name("Lidl car park", names) is None  # 'Li' is too short to match alone
