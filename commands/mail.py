"""``safeguard alerts``, ``safeguard notifications`` and ``safeguard scheduler``: deadline
alerts, the email outbox and the service that sweeps deadlines and delivers mail."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from commands._common import ID, LIMIT, _emit, _runtime, json_option


def _notifier() -> Any:
    return _runtime().app().notifier


def _actor() -> str:
    return _runtime().actor_name


def _message_json(row: Any, full: bool = False) -> dict[str, Any]:
    data = {"id": row.id, "status": row.status, "template": row.template,
            "to": row.to_address, "subject": row.subject, "attempts": row.attempts,
            "next_attempt_at": row.next_attempt_at, "sent_at": row.sent_at,
            "message_id": row.message_id, "last_error": row.last_error}
    if full:
        data.update(text=row.body_text, html=row.body_html, ics=row.ics,
                    created_at=row.created_at)
    return data


@click.group()
def alerts() -> None:
    """Deadline alerts: what has been raised, and what the next sweep will raise."""


@alerts.command("list")
@click.option("--due", is_flag=True, help="Rungs due now that the next sweep will raise.")
@click.option("--overdue", is_flag=True, help="Alerts of deadlines past due and still open.")
@json_option
def alerts_list(due: bool, overdue: bool, as_json: bool) -> None:
    """List alerts (newest first)."""
    from engine.core.clock import show_instant
    from engine.core.present import table

    items = _notifier().alerts(_actor(), due=due, overdue=overdue)
    if due:
        rows: list[tuple[Any, ...]] = [
            (i["case"], i["deadline"], show_instant(i["next_alert_at"]),
             i["due"] or show_instant(i["due_at"])) for i in items]
        header: tuple[str, ...] = ("CASE", "DEADLINE", "ALERT DUE", "DEADLINE DUE")
    else:
        rows = [(i["id"], i["case"], i["deadline"], i["rung"], i["kind"],
                 show_instant(i["raised_at"]), ", ".join(i["recipients"]) or "(no one)")
                for i in items]
        header = ("ID", "CASE", "DEADLINE", "RUNG", "KIND", "RAISED", "TO")
    _emit(as_json, items, lambda: table(header, rows))


@click.group()
def notifications() -> None:
    """Email notifications: the outbox, delivery, retries, previews."""


@notifications.command("list")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["pending", "sending", "sent", "failed"]),
              help="Only this status (repeatable).")
@click.option("--limit", default=200, show_default=True, type=LIMIT,
              help="At most this many.")
@json_option
def notifications_list(statuses: Sequence[str], limit: int, as_json: bool) -> None:
    """List outbox messages, newest first."""
    from engine.core.present import table

    rows = _notifier().messages(_actor(), statuses, limit)
    _emit(as_json, [_message_json(r) for r in rows], lambda: table(
        ("ID", "STATUS", "TRIES", "TO", "SUBJECT"),
        [(r.id, r.status, r.attempts, r.to_address, r.subject) for r in rows]))


@notifications.command("show")
@click.argument("ident", metavar="ID", type=ID)
@json_option
def notifications_show(ident: int, as_json: bool) -> None:
    """Show one message: headers, state and its text part."""
    row = _notifier().message(ident, _actor())
    data = _message_json(row, full=True)
    _emit(as_json, data, lambda: "\n".join(
        [f"{k}: {data[k]}" for k in ("id", "status", "template", "to", "subject",
                                     "message_id", "attempts", "sent_at", "last_error")]
        + ["", row.body_text]))


@notifications.command("preview")
@click.argument("template")
@click.option("--case", "ref", required=True, help="The case reference.")
@click.option("--deadline", help="The deadline (default: the case's first open one).")
@click.option("--html", "as_html", is_flag=True, help="Print the HTML part, not the text.")
def notifications_preview(template: str, ref: str, deadline: str | None,
                          as_html: bool) -> None:
    """Render TEMPLATE for a case without storing or sending anything."""
    rendered = _notifier().preview(template, ref, _runtime().actor_name, deadline)
    click.echo(f"Subject: {rendered.subject}\n")
    click.echo(rendered.html if as_html else rendered.text)


@notifications.command("dispatch")
def notifications_dispatch() -> None:
    """Deliver what is due in the outbox now (one pass)."""
    result = _notifier().deliver(_actor())
    click.echo(f"sent {result.sent}, retrying {result.retrying}, failed {result.failed}"
               + (f", put back {result.released}" if result.released else ""))


@notifications.command("retry")
@click.argument("ident", metavar="ID", type=ID, required=False)
@click.option("--all-failed", is_flag=True, help="Every failed (dead-lettered) message.")
def notifications_retry(ident: int | None, all_failed: bool) -> None:
    """Put a failed message (or all) back in the queue with fresh attempts."""
    count = _notifier().retry(_actor(), ident, all_failed)
    click.echo(f"{count} message(s) queued again")


def _daily(name: str, job: Any) -> str:
    """A daily job's outcome; a refused one is reported and the sweep still runs."""
    from engine.core.errors import EngineError

    try:
        return str(job(_actor()))
    except EngineError as exc:
        click.echo(f"scheduler: {name}: failed: {exc}", err=True)
        return f"failed: {exc}"


@click.group()
def scheduler() -> None:
    """The scheduler service: deadline sweep, delivery, morning digest."""


@scheduler.command("run")
@click.option("--once", is_flag=True,
              help="One sweep and one delivery pass, then exit (honours --now).")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Deadlines claimed per sweep transaction.")
@click.option("--daily", is_flag=True,
              help="With --once: also run the daily jobs (MACE meetings generated ahead); "
                   "for a once-a-day cron line.")
def scheduler_run(once: bool, batch: int, daily: bool) -> None:
    """Run the scheduler in the foreground (or once, for cron and tests)."""
    runtime = _runtime()
    if runtime.now and not once:
        raise click.UsageError("--now needs --once: a running scheduler follows the clock")
    notifier = _notifier()
    if daily and not once:
        raise click.UsageError("--daily goes with --once: a running scheduler runs the daily "
                               "jobs itself")
    if once:
        jobs = {name: _daily(name, job) for name, job in runtime.app().daily_jobs()} \
            if daily else {}
        swept, sent = notifier.run_once(_actor(), batch)
        if swept.unaddressed_users:
            click.echo(f"scheduler: NO EMAIL ADDRESS for {', '.join(swept.unaddressed_users)}"
                       ": their alerts were not sent (safeguard user list)", err=True)
        click.echo(json.dumps({**({"daily": jobs} if daily else {}),
            "deadlines": swept.deadlines, "raised": swept.raised, "skipped": swept.skipped,
            "messages": swept.messages, "unaddressed": swept.unaddressed,
            "unaddressed_users": list(swept.unaddressed_users),
            "sent": sent.sent, "retrying": sent.retrying, "failed": sent.failed}))
        return
    from notifications.scheduler import run_forever

    run_forever(notifier, _actor(), click.echo, runtime.app().daily_jobs())
