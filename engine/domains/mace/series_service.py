"""MACE series: create a recurring series, change its rule (future meetings only), generate
its meetings ahead within the horizon, and its iCalendar invitation. One transaction per
command; dates come from :mod:`engine.domains.mace.series` (pure).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.core.clock import as_utc
from engine.core.errors import FieldError, UsageError
from engine.core.people import registered
from engine.core.policy import permitted
from engine.core.store.models import (
    MaceMeeting,
    MaceSeries,
)
from engine.core.unit import Unit
from engine.domains.mace import ics
from engine.domains.mace.base import (
    NOT_HELD,
    USES,
    MaceBase,
    SeriesNotFoundError,
    meeting_workflow,
    series_slug,
)
from engine.domains.mace.series import (
    Every,
    first_on_or_after,
    parse_every,
    parse_policy,
    parse_time,
    parse_weekday,
    place,
    slots,
    start_instant,
)
from engine.domains.mace.views import MeetingView, SeriesView


class SeriesService(MaceBase):
    """Recurring MACE series and the meetings they generate."""

    # -- series --------------------------------------------------------------------------
    def create_series(self, name: str, every: str, weekday: str, time: str, chair: str,
                      members: Sequence[str], actor: str, starts_on: dt.date | None = None,
                      duration_minutes: int = 120, location: str | None = None,
                      horizon_days: int = 90, on_holiday: str = "next",
                      area: str | None = None, use: str = "mace") -> SeriesView:
        """A series of meetings for ``use``: MACE (coordinated by the CERAR coordinator) or
        the CDOP (coordinated by the CDOP coordinator, chaired by the CDOP chair)."""
        if use not in USES:
            raise UsageError(f"'{use}' is not a series use: {' or '.join(USES)}")
        rule, day, at = parse_every(every), parse_weekday(weekday), parse_time(time)
        parse_policy(on_holiday)
        if not 15 <= duration_minutes <= 480:
            raise UsageError("a meeting lasts between 15 and 480 minutes")
        if not 7 <= horizon_days <= 400:
            raise UsageError("the horizon is between 7 and 400 days")
        if not chair.strip():
            raise FieldError("chair", "a series needs a chair", cli="add --chair USER")
        anchor = first_on_or_after(starts_on or self._today(), day)
        now = self.clock.now()
        with self.engine.unit(actor, "mace.series.create") as unit:
            session = unit.session
            unit.require()
            unit.require(f"series.use.{use}")
            registered(unit.conn, [chair], "chair")
            if use == "cdop":
                self._check_chair(unit, chair)
            registered(unit.conn, members, "member")
            if session.scalar(select(MaceSeries.id).where(  # type: ignore[call-overload]
                    MaceSeries.name == name)) is not None:
                raise UsageError(f"a MACE series '{name}' already exists; choose another name")
            series = MaceSeries(
                area=self.engine.area_for_new_case(unit, area),
                name=name, use=use, every=rule.text, weekday=day, start_time=at,
                duration_minutes=duration_minutes, chair=chair,
                members=list(members), location=location, anchor_on=anchor,
                horizon_days=horizon_days, on_holiday=on_holiday,
                uid=self._series_uid(name, anchor), created_at=now, updated_at=now)
            session.add(series)
            try:
                session.flush()
            except IntegrityError:
                raise UsageError(f"a MACE series '{name}' already exists") from None
            self._generate(unit, series, actor)
            return self._series_view(unit, series)

    def change_series(self, name: str, actor: str, every: str | None = None,
                      weekday: str | None = None, time: str | None = None,
                      from_date: dt.date | None = None, chair: str | None = None,
                      members: Sequence[str] | None = None) -> SeriesView:
        """Change the rule from ``from_date`` (default today), or the people: meetings held
        or started are untouched. Meetings from ``from_date`` not on the new rule are
        cancelled (CANCEL) before the new rule's are generated; a meeting on both rules keeps
        its UID (and, at a new time, is moved: REQUEST). People who leave get a CANCEL of
        each meeting still to come, those who stay or join its update (REQUEST)."""
        with self.engine.unit(actor, "mace.series.change") as unit:
            session = unit.session
            unit.require()
            series = self._series(unit, name)
            unit.require(f"series.use.{series.use}")
            if chair is not None:
                registered(unit.conn, [chair], "chair")
                if series.use == "cdop":
                    self._check_chair(unit, chair)
            if members is not None:
                registered(unit.conn, members, "member")
            rule = parse_every(every) if every else parse_every(series.every)
            day = parse_weekday(weekday) if weekday else series.weekday
            at = parse_time(time) if time else series.start_time
            old_chair, old_at = series.chair, series.start_time
            before = list(dict.fromkeys([series.chair, *series.members]))
            if chair is not None:
                series.chair = chair
            if members is not None:
                series.members = list(dict.fromkeys(members))
            after = list(dict.fromkeys([series.chair, *series.members]))
            gone = [login for login in before if login not in after]
            people_changed = (old_chair, before) != (series.chair, after)
            start = max(from_date or self._today(), self._today())
            keep: set[dt.date] | None = None  # the days a new rule gives (None: same rule)
            if (rule.text, day) != (series.every, series.weekday):
                anchor = first_on_or_after(start, day)
                end = self._today() + dt.timedelta(days=series.horizon_days)
                keep = set(slots(anchor, rule, anchor, end))
                series.every, series.weekday, series.anchor_on = rule.text, day, anchor
            series.start_time = at  # a new time alone keeps the days
            now = self.clock.now()
            for meeting, case in self._meetings(unit, series):
                starts = as_utc(dt.datetime.fromisoformat(case.data["starts_at"]))
                if case.state not in NOT_HELD or starts <= now:
                    continue  # held, cancelled or already begun: as it was
                ruled = meeting.slot_on >= start
                if ruled and keep is not None and meeting.slot_on not in keep:
                    self._drop(unit, series, meeting, case.ref, rule, actor, old_chair,
                               before)
                    continue
                retime = ruled and at != old_at and starts == start_instant(
                    dt.date.fromisoformat(case.data["meeting_on"]), old_at)
                if not (retime or people_changed):
                    continue  # nothing about this meeting changed: nothing is sent
                if retime:
                    meeting.slot_at = start_instant(meeting.slot_on, at)
                    on = dt.date.fromisoformat(case.data["meeting_on"])
                    self.engine.fire(case.ref, "reschedule", {
                        "meeting_on": on.isoformat(),
                        "starts_at": start_instant(on, at).isoformat(),
                        "reschedule_reason": f"the series now meets at {at}"},
                        actor, None, meeting_workflow(series), unit=unit, via_domain=True)
                meeting.sequence += 1
                session.add(meeting)
                session.flush()
                if people_changed:
                    # Need-to-know follows the invitation: who left loses the meeting.
                    for login in gone:
                        self.engine.uninvolve(unit, meeting_workflow(series), case.ref, login,
                                              "mace_invitee")
                    self.engine.involve(unit, [(meeting_workflow(series), case.ref)], after,
                                        "mace_invitee")
                if gone:  # withdrawn from those who leave before the others' update
                    self._announce(unit, series, meeting, case.ref, "CANCEL", old_chair,
                                   gone, withdrawn=True)
                self._announce(unit, series, meeting, case.ref, "REQUEST")
            series.version += 1
            series.updated_at = now
            session.add(series)
            self._generate(unit, series, actor)
            return self._series_view(unit, series)

    def _drop(self, unit: Unit, series: MaceSeries, meeting: MaceMeeting, ref: str,
              rule: Every, actor: str, chair: str, invitees: Sequence[str]) -> None:
        """Cancel a meeting a new rule no longer gives: a CANCEL to everyone who had it."""
        self.engine.fire(ref, "cancel", {
            "cancel_reason": f"series changed to every {rule.text}"},
            actor, None, meeting_workflow(series), unit=unit, via_domain=True)
        meeting.sequence += 1
        unit.session.add(meeting)
        unit.session.flush()
        self._announce(unit, series, meeting, ref, "CANCEL", chair, invitees)

    def generate(self, actor: str, name: str | None = None) -> list[MeetingView]:
        """Generate every series' meetings up to its horizon (idempotent); the new ones."""
        with self.engine.unit(actor, "mace.generate") as unit:
            session = unit.session
            unit.require()
            query = select(MaceSeries).order_by(MaceSeries.name)
            if name:
                series = self._series(unit, name)
                unit.require(f"series.use.{series.use}")
                query = query.where(MaceSeries.name == series.name)  # type: ignore[arg-type]
            made: list[MeetingView] = []
            for series in list(session.scalars(query)):
                # every series of the uses the actor coordinates (the daily job's user
                # holds the coordinator role of each use it generates for)
                if permitted(unit.principal, f"series.use.{series.use}"):
                    made += self._generate(unit, series, actor)
            return made

    def series(self, name: str, actor: str) -> SeriesView:
        with self.engine.unit(actor, "mace.series.show") as unit:
            unit.require()
            return self._series_view(unit, self._readable_series(unit, name))

    def all_series(self, actor: str) -> list[SeriesView]:
        """The series of the uses the actor works in (MACE, the CDOP, or both)."""
        with self.engine.unit(actor, "mace.series.list") as unit:
            unit.require()
            return [self._series_view(unit, s) for s in unit.session.scalars(
                select(MaceSeries).order_by(MaceSeries.name))
                if permitted(unit.principal, f"series.read.{s.use}")]

    def series_invitation(self, name: str, actor: str) -> bytes:
        """The series' meetings still to come as one iCalendar file to import (PUBLISH):
        each meeting as the standalone event its invitations carry (same UID and SEQUENCE),
        so importing it next to the emailed invitations duplicates nothing."""
        with self.engine.unit(actor, "mace.series.invite") as unit:
            unit.require()
            series = self._readable_series(unit, name)
            unit.touch(None, meeting_workflow(series), series=name)
            now = self.clock.now()
            events = [self._occurrence(unit, series, m, c)
                      for m, c in self._meetings(unit, series) if c.state in NOT_HELD
                      and as_utc(dt.datetime.fromisoformat(c.data["starts_at"])) > now]
            return ics.calendar(events, "PUBLISH")

    # -- helpers --------------------------------------------------------------------------
    def _readable_series(self, unit: Unit, name: str) -> MaceSeries:
        """The series, if the actor works in its use; else answered as an unknown one."""
        series = self._series(unit, name)
        if not permitted(unit.principal, f"series.read.{series.use}"):
            known = [s.name for s in unit.session.scalars(select(MaceSeries))
                     if permitted(unit.principal, f"series.read.{s.use}")]
            raise SeriesNotFoundError(name, known)
        return series

    @staticmethod
    def _check_chair(unit: Unit, chair: str) -> None:
        """A CDOP series is chaired by someone who holds the CDOP chair role."""
        held = unit.access.principal(chair)
        if held is None or not held.grants.get("cdop_chair"):
            raise UsageError(f"'{chair}' does not hold the CDOP chair role (cdop_chair): a "
                             "CDOP series is chaired by the panel's chair")

    @staticmethod
    def _series_uid(name: str, anchor: dt.date) -> str:
        """The series' own identity (its meetings carry UIDs of their own)."""
        return f"mace-{series_slug(name).lower()}-{anchor:%Y%m%d}@safeguard"

    def _generate(self, unit: Unit, series: MaceSeries, actor: str) -> list[MeetingView]:
        session = unit.session
        today, now = self._today(), self.clock.now()
        end = today + dt.timedelta(days=series.horizon_days)
        rule: Every = parse_every(series.every)
        have = {m.slot_on for m, _c in self._meetings(unit, series)}
        made: list[MeetingView] = []
        for slot in slots(series.anchor_on, rule, max(series.anchor_on, today), end):
            if slot in have:
                continue
            day = place(slot, self.calendar, series.on_holiday)
            if day is None:
                continue
            starts = start_instant(day, series.start_time)
            if starts <= now:  # never invite anyone to a meeting already begun
                continue
            workflow, prefix = USES[series.use]
            ref = f"{prefix}-{series_slug(series.name)}-{slot.isoformat()}"
            view = self.engine.open_case(workflow, ref, {
                "series": series.name, "meeting_on": day.isoformat(),
                "starts_at": starts.isoformat()}, actor,
                None if day == slot else f"moved from {slot.isoformat()} "
                f"({self.calendar.holiday_name(slot) or 'not a working day'})",
                area=series.area, unit=unit)
            case = self.engine.find(unit, view.ref, workflow)
            self.engine.involve(
                unit, [(workflow, view.ref)],
                                   [series.chair, *series.members], "mace_invitee")
            assert case.id is not None and series.id is not None
            meeting = MaceMeeting(case_id=case.id, series_id=series.id, slot_on=slot,
                                  slot_at=start_instant(slot, series.start_time),
                                  uid=self._meeting_uid(view.ref))
            session.add(meeting)
            session.flush()
            self._announce(unit, series, meeting, view.ref, "REQUEST")
            made.append(self._meeting_view(unit, series, meeting, case))
        return made

    def _series_view(self, unit: Unit, series: MaceSeries) -> SeriesView:
        rule = parse_every(series.every)
        end = self._today() + dt.timedelta(days=series.horizon_days)
        skipped = tuple(d for d in slots(series.anchor_on, rule, series.anchor_on, end)
                        if place(d, self.calendar, series.on_holiday) is None)
        meetings = tuple(self._meeting_view(unit, series, m, c)
                         for m, c in self._meetings(unit, series))
        return SeriesView(series.name, series.every, series.weekday, series.start_time,
                          series.duration_minutes, series.chair, tuple(series.members),
                          series.location, series.anchor_on, series.horizon_days,
                          series.on_holiday, series.uid, meetings, skipped, series.use)


__all__ = ["SeriesService"]
