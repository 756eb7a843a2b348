"""A year in simulated time over the practice-review scenarios.

The clock moves a day at a time; each morning at 07:30 (London) the scheduler sweeps,
delivers and sends the digest; the scenarios fire their steps at 10:00 on their days. At the
end, the expected emails are worked out independently from the deadlines (each rung of the
ladder while its deadline was open, to each address of its roles) and compared with what was
delivered: every one exactly once, on its own day, and that a working day.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from engine.core.clock import LONDON, FixedClock, london_date
from engine.core.ladder import plan_rungs, roles_for
from engine.core.service import Engine
from engine.core.store.database import Database
from engine.core.store.models import Case, Deadline
from notifications.service import Notifier
from tests.notifications.conftest import RECIPIENTS, settings

START = dt.date(2024, 6, 3)
Step = tuple[int, str, str, dict[str, str]]  # day offset, ref, trigger, fields (@ = that day)

SCENARIOS: list[Step] = [
    # published
    (0, "A", "open", {"became_aware_on": "@", "child_ref": "CA-1", "label": "a"}),
    (3, "A", "notify", {"notified_on": "@"}),
    (14, "A", "submit_rapid_review", {"rr_submitted_on": "@"}),
    (20, "A", "commission_lcspr", {"decision_on": "@"}),
    (30, "A", "appoint_reviewer", {"reviewer": "amy", "reviewer_appointed_on": "@"}),
    (150, "A", "approve_final", {"planned_publication_on": "+50"}),
    (185, "A", "send_to_panel", {"sent_to_panel_on": "@"}),
    (200, "A", "publish", {"published_on": "@"}),
    # deferred, then published (the notification late: overdue and escalated)
    (5, "B", "open", {"became_aware_on": "@", "child_ref": "CB-1", "label": "b"}),
    (16, "B", "notify", {"notified_on": "@"}),
    (25, "B", "submit_rapid_review", {"rr_submitted_on": "@"}),
    (30, "B", "commission_lcspr", {"decision_on": "@"}),
    (40, "B", "appoint_reviewer", {"reviewer": "bob", "reviewer_appointed_on": "@"}),
    (120, "B", "approve_final", {"planned_publication_on": "+50"}),
    (130, "B", "defer_publication", {"deferral_reason": "inquest", "deferred_on": "@"}),
    (150, "B", "review_deferral", {"deferral_reviewed_on": "@"}),
    (190, "B", "resume_publication", {"planned_publication_on": "+50"}),
    (220, "B", "send_to_panel", {"sent_to_panel_on": "@"}),
    (240, "B", "publish", {"published_on": "@"}),
    # closed without review (the rapid review late)
    (10, "C", "open", {"became_aware_on": "@", "child_ref": "CC-1", "label": "c"}),
    (12, "C", "notify", {"notified_on": "@"}),
    (40, "C", "submit_rapid_review", {"rr_submitted_on": "@"}),
    (45, "C", "close_without_review", {"decision_on": "@", "decision_rationale": "x"}),
    # national review
    (50, "D", "open", {"became_aware_on": "@", "child_ref": "CD-1", "label": "d"}),
    (52, "D", "notify", {"notified_on": "@"}),
    (60, "D", "submit_rapid_review", {"rr_submitted_on": "@"}),
    (70, "D", "refer_national_review", {"decision_on": "@"}),
    (150, "D", "close", {"closed_on": "@"}),
]


class DatedTransport:
    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.sent: list[tuple[dt.date, EmailMessage]] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append((london_date(self.clock.now()), message))

    def close(self) -> None:
        return None


def _values(values: dict[str, str], day: dt.date) -> dict[str, str]:
    out = {}
    for key, value in values.items():
        if value == "@":
            value = day.isoformat()
        elif value.startswith("+"):
            value = (day + dt.timedelta(days=int(value[1:]))).isoformat()
        out[key] = value
    return out


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_year_of_practice_reviews(engine: Engine, clock: FixedClock, db: Database) -> None:
    transport = DatedTransport(clock)
    notifier = Notifier(engine, settings(), lambda: transport)
    cal = engine.calendar
    end = START + dt.timedelta(days=365)
    day = START
    while day < end:
        clock.set(dt.datetime.combine(day, dt.time(7, 30), tzinfo=LONDON))
        notifier.sweep()
        notifier.digest()
        notifier.dispatch()
        clock.set(dt.datetime.combine(day, dt.time(10, 0), tzinfo=LONDON))
        for offset, ref, trigger, values in SCENARIOS:
            if START + dt.timedelta(days=offset) == day:
                if trigger == "open":
                    engine.open_case("practice_review", ref, _values(values, day), "amy")
                else:
                    engine.fire(ref, trigger, _values(values, day), "amy")
        day += dt.timedelta(days=1)
    last_sweep = dt.datetime.combine(end - dt.timedelta(days=1), dt.time(7, 30),
                                     tzinfo=LONDON)

    expected: Counter[tuple[str, str, str, str, dt.date]] = Counter()
    definition = engine.registry.get("practice_review")
    with db.read() as session:
        for d, ref in session.execute(select(Deadline, Case.ref).join(
                Case, Case.id == Deadline.case_id)):
            clock_def = definition.clocks[d.name]
            for p in plan_rungs(clock_def.alerts, d.due_at, d.due_day, cal):
                closed = d.closed_at
                if d.started_at <= p.at <= last_sweep and (closed is None or p.at < closed):
                    for role in roles_for(p.rung, d.owner_role):
                        for address in RECIPIENTS[role]:
                            expected[(ref, d.name, p.rung.kind, address, p.day)] += 1
    by_label = {c.title: c.name for c in engine.registry.get("practice_review").clocks.values()}
    kinds = {"Reminder:": "reminder", "Due": "due", "Overdue:": "overdue",
             "Escalation:": "escalation"}
    got: Counter[tuple[str, str, str, str, dt.date]] = Counter()
    events = 0
    digests: Counter[tuple[str, dt.date]] = Counter()
    for sent_on, message in transport.sent:
        subject = str(message["Subject"])
        if subject.startswith("safeguard digest"):
            digests[(str(message["To"]), sent_on)] += 1
            continue
        if subject.startswith("Case "):  # a workflow event's own email, not an alert
            events += 1
            continue
        kind = kinds[subject.split(" ", 1)[0]]
        ref = subject.split(" for ", 1)[1].split(" ")[0].rstrip(",:")
        deadline = by_label[subject.split(": ", 1)[1].split(" for ")[0]]
        got[(ref, deadline, kind, str(message["To"]), sent_on)] += 1
    missing, extra = expected - got, got - expected
    print(f"year run: {sum(expected.values())} alert emails expected, "
          f"{sum(got.values())} delivered, missing {sum(missing.values())}, unexpected "
          f"{sum(extra.values())}; {sum(digests.values())} digests; {events} event emails")
    print("by deadline and kind:", sorted(Counter((k[1], k[2]) for k in got.elements()).items()))
    assert not missing and not extra
    assert all(n == 1 for n in got.values())
    assert all(cal.is_working_day(d) for *_, d in got)
    assert all(n == 1 and cal.is_working_day(d) for (_, d), n in digests.items())
    assert {kind for _, _, kind, _, _ in got} == {"reminder", "due", "overdue", "escalation"}
