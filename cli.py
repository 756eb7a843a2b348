"""The `safeguard` command line. A command parses its options, makes one engine call and
prints. Errors from the engine become one ``Error: ...`` line here, in one place.

Heavy imports (SQLAlchemy, SQLModel, transitions, alembic) happen inside commands, so
``safeguard --help`` starts about as fast as click itself.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from engine.core.service import Engine
    from engine.core.settings import Settings


# -- error handling, in one place ------------------------------------------------------------
def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


class SafeguardGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        from engine.core.errors import DefinitionError, EngineError

        try:
            return super().invoke(ctx)
        except DefinitionError as exc:
            for problem in exc.problems:
                click.echo(f"Error: {problem}", err=True)
            sys.exit(exc.exit_code)
        except EngineError as exc:
            _fail(str(exc), exc.exit_code)
        except Exception as exc:  # a database error: one line, never a traceback
            if type(exc).__module__.startswith("sqlalchemy"):
                orig = getattr(exc, "orig", None) or exc
                _fail(f"database: {str(orig).splitlines()[0]}", 1)
            raise


@dataclass
class Runtime:
    """What the global options say; the engine is built on first use."""

    db_url: str | None
    actor: str | None
    now: str | None
    config: str | None
    _engine: Any = field(default=None, repr=False)
    _settings: Any = field(default=None, repr=False)
    _databases: list[Any] = field(default_factory=list, repr=False)
    _actor: Any = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from engine.core.settings import load_settings

            self._settings = load_settings(self.config, self.db_url)
        return self._settings  # type: ignore[no-any-return]

    @property
    def os_login(self) -> str:
        import getpass

        return getpass.getuser()

    @property
    def actor_name(self) -> str:
        """The registered user this command acts as (``--as`` only where it is allowed)."""
        if self._actor is None:
            self._actor = self.admin().resolve_actor(self.os_login, self.actor,
                                                     self.settings.demo_mode)
        return self._actor  # type: ignore[no-any-return]

    def admin(self) -> Any:
        from engine.core.admin import Admin

        return Admin(self.engine().db, self.engine().clock, self.engine().gate)

    def close(self) -> None:
        """Mirror the audit head outside the database, then release connections."""
        if self._engine is not None:
            # Never mask the command's own outcome: a head file that could not be written
            # shows up in 'safeguard audit verify'.
            with contextlib.suppress(Exception):
                self._engine.gate.sync(self._engine.db)
        for db in self._databases:
            db.dispose()

    def clock(self) -> Any:
        from engine.core.clock import FixedClock, SystemClock, parse_instant

        return FixedClock(parse_instant(self.now)) if self.now else SystemClock()

    def database(self) -> Any:
        from engine.core.store.database import Database

        db = Database(self.settings.database_url, self.settings.sqlite_synchronous)
        self._databases.append(db)
        return db

    def registry(self) -> Any:
        from engine.core.loader import WorkflowRegistry

        return WorkflowRegistry.from_directory(self.settings.workflows_dir)

    def engine(self) -> Engine:
        if self._engine is None:
            from engine.core.calendar import WorkingCalendar
            from engine.core.service import Engine

            db = self.database()
            db.ensure_current()
            calendar = WorkingCalendar(self.settings.closure_days, self.settings.subdivision)
            self._engine = Engine(db, self.registry(), self.clock(), calendar,
                                  self.settings.audit_head_file, self.settings.audit_key)
            from notifications.events import EventMailer
            from notifications.recipients import DirectoryRecipients, SettingsRecipients

            notes = self.settings.notifications
            resolver = DirectoryRecipients(db, notes.recipients) \
                if notes.recipients_from == "directory" else SettingsRecipients(notes.recipients)
            self._engine.on_event = EventMailer(self._engine, notes, resolver)
        return self._engine  # type: ignore[no-any-return]


def _runtime() -> Runtime:
    runtime = click.get_current_context().find_object(Runtime)
    assert runtime is not None
    return runtime


def _emit(as_json: bool, data: Any, text: Callable[[], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(text())


def _assignments(pairs: Sequence[str]) -> dict[str, str]:
    from engine.core.fields import parse_assignments

    return parse_assignments(pairs)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
set_option = click.option("--set", "assignments", multiple=True, metavar="FIELD=VALUE",
                          help="A case field value (repeatable).")
workflow_option = click.option("--workflow", "-w", help="The workflow, when a reference is "
                               "used in more than one.")


@click.group(cls=SafeguardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", metavar="URL",
              help="Database URL (default: SAFEGUARD_DATABASE_URL, the config, or a SQLite "
                   "file in your data directory).")
@click.option("--as", "actor", metavar="USER", help="Act as USER (default: your login).")
@click.option("--now", metavar="ISO-DATETIME",
              help="The engine's clock (Europe/London unless an offset is given).")
@click.option("--config", metavar="FILE", help="Settings file (TOML); or SAFEGUARD_CONFIG.")
@click.version_option(package_name="safeguard")
@click.pass_context
def main(ctx: click.Context, db_url: str | None, actor: str | None, now: str | None,
         config: str | None) -> None:
    """safeguard: statutory safeguarding processes as workflows with deadlines."""
    if now is not None:
        from engine.core.clock import parse_instant

        parse_instant(now)  # a bad --now is a usage error before anything runs
    ctx.obj = Runtime(db_url, actor, now, config)
    ctx.call_on_close(ctx.obj.close)


# -- init and demo ---------------------------------------------------------------------------
@main.command()
def init() -> None:
    """Create the database or upgrade it to the latest schema (safe to repeat)."""
    runtime = _runtime()
    db = runtime.database()
    before = db.schema_revision()
    after = db.upgrade()
    state = "already at" if before == after else "upgraded to" if before else "created at"
    click.echo(f"Database {db.display_url}: {state} schema {after}.")
    if runtime.admin().bootstrap(runtime.os_login):
        click.echo(f"Registered {runtime.os_login} as the first administrator: add users with "
                   "'safeguard user add' and grant roles with 'safeguard user grant'.")




# -- workflows -------------------------------------------------------------------------------
@main.group()
def workflow() -> None:
    """Workflow definitions: list, show, validate, diagram."""


@workflow.command("list")
@json_option
def workflow_list(as_json: bool) -> None:
    """List the workflows this installation knows."""
    from engine.core.present import table

    registry = _runtime().registry()
    items = [{"name": d.name, "version": d.version, "title": d.title, "file": d.source}
             for d in registry]
    _emit(as_json, items, lambda: table(
        ("NAME", "VERSION", "TITLE"), [(i["name"], i["version"], i["title"]) for i in items]))


@workflow.command("show")
@click.argument("name")
@json_option
def workflow_show(name: str, as_json: bool) -> None:
    """Show a workflow's states, transitions and clocks."""
    from engine.core.present import workflow_text

    definition = _runtime().registry().get(name)
    data = {
        "name": definition.name, "version": definition.version, "title": definition.title,
        "states": [{"name": s.name, "description": s.description, "initial": s.initial,
                    "final": s.final} for s in definition.states.values()],
        "transitions": [{"trigger": t.trigger, "from": list(t.sources), "to": t.dest,
                         "requires": list(t.requires), "accepts": list(t.accepts),
                         "guards": list(t.guards), "roles": list(t.roles), "via": t.via}
                        for t in definition.transitions],
        "clocks": [{"name": c.name, "rule": c.rule.text, "owner": c.owner}
                   for c in definition.clocks.values()],
    }
    _emit(as_json, data, lambda: workflow_text(definition))


@workflow.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def workflow_validate(file: str) -> None:
    """Check a workflow file; every problem is reported with its YAML path and line."""
    from engine.core.loader import load_file

    definition = load_file(file)
    click.echo(f"OK: {file}: {definition.name} version {definition.version}, "
               f"{len(definition.states)} states, {len(definition.transitions)} transitions, "
               f"{len(definition.clocks)} clocks")


@workflow.command("diagram")
@click.argument("name")
def workflow_diagram(name: str) -> None:
    """Print a Mermaid state diagram of a workflow."""
    from engine.core.present import mermaid

    click.echo(mermaid(_runtime().registry().get(name)))


# -- cases -----------------------------------------------------------------------------------
@main.group()
def case() -> None:
    """Cases: open, advance, correct, show, list, history."""


@case.command("open")
@click.argument("workflow_name", metavar="WORKFLOW")
@click.option("--ref", required=True, help="The case reference (unique in the workflow).")
@click.option("--area", help="The partnership area the case belongs to (if more than one).")
@set_option
@click.option("--note", help="A note for the history.")
@json_option
def case_open(workflow_name: str, ref: str, area: str | None, assignments: Sequence[str],
              note: str | None, as_json: bool) -> None:
    """Open a case of WORKFLOW."""
    from engine.core.present import case_text

    runtime = _runtime()
    view = runtime.engine().open_case(workflow_name, ref, _assignments(assignments),
                                      runtime.actor_name, note, command="case open", area=area)
    _emit(as_json, view.to_json(), lambda: case_text(view))


@case.command("advance")
@click.argument("ref")
@click.argument("trigger")
@set_option
@click.option("--note", help="A note for the history.")
@click.option("--expect-version", type=int, metavar="N",
              help="Refuse if the case is no longer at version N (someone else changed it).")
@workflow_option
@json_option
def case_advance(ref: str, trigger: str, assignments: Sequence[str], note: str | None,
                 expect_version: int | None, workflow: str | None, as_json: bool) -> None:
    """Fire TRIGGER on case REF."""
    from engine.core.present import case_text

    runtime = _runtime()
    view = runtime.engine().fire(ref, trigger, _assignments(assignments), runtime.actor_name,
                                 note, workflow, expect_version, command="case advance")
    _emit(as_json, view.to_json(), lambda: case_text(view))


@case.command("correct")
@click.argument("ref")
@set_option
@click.option("--note", required=True, help="Why the recorded value was wrong.")
@workflow_option
@json_option
def case_correct(ref: str, assignments: Sequence[str], note: str, workflow: str | None,
                 as_json: bool) -> None:
    """Correct recorded fields of case REF; deadlines counted from them are recomputed."""
    from engine.core.present import case_text

    runtime = _runtime()
    view = runtime.engine().correct(ref, _assignments(assignments), runtime.actor_name, note,
                                    workflow, command="case correct")
    _emit(as_json, view.to_json(), lambda: case_text(view))


@case.command("show")
@click.argument("ref")
@workflow_option
@json_option
def case_show(ref: str, workflow: str | None, as_json: bool) -> None:
    """Show case REF: state, data, deadlines and what can happen next."""
    from engine.core.present import case_text

    runtime = _runtime()
    view = runtime.engine().case(ref, runtime.actor_name, workflow, "case show")
    _emit(as_json, view.to_json(), lambda: case_text(view))


@case.command("list")
@click.option("--workflow", "-w", help="Only this workflow.")
@click.option("--state", "-s", help="Only cases in this state.")
@click.option("--overdue", is_flag=True, help="Only cases with an open deadline past due.")
@json_option
def case_list(workflow: str | None, state: str | None, overdue: bool, as_json: bool) -> None:
    """List cases with their next deadline."""
    from engine.core.present import cases_text

    runtime = _runtime()
    summaries = runtime.engine().cases(runtime.actor_name, workflow, state, overdue,
                                       "case list")
    _emit(as_json, [s.to_json() for s in summaries], lambda: cases_text(summaries))


@case.command("history")
@click.argument("ref")
@workflow_option
@json_option
def case_history(ref: str, workflow: str | None, as_json: bool) -> None:
    """Show every event of case REF, oldest first."""
    from engine.core.present import history_text

    runtime = _runtime()
    events = runtime.engine().history(ref, runtime.actor_name, workflow, "case history")
    _emit(as_json, [e.to_json() for e in events], lambda: history_text(events))


# -- access control, audit and data protection ------------------------------------------------
@case.command("export")
@click.argument("ref")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to FILE (default: stdout).")
@workflow_option
def case_export(ref: str, out: str | None, workflow: str | None) -> None:
    """Everything held about case REF, as JSON (subject access requests, transfers)."""
    from engine.core.dataprotection import DataProtection

    runtime = _runtime()
    _check_writable(out)
    data = DataProtection(runtime.engine()).export(ref, runtime.actor_name, workflow,
                                                   "case export")
    text = json.dumps(data, indent=2, default=str)
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        click.echo(f"Wrote {out}.")
    else:
        click.echo(text)


@case.command("hold")
@click.argument("ref")
@click.option("--reason", required=True, help="Why (e.g. a public inquiry).")
@workflow_option
def case_hold(ref: str, reason: str, workflow: str | None) -> None:
    """Place a legal hold on case REF: nothing of it may be erased while held."""
    from engine.core.dataprotection import DataProtection

    runtime = _runtime()
    DataProtection(runtime.engine()).set_hold(ref, runtime.actor_name, reason, workflow,
                                              "case hold")
    click.echo(f"Case {ref} is on legal hold.")


@case.command("release")
@click.argument("ref")
@workflow_option
def case_release(ref: str, workflow: str | None) -> None:
    """Lift the legal hold on case REF."""
    from engine.core.dataprotection import DataProtection

    runtime = _runtime()
    DataProtection(runtime.engine()).set_hold(ref, runtime.actor_name, None, workflow,
                                              "case release")
    click.echo(f"Case {ref} is no longer on legal hold.")


@main.group()
def user() -> None:
    """Users and their roles (administrators)."""


@user.command("add")
@click.argument("login")
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option("--email", required=True)
@click.option("--agency", required=True, help="e.g. 'Cumberland Council', 'Police', 'ICB'.")
def user_add(login: str, display_name: str, email: str, agency: str) -> None:
    """Register a user."""
    runtime = _runtime()
    runtime.admin().add_user(runtime.actor_name, login, display_name, email, agency)
    click.echo(f"Added user {login}.")


@user.command("list")
@json_option
def user_list(as_json: bool) -> None:
    """List users and their roles."""
    from engine.core.present import table

    runtime = _runtime()
    users = runtime.admin().users(runtime.actor_name)
    _emit(as_json, [u.to_json() for u in users], lambda: table(
        ("LOGIN", "NAME", "AGENCY", "STATUS", "ROLES"),
        [(u.login, u.display_name, u.agency, "disabled" if u.disabled else "active",
          ", ".join(f"{r}@{a or 'all'}" for r, a in u.roles)) for u in users]))


def _role_command(name: str, verb: str) -> None:
    @user.command(name)
    @click.argument("login")
    @click.argument("role")
    @click.option("--area", help="One area (default: all areas).")
    def command(login: str, role: str, area: str | None) -> None:
        runtime = _runtime()
        getattr(runtime.admin(), name)(runtime.actor_name, login, role, area)
        click.echo(f"{verb} {role} {'in ' + area if area else 'for all areas'}: {login}.")

    command.__doc__ = f"{verb} a role to or from a user, for one area or all."


_role_command("grant", "Granted")
_role_command("revoke", "Revoked")


@user.command("disable")
@click.argument("login")
def user_disable(login: str) -> None:
    """Disable a user: they can do nothing more; their history remains."""
    runtime = _runtime()
    runtime.admin().disable(runtime.actor_name, login)
    click.echo(f"Disabled {login}.")


@main.group()
def area() -> None:
    """Partnership areas."""


@area.command("add")
@click.argument("code")
@click.option("--name", required=True)
def area_add(code: str, name: str) -> None:
    """Add a partnership area (administrators)."""
    runtime = _runtime()
    runtime.admin().add_area(runtime.actor_name, code, name)
    click.echo(f"Added area {code}.")


@area.command("list")
@json_option
def area_list(as_json: bool) -> None:
    """List the partnership areas."""
    from engine.core.present import table

    areas = _runtime().admin().areas()
    _emit(as_json, [{"code": c, "name": n} for c, n in areas],
          lambda: table(("CODE", "NAME"), areas))


@main.group()
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
    from engine.core.auditing import AuditTrail
    from engine.core.clock import parse_instant, show_instant
    from engine.core.present import table

    runtime = _runtime()
    engine = runtime.engine()
    entries = AuditTrail(engine.db, engine.gate).log(
        runtime.actor_name, case_ref, user_login, parse_instant(since) if since else None)
    _emit(as_json, [e.to_json() for e in entries], lambda: table(
        ("#", "AT (LONDON)", "ACTOR", "ACTION", "OUTCOME", "CASE"),
        [(e.seq, show_instant(e.at)[:16].replace("T", " "), e.actor, e.action, e.outcome,
          e.case_ref or "") for e in entries]))


@audit.command("verify")
def audit_verify() -> None:
    """Walk the chain; report the first record changed, removed or inserted (exit 1)."""
    from engine.core.auditing import AuditTrail

    runtime = _runtime()
    engine = runtime.engine()
    verdict = AuditTrail(engine.db, engine.gate).verify(runtime.actor_name)
    if not verdict.ok:
        _fail(f"audit trail broken: {verdict.message}", 1)
    click.echo(verdict.message)


@main.group()
def retention() -> None:
    """The retention policy."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="List what would be erased; change nothing.")
@json_option
def retention_run(dry_run: bool, as_json: bool) -> None:
    """Erase the personal fields of cases past their retention period (not on legal hold)."""
    from engine.core.dataprotection import DataProtection
    from engine.core.present import table

    runtime = _runtime()
    items = DataProtection(runtime.engine()).retention_run(runtime.actor_name, dry_run,
                                                          "retention run")
    verb = "would erase" if dry_run else "erased"

    def text() -> str:
        if not items:
            return "No case is past its retention period."
        rows = [(i.ref, i.workflow, i.expired_on.isoformat(), ", ".join(i.fields),
                 "held: kept" if i.held else verb) for i in items]
        return table(("REF", "WORKFLOW", "EXPIRED ON", "PERSONAL FIELDS", "ACTION"), rows)

    _emit(as_json, [i.to_json() for i in items], text)


# == issue 4: alerts, notifications and the scheduler (begin) ===============================
# Who may work the outbox and see alerts (which name cases and addresses, never personal data).
OPERATIONS = ("administrator", "business_support", "partnership_manager")
READERS_OF_MAIL = ("business_support", "partnership_manager")  # not administrators: case refs


def _mail_areas() -> Any:
    """The areas whose alerts and emails the actor may read (None: all of them)."""
    from engine.core.store.access_store import AccessStore

    runtime = _runtime()
    with runtime.engine().db.begin_read() as conn:
        principal = AccessStore(conn).principal(runtime.actor_name)
    assert principal is not None  # authorize() has checked the actor already
    areas = set().union(*(principal.grants.get(r, frozenset()) for r in READERS_OF_MAIL))
    return None if None in areas else {a for a in areas if a}


def _notifier(action: str | None = None, roles: Sequence[str] = OPERATIONS) -> Any:
    """The notifier over the runtime's engine and settings (the transport per settings),
    after the engine has checked (and audited) that the actor may run ``action``."""
    from notifications.service import Notifier, make_transport

    runtime = _runtime()
    if action is not None:
        runtime.engine().authorize(runtime.actor_name, roles, action,
                                   action.replace(".", " "))
    settings = runtime.settings.notifications
    engine = runtime.engine()
    click.get_current_context().call_on_close(engine.db.dispose)  # no pooled connection leaks
    return Notifier(engine, settings, lambda: make_transport(settings))


def _message_json(row: Any, full: bool = False) -> dict[str, Any]:
    data = {"id": row.id, "status": row.status, "template": row.template,
            "to": row.to_address, "subject": row.subject, "attempts": row.attempts,
            "next_attempt_at": row.next_attempt_at, "sent_at": row.sent_at,
            "message_id": row.message_id, "last_error": row.last_error}
    if full:
        data.update(text=row.body_text, html=row.body_html, ics=row.ics,
                    created_at=row.created_at)
    return data


@main.group()
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

    items = _notifier("alerts.list", READERS_OF_MAIL).alerts(due=due, overdue=overdue,
                                                              areas=_mail_areas())
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


@main.group()
def notifications() -> None:
    """Email notifications: the outbox, delivery, retries, previews."""


@notifications.command("list")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["pending", "sending", "sent", "failed"]),
              help="Only this status (repeatable).")
@click.option("--limit", default=200, show_default=True, help="At most this many.")
@json_option
def notifications_list(statuses: Sequence[str], limit: int, as_json: bool) -> None:
    """List outbox messages, newest first."""
    from engine.core.present import table

    rows = _notifier("notifications.list", READERS_OF_MAIL).messages(statuses, limit,
                                                                      _mail_areas())
    _emit(as_json, [_message_json(r) for r in rows], lambda: table(
        ("ID", "STATUS", "TRIES", "TO", "SUBJECT"),
        [(r.id, r.status, r.attempts, r.to_address, r.subject) for r in rows]))


@notifications.command("show")
@click.argument("ident", metavar="ID", type=int)
@json_option
def notifications_show(ident: int, as_json: bool) -> None:
    """Show one message: headers, state and its text part."""
    row = _notifier("notifications.show", READERS_OF_MAIL).message(ident, _mail_areas())
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
    result = _notifier("notifications.dispatch").dispatch()
    click.echo(f"sent {result.sent}, retrying {result.retrying}, failed {result.failed}"
               + (f", put back {result.released}" if result.released else ""))


@notifications.command("retry")
@click.argument("ident", metavar="ID", type=int, required=False)
@click.option("--all-failed", is_flag=True, help="Every failed (dead-lettered) message.")
def notifications_retry(ident: int | None, all_failed: bool) -> None:
    """Put a failed message (or all) back in the queue with fresh attempts."""
    count = _notifier("notifications.retry").retry(ident, all_failed)
    click.echo(f"{count} message(s) queued again")


@main.group()
def scheduler() -> None:
    """The scheduler service: deadline sweep, delivery, morning digest."""


@scheduler.command("run")
@click.option("--once", is_flag=True,
              help="One sweep and one delivery pass, then exit (honours --now).")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1),
              help="Deadlines claimed per sweep transaction.")
def scheduler_run(once: bool, batch: int) -> None:
    """Run the scheduler in the foreground (or once, for cron and tests)."""
    runtime = _runtime()
    notifier = _notifier("scheduler.run", ("administrator",))
    if once:
        swept = notifier.sweep(batch)
        sent = notifier.dispatch(min(batch, 100))
        click.echo(json.dumps({
            "deadlines": swept.deadlines, "raised": swept.raised, "skipped": swept.skipped,
            "messages": swept.messages, "unaddressed": swept.unaddressed,
            "sent": sent.sent, "retrying": sent.retrying, "failed": sent.failed}))
        return
    if runtime.now:
        raise click.UsageError("--now needs --once: a running scheduler follows the clock")
    from notifications.scheduler import run_forever

    run_forever(notifier, click.echo)
# == issue 4 (end) ===========================================================================


# == CERAR and MACE (issue 3) ==================================================================
# Everything below up to the end marker belongs to the CERAR/MACE commands; imports stay lazy.
def _engine_closing() -> Engine:
    """The runtime's engine, its database closed when the command ends (no pooled
    connections left behind when commands run in one process, as tests do)."""
    engine = _runtime().engine()
    ctx = click.get_current_context()
    if not ctx.meta.get("safeguard.dispose"):
        ctx.meta["safeguard.dispose"] = True
        ctx.call_on_close(engine.db.dispose)
    return engine


# Who may see the CERAR/MACE registers; who runs them. The engine checks and audits both.
MACE_READERS = ("cerar_coordinator", "cerar_manager", "mace_chair", "mace_member",
                "partnership_manager")
MACE_STAFF = ("cerar_coordinator", "cerar_manager", "mace_chair", "partnership_manager")
COORDINATORS = ("cerar_coordinator",)


def _check_case(ref: str, workflow: str, command: str) -> None:
    """The actor may read this case (role, area, involvement); the read is audited. A case
    that does not exist is left to the service, whose error names the right list."""
    from engine.core.errors import CaseNotFoundError

    runtime = _runtime()
    with contextlib.suppress(CaseNotFoundError):
        runtime.engine().case(ref, runtime.actor_name, workflow, command)


def _check_roles(roles: Sequence[str], command: str) -> None:
    runtime = _runtime()
    runtime.engine().authorize(runtime.actor_name, roles, command.replace(" ", "."), command)


def _cerar() -> Any:
    from engine.domains.cerar.service import CerarService

    return CerarService.from_engine(_engine_closing())


def _mace() -> Any:
    from engine.domains.mace.service import MaceService

    runtime = _runtime()
    domain = str(runtime.settings.raw.get("mace", {}).get("email_domain") or "safeguard.invalid")
    from notifications.invitations import InvitationMailer

    engine = _engine_closing()
    mailer = InvitationMailer(engine, runtime.settings.notifications, domain)
    return MaceService.from_engine(engine, email_domain=domain, on_invitation=mailer)


def _day(text: str | None) -> Any:
    """An ISO date option (None: the engine's today, Europe/London)."""
    from engine.core.clock import london_date, parse_date

    return parse_date(text) if text else london_date(_runtime().clock().now())


def _emit_child(as_json: bool, view: Any) -> None:
    from engine.domains.mace.present import child_text

    _emit(as_json, view.to_json(), lambda: child_text(view))


def _cerar_fire(ref: str, trigger: str, values: dict[str, str], note: str | None,
                as_json: bool) -> None:
    view = _cerar().fire(ref, trigger, values, _runtime().actor_name, note)
    _emit_child(as_json, view)


def _check_writable(out: str | None) -> None:
    """Refuse an output path that cannot be written before anything is changed or recorded."""
    import os
    from pathlib import Path

    if out in (None, "-"):
        return
    folder = Path(str(out)).expanduser().resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        from engine.core.errors import UsageError

        raise UsageError(f"cannot write {out}: {folder} is not a folder you can write to")


def _write_ics(out: str, payload: bytes) -> None:
    if out == "-":
        click.echo(payload.decode("utf-8"), nl=False)
        return
    try:
        with open(out, "wb") as handle:
            handle.write(payload)
    except OSError as exc:
        from engine.core.errors import UsageError

        raise UsageError(f"cannot write {out}: {exc.strerror}") from None


note_option = click.option("--note", help="A note for the history (no names).")
day_option = click.option("--on", "on", metavar="DATE", help="The day (default: today).")


@main.group()
def cerar() -> None:
    """CERAR: children at risk of exploitation, levels, reviews, missing episodes."""


@cerar.command("open")
@click.option("--child", "child_ref", required=True, help="The child's reference (no names).")
@click.option("--concern-on", required=True, metavar="DATE", help="The day the concern came.")
@click.option("--agency", required=True, help="The referring agency.")
@click.option("--area", required=True, help="The partnership area.")
@click.option("--ref", help="The case reference (default CE-CHILD).")
@click.option("--name", "child_name", help="The child's name (personal: never on agendas).")
@note_option
@json_option
def cerar_open(child_ref: str, concern_on: str, agency: str, area: str, ref: str | None,
               child_name: str | None, note: str | None, as_json: bool) -> None:
    """Open a CERAR case from a screened concern."""
    extra = {"child_name": child_name} if child_name else {}
    view = _cerar().open(child_ref, concern_on, agency, area, _runtime().actor_name, ref,
                         extra, note)
    _emit_child(as_json, view)


@cerar.command("screen")
@click.argument("ref")
@day_option
@note_option
@json_option
def cerar_screen(ref: str, on: str | None, note: str | None, as_json: bool) -> None:
    """Screen the concern in: the initial risk assessment is due."""
    _cerar_fire(ref, "screen", {"screened_on": _day(on).isoformat()}, note, as_json)


@cerar.command("assess")
@click.argument("ref")
@click.option("--level", required=True, type=click.Choice(["low", "medium", "high"]))
@day_option
@note_option
@json_option
def cerar_assess(ref: str, level: str, on: str | None, note: str | None, as_json: bool) -> None:
    """Record the initial risk assessment meeting and the level of concern."""
    _cerar_fire(ref, "assess", {"assessed_on": _day(on).isoformat(), "risk_level": level},
                note, as_json)


@cerar.command("level")
@click.argument("ref")
@click.option("--level", required=True, type=click.Choice(["low", "medium", "high"]))
@click.option("--reason", required=True, help="Why the level changed.")
@json_option
def cerar_level(ref: str, level: str, reason: str, as_json: bool) -> None:
    """Change the level of concern; the next review is rescheduled from today."""
    _cerar_fire(ref, "change_risk_level", {"risk_level": level, "level_change_reason": reason},
                None, as_json)


@cerar.command("review")
@click.argument("ref")
@day_option
@click.option("--outcome", help="What the review concluded (no names).")
@json_option
def cerar_review(ref: str, on: str | None, outcome: str | None, as_json: bool) -> None:
    """Record a review; the next one is due at the level's interval."""
    values = {"reviewed_on": _day(on).isoformat()}
    if outcome:
        values["review_note"] = outcome
    _cerar_fire(ref, "record_review", values, None, as_json)


@cerar.command("flag")
@click.argument("ref")
@click.option("--off", is_flag=True, help="Stop listing the child at MACE.")
@click.option("--reason", help="Why the child is listed.")
@json_option
def cerar_flag(ref: str, off: bool, reason: str | None, as_json: bool) -> None:
    """List a low-concern child at MACE (medium and high are listed anyway)."""
    values = {"mace_flag": "no" if off else "yes"}
    if reason:
        values["mace_flag_reason"] = reason
    _cerar_fire(ref, "flag_for_mace", values, None, as_json)


@cerar.command("missing")
@click.argument("ref")
@click.option("--from", "went", required=True, metavar="DATETIME", help="Went missing at.")
@click.option("--returned", required=True, metavar="DATETIME", help="Returned at.")
@note_option
@json_option
def cerar_missing(ref: str, went: str, returned: str, note: str | None, as_json: bool) -> None:
    """Record a missing episode: an RHI is due 72 hours after the return."""
    view = _cerar().record_missing(ref, went, returned, _runtime().actor_name, note)
    _emit_child(as_json, view)


@cerar.command("rhi")
@click.argument("ref")
@click.argument("episode")
@click.option("--outcome", required=True, type=click.Choice(["held", "declined"]))
@click.option("--at", "at", required=True, metavar="DATETIME", help="When it was held/declined.")
@click.option("--note", help="The reason, when declined (no names).")
@json_option
def cerar_rhi(ref: str, episode: str, outcome: str, at: str, note: str | None,
              as_json: bool) -> None:
    """Record the return home interview of EPISODE (M1, M2, ...)."""
    view = _cerar().record_rhi(ref, episode, outcome, at, _runtime().actor_name, note)
    _emit_child(as_json, view)


@cerar.command("strategy-meeting")
@click.argument("ref")
@day_option
@json_option
def cerar_strategy_meeting(ref: str, on: str | None, as_json: bool) -> None:
    """Record the strategy meeting held after repeated missing episodes."""
    _cerar_fire(ref, "record_strategy_meeting",
                {"strategy_meeting_held_on": _day(on).isoformat()}, None, as_json)


@cerar.command("placement")
@click.argument("ref")
@click.option("--placed-in-area-by", "placing", metavar="LA", help="The placing authority.")
@click.option("--placed-out-of-area-in", "host", metavar="LA", help="The host authority.")
@click.option("--none", "clear", is_flag=True, help="No cross-boundary placement.")
@json_option
def cerar_placement(ref: str, placing: str | None, host: str | None, clear: bool,
                    as_json: bool) -> None:
    """Record a placement in the area by another LA, or out of the area."""
    from engine.core.errors import UsageError

    if sum(map(bool, (placing, host, clear))) != 1:
        raise UsageError("give one of --placed-in-area-by LA, --placed-out-of-area-in LA, "
                         "--none")
    values = {"placement": "none"}
    if placing:
        values = {"placement": "placed_in_area", "placing_authority": placing}
    elif host:
        values = {"placement": "placed_out_of_area", "host_authority": host}
    _cerar_fire(ref, "set_placement", values, None, as_json)


@cerar.command("step-down")
@click.argument("ref")
@click.option("--to", "to", required=True, type=click.Choice(["single_agency", "early_help"]))
@click.option("--service", required=True, help="The receiving service.")
@day_option
@json_option
def cerar_step_down(ref: str, to: str, service: str, on: str | None, as_json: bool) -> None:
    """Step the plan down; the case's open deadlines end."""
    _cerar_fire(ref, "step_down", {"stepped_down_on": _day(on).isoformat(), "step_down_to": to,
                                   "receiving_service": service}, None, as_json)


@cerar.command("close")
@click.argument("ref")
@click.option("--reason", required=True, help="Why the case is closed.")
@day_option
@json_option
def cerar_close(ref: str, reason: str, on: str | None, as_json: bool) -> None:
    """Close the case; its open deadlines end."""
    _cerar_fire(ref, "close", {"closed_on": _day(on).isoformat(), "close_reason": reason},
                None, as_json)


@cerar.command("show")
@click.argument("ref")
@json_option
def cerar_show(ref: str, as_json: bool) -> None:
    """Show a CERAR case with its deadlines and missing episodes."""
    _check_case(ref, "cerar", "cerar show")
    _emit_child(as_json, _cerar().show(ref))


@cerar.command("list")
@click.option("--all", "include_closed", is_flag=True, help="Include closed cases.")
@click.option("--level", type=click.Choice(["low", "medium", "high"]), help="Only this level.")
@click.option("--review-before", metavar="DATE", help="Only reviews due before DATE.")
@json_option
def cerar_list(include_closed: bool, level: str | None, review_before: str | None,
               as_json: bool) -> None:
    """The children, by level of concern and next review."""
    from engine.domains.mace.present import children_text

    runtime = _runtime()
    visible = {c.ref for c in runtime.engine().cases(runtime.actor_name, "cerar",
                                                     command="cerar list")}
    rows = [r for r in _cerar().children(include_closed, level,
                                         _day(review_before) if review_before else None)
            if r.ref in visible]
    _emit(as_json, [r.to_json() for r in rows], lambda: children_text(rows))


@main.group()
def mace() -> None:
    """MACE: meeting series, agendas, records, actions and invitations."""


@mace.group("series")
def mace_series() -> None:
    """MACE meeting series: create, change, show, list, invite."""


@mace_series.command("create")
@click.option("--name", required=True, help="The series name.")
@click.option("--every", required=True, help="2w (fortnightly), 4w or 1m (monthly).")
@click.option("--weekday", required=True, help="monday ... friday.")
@click.option("--time", "at", required=True, metavar="HH:MM", help="Start (Europe/London).")
@click.option("--chair", required=True, metavar="USER")
@click.option("--member", "members", multiple=True, metavar="USER", help="Repeatable.")
@click.option("--starts-on", metavar="DATE", help="First possible day (default today).")
@click.option("--duration", default=120, show_default=True, help="Minutes.")
@click.option("--location", help="Where it meets (or the video link).")
@click.option("--horizon-days", default=90, show_default=True, help="Generate this far ahead.")
@click.option("--on-holiday", default="next", show_default=True,
              type=click.Choice(["skip", "next", "previous"]),
              help="A meeting on a bank holiday is skipped or moved.")
@click.option("--area", help="The partnership area it covers (if there is more than one).")
@json_option
def mace_series_create(name: str, every: str, weekday: str, at: str, chair: str,
                       members: Sequence[str], starts_on: str | None, duration: int,
                       location: str | None, horizon_days: int, on_holiday: str,
                       area: str | None, as_json: bool) -> None:
    """Create a recurring MACE series and generate its meetings ahead."""
    from engine.domains.mace.present import series_text

    _check_roles(COORDINATORS, "mace series create")
    view = _mace().create_series(
        name, every, weekday, at, chair, members, _runtime().actor_name,
        _day(starts_on) if starts_on else None, duration, location, horizon_days, on_holiday,
        area)
    _emit(as_json, view.to_json(), lambda: series_text(view))


@mace_series.command("change")
@click.argument("name")
@click.option("--every", help="New frequency: 2w, 4w or 1m.")
@click.option("--weekday", help="New weekday.")
@click.option("--time", "at", metavar="HH:MM", help="New start time.")
@click.option("--from", "from_date", metavar="DATE", help="Effective from (default today).")
@click.option("--chair", metavar="USER")
@click.option("--member", "members", multiple=True, metavar="USER",
              help="The new member list (repeatable).")
@json_option
def mace_series_change(name: str, every: str | None, weekday: str | None, at: str | None,
                       from_date: str | None, chair: str | None, members: Sequence[str],
                       as_json: bool) -> None:
    """Change a series; meetings before the change, and held ones, are untouched."""
    from engine.domains.mace.present import series_text

    _check_roles(COORDINATORS, "mace series change")
    view = _mace().change_series(name, _runtime().actor_name, every, weekday, at,
                                 _day(from_date) if from_date else None, chair,
                                 list(members) if members else None)
    _emit(as_json, view.to_json(), lambda: series_text(view))


@mace_series.command("show")
@click.argument("name")
@json_option
def mace_series_show(name: str, as_json: bool) -> None:
    """Show a series and its meetings."""
    from engine.domains.mace.present import series_text

    _check_roles(MACE_READERS, "mace series show")
    view = _mace().series(name)
    _emit(as_json, view.to_json(), lambda: series_text(view))


@mace_series.command("list")
@json_option
def mace_series_list(as_json: bool) -> None:
    """List the series."""
    _check_roles(MACE_READERS, "mace series list")
    views = _mace().all_series()
    _emit(as_json, [v.to_json() for v in views], lambda: "\n".join(
        f"{v.name}: every {v.every}, {len(v.meetings)} meeting(s)" for v in views)
        or "No series.")


@mace_series.command("invite")
@click.argument("name")
@click.option("--out", required=True, metavar="FILE.ics", help="Where to write it ('-': stdout).")
def mace_series_invite(name: str, out: str) -> None:
    """Write the series invitation (RRULE, skipped days, moved meetings) as iCalendar."""
    _check_roles(MACE_READERS, "mace series invite")
    _write_ics(out, _mace().series_invitation(name))
    if out != "-":
        click.echo(f"Wrote {out} (METHOD:REQUEST)")


@mace.command("generate")
@click.option("--series", help="Only this series.")
@json_option
def mace_generate(series: str | None, as_json: bool) -> None:
    """Generate meetings up to each series' horizon (safe to repeat)."""
    from engine.domains.mace.present import meetings_text

    _check_roles(COORDINATORS, "mace generate")
    made = _mace().generate(_runtime().actor_name, series)
    _emit(as_json, [m.to_json() for m in made],
          lambda: meetings_text(made) if made else "No new meetings.")


@mace.command("meetings")
@click.option("--series", help="Only this series.")
@click.option("--upcoming", is_flag=True, help="Only meetings still to be held.")
@json_option
def mace_meetings(series: str | None, upcoming: bool, as_json: bool) -> None:
    """List meetings."""
    from engine.domains.mace.present import meetings_text

    _check_roles(MACE_READERS, "mace meetings")
    runtime = _runtime()
    visible = {c.ref for c in runtime.engine().cases(runtime.actor_name, "mace_meeting",
                                                     command="mace meetings")}
    views = [m for m in _mace().meetings(series, upcoming) if m.ref in visible]
    _emit(as_json, [m.to_json() for m in views], lambda: meetings_text(views))


@mace.command("show")
@click.argument("meeting")
@json_option
def mace_show(meeting: str, as_json: bool) -> None:
    """Show a meeting: state, time, deadlines, invitation."""
    from engine.domains.mace.present import meeting_text

    _check_case(meeting, "mace_meeting", "mace show")
    view = _mace().meeting(meeting)
    _emit(as_json, view.to_json(), lambda: meeting_text(view))


@mace.command("agenda")
@click.argument("meeting")
@json_option
def mace_agenda(meeting: str, as_json: bool) -> None:
    """Print the agenda: as published, or a draft from today's data (references only)."""
    from engine.domains.mace.agenda import agenda_text

    _check_case(meeting, "mace_meeting", "mace agenda")
    data = _mace().agenda(meeting)
    if data["draft"]:  # children not yet on a published agenda: staff only
        _check_roles(MACE_STAFF, "mace agenda draft")
    _emit(as_json, data, lambda: ("DRAFT (not yet published)\n" if data["draft"] else "")
          + agenda_text(data))


@mace.command("item")
@click.argument("meeting")
@click.option("--kind", required=True, type=click.Choice(["place", "person", "theme"]))
@click.option("--text", required=True, help="The item (references, never a child's name).")
def mace_item(meeting: str, kind: str, text: str) -> None:
    """Add a place, person of concern or theme to a meeting's agenda."""
    _check_roles(("cerar_coordinator", "mace_chair"), "mace item")
    _mace().add_item(meeting, kind, text, _runtime().actor_name)
    click.echo(f"Added a {kind} to the agenda of {meeting}.")


@mace.command("publish")
@click.argument("meeting")
@json_option
def mace_publish(meeting: str, as_json: bool) -> None:
    """Build the agenda from the data now and publish it."""
    from engine.domains.mace.agenda import agenda_text

    data = _mace().publish(meeting, _runtime().actor_name)
    _emit(as_json, data, lambda: agenda_text(data))


@mace.command("hold")
@click.argument("meeting")
@click.option("--present", "present", multiple=True, required=True, metavar="AGENCY=USER",
              help="Who attended, by agency (repeatable).")
@click.option("--apologies", multiple=True, metavar="AGENCY", help="Agencies that sent apologies.")
@day_option
@json_option
def mace_hold(meeting: str, present: Sequence[str], apologies: Sequence[str], on: str | None,
              as_json: bool) -> None:
    """Record the meeting as held, with attendance; the minutes become due."""
    from engine.core.errors import UsageError
    from engine.domains.mace.present import meeting_text

    pairs = []
    for item in present:
        agency, sep, person = item.partition("=")
        if not sep or not agency.strip() or not person.strip():
            raise UsageError(f"'{item}' is not AGENCY=USER, e.g. police=j.smith")
        pairs.append((agency.strip(), person.strip()))
    view = _mace().hold(meeting, _runtime().actor_name, pairs, apologies,
                        _day(on) if on else None)
    _emit(as_json, view.to_json(), lambda: meeting_text(view))


@mace.command("decide")
@click.argument("meeting")
@click.argument("case_ref", metavar="CASE")
@click.option("--decision", required=True,
              type=click.Choice(["level_confirmed", "level_changed", "review_done",
                                 "step_down"]))
@click.option("--level", type=click.Choice(["low", "medium", "high"]))
@click.option("--reason", help="Why (for a level change); a note otherwise (no names).")
@click.option("--to", "to", type=click.Choice(["single_agency", "early_help"]))
@click.option("--service", help="The receiving service, for a step down.")
@json_option
def mace_decide(meeting: str, case_ref: str, decision: str, level: str | None,
                reason: str | None, to: str | None, service: str | None, as_json: bool) -> None:
    """Record a decision for a child; the child's CERAR case is updated with it."""
    out = _mace().decide(meeting, case_ref, decision, _runtime().actor_name, level, reason,
                         to, service)
    _emit(as_json, out, lambda: f"{meeting}: {decision} for {case_ref}; next review "
          + (next((d["due"] for d in out["child"]["deadlines"]
                   if d["name"] == "review" and d["status"] == "open"), "none")))


@mace.group("action")
def mace_action() -> None:
    """Actions agreed at meetings: add, done, list."""


@mace_action.command("add")
@click.argument("meeting")
@click.option("--summary", required=True, help="What is to be done (no names).")
@click.option("--owner", required=True, metavar="USER")
@click.option("--agency", required=True)
@click.option("--due", required=True, metavar="DATE")
@click.option("--child", "child_case", metavar="CASE", help="The child's CERAR case, if any.")
@json_option
def mace_action_add(meeting: str, summary: str, owner: str, agency: str, due: str,
                    child_case: str | None, as_json: bool) -> None:
    """Record an action agreed at MEETING (its due date is a deadline)."""
    view = _mace().add_action(meeting, summary, owner, agency, _day(due),
                              _runtime().actor_name, child_case)
    _emit(as_json, view.to_json(), lambda: f"{view.meeting} {view.ref}: {view.summary} "
          f"({view.owner}, {view.agency}) due {view.due_on.isoformat()}")


@mace_action.command("done")
@click.argument("meeting")
@click.argument("action")
@day_option
@json_option
def mace_action_done(meeting: str, action: str, on: str | None, as_json: bool) -> None:
    """Record ACTION of MEETING done."""
    view = _mace().complete_action(meeting, action, _runtime().actor_name,
                                   _day(on) if on else None)
    _emit(as_json, view.to_json(), lambda: f"{view.meeting} {view.ref}: done "
          f"{view.done_on.isoformat() if view.done_on else ''}")


@mace_action.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only open actions.")
@click.option("--meeting", help="Only this meeting's actions.")
@json_option
def mace_action_list(open_only: bool, meeting: str | None, as_json: bool) -> None:
    """List actions, by due date."""
    from engine.domains.mace.present import actions_text

    _check_roles(MACE_STAFF, "mace action list")
    views = _mace().actions(open_only, meeting)
    _emit(as_json, [a.to_json() for a in views], lambda: actions_text(views))


@mace.command("minutes")
@click.argument("meeting")
@day_option
@json_option
def mace_minutes(meeting: str, on: str | None, as_json: bool) -> None:
    """Record the minutes circulated."""
    from engine.domains.mace.present import meeting_text

    view = _mace().circulate(meeting, _runtime().actor_name, _day(on) if on else None)
    _emit(as_json, view.to_json(), lambda: meeting_text(view))


@mace.command("close")
@click.argument("meeting")
@json_option
def mace_close(meeting: str, as_json: bool) -> None:
    """Close a meeting record (every action must be done)."""
    from engine.domains.mace.present import meeting_text

    view = _mace().close(meeting, _runtime().actor_name)
    _emit(as_json, view.to_json(), lambda: meeting_text(view))


@mace.command("cancel")
@click.argument("meeting")
@click.option("--reason", required=True)
@click.option("--out", metavar="FILE.ics", help="Also write the cancellation (METHOD:CANCEL).")
@json_option
def mace_cancel(meeting: str, reason: str, out: str | None, as_json: bool) -> None:
    """Cancel one meeting."""
    from engine.domains.mace.present import meeting_text

    _check_writable(out)
    service = _mace()
    view = service.cancel(meeting, _runtime().actor_name, reason)
    if out:
        _write_ics(out, service.invitation(meeting)[1])
    _emit(as_json, view.to_json(), lambda: meeting_text(view))


@mace.command("reschedule")
@click.argument("meeting")
@click.option("--on", "on", required=True, metavar="DATE", help="The new day.")
@click.option("--time", "at", metavar="HH:MM", help="The new start (default: the series').")
@click.option("--reason", required=True)
@click.option("--out", metavar="FILE.ics", help="Also write the updated invitation.")
@json_option
def mace_reschedule(meeting: str, on: str, at: str | None, reason: str, out: str | None,
                    as_json: bool) -> None:
    """Move one meeting to another day (and time)."""
    from engine.domains.mace.present import meeting_text

    _check_writable(out)
    service = _mace()
    view = service.reschedule(meeting, _day(on), _runtime().actor_name, reason, at)
    if out:
        _write_ics(out, service.invitation(meeting)[1])
    _emit(as_json, view.to_json(), lambda: meeting_text(view))


@mace.command("invite")
@click.argument("meeting")
@click.option("--out", required=True, metavar="FILE.ics", help="Where to write it ('-': stdout).")
def mace_invite(meeting: str, out: str) -> None:
    """Write MEETING's invitation (REQUEST; CANCEL once cancelled) as iCalendar."""
    _check_case(meeting, "mace_meeting", "mace invite")
    method, payload = _mace().invitation(meeting)
    _write_ics(out, payload)
    if out != "-":
        click.echo(f"Wrote {out} (METHOD:{method})")
# == end of CERAR and MACE ======================================================================


# == issue 6: demonstration year, dashboard and annual report (begin) ========================
# The demo, `status` and `report` commands; imports stay lazy inside the commands.
@main.command()
@click.option("--out", "folder", type=click.Path(file_okay=False), default=None,
              help="Folder for the demo database and its emails (default: your data "
                   "directory).")
@click.option("--seed", default=2023, show_default=True, type=int,
              help="The same seed builds the same year.")
def demo(folder: str | None, seed: int) -> None:
    """Build a fresh demo database holding a partnership year, then show the dashboard."""
    from engine.apps.demo.year import run_demo

    run_demo(folder, click.echo, _runtime().os_login, seed)


@main.command()
@json_option
def status(as_json: bool) -> None:
    """The morning dashboard: due, overdue, undelivered, next MACE, late reviews."""
    from engine.apps.report.status import dashboard, dashboard_text

    runtime = _runtime()
    board = dashboard(_engine_closing(), runtime.actor_name)
    _emit(as_json, board.to_json(), lambda: dashboard_text(board))


@main.group()
def report() -> None:
    """Reports: the annual report's figures."""


@report.command("annual")
@click.option("--from", "from_date", required=True, metavar="DATE",
              help="First day of the period (e.g. 2023-04-01).")
@click.option("--to", "to_date", required=True, metavar="DATE",
              help="Last day of the period (e.g. 2024-03-31).")
@click.option("--format", "fmt", default="markdown", show_default=True,
              type=click.Choice(["markdown", "html", "csv", "json"]))
def report_annual(from_date: str, to_date: str, fmt: str) -> None:
    """The figures partnerships publish every year, for the period (counts and references
    only; partnership managers)."""
    from engine.apps.report.figures import check_period
    from engine.apps.report.render import render
    from engine.apps.report.service import annual_report
    from engine.core.clock import parse_date

    start, end = parse_date(from_date), parse_date(to_date)
    check_period(start, end)
    result = annual_report(_engine_closing(), _runtime().actor_name, start, end)
    click.echo(render(result, fmt), nl=False)
# == issue 6 (end) ===========================================================================


if __name__ == "__main__":  # pragma: no cover
    main()
