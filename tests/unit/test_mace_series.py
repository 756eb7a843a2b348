"""MACE series dates: fortnightly and monthly slots, the bank-holiday rule, RRULEs. Pure."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.core.calendar import WorkingCalendar
from engine.core.clock import LONDON
from engine.core.errors import UsageError
from engine.domains.mace.series import (
    parse_every,
    parse_time,
    parse_weekday,
    place,
    slots,
    start_instant,
)

CAL = WorkingCalendar()
D = dt.date.fromisoformat


def test_fortnightly_slots() -> None:
    got = slots(D("2024-05-01"), parse_every("2w"), D("2024-05-01"), D("2024-06-30"))
    assert [d.isoformat() for d in got] == [
        "2024-05-01", "2024-05-15", "2024-05-29", "2024-06-12", "2024-06-26"]
    # A window that starts later keeps the series' rhythm.
    later = slots(D("2024-05-01"), parse_every("2w"), D("2024-06-13"), D("2024-07-31"))
    assert [d.isoformat() for d in later] == ["2024-06-26", "2024-07-10", "2024-07-24"]


def test_monthly_slots_keep_the_weekday_of_the_month() -> None:
    first_wed = slots(D("2024-05-01"), parse_every("1m"), D("2024-05-01"), D("2024-09-30"))
    assert [d.isoformat() for d in first_wed] == [
        "2024-05-01", "2024-06-05", "2024-07-03", "2024-08-07", "2024-09-04"]
    last_fri = slots(D("2024-05-31"), parse_every("1m"), D("2024-05-01"), D("2024-08-31"))
    assert [d.isoformat() for d in last_fri] == [
        "2024-05-31", "2024-06-28", "2024-07-26", "2024-08-30"]


@pytest.mark.parametrize(("slot", "policy", "held"), [
    ("2024-05-06", "next", "2024-05-07"),  # Early May bank holiday (Monday) -> Tuesday
    ("2024-05-06", "previous", "2024-05-03"),  # -> the Friday before
    ("2024-05-06", "skip", None),
    ("2024-12-25", "next", "2024-12-27"),  # Christmas and Boxing Day both skipped
    ("2023-05-08", "next", "2023-05-09"),  # the one-off Coronation bank holiday
    ("2024-05-08", "skip", "2024-05-08"),  # a working day stays
])
def test_bank_holiday_rule(slot: str, policy: str, held: str | None) -> None:
    assert place(D(slot), CAL, policy) == (D(held) if held else None)


def test_local_closure_days_count_as_holidays() -> None:
    cal = WorkingCalendar(closure_days=[D("2024-12-24")])
    assert place(D("2024-12-24"), cal, "next") == D("2024-12-27")


def test_start_instant_is_london_wall_time_in_winter_and_summer() -> None:
    assert start_instant(D("2024-01-10"), "10:00") == dt.datetime(2024, 1, 10, 10, 0,
                                                                   tzinfo=dt.UTC)
    assert start_instant(D("2024-07-10"), "10:00") == dt.datetime(2024, 7, 10, 9, 0,
                                                                   tzinfo=dt.UTC)
    assert start_instant(D("2024-07-10"), "10:00").astimezone(LONDON).hour == 10


@pytest.mark.parametrize(("parser", "text"), [
    (parse_every, "fortnightly"), (parse_every, "0w"), (parse_every, "13m"),
    (parse_weekday, "saturday"), (parse_weekday, "wendesday"), (parse_time, "25:00"),
    (parse_time, "9am")])
def test_bad_series_input_is_a_usage_error(parser: object, text: str) -> None:
    with pytest.raises(UsageError):
        parser(text)  # type: ignore[operator]
