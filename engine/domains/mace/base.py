"""What the MACE services share: the constructor, finding series and meetings, turning rows
into views and invitations. Database reads only; the commands are in
:mod:`engine.domains.mace.series_service` (series) and :mod:`engine.domains.mace.service`
(meetings).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import col

from engine.core.clock import as_utc, london_date
from engine.core.errors import EngineError, HiddenCaseError, UsageError
from engine.core.notices import InvitationHook, OutgoingInvitation
from engine.core.service import Engine
from engine.core.store.cases import CaseRecord
from engine.core.store.directory import Directory
from engine.core.store.models import (
    Case,
    MaceAction,
    MaceMeeting,
    MaceSeries,
)
from engine.core.unit import Unit
from engine.domains.cerar.rules import mentions_name
from engine.domains.cerar.service import CerarService
from engine.domains.mace import facts, ics
from engine.domains.mace.views import ActionView, MeetingView

WORKFLOW = "mace_meeting"
# One meeting kind, two uses: a series' use picks the workflow its meetings run and the
# prefix of their references (MACE-North-2024-06-05, CDOP-Panel-2024-07-10).
USES: dict[str, tuple[str, str]] = {"mace": (WORKFLOW, "MACE"), "cdop": ("cdop_meeting", "CDOP")}
MEETING_WORKFLOWS = tuple(workflow for workflow, _ in USES.values())


def meeting_workflow(series: MaceSeries) -> str:
    return USES[series.use][0]


def use_label(series: MaceSeries) -> str:
    return USES[series.use][1]


NOT_HELD = ("scheduled", "rescheduled", "agenda_published")


class SeriesNotFoundError(EngineError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"no MACE series '{name}'; series: {', '.join(known) or '(none)'}: "
                         "'safeguard mace series create' makes one")


class MeetingNotFoundError(EngineError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"no MACE meeting '{ref}'; 'safeguard mace meetings' lists them")


class OpenActionsError(UsageError):  # raised by MaceService.close (exit 2, nothing written)
    def __init__(self, ref: str, actions: Sequence[str], droppable: bool = True) -> None:
        # A meeting on a workflow version from before dropping has only the one way.
        how = ("record each done ('safeguard mace action done') or drop it with a reason "
               "('safeguard mace action drop')") if droppable else \
            "record them done with 'safeguard mace action done'"
        super().__init__(f"meeting '{ref}' still has open actions ({', '.join(actions)}): "
                         f"{how} first")


def series_slug(name: str) -> str:
    """A series name as it appears in meeting references and UIDs."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
    if not slug:
        raise UsageError(f"'{name}' is not a usable series name: use letters and digits")
    return slug[:32]


class MaceBase:
    """Shared by :class:`~engine.domains.mace.series_service.SeriesService` and
    :class:`~engine.domains.mace.service.MaceService`."""

    def __init__(self, engine: Engine, cerar: CerarService,
                 email_domain: str = "safeguard.invalid",
                 on_invitation: InvitationHook | None = None) -> None:
        self.engine, self.cerar = engine, cerar
        self.clock, self.calendar = engine.clock, engine.calendar
        self.email_domain = email_domain
        self.on_invitation = on_invitation

    def _announce(self, unit: Unit, series: MaceSeries, meeting: MaceMeeting, ref: str,
                  method: str, chair: str | None = None,
                  invitees: Sequence[str] | None = None, withdrawn: bool = False) -> None:
        """Hand the meeting's invitation (REQUEST) or cancellation (CANCEL) to whoever sends
        it, inside this transaction: the outbox row commits with the change, or neither.
        ``invitees`` (default: the series' chair and members) are the people it goes to and
        lists; ``withdrawn``: a CANCEL to people no longer invited to a meeting that goes
        ahead (``chair``: the organizer they knew)."""
        session = unit.session
        if self.on_invitation is None:
            return
        people = tuple(dict.fromkeys(invitees if invitees is not None
                                     else (series.chair, *series.members)))
        case = self.engine.find(unit, ref, meeting_workflow(series))
        occurrence = self._occurrence(unit, series, meeting, case, chair, people)
        self.on_invitation(session, OutgoingInvitation(
            ref=ref, method=method, ics=ics.calendar([occurrence], method),
            people=people, starts_at=occurrence.starts_at,
            sequence=meeting.sequence, state=case.state, workflow=case.workflow,
            workflow_version=case.workflow_version, withdrawn=withdrawn))

    def _today(self) -> dt.date:
        return london_date(self.clock.now())

    # -- finding rows and viewing them ----------------------------------------------------
    def _series(self, unit: Unit, name: str) -> MaceSeries:
        session = unit.session
        series = session.scalar(select(MaceSeries).where(
            MaceSeries.name == name))  # type: ignore[arg-type]
        if not isinstance(series, MaceSeries):
            known = list(session.scalars(select(MaceSeries.name)))  # type: ignore[call-overload]
            raise SeriesNotFoundError(name, known)
        return series

    def _meeting(self, unit: Unit, ref: str) -> tuple[MaceMeeting, Case, MaceSeries]:
        session = unit.session
        found = session.execute(select(MaceMeeting, Case, MaceSeries).join(
            Case, Case.id == MaceMeeting.case_id).join(  # type: ignore[arg-type]
            MaceSeries, MaceSeries.id == MaceMeeting.series_id).where(  # type: ignore[arg-type]
            col(Case.ref) == ref, col(Case.workflow).in_(MEETING_WORKFLOWS))).first()
        if found is None:
            raise MeetingNotFoundError(ref)
        workflow = found[1].workflow
        try:
            self.engine.find(unit, ref, workflow)  # the actor may see it (read noted)
        except HiddenCaseError as exc:  # answered as a meeting that does not exist
            raise HiddenCaseError(ref, workflow, exc.reason,
                                  str(MeetingNotFoundError(ref))) from None
        return found[0], found[1], found[2]

    def _meetings(self, unit: Unit, series: MaceSeries,
                  ) -> list[tuple[MaceMeeting, Case]]:
        session = unit.session
        rows = session.execute(select(MaceMeeting, Case).join(
            Case, Case.id == MaceMeeting.case_id).where(  # type: ignore[arg-type]
            MaceMeeting.series_id == series.id).order_by(MaceMeeting.slot_on))  # type: ignore[arg-type]
        return [(m, c) for m, c in rows]

    def _meeting_view(self, unit: Unit, series: MaceSeries, meeting: MaceMeeting,
                      case: Case | CaseRecord) -> MeetingView:
        view = self.engine.case(case.ref, unit.actor, case.workflow, unit=unit)
        return MeetingView(
            ref=case.ref, series=series.name, state=view.state, slot_on=meeting.slot_on,
            meeting_on=dt.date.fromisoformat(view.data["meeting_on"]),
            starts_at=as_utc(dt.datetime.fromisoformat(view.data["starts_at"])),
            uid=meeting.uid, sequence=meeting.sequence,
            deadlines=tuple(d.to_json() for d in view.deadlines),
            agenda_published_at=meeting.agenda_published_at)

    def _action_view(self, meeting_ref: str, row: MaceAction, child_ref: str | None,
                     ) -> ActionView:
        return ActionView(meeting_ref, row.ref, child_ref, row.summary, row.owner, row.agency,
                          row.due_on, row.status, row.done_on, row.dropped_on, row.drop_reason)

    def _description(self, series: MaceSeries, ref: str | None) -> str:
        kind = use_label(series)
        what = f"Meeting {ref} of the {kind} series {series.name}." if ref else \
            f"The {kind} series {series.name}."
        return (f"{what} The agenda is published in safeguard before the meeting: "
                "this invitation carries no case details.")

    def _people(self, unit: Unit, chair: str, invitees: Sequence[str],
                ) -> tuple[ics.Person, ics.Person | None, tuple[ics.Person, ...]]:
        """(organizer, the chair as an attendee or None, the other attendees) at their
        registered addresses: the chair organises (and attends), the others attend with RSVP.
        Someone with no usable address is left out of the calendar data (the mailer reports
        them loudly); a chair without one organises as the MACE mailbox."""
        known = Directory(unit.conn).people()

        def person(login: str) -> ics.Person | None:
            found = known.get(login)
            if found is None or found.email is None:
                return None
            return ics.Person(found.name, found.email)

        found = person(chair)
        organizer = found or ics.Person(chair, f"mace@{self.email_domain}")
        attendees = tuple(p for login in dict.fromkeys(invitees)
                          if login != chair and (p := person(login)) is not None)
        return organizer, found if chair in invitees else None, attendees

    def _meeting_uid(self, ref: str) -> str:
        """A meeting's iCalendar UID, made once when it is generated and kept for life."""
        return f"{ref.lower()}@{self.email_domain}"

    def _occurrence(self, unit: Unit, series: MaceSeries, meeting: MaceMeeting,
                    case: Case | CaseRecord, chair: str | None = None,
                    invitees: Sequence[str] | None = None) -> ics.Invitation:
        """The meeting as one standalone iCalendar event (its own UID and SEQUENCE),
        organised by ``chair`` and listing ``invitees`` (default: the series' people)."""
        chair = chair or series.chair
        organizer, chairing, attendees = self._people(
            unit, chair, (series.chair, *series.members) if invitees is None else invitees)
        return ics.Invitation(
            uid=meeting.uid, summary=f"{use_label(series)} meeting ({series.name})",
            description=self._description(series, case.ref), location=series.location,
            starts_at=as_utc(dt.datetime.fromisoformat(case.data["starts_at"])),
            duration=dt.timedelta(minutes=series.duration_minutes),
            organizer=organizer, chair=chairing, attendees=attendees,
            stamp=self.clock.now(), sequence=meeting.sequence)

    def _check_no_names(self, unit: Unit, text: str) -> None:
        """Refuse text that names a child on an open CERAR case: references only."""
        session = unit.session
        if mentions_name(text, facts.child_names(session)) is not None:
            raise UsageError("that text names a child: agendas, actions and invitations use "
                             "references only (the child reference, e.g. C-1001)")
