"""The sweep, the outbox and delivery on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from click.testing import CliRunner
from sqlalchemy import func, select

from engine.core.clock import FixedClock
from engine.core.errors import DeliveryError
from engine.core.service import Engine
from engine.core.store.database import Database
from engine.core.store.models import Alert, Deadline, OutboxMessage
from notifications.service import Notifier
from notifications.transports import MemoryTransport
from tests.conftest import london
from tests.notifications.conftest import OPEN_FIELDS, settings


def _alerts(db: Database) -> list[tuple[str, str, str]]:
    with db.read() as s:
        return [(d, a, st) for d, a, st in s.execute(
            select(Deadline.name, Alert.rung, Alert.status).join(
                Deadline, Deadline.id == Alert.deadline_id).order_by(Alert.id))]


def _outbox(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def test_open_sets_next_alert_times(engine: Engine, db: Database) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    with db.read() as s:
        got = {d.name: d.next_alert_at for d in s.scalars(select(Deadline))}
    assert got["notification"] == london("2024-06-06 07:00")  # 2 working days before 10 June
    assert got["rapid_review"] == london("2024-06-17 07:00")  # 5 working days before 24 June


def test_each_rung_once_and_sweep_is_idempotent(engine: Engine, notifier: Notifier,
                                                clock: FixedClock, db: Database,
                                                memory: MemoryTransport) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-06 08:00"))
    first = notifier.sweep()
    assert (first.deadlines, first.raised, first.messages) == (1, 1, 1)
    again = notifier.sweep()
    assert (again.deadlines, again.raised, again.messages) == (0, 0, 0)
    assert _alerts(db) == [("notification", "2wd-before", "raised")]
    assert notifier.dispatch().sent == 1 and notifier.dispatch().sent == 0
    [message] = memory.sent
    assert message["To"] == "support@example.org"
    assert message["Subject"] == ("Reminder: serious incident notification for PR-1 due by "
                                  "Monday 10 June 2024: notify the Panel of the serious "
                                  "incident and record it")


def test_escalation_goes_to_chair_and_manager(engine: Engine, notifier: Notifier,
                                              clock: FixedClock, db: Database) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    for day in ("2024-06-06", "2024-06-10", "2024-06-11", "2024-06-13"):
        clock.set(london(f"{day} 07:05"))
        notifier.sweep()
    notification = [(r, st) for d, r, st in _alerts(db) if d == "notification"]
    assert notification == [("2wd-before", "raised"), ("due", "raised"),
                            ("1wd-after", "raised"), ("3wd-after", "raised")]
    with db.read() as s:
        escalation = s.scalars(select(Alert).where(Alert.rung == "3wd-after")).one()
        assert escalation.kind == "escalation"
        assert [r["address"] for r in escalation.recipients] == [
            "chair@example.org", "manager@example.org"]
        subjects = list(s.scalars(select(OutboxMessage.subject).where(
            OutboxMessage.alert_id == escalation.id)))
    assert len(subjects) == 2 and all(x.startswith("Escalation:") for x in subjects)


def test_catch_up_sends_latest_rung_only(engine: Engine, notifier: Notifier,
                                         clock: FixedClock, db: Database) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-12 09:00"))  # scheduler was down for a week
    result = notifier.sweep()
    assert [(d, r, st) for d, r, st in _alerts(db) if d == "notification"] == [
        ("notification", "2wd-before", "skipped"), ("notification", "due", "skipped"),
        ("notification", "1wd-after", "raised")]
    assert result.raised == 1 + 0 and result.skipped == 2  # rapid_review not due yet


def test_met_deadline_raises_nothing_more(engine: Engine, notifier: Notifier,
                                          clock: FixedClock, db: Database) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-06 08:00"))
    notifier.sweep()
    engine.fire("PR-1", "notify", {"notified_on": "2024-06-06"}, actor="bob")
    with db.read() as s:
        row = s.scalars(select(Deadline).where(Deadline.name == "notification")).one()
        assert row.status == "met" and row.next_alert_at is None
    clock.set(london("2024-06-20 08:00"))
    notifier.sweep()
    assert [r for d, r, _ in _alerts(db) if d == "notification"] == ["2wd-before"]


def test_corrected_anchor_recomputes_without_resending(engine: Engine, notifier: Notifier,
                                                       clock: FixedClock,
                                                       db: Database) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-06 08:00"))
    notifier.sweep()  # 2wd-before of notification (due 10 June)
    engine.correct("PR-1", {"became_aware_on": "2024-06-05"}, actor="amy", note="typo")
    with db.read() as s:
        row = s.scalars(select(Deadline).where(Deadline.name == "notification")).one()
        assert row.due_day == dt.date(2024, 6, 12)
        assert row.next_alert_at == london("2024-06-12 07:00")  # 2wd-before already sent
    clock.set(london("2024-06-10 08:00"))  # the new 2wd-before day: nothing again
    assert notifier.sweep().raised == 0
    clock.set(london("2024-06-12 08:00"))
    notifier.sweep()
    assert [r for d, r, _ in _alerts(db) if d == "notification"] == ["2wd-before", "due"]


def test_digest_once_per_address_and_working_day(engine: Engine, notifier: Notifier,
                                                 clock: FixedClock, db: Database) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-04 07:00"))
    assert notifier.digest() == 1  # support@ (notification due within 5 working days)
    assert notifier.digest() == 0
    clock.set(london("2024-06-08 07:00"))  # Saturday
    assert notifier.digest() == 0


def test_retries_back_off_then_dead_letter_then_retry(engine: Engine, clock: FixedClock,
                                                      db: Database) -> None:
    memory = MemoryTransport()
    memory.fail_with = DeliveryError("cannot reach SMTP server: refused", unreachable=True)
    notifier = Notifier(engine, settings(max_attempts=3, backoff_seconds=60), lambda: memory)
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-06 08:00"))
    notifier.sweep()
    assert notifier.dispatch().retrying == 1
    assert notifier.dispatch().retrying == 0  # not yet: next attempt in 60 s
    clock.advance(dt.timedelta(seconds=60))
    assert notifier.dispatch().retrying == 1  # second attempt; next in 120 s
    clock.advance(dt.timedelta(seconds=119))
    assert notifier.dispatch().retrying == 0
    clock.advance(dt.timedelta(seconds=1))
    assert notifier.dispatch().failed == 1  # third attempt: dead letter
    [row] = notifier.messages("amy", ["failed"])
    assert row.attempts == 3 and "cannot reach" in (row.last_error or "")
    memory.fail_with = None
    assert notifier.retry("amy", all_failed=True) == 1
    assert notifier.dispatch().sent == 1
    assert [m["Message-ID"] for m in memory.sent] == [row.message_id]


def test_permanent_refusal_dead_letters_at_once(engine: Engine, clock: FixedClock,
                                                db: Database) -> None:
    memory = MemoryTransport()
    memory.fail_with = DeliveryError("550 no such user", permanent=True)
    notifier = Notifier(engine, settings(), lambda: memory)
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-06 08:00"))
    notifier.sweep()
    assert notifier.dispatch().failed == 1


def test_cli_once_alerts_and_notifications(engine: Engine, db: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cli import main

    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    config = tmp_path / "sg.toml"
    config.write_text('[notifications]\ntransport = "eml"\nrecipients_from = "settings"\n'
                      'eml_dir = "%s"\n'
                      '[notifications.recipients]\nbusiness_support = ["s@example.org"]\n'
                      % (tmp_path / "eml"))
    runner = CliRunner()
    base = ["--db", db.url, "--config", str(config), "--now", "2024-06-06T08:00"]
    due = runner.invoke(main, [*base, "alerts", "list", "--due", "--json"])
    assert due.exit_code == 0, due.output
    assert '"deadline": "notification"' in due.output
    once = runner.invoke(main, [*base, "scheduler", "run", "--once"])
    assert once.exit_code == 0, once.output
    assert '"raised": 1' in once.output and '"sent": 1' in once.output
    assert len(list((tmp_path / "eml").glob("*.eml"))) == 1
    listed = runner.invoke(main, [*base, "notifications", "list", "--status", "sent"])
    assert "Reminder: serious incident notification for PR-1" in listed.output
    shown = runner.invoke(main, [*base, "notifications", "show", "1"])
    assert "status: sent" in shown.output
    preview = runner.invoke(main, [*base, "notifications", "preview", "due", "--case",
                                   "PR-1"])
    assert "Due by Monday 10 June 2024: serious incident notification for PR-1" in preview.output
    bad = runner.invoke(main, [*base, "notifications", "retry", "1"])
    assert bad.exit_code != 0 and "Error: " in bad.output and "not failed" in bad.output
    assert _outbox(db) == 1


def test_the_sweep_reads_the_next_alert_index(db: Database) -> None:
    """The work list is an index range scan: cost follows what is due, not the table size."""
    from sqlalchemy import text

    if not db.is_sqlite:
        return  # PostgreSQL picks a plan by table size; the index is the same
    with db.read() as s:
        plan = " ".join(str(row[-1]) for row in s.execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM deadline WHERE next_alert_at <= '2024-06-06' "
            "ORDER BY next_alert_at LIMIT 500")))
    assert "ix_deadline_next_alert_at" in plan, plan


def _statements(db: Database, work: Callable[[], object]) -> int:
    """How many statements ``work`` sends the database (an executemany counts once)."""
    from sqlalchemy import event

    sent: list[str] = []

    def count(*args: object) -> None:
        sent.append(str(args[2]))

    event.listen(db.write_engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(db.write_engine, "before_cursor_execute", count)
    return len(sent)


def test_a_sweep_batch_is_set_based(engine: Engine, notifier: Notifier, clock: FixedClock,
                                    db: Database) -> None:
    """Alerts, outbox rows and moves are written a batch at a time: the statements a sweep
    sends do not grow with the number of deadlines due (issue 12: it was one per alert)."""
    clock.set(london("2024-06-06 08:00"))  # the notification rung is due on open
    for i in range(2):
        engine.open_case("practice_review", f"PR-{i}", OPEN_FIELDS, actor="amy")
    few = _statements(db, notifier.sweep)
    for i in range(2, 14):
        engine.open_case("practice_review", f"PR-{i}", OPEN_FIELDS, actor="amy")
    many = _statements(db, notifier.sweep)
    assert few == many
    assert len(_alerts(db)) == 14 and _outbox(db) == 14


def test_enqueue_counts_the_rows_it_wrote(db: Database) -> None:
    """A key already in the outbox is left alone and not counted (on both drivers)."""
    from notifications import outbox
    from notifications.render import Rendered

    now = london("2024-06-06 08:00")
    body = Rendered("Subject", "text", "<p>html</p>")

    def rows(*keys: str) -> list[dict[str, object]]:
        return [outbox.row_values(k, "reminder", "a@example.org", body, now, "s@example.org")
                for k in keys]

    with db.write() as session:
        assert outbox.enqueue(session, rows("a", "b")) == 2
    with db.begin() as conn:
        assert outbox.enqueue(conn, rows("b", "c", "d")) == 2
        assert outbox.enqueue(conn, []) == 0
    assert _outbox(db) == 4


def test_directory_recipients_are_the_users_holding_the_role_in_the_case_area(
        engine: Engine, db: Database) -> None:
    from engine.core.admin import Admin
    from notifications.recipients import DirectoryRecipients

    admin = Admin(db, engine.clock, engine.gate)
    admin.add_area("amy", "south", "South")
    for login, area in [("nina", "cumberland"), ("sam", "south"), ("all", None)]:
        admin.add_user("amy", login, login, f"{login}@example.org", "LA")
        admin.grant("amy", login, "business_support", area)
    admin.add_user("amy", "gone", "gone", "gone@example.org", "LA")
    admin.grant("amy", "gone", "business_support", "cumberland")
    admin.disable("amy", "gone")
    engine.open_case("practice_review", "PR-D", OPEN_FIELDS, actor="amy", area="cumberland")
    found = DirectoryRecipients(db, {"business_support": ["team@example.org"]}).addresses(
        "business_support", "practice_review", "PR-D")
    assert "nina@example.org" in found and "all@example.org" in found
    assert "team@example.org" in found
    assert "sam@example.org" not in found and "gone@example.org" not in found
