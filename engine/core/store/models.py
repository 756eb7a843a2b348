"""The tables. Stored rows are plain nouns; instants are UTC, stored naive and read aware.

Declaring them is most of a command's start-up beyond importing SQLAlchemy and SQLModel, so
two things keep it cheap: annotations are evaluated as the class is made (no
``from __future__ import annotations``, whose strings pydantic would parse back, one by one),
and each table's pydantic validator is built when a row is first validated, not at import
(:class:`_Row`): the engine reads and writes rows through SQLAlchemy and never validates one.
"""

import datetime as dt
from typing import Any

from pydantic import ConfigDict
from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]

    # SQLite stores the text SQLAlchemy's DATETIME makes ("2024-06-03 08:00:00.000000") and
    # reads it with ``fromisoformat``: each pair of steps done in one function rather than
    # two chained ones (every instant of every row on the hot path passes through these).
    # tests/unit/test_utc_datetime.py checks they give what the chained ones give.
    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        utc = dt.UTC

        def process(value: dt.datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            return value.astimezone(utc).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse, utc = dt.datetime.fromisoformat, dt.UTC

        def process(value: str | None) -> dt.datetime | None:
            return None if value is None else parse(value).replace(tzinfo=utc)

        return process


def _utc(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class _Row(SQLModel):
    """The tables' base: each one's pydantic schema is built on first validation."""

    # (SQLModel's own config type is not exported; pydantic's carries the same key.)
    model_config = ConfigDict(defer_build=True)  # type: ignore[assignment]


class WorkflowVersion(_Row, table=True):
    """The exact definition text a case runs on; written once per (name, version)."""

    __tablename__ = "workflow_version"

    name: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    digest: str = Field(max_length=64)
    source_text: str = Field(sa_column=Column(Text, nullable=False))
    registered_at: dt.datetime = _utc()


class Case(_Row, table=True):
    __tablename__ = "case"
    __table_args__ = (
        UniqueConstraint("workflow", "ref", name="uq_case_workflow_ref"),
        # A workflow's cases alive in a period (open, or closed since it began): the report.
        Index("ix_case_workflow_closed", "workflow", "closed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(index=True, max_length=64)
    workflow: str = Field(max_length=64)
    workflow_version: int
    state: str = Field(max_length=64, index=True)
    data: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = Field(default=1)  # optimistic lock: bumped by every change
    opened_at: dt.datetime = _utc()
    updated_at: dt.datetime = _utc()
    closed_at: dt.datetime | None = _utc(default=None, nullable=True)
    area: str | None = Field(default=None, max_length=64, index=True)
    legal_hold: str | None = Field(default=None, max_length=200)  # the reason, while held
    erased_at: dt.datetime | None = _utc(default=None, nullable=True)


class CaseLink(_Row, table=True):
    """Two cases that run in parallel about one child (a child's death and the practice
    review of it): shown on both case pages, each only as far as the reader may see."""

    __tablename__ = "case_link"
    __table_args__ = (UniqueConstraint("case_id", "linked_case_id", name="uq_case_link"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    linked_case_id: int = Field(foreign_key="case.id", index=True)
    created_at: dt.datetime = _utc()
    created_by: str = Field(max_length=64)


class CaseEvent(_Row, table=True):
    """Append-only history of a case: one row per open, fire and correction."""

    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_event_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    seq: int
    at: dt.datetime = _utc()
    actor: str = Field(max_length=64)
    trigger: str = Field(max_length=64)
    from_state: str | None = Field(default=None, max_length=64)
    to_state: str = Field(max_length=64)
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    command: str | None = Field(default=None, max_length=200)


class Deadline(_Row, table=True):
    """One cycle of one clock of one case, with the rule that produced its due point."""

    __tablename__ = "deadline"
    __table_args__ = (
        UniqueConstraint("case_id", "name", "cycle", name="uq_deadline_cycle"),
        Index("ix_deadline_status_due", "status", "due_at"),
        Index("ix_deadline_name", "name"),  # one clock's deadlines of every case: the report
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    name: str = Field(max_length=64)
    cycle: int = Field(default=1)
    rule: str = Field(max_length=200)
    anchor_field: str | None = Field(default=None, max_length=64)
    anchor_value: str = Field(max_length=40)
    due_at: dt.datetime = _utc()
    due_day: dt.date | None = Field(default=None, nullable=True)
    status: str = Field(max_length=16)
    owner_role: str | None = Field(default=None, max_length=64)
    started_at: dt.datetime = _utc()
    met_at: dt.datetime | None = _utc(default=None, nullable=True)
    closed_at: dt.datetime | None = _utc(default=None, nullable=True)
    # issue 4: when the next rung of its alert ladder falls due (None: nothing more to raise)
    next_alert_at: dt.datetime | None = _utc(default=None, nullable=True, index=True)
    # For a clock kept per key (one deadline per missing episode, per action): which one.
    key: str | None = Field(default=None, max_length=64)


# -- access control and audit (see engine/access.py, engine/audit.py) ---------------------------
class User(_Row, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=120)
    email: str = Field(max_length=200)
    agency: str = Field(max_length=120)
    created_at: dt.datetime = _utc()
    disabled_at: dt.datetime | None = _utc(default=None, nullable=True)


class Area(_Row, table=True):
    """A partnership area (e.g. one council's footprint); every case belongs to one."""

    __tablename__ = "area"

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=120)


class RoleGrant(_Row, table=True):
    """A role held by a user for one area, or for all areas (area is NULL)."""

    __tablename__ = "role_grant"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    role: str = Field(max_length=64)
    area: str | None = Field(default=None, foreign_key="area.code", nullable=True)
    granted_at: dt.datetime = _utc()
    granted_by: str = Field(max_length=64)
    revoked_at: dt.datetime | None = _utc(default=None, nullable=True)
    revoked_by: str | None = Field(default=None, max_length=64)


class CaseInvolvement(_Row, table=True):
    """A user's involvement in a case (an appointed reviewer, a MACE invitee)."""

    __tablename__ = "case_involvement"
    __table_args__ = (UniqueConstraint("case_id", "login", "kind", name="uq_involvement"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    login: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=32)
    since: dt.datetime = _utc()


class AuditRecord(_Row, table=True):
    """One link of the hash-chained audit trail. Append-only (database triggers)."""

    __tablename__ = "audit_record"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    at: dt.datetime = _utc()
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    outcome: str = Field(max_length=16)
    case_ref: str | None = Field(default=None, max_length=64, index=True)
    workflow: str | None = Field(default=None, max_length=64)
    command: str | None = Field(default=None, max_length=200)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    key_id: str | None = Field(default=None, max_length=16)  # '' unkeyed; None before 0006


class AuditHead(_Row, table=True):
    """The chain's head (one row), also mirrored to a file outside the database."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int
    hash: str = Field(max_length=64)
    # The configured audit key's id; records are made only with that key. None: not yet
    # recorded (a database migrated from before 0006), adopted by the first record.
    key_id: str | None = Field(default=None, max_length=16)


class DeploymentSetting(_Row, table=True):
    """A setting that grants power (demo mode, the workflows folder, ...), recorded at
    ``init`` from the deployment's configuration; a command configured otherwise is refused."""

    __tablename__ = "deployment_setting"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))


class Alert(_Row, table=True):
    """One rung of one deadline's alert ladder, raised (or skipped) at most once ever."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("deadline_id", "rung", name="uq_alert_deadline_rung"),)

    id: int | None = Field(default=None, primary_key=True)
    deadline_id: int = Field(foreign_key="deadline.id")
    case_id: int = Field(foreign_key="case.id", index=True)
    rung: str = Field(max_length=32)  # e.g. '5wd-before', 'due', '3wd-after'
    kind: str = Field(max_length=16)  # reminder, due, overdue, escalation
    status: str = Field(max_length=16)  # raised, or skipped (superseded by a later rung)
    fire_at: dt.datetime = _utc()  # when the rung fell due
    due_at: dt.datetime = _utc()  # the deadline's due point when it was raised
    raised_at: dt.datetime = _utc(index=True)
    recipients: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False))


class OutboxMessage(_Row, table=True):
    """An email, rendered and stored in the transaction that caused it; delivered later."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=200, unique=True)  # what it is about, once per address
    message_id: str = Field(max_length=200, unique=True)  # stable across retries
    template: str = Field(max_length=64)
    alert_id: int | None = Field(default=None, foreign_key="alert.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    ics: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(max_length=16)  # pending, sending, sent, failed (dead letter)
    attempts: int = Field(default=0)
    next_attempt_at: dt.datetime = _utc()
    lease_until: dt.datetime | None = _utc(default=None, nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = _utc()
    sent_at: dt.datetime | None = _utc(default=None, nullable=True)


# -- CERAR ---------------------------------------------------------------------------------
class MissingEpisode(_Row, table=True):
    """One missing episode of a child on a CERAR case, and its return home interview."""

    __tablename__ = "missing_episode"
    __table_args__ = (UniqueConstraint("case_id", "episode", name="uq_missing_episode"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    episode: str = Field(max_length=16)  # M1, M2, ... per case
    missing_from: dt.datetime = _utc()
    returned_at: dt.datetime = _utc()
    recorded_at: dt.datetime = _utc()
    rhi_outcome: str | None = Field(default=None, max_length=16)  # held, declined
    rhi_at: dt.datetime | None = _utc(default=None, nullable=True)
    rhi_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


# -- MACE ----------------------------------------------------------------------------------
class MaceSeries(_Row, table=True):
    """A recurring MACE meeting: its rule (from ``anchor_on``), chair, members and horizon."""

    __tablename__ = "mace_series"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    every: str = Field(max_length=4)  # 2w, 4w, 1m
    weekday: int  # Monday 0
    start_time: str = Field(max_length=5)  # HH:MM, Europe/London
    duration_minutes: int = Field(default=120)
    chair: str = Field(max_length=64)
    members: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The partnership area whose children it discusses (its meetings belong there).
    area: str | None = Field(default=None, max_length=64)
    # What its meetings are for: "mace" (exploitation) or "cdop" (the Child Death Overview
    # Panel): one meeting kind, two uses.
    use: str = Field(default="mace", max_length=8)
    location: str | None = Field(default=None, max_length=200)
    anchor_on: dt.date  # the first meeting of the current rule
    horizon_days: int = Field(default=90)
    on_holiday: str = Field(default="next", max_length=8)  # skip, next, previous
    uid: str = Field(max_length=120)  # the series' identity (meetings have their own UIDs)
    version: int = Field(default=1)
    created_at: dt.datetime = _utc()
    updated_at: dt.datetime = _utc()


class MaceMeeting(_Row, table=True):
    """The MACE side of a ``mace_meeting`` case: its series slot, invitation and agenda."""

    __tablename__ = "mace_meeting"
    __table_args__ = (UniqueConstraint("series_id", "slot_on", name="uq_mace_meeting_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True)
    series_id: int = Field(foreign_key="mace_series.id", index=True)
    slot_on: dt.date  # the day the series rule gives (the meeting's reference)
    slot_at: dt.datetime = _utc()  # the start the series rule gives
    uid: str = Field(max_length=120)  # iCalendar UID: made at generation, kept for life
    sequence: int = Field(default=0)  # iCalendar SEQUENCE, bumped by every change
    agenda: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    agenda_published_at: dt.datetime | None = _utc(default=None, nullable=True)


class MaceAgendaItem(_Row, table=True):
    """A place, person of concern or theme the coordinator adds to a meeting's agenda."""

    __tablename__ = "mace_agenda_item"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="mace_meeting.id", index=True)
    kind: str = Field(max_length=16)  # place, person, theme
    text: str = Field(max_length=300)
    added_by: str = Field(max_length=64)
    added_at: dt.datetime = _utc()


class MaceAttendance(_Row, table=True):
    __tablename__ = "mace_attendance"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="mace_meeting.id", index=True)
    agency: str = Field(max_length=80)
    person: str | None = Field(default=None, max_length=64)
    status: str = Field(max_length=16)  # present, apologies


class MaceDecision(_Row, table=True):
    """What a meeting decided for one child (whose CERAR case was updated with it)."""

    __tablename__ = "mace_decision"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="mace_meeting.id", index=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    decision: str = Field(max_length=24)  # level_confirmed, level_changed, review_done, step_down
    risk_level: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_by: str = Field(max_length=64)
    recorded_at: dt.datetime = _utc()


class MaceAction(_Row, table=True):
    """An action agreed at a meeting: owner, agency and due date (a keyed deadline too)."""

    __tablename__ = "mace_action"
    __table_args__ = (UniqueConstraint("meeting_id", "ref", name="uq_mace_action_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="mace_meeting.id", index=True)
    ref: str = Field(max_length=32)
    case_id: int | None = Field(default=None, foreign_key="case.id", nullable=True)
    summary: str = Field(max_length=300)
    owner: str = Field(max_length=64)
    agency: str = Field(max_length=80)
    due_on: dt.date
    status: str = Field(default="open", max_length=16)  # open, done, dropped
    done_on: dt.date | None = Field(default=None, nullable=True)
    created_at: dt.datetime = _utc()
    # A dropped action (no longer needed): why, never a child's name, and the day.
    drop_reason: str | None = Field(default=None, max_length=300, nullable=True)
    dropped_on: dt.date | None = Field(default=None, nullable=True)


# -- web sign-in (see engine/core/accounts.py) ------------------------------------------------
class WebCredential(_Row, table=True):
    """A user's local password (an Argon2 hash, never the password) and their lockout."""

    __tablename__ = "web_credential"

    login: str = Field(primary_key=True, max_length=64)
    password_hash: str = Field(max_length=200)
    must_change: bool = Field(default=True)  # a one-time password set by an administrator
    set_at: dt.datetime = _utc()
    locked_until: dt.datetime | None = _utc(default=None, nullable=True)


class WebSession(_Row, table=True):
    """A signed-in browser: the cookie holds a random token, this row its SHA-256 hash."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    login: str = Field(max_length=64, index=True)
    csrf: str = Field(max_length=64)
    kind: str = Field(default="session", max_length=16)  # session, link (a one-time sign-in)
    created_at: dt.datetime = _utc()
    last_seen_at: dt.datetime = _utc()
    expires_at: dt.datetime = _utc()  # the absolute timeout (a link: when it expires)
    ended_at: dt.datetime | None = _utc(default=None, nullable=True)


class SignInFailure(_Row, table=True):
    """A failed sign-in, counted per account and per address for the lockout."""

    __tablename__ = "web_sign_in_failure"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=64, index=True)
    address: str = Field(max_length=64, index=True)
    at: dt.datetime = _utc(index=True)


class ApiToken(_Row, table=True):
    """A user's token for the JSON API: the caller holds a random token, this row its
    SHA-256 hash (a copy of the database authenticates nobody). Revoked, never deleted."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    login: str = Field(max_length=64, index=True)
    name: str = Field(max_length=100)
    created_at: dt.datetime = _utc()
    created_by: str = Field(max_length=64)
    last_used_at: dt.datetime | None = _utc(default=None, nullable=True)
    revoked_at: dt.datetime | None = _utc(default=None, nullable=True)
    revoked_by: str | None = Field(default=None, max_length=64)


# -- figures from other systems -------------------------------------------------------------
class ImportedFigure(_Row, table=True):
    """A figure another system holds (MASH contacts, children looked after, ...) for one
    measure, area (None: the whole partnership) and period, with its source and who imported
    it when. Re-importing the same figure marks this row replaced (``replaced_at``) and adds
    the new one: the history is kept."""

    __tablename__ = "imported_figure"
    __table_args__ = (Index("ix_imported_figure_period", "period_start", "period_end"),)

    id: int | None = Field(default=None, primary_key=True)
    measure: str = Field(max_length=64, index=True)
    area: str | None = Field(default=None, max_length=64)
    period: str = Field(max_length=16)  # '2023-24', '2023-24 Q1', '2024-01'
    period_start: dt.date
    period_end: dt.date
    value: str = Field(max_length=32)  # the number as given (a count: a whole number)
    source: str = Field(max_length=200)
    imported_by: str = Field(max_length=64)
    imported_at: dt.datetime = _utc()
    replaced_at: dt.datetime | None = _utc(default=None, nullable=True)
