"""The MACE service: series, meetings, agendas, records and invitations; one transaction per
command.

A meeting is a ``mace_meeting`` case (state, deadlines, history) plus a :class:`MaceMeeting`
row (its series slot, iCalendar UID and SEQUENCE, the agenda as published). Recording a
decision for a child fires on the child's ``cerar`` case in the same transaction as the
meeting's own record, so both change or neither does. Never prints, never reads the wall
clock, never sends mail (the notification issue sends what :meth:`invitation` returns).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from engine.core.calendar import add_months
from engine.core.casework import CasePage, CaseWork
from engine.core.clock import as_utc, show_instant
from engine.core.definition import TransitionDef, assignee_kind
from engine.core.errors import FieldError, UsageError
from engine.core.people import registered
from engine.core.policy import permitted
from engine.core.store.models import (
    Case,
    MaceAction,
    MaceAgendaItem,
    MaceAttendance,
    MaceDecision,
    MaceMeeting,
    MaceSeries,
)
from engine.core.unit import Unit
from engine.domains.cdop.agenda import panel_agenda
from engine.domains.cerar.service import WORKFLOW as CERAR
from engine.domains.mace import facts, ics
from engine.domains.mace.agenda import Agenda, Item, build_agenda, judged
from engine.domains.mace.base import (
    MEETING_WORKFLOWS,
    NOT_HELD,
    WORKFLOW,
    MeetingNotFoundError,
    OpenActionsError,
    SeriesNotFoundError,
)
from engine.domains.mace.series import (
    parse_every,
    parse_time,
    slots,
    start_instant,
)
from engine.domains.mace.series_service import SeriesService
from engine.domains.mace.views import ActionView, MeetingView

ITEM_KINDS = ("place", "person", "theme")
# Who may read a meeting's draft agenda, by the series' use.
_DRAFT = {"mace": "mace.agenda.draft", "cdop": "cdop.agenda.draft"}
DECISIONS = ("level_confirmed", "level_changed", "review_done", "step_down")


class MaceService(SeriesService):
    """Meetings: agenda, record, actions, invitations (and, inherited, the series)."""

    # -- meetings ------------------------------------------------------------------------
    def meetings(self, actor: str, series: str | None = None,
                 upcoming: bool = False) -> list[MeetingView]:
        """The meetings the actor may see (a member: those they are invited to)."""
        with self.engine.unit(actor, "mace.meetings", workflow=WORKFLOW) as unit:
            unit.require()
            session = unit.session
            visible = set(session.scalars(select(col(Case.ref)).where(
                col(Case.workflow).in_(MEETING_WORKFLOWS), self.engine.readable(unit))))
            chosen = [self._series(unit, series)] if series else list(session.scalars(
                select(MaceSeries).order_by(MaceSeries.name)))
            out = []
            for s in chosen:
                for meeting, case in self._meetings(unit, s):
                    if case.ref not in visible:
                        continue
                    view = self._meeting_view(unit, s, meeting, case)
                    if upcoming and (view.meeting_on < self._today()
                                     or case.state not in NOT_HELD):
                        continue
                    out.append(view)
            return sorted(out, key=lambda m: (m.starts_at, m.ref))

    def meeting(self, ref: str, actor: str) -> MeetingView:
        """One meeting with its record: attendance, decisions (by reference) and actions."""
        with self.engine.unit(actor, "mace.show", case_ref=ref, workflow=WORKFLOW) as unit:
            return self._detail(unit, ref)

    def meeting_page(self, ref: str, actor: str,
                     ) -> tuple[MeetingView, dict[str, Any] | None, CasePage]:
        """A meeting's page in one read: its record, its agenda (as published; before that a
        draft for those the policy lets see one, else None) and the case page (deadlines,
        the steps this user may take)."""
        with self.engine.unit(actor, "mace.show", case_ref=ref, workflow=WORKFLOW) as unit:
            view = self._detail(unit, ref)
            meeting, case, series = self._meeting(unit, ref)
            agenda: dict[str, Any] | None = None
            if meeting.agenda is not None:
                agenda = dict(meeting.agenda) | {"draft": False}
            elif permitted(unit.principal, _DRAFT[series.use]):
                agenda = self._agenda_json(unit, meeting, case, series) | {"draft": True}
            return view, agenda, CaseWork(self.engine).page_in(unit, ref, case.workflow)

    def _detail(self, unit: Unit, ref: str) -> MeetingView:
        session = unit.session
        meeting, case, series = self._meeting(unit, ref)
        view = self._meeting_view(unit, series, meeting, case)
        attendance = tuple(
            {"agency": a.agency, "person": a.person, "status": a.status}
            for a in session.scalars(select(MaceAttendance).where(
                MaceAttendance.meeting_id == meeting.id)  # type: ignore[arg-type]
                .order_by(MaceAttendance.id)))  # type: ignore[arg-type]
        decisions = tuple(
            {"case": ref, "child_ref": facts.child_ref(session, d.case_id),
             "decision": d.decision, "risk_level": d.risk_level,
             "recorded_by": d.recorded_by}
            for d, ref in session.execute(select(MaceDecision, col(Case.ref)).join(
                Case, Case.id == MaceDecision.case_id).where(  # type: ignore[arg-type]
                MaceDecision.meeting_id == meeting.id)  # type: ignore[arg-type]
                .order_by(MaceDecision.id)))  # type: ignore[arg-type]
        actions = tuple(a.to_json() for a in self._actions(unit, meeting=ref))
        return replace(view, attendance=attendance, decisions=decisions, actions=actions)

    def reschedule(self, ref: str, on: dt.date, actor: str, reason: str,
                   time: str | None = None) -> MeetingView:
        with self.engine.unit(actor, "mace.reschedule") as unit:
            session = unit.session
            meeting, case, series = self._meeting(unit, ref)
            if not self.calendar.is_working_day(on):
                raise UsageError(f"{on.isoformat()} is not a working day "
                                 f"({self.calendar.holiday_name(on) or 'weekend'})")
            starts = start_instant(on, parse_time(time) if time else series.start_time)
            if starts <= self.clock.now():
                raise UsageError("a meeting can only be moved to a time still to come")
            self.engine.fire(ref, "reschedule", {
                "meeting_on": on.isoformat(), "starts_at": starts.isoformat(),
                "reschedule_reason": reason}, actor, None, case.workflow, unit=unit,
                via_domain=True)
            meeting.sequence += 1
            session.add(meeting)
            session.flush()
            self._announce(unit, series, meeting, ref, "REQUEST")
            return self._with_invitation(unit, series, meeting, case, "REQUEST")

    def cancel(self, ref: str, actor: str, reason: str) -> MeetingView:
        with self.engine.unit(actor, "mace.cancel") as unit:
            session = unit.session
            meeting, case, series = self._meeting(unit, ref)
            self.engine.fire(ref, "cancel", {"cancel_reason": reason}, actor, None,
                             case.workflow, unit=unit, via_domain=True)
            meeting.sequence += 1
            session.add(meeting)
            session.flush()
            self._announce(unit, series, meeting, ref, "CANCEL")
            return self._with_invitation(unit, series, meeting, case, "CANCEL")

    def _with_invitation(self, unit: Unit, series: MaceSeries, meeting: MaceMeeting,
                         case: Case, method: str) -> MeetingView:
        """The meeting's view with the invitation the change sent (the command may write it
        to a file: the same unit, the same audit record)."""
        fresh = self.engine.find(unit, case.ref, case.workflow)
        payload = ics.calendar([self._occurrence(unit, series, meeting, fresh)], method)
        return replace(self._meeting_view(unit, series, meeting, case), ics=payload)

    # -- agenda --------------------------------------------------------------------------
    def add_item(self, ref: str, kind: str, text: str, actor: str) -> dict[str, Any]:
        with self.engine.unit(actor, "mace.item") as unit:
            session = unit.session
            unit.require()  # who may, before what they sent is looked at
            if kind not in ITEM_KINDS:
                raise UsageError(f"'{kind}' is not an agenda item kind: use "
                                 f"{', '.join(ITEM_KINDS)}")
            text = " ".join(text.split())
            if not 3 <= len(text) <= 300:
                raise UsageError("an agenda item is 3 to 300 characters")
            meeting, case, series = self._meeting(unit, ref)
            if case.state not in NOT_HELD:
                raise UsageError(f"meeting '{ref}' is '{case.state}': items can be added "
                                 "only before it is held")
            self._check_no_names(unit, text)
            assert meeting.id is not None
            session.add(MaceAgendaItem(meeting_id=meeting.id, kind=kind, text=text,
                                       added_by=actor, added_at=self.clock.now()))
            session.flush()
            return self._agenda_json(unit, meeting, case, series) | {"draft": True}

    def agenda(self, ref: str, actor: str) -> dict[str, Any]:
        """The agenda as published, or (before publication, for MACE staff only) a draft
        from today's data."""
        with self.engine.unit(actor, "mace.agenda", case_ref=ref, workflow=WORKFLOW) as unit:
            meeting, case, series = self._meeting(unit, ref)
            if meeting.agenda is not None:  # as published; its actions judged today
                return judged(dict(meeting.agenda), self._today()) | {"draft": False}
            unit.require(_DRAFT[series.use])  # cases not yet on a published agenda
            return self._agenda_json(unit, meeting, case, series) | {"draft": True}

    def publish(self, ref: str, actor: str) -> dict[str, Any]:
        """Build the agenda from the data now, store it, and publish it (one transaction).
        The invited members then see the children on it (need-to-know), while they are open.
        """
        with self.engine.unit(actor, "mace.publish") as unit:
            session = unit.session
            meeting, case, series = self._meeting(unit, ref)
            agenda = self._agenda_json(unit, meeting, case, series)
            if agenda["children"]:
                self.engine.involve(
                    unit, [(CERAR, child["case_ref"]) for child in agenda["children"]],
                    [series.chair, *series.members], "mace_invitee")
            self.engine.fire(ref, "publish_agenda", {
                "agenda_published_on": self._today().isoformat()}, actor, None,
                case.workflow, unit=unit, via_domain=True)
            meeting.agenda, meeting.agenda_published_at = agenda, self.clock.now()
            session.add(meeting)
            return agenda | {"draft": False}

    # -- recording the meeting -----------------------------------------------------------
    def hold(self, ref: str, actor: str, present: Sequence[tuple[str, str]],
             apologies: Sequence[str] = (), held_on: dt.date | None = None) -> MeetingView:
        """Record the meeting held, with attendance by agency (agency, person)."""
        if not present:
            raise FieldError("present", "record who attended",
                             cli="add --present AGENCY=USER (repeatable)")
        with self.engine.unit(actor, "mace.hold") as unit:
            session = unit.session
            meeting, case, series = self._meeting(unit, ref)
            registered(unit.conn, [person for _agency, person in present], "attendee")
            agencies = [agency for agency, _person in present] + list(apologies)
            twice = sorted({a for a in agencies if agencies.count(a) > 1})
            if twice:
                raise UsageError(f"agency '{twice[0]}' is named twice: record each agency "
                                 "once (present or apologies)")
            day = held_on or self._today()
            if day > self._today():
                raise UsageError("a meeting cannot be recorded as held on a day to come")
            self.engine.fire(ref, "hold", {"held_on": day.isoformat()}, actor,
                             None, case.workflow, unit=unit, via_domain=True)
            assert meeting.id is not None
            for agency, person in present:
                session.add(MaceAttendance(meeting_id=meeting.id, agency=agency, person=person,
                                           status="present"))
            for agency in apologies:
                session.add(MaceAttendance(meeting_id=meeting.id, agency=agency,
                                           status="apologies"))
            return self._meeting_view(unit, series, meeting, case)

    def decide(self, ref: str, case_ref: str, decision: str, actor: str,
               level: str | None = None, reason: str | None = None,
               step_down_to: str | None = None, receiving_service: str | None = None,
               ) -> dict[str, Any]:
        """Record the meeting's decision for one child, and update the child's CERAR case
        in the same transaction (a review, a level change, or a step down)."""
        if decision not in DECISIONS:
            raise UsageError(f"'{decision}' is not a decision: use {', '.join(DECISIONS)}")
        with self.engine.unit(actor, "mace.decide") as unit:
            session = unit.session
            meeting, case, series = self._meeting(unit, ref)
            self._mace_only(series, ref)
            if case.state not in ("held", "minutes_circulated"):
                raise UsageError(f"meeting '{ref}' is '{case.state}': record decisions once "
                                 "it is held ('safeguard mace hold')")
            held_on = case.data["held_on"]
            child = self.engine.find(unit, case_ref, CERAR)
            note = f"decided at MACE {ref}"
            if decision in ("level_confirmed", "review_done"):
                review_note = "level confirmed at MACE" if decision == "level_confirmed" \
                    else "reviewed at MACE"
                self.cerar.fire_step(unit, case_ref, "record_review", {
                    "reviewed_on": held_on, "review_note": reason or review_note}, note)
            elif decision == "level_changed":
                if not level or not reason:
                    raise FieldError("level", "a level change needs the new level and the "
                                     "reason", cli="add --level and --reason")
                self.cerar.fire_step(unit, case_ref, "change_risk_level", {
                    "risk_level": level, "level_change_reason": reason}, note)
            else:
                if not step_down_to or not receiving_service:
                    raise FieldError("step_down_to", "a step down needs the service the child "
                                     "steps down to and the receiving service",
                                     cli="add --to and --service")
                self.cerar.fire_step(unit, case_ref, "step_down", {
                    "stepped_down_on": held_on, "step_down_to": step_down_to,
                    "receiving_service": receiving_service}, note)
            self.engine.fire(ref, "record_decision", {
                "decision_case": case_ref, "decision": decision}, actor, None, WORKFLOW,
                unit=unit, via_domain=True)
            assert meeting.id is not None and child.id is not None
            session.add(MaceDecision(meeting_id=meeting.id, case_id=child.id,
                                     decision=decision, risk_level=level,
                                     note=reason, recorded_by=actor,
                                     recorded_at=self.clock.now()))
            session.flush()
            return {"meeting": ref, "case": case_ref, "decision": decision,
                    "child": self.engine.case(case_ref, unit.actor, CERAR, unit=unit).to_json()
                    | {"data": {}}}

    def add_action(self, ref: str, summary: str, owner: str, agency: str, due_on: dt.date,
                   actor: str, child_case: str | None = None) -> ActionView:
        summary = " ".join(summary.split())
        if not 3 <= len(summary) <= 300:
            raise UsageError("an action summary is 3 to 300 characters")
        with self.engine.unit(actor, "mace.action.add") as unit:
            session = unit.session
            meeting, case, series = self._meeting(unit, ref)
            self._mace_only(series, ref)
            registered(unit.conn, [owner], "owner")
            child_id, child_ref = None, None
            if child_case:
                child = self.engine.find(unit, child_case, CERAR)
                child_id, child_ref = child.id, child.data.get("child_ref")
            self._check_no_names(unit, summary)
            assert meeting.id is not None
            count = session.scalar(select(func.count()).select_from(MaceAction).where(
                MaceAction.meeting_id == meeting.id)) or 0  # type: ignore[arg-type]
            action_ref = f"A{count + 1}"
            # The summary, owner and agency go on the event too, where the meeting's version
            # accepts them: the action's reminders name it (the summary was checked for
            # children's names above).
            values = {"action_ref": action_ref, "action_due_on": due_on.isoformat()}
            step = self.engine.definition(unit.cases, WORKFLOW, case.workflow_version) \
                .transition_for(case.state, "add_action")
            extra = {"action_summary": summary, "action_owner": owner, "action_agency": agency}
            values.update({k: v for k, v in extra.items()
                           if step is not None and k in step.accepts})
            self.engine.fire(ref, "add_action", values, actor, None, WORKFLOW, unit=unit,
                             via_domain=True)
            # The owner answers for this action's deadline: its alerts go to them.
            self.engine.involve(unit, [(WORKFLOW, ref)], [owner], assignee_kind(action_ref))
            row = MaceAction(meeting_id=meeting.id, ref=action_ref, case_id=child_id,
                             summary=summary, owner=owner, agency=agency, due_on=due_on,
                             created_at=self.clock.now())
            session.add(row)
            return self._action_view(case.ref, row, child_ref)

    def complete_action(self, ref: str, action_ref: str, actor: str,
                        done_on: dt.date | None = None) -> ActionView:
        with self.engine.unit(actor, "mace.action.done") as unit:
            session = unit.session
            meeting, case, _series = self._meeting(unit, ref)
            row = self._open_action(unit, meeting, ref, action_ref)
            day = done_on or self._today()
            self.engine.fire(ref, "complete_action", {
                "action_ref": action_ref, "action_done_on": day.isoformat()}, actor, None,
                WORKFLOW, unit=unit, via_domain=True)
            row.status, row.done_on = "done", day
            session.add(row)
            return self._action_view(case.ref, row, facts.child_ref(session, row.case_id))

    def drop_action(self, ref: str, action_ref: str, reason: str, actor: str,
                    on: dt.date | None = None) -> ActionView:
        """Drop an action no longer needed (the child moved away, another meeting took it
        over), with the reason and the day (default today): its deadline is cancelled, so
        no more reminders, and it no longer holds up closing the meeting."""
        reason = " ".join(reason.split())
        with self.engine.unit(actor, "mace.action.drop", case_ref=ref, workflow=WORKFLOW) as unit:
            session = unit.session
            meeting, case, series = self._meeting(unit, ref)
            self._mace_only(series, ref)
            step = self._drop_step(unit, case)
            if step is None:
                raise UsageError(
                    f"meeting '{ref}' runs version {case.workflow_version} of the MACE "
                    "meeting workflow, from before actions could be dropped: its actions "
                    "are closed by recording them done ('safeguard mace action done')")
            # Who may, before what they sent is looked at (the fire checks it again).
            self.engine.require_on_case(unit, step.roles,
                                        self.engine.find(unit, ref, WORKFLOW),
                                        f"drop an action of MACE meeting {ref}")
            row = self._open_action(unit, meeting, ref, action_ref)
            if not 3 <= len(reason) <= 300:
                raise FieldError("reason", "the reason an action is dropped is 3 to 300 "
                                 "characters", cli="add --reason TEXT")
            self._check_no_names(unit, reason)
            day = on or self._today()
            held = dt.date.fromisoformat(case.data["held_on"])  # where it was agreed
            if day > self._today():
                raise FieldError("on", f"the day {day.isoformat()} is still to come: an "
                                 "action is dropped on or before today")
            if day < held:
                raise FieldError("on", f"the day {day.isoformat()} is before meeting '{ref}' "
                                 f"was held ({held.isoformat()}): use a day from then to today")
            self.engine.fire(ref, "drop_action", {
                "action_ref": action_ref, "action_drop_reason": reason}, actor, None,
                WORKFLOW, unit=unit, via_domain=True)
            row.status, row.drop_reason, row.dropped_on = "dropped", reason, day
            session.add(row)
            return self._action_view(case.ref, row, facts.child_ref(session, row.case_id))

    def _drop_step(self, unit: Unit, case: Case) -> TransitionDef | None:
        """The meeting's drop_action step, or None on a version from before it."""
        definition = self.engine.definition(unit.cases, case.workflow, case.workflow_version)
        return next((t for t in definition.transitions if t.trigger == "drop_action"), None)

    @staticmethod
    def _open_refs(unit: Unit, meeting: MaceMeeting) -> list[str]:
        """The references of the meeting's actions still open."""
        return list(unit.session.scalars(select(MaceAction.ref).where(  # type: ignore[call-overload]
            MaceAction.meeting_id == meeting.id, MaceAction.status == "open")))

    def _open_action(self, unit: Unit, meeting: MaceMeeting, ref: str,
                     action_ref: str) -> MaceAction:
        """The meeting's action ``action_ref``, still open; else one line naming the open
        ones (an unknown action) or saying how it ended."""
        session = unit.session
        row: MaceAction | None = session.scalar(select(MaceAction).where(
            MaceAction.meeting_id == meeting.id,  # type: ignore[arg-type]
            MaceAction.ref == action_ref))  # type: ignore[arg-type]
        if row is None:
            still = self._open_refs(unit, meeting)
            raise UsageError(f"meeting '{ref}' has no action '{action_ref}'; open "
                             f"actions: {', '.join(still) or '(none)'}")
        if row.status == "done":
            raise UsageError(f"action {action_ref} of '{ref}' is already done")
        if row.status == "dropped":
            on = f" on {row.dropped_on.isoformat()}" if row.dropped_on else ""
            raise UsageError(f"action {action_ref} of '{ref}' is already dropped{on}")
        return row

    def actions(self, actor: str, open_only: bool = False,
                meeting: str | None = None) -> list[ActionView]:
        with self.engine.unit(actor, "mace.action.list", workflow=WORKFLOW) as unit:
            unit.require()
            if meeting:
                self._meeting(unit, meeting)  # read-checked
            return self._actions(unit, open_only, meeting)

    def _actions(self, unit: Unit, open_only: bool = False,
                 meeting: str | None = None) -> list[ActionView]:
        session = unit.session
        query = select(MaceAction, col(Case.ref)).join(
            MaceMeeting, MaceMeeting.id == MaceAction.meeting_id).join(  # type: ignore[arg-type]
            Case, Case.id == MaceMeeting.case_id)  # type: ignore[arg-type]
        if open_only:
            query = query.where(MaceAction.status == "open")  # type: ignore[arg-type]
        if meeting:
            query = query.where(Case.ref == meeting)  # type: ignore[arg-type]
        rows = list(session.execute(query.order_by(MaceAction.due_on, MaceAction.id)))  # type: ignore[arg-type]
        return [self._action_view(ref, row, facts.child_ref(session, row.case_id))
                for row, ref in rows]

    def circulate(self, ref: str, actor: str, on: dt.date | None = None) -> MeetingView:
        with self.engine.unit(actor, "mace.minutes") as unit:
            meeting, case, series = self._meeting(unit, ref)
            self.engine.fire(ref, "circulate_minutes", {
                "minutes_circulated_on": (on or self._today()).isoformat()}, actor, None,
                case.workflow, unit=unit)
            return self._meeting_view(unit, series, meeting, case)

    def close(self, ref: str, actor: str) -> MeetingView:
        with self.engine.unit(actor, "mace.close") as unit:
            meeting, case, series = self._meeting(unit, ref)
            still = self._open_refs(unit, meeting)
            if still:
                raise OpenActionsError(ref, still, self._drop_step(unit, case) is not None)
            self.engine.fire(ref, "close", {"closed_on": self._today().isoformat()},
                             actor, None, case.workflow, unit=unit, via_domain=True)
            return self._meeting_view(unit, series, meeting, case)

    # -- invitations ---------------------------------------------------------------------
    def invitation(self, ref: str, actor: str) -> tuple[str, bytes]:
        """(method, .ics bytes) for one meeting: REQUEST, or CANCEL once it is cancelled."""
        with self.engine.unit(actor, "mace.invite", case_ref=ref, workflow=WORKFLOW) as unit:
            meeting, case, series = self._meeting(unit, ref)
            method = "CANCEL" if case.state == "cancelled" else "REQUEST"
            return method, ics.calendar([self._occurrence(unit, series, meeting, case)], method)

    @staticmethod
    def _mace_only(series: MaceSeries, ref: str) -> None:
        if series.use != "mace":
            raise UsageError(f"'{ref}' is a CDOP meeting: it records no decisions or "
                             "actions; each review is recorded on the death's case "
                             "('safeguard cdop review')")

    def _agenda_json(self, unit: Unit, meeting: MaceMeeting, case: Case,
                     series: MaceSeries) -> dict[str, Any]:
        """The meeting's agenda from the data now, for the series' use."""
        if series.use != "cdop":
            return self._agenda(unit, meeting, case).to_json()
        items: dict[str, list[str]] = {}
        for item in unit.session.scalars(select(MaceAgendaItem).where(
                MaceAgendaItem.meeting_id == meeting.id).order_by(MaceAgendaItem.id)):  # type: ignore[arg-type]
            items.setdefault(item.kind, []).append(item.text)
        return panel_agenda(unit.session, case.ref, series.name, series.area,
                            dt.date.fromisoformat(case.data["meeting_on"]),
                            as_utc(dt.datetime.fromisoformat(case.data["starts_at"])),
                            self.clock.now(), items)

    def _agenda(self, unit: Unit, meeting: MaceMeeting, case: Case) -> Agenda:
        """Build the agenda of ``meeting`` from the data as it is now."""
        session = unit.session
        now = self.clock.now()
        others = [(m, c) for m, c in self._meetings(
            unit, session.get(MaceSeries, meeting.series_id))  # type: ignore[arg-type]
            if c.state != "cancelled" and m.id != meeting.id]
        this_day = dt.date.fromisoformat(case.data["meeting_on"])
        before = [dt.date.fromisoformat(c.data["meeting_on"]) for _m, c in others
                  if dt.date.fromisoformat(c.data["meeting_on"]) < this_day]
        after = [dt.date.fromisoformat(c.data["meeting_on"]) for _m, c in others
                 if dt.date.fromisoformat(c.data["meeting_on"]) > this_day]
        series = session.get(MaceSeries, meeting.series_id)
        assert series is not None
        rule = parse_every(series.every)
        if not after:
            later = slots(series.anchor_on, rule, this_day + dt.timedelta(days=1),
                          this_day + dt.timedelta(days=70))
            after = later[:1]
        # The first meeting of a series looks back one interval, as if one had been held.
        since = max(before) if before else (
            this_day - dt.timedelta(weeks=rule.count) if rule.unit == "w"
            else add_months(this_day, -rule.count))
        until = min(after) if after else None
        items = [Item(i.kind, i.text) for i in session.scalars(select(MaceAgendaItem).where(
            MaceAgendaItem.meeting_id == meeting.id).order_by(MaceAgendaItem.id))]  # type: ignore[arg-type]
        assert meeting.id is not None
        open_actions = facts.open_actions(session, exclude_meeting=meeting.id,
                                          series_id=series.id)
        return build_agenda(case.ref, series.name, this_day, show_instant(
            as_utc(dt.datetime.fromisoformat(case.data["starts_at"]))), show_instant(now),
            since, until, facts.child_facts(session, series.area), open_actions, items)


__all__ = ["MaceService", "MeetingNotFoundError", "OpenActionsError", "SeriesNotFoundError"]
