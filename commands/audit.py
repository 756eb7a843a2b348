"""``safeguard audit`` (the hash-chained audit trail: log, verify) and ``safeguard retention``
(erasing personal fields past their retention period)."""

from __future__ import annotations

import click

from commands._common import _emit, _fail, _runtime, json_option


@click.group()
def audit() -> None:
    """The hash-chained audit trail (auditors)."""


@audit.command("log")
@click.option("--case", "case_ref", help="Only this case reference.")
@click.option("--user", "user_login", help="Only this user's actions.")
@click.option("--since", help="From this date (YYYY-MM-DD, Europe/London).")
@json_option
def audit_log(case_ref: str | None, user_login: str | None, since: str | None,
              as_json: bool) -> None:
    """Show audit records."""
    from engine.core.clock import parse_instant, show_instant
    from engine.core.present import table

    runtime = _runtime()
    entries = runtime.app().audit.log(
        runtime.actor_name, case_ref, user_login, parse_instant(since) if since else None)
    _emit(as_json, [e.to_json() for e in entries], lambda: table(
        ("#", "AT (LONDON)", "ACTOR", "ACTION", "OUTCOME", "CASE"),
        [(e.seq, show_instant(e.at)[:16].replace("T", " "), e.actor, e.action, e.outcome,
          e.case_ref or "") for e in entries]))


@audit.command("verify")
def audit_verify() -> None:
    """Walk the chain; report the first record changed, removed or inserted (exit 1)."""
    import sys

    def progress(done: int, total: int) -> None:
        click.echo(f"\rchecked {done:,} of {total:,} records", err=True, nl=False)

    runtime = _runtime()
    tty = sys.stderr.isatty()  # progress only on a terminal, never into a log or a pipe
    verdict = runtime.app().audit.verify(runtime.actor_name, progress if tty else None)
    if tty:
        click.echo("\r\033[K", err=True, nl=False)
    if not verdict.ok:
        _fail(f"audit trail broken: {verdict.message}", 1)
    click.echo(verdict.message)


@audit.command("rotate-key")
def audit_rotate_key() -> None:
    """Keep the audit trail with a new key (administrators): run with the new key in
    SAFEGUARD_AUDIT_KEY and the current one in SAFEGUARD_AUDIT_OLD_KEYS."""
    runtime = _runtime()
    old, new = runtime.app().audit.rotate_key(runtime.actor_name)
    click.echo(f"Audit key rotated: records are now made with key '{new}' (was '{old}'); "
               "keep the old key in SAFEGUARD_AUDIT_OLD_KEYS so its records still verify.")


@click.group()
def retention() -> None:
    """The retention policy."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="List what would be erased; change nothing.")
@json_option
def retention_run(dry_run: bool, as_json: bool) -> None:
    """Erase the personal fields of cases past their retention period (not on legal hold)."""
    from engine.core.present import table

    runtime = _runtime()
    items = runtime.app().data_protection.retention_run(runtime.actor_name, dry_run,
                                                        "retention run")
    verb = "would erase" if dry_run else "erased"

    def text() -> str:
        if not items:
            return "No case is past its retention period."
        rows = [(i.ref, i.workflow, i.expired_on.isoformat(), ", ".join(i.fields),
                 "held: kept" if i.held else verb) for i in items]
        return table(("REF", "WORKFLOW", "EXPIRED ON", "PERSONAL FIELDS", "ACTION"), rows)

    _emit(as_json, [i.to_json() for i in items], text)
