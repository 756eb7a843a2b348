"""The scheduler service: APScheduler 3 in the foreground.

Jobs live in memory (the deadlines live in our tables, not as scheduler jobs): the sweep every
``sweep_minutes``, delivery every minute, the morning digest at ``digest_hour`` on working
days in Europe/London (a cron trigger in that zone is DST-safe; the job itself skips bank
holidays and closure days). Each job runs one pass; overlapping runs of a job are not
allowed, and a failing pass is logged and retried at its next turn.

The notifier's engine must carry a wall clock here: this is the one place that uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from notifications.service import Notifier


def _guarded(name: str, job: Callable[[], Any], echo: Callable[[str], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            result = job()
        except Exception as exc:  # one bad pass must not stop the service
            echo(f"{name}: failed: {exc}")
            return
        echo(f"{name}: {result}")
    return run


def build_scheduler(notifier: Notifier, echo: Callable[[str], None]) -> Any:
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
    return scheduler


def run_forever(notifier: Notifier, actor: str, echo: Callable[[str], None]) -> None:
    """Run the scheduler as ``actor`` (an administrator: checked and audited once, at the
    start); its passes are the service's own work, not a user's command each."""
    notifier.engine.authorize(actor, "scheduler.run")
    scheduler = build_scheduler(notifier, echo)
    echo("scheduler: running (Ctrl-C to stop)")
    _guarded("sweep", notifier.sweep, echo)()
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        echo("scheduler: stopped")
