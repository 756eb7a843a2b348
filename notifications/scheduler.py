"""The scheduler service: APScheduler 3 in the foreground.

Jobs live in memory (the deadlines live in our tables, not as scheduler jobs): the sweep every
``sweep_minutes``, delivery every minute, the morning digest at ``digest_hour`` on working
days in Europe/London (a cron trigger in that zone is DST-safe; the job itself skips bank
holidays and closure days), and once a day (at start, then an hour before the digest) the
daily jobs the composition root hands it (``App.daily_jobs``: MACE meetings generated ahead
with ``mace generate``, idempotent). Each job runs one pass; overlapping runs of a job are
not allowed, and a failing pass is logged and retried at its next turn.

The daily jobs come in as plain callables taking the scheduler's user: this module must not
import a domain.

The notifier's engine must carry a wall clock here: this is the one place that uses it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from typing import Any

from notifications.service import Notifier

# (name, job): a job run once a day as the scheduler's user, e.g. ('mace generate', ...).
DailyJob = tuple[str, Callable[[str], Any]]


def _guarded(name: str, job: Callable[[], Any], echo: Callable[[str], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            result = job()
        except Exception as exc:  # one bad pass must not stop the service
            echo(f"{name}: failed: {exc}")
            return
        echo(f"{name}: {result}")
    return run


def build_scheduler(notifier: Notifier, echo: Callable[[str], None],
                    daily: Sequence[DailyJob] = (), actor: str = "") -> Any:
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    settings = notifier.settings
    scheduler = BlockingScheduler(timezone="Europe/London",
                                  job_defaults={"coalesce": True, "max_instances": 1,
                                                "misfire_grace_time": 300})
    scheduler.add_job(_guarded("sweep", notifier.sweep, echo),
                      IntervalTrigger(minutes=settings.sweep_minutes), id="sweep")
    scheduler.add_job(_guarded("dispatch", notifier.dispatch, echo),
                      IntervalTrigger(minutes=1), id="dispatch")
    scheduler.add_job(_guarded("digest", notifier.digest, echo),
                      CronTrigger(day_of_week="mon-fri", hour=settings.digest_hour,
                                  timezone="Europe/London"), id="digest")
    for name, job in daily:
        scheduler.add_job(_guarded(name, _as(job, actor), echo),
                          CronTrigger(hour=max(settings.digest_hour - 1, 0),
                                      timezone="Europe/London"), id=f"daily:{name}")
    return scheduler


def _as(job: Callable[[str], Any], actor: str) -> Callable[[], Any]:
    return lambda: job(actor)


def run_forever(notifier: Notifier, actor: str, echo: Callable[[str], None],
                daily: Sequence[DailyJob] = ()) -> None:
    """Run the scheduler as ``actor`` (an administrator: checked and audited once, at the
    start); its passes are the service's own work, not a user's command each. The daily
    jobs are commands run as ``actor`` (each checked and audited by its service: ``mace
    generate`` needs the CERAR coordinator role, or its refusal is logged every day)."""
    notifier.engine.authorize(actor, "scheduler.run")
    _stop_on_signals()
    scheduler = build_scheduler(notifier, echo, daily, actor)
    echo("scheduler: running (Ctrl-C to stop)")
    try:  # a stop at any point from here on is a clean stop, the first passes included
        for name, job in daily:  # idempotent: a restart generates nothing twice
            _guarded(name, _as(job, actor), echo)()
        _guarded("sweep", notifier.sweep, echo)()
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        echo("scheduler: stopped")


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _stop_on_signals() -> None:
    """Ctrl-C (SIGINT) and a service manager's SIGTERM stop the scheduler cleanly, between
    or inside passes (each pass is one transaction, rolled back if cut short). Installed
    here because a process started in the background by a shell, or by a parent that
    ignores SIGINT, inherits SIGINT ignored, and SIGTERM would otherwise end the process
    without closing it down."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers (a test running it in a thread)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop)
