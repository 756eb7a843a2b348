"""Working-day and month arithmetic, against the guidance's own examples and as properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.calendar import WorkingCalendar, add_months

CAL = WorkingCalendar()
D = dt.date.fromisoformat
days = st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2030, 12, 31))
counts = st.integers(min_value=0, max_value=60)


def test_guidance_example_monday_plus_five_is_next_monday() -> None:
    assert CAL.add_working_days(D("2024-06-03"), 5) == D("2024-06-10")


@pytest.mark.parametrize("day", ["2022-06-02", "2022-06-03", "2022-09-19", "2023-05-08",
                                 "2024-12-25", "2024-12-26", "2025-08-25", "2024-03-29"])
def test_bank_holidays_including_one_off_ones_are_not_working_days(day: str) -> None:
    assert not CAL.is_working_day(D(day))


def test_scottish_only_holiday_is_a_working_day() -> None:
    # 2 January and St Andrew's Day are Scottish bank holidays, not English or Welsh ones.
    assert CAL.is_working_day(D("2024-01-02"))
    assert CAL.is_working_day(D("2023-11-30"))


def test_jubilee_week_2022_skips_both_bank_holidays() -> None:
    # Aware Tue 31 May 2022: Thu 2 and Fri 3 June are bank holidays.
    assert CAL.add_working_days(D("2022-05-31"), 5) == D("2022-06-09")


def test_day_zero_may_be_a_weekend_or_holiday() -> None:
    # Aware on Saturday: the first working day after it is Monday.
    assert CAL.add_working_days(D("2024-06-01"), 1) == D("2024-06-03")
    assert CAL.add_working_days(D("2024-12-25"), 1) == D("2024-12-27")


def test_counting_back_before_a_date() -> None:
    # 7 working days before Wed 2024-06-12 is Mon 2024-06-03.
    assert CAL.subtract_working_days(D("2024-06-12"), 7) == D("2024-06-03")
    assert CAL.subtract_working_days(D("2024-06-10"), 5) == D("2024-06-03")


def test_local_closure_days_are_skipped() -> None:
    closed = WorkingCalendar(closure_days=[D("2024-06-05")])
    assert closed.add_working_days(D("2024-06-03"), 5) == D("2024-06-11")
    assert closed.holiday_name(D("2024-06-05")) == "local closure day"


@pytest.mark.parametrize(("start", "months", "expected"), [
    ("2024-05-31", 6, "2024-11-30"),
    ("2024-08-31", 6, "2025-02-28"),
    ("2023-08-31", 6, "2024-02-29"),
    ("2024-01-15", 6, "2024-07-15"),
    ("2024-07-31", 12, "2025-07-31"),
])
def test_calendar_months_clamp_to_month_end(start: str, months: int, expected: str) -> None:
    assert add_months(D(start), months) == D(expected)


@settings(max_examples=300, deadline=None)
@given(days, st.integers(min_value=1, max_value=60))
def test_adding_never_lands_on_a_non_working_day(start: dt.date, n: int) -> None:
    assert CAL.is_working_day(CAL.add_working_days(start, n))
    assert CAL.is_working_day(CAL.subtract_working_days(start, n))


@settings(max_examples=300, deadline=None)
@given(days, counts)
def test_add_then_subtract_returns_to_a_working_start(start: dt.date, n: int) -> None:
    start = CAL.next_working_day(start)
    assert CAL.subtract_working_days(CAL.add_working_days(start, n), n) == start


@settings(max_examples=300, deadline=None)
@given(days, days, counts)
def test_adding_is_monotonic(a: dt.date, b: dt.date, n: int) -> None:
    a, b = min(a, b), max(a, b)
    assert CAL.add_working_days(a, n) <= CAL.add_working_days(b, n)


@settings(max_examples=300, deadline=None)
@given(days, counts)
def test_exactly_n_working_days_lie_between(start: dt.date, n: int) -> None:
    end = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, end) == n
    assert end >= start


@settings(max_examples=200, deadline=None)
@given(days, st.integers(min_value=0, max_value=36))
def test_months_never_overflow_and_keep_the_day_when_possible(start: dt.date, m: int) -> None:
    result = add_months(start, m)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == m
    assert result.day == start.day or result.day < start.day
