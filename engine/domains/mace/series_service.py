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
from engine.core.errors import UsageError
from engine.core.people import registered
from engine.core.store.models import (
    MaceMeeting,
    MaceSeries,
)
from engine.core.unit import Unit
from engine.domains.mace import ics
from engine.domains.mace.base import NOT_HELD, WORKFLOW, MaceBase, series_slug
from engine.domains.mace.series import (
    Every,
    first_on_or_after,
    parse_every,
    parse_policy,
    parse_time,
    parse_weekday,
    place,
    rrule,
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
                      area: str | None = None) -> SeriesView:
        rule, day, at = parse_every(every), parse_weekday(weekday), parse_time(time)
        parse_policy(on_holiday)
        if not 15 <= duration_minutes <= 480:
            raise UsageError("a meeting lasts between 15 and 480 minutes")
        if not 7 <= horizon_days <= 400:
            raise UsageError("the horizon is between 7 and 400 days")
        if not chair.strip():
            raise UsageError("a series needs a chair: add --chair USER")
        anchor = first_on_or_after(starts_on or self._today(), day)
        now = self.clock.now()
        with self.engine.unit(actor, "mace.series.create") as unit:
            session = unit.session
            unit.require()
            registered(unit.conn, [chair], "--chair")
            registered(unit.conn, members, "--member")
            if session.scalar(select(MaceSeries.id).where(  # type: ignore[call-overload]
                    MaceSeries.name == name)) is not None:
                raise UsageError(f"a MACE series '{name}' already exists; choose another name")
            series = MaceSeries(
                area=self.engine.area_for_new_case(unit, area),
                name=name, every=rule.text, weekday=day, start_time=at,
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
        """Change the rule from ``from_date`` (default today): meetings before it, and
        meetings already held, are untouched; later ones not on the new rule are cancelled
        and the new rule's meetings generated (a new iCalendar series for the new rule)."""
        with self.engine.unit(actor, "mace.series.change") as unit:
            session = unit.session
            unit.require()
            series = self._series(unit, name)
            if chair is not None:
                registered(unit.conn, [chair], "--chair")
            if members is not None:
                registered(unit.conn, members, "--member")
            rule = parse_every(every) if every else parse_every(series.every)
            day = parse_weekday(weekday) if weekday else series.weekday
            at = parse_time(time) if time else series.start_time
            people = (series.chair, list(series.members))
            if chair is not None:
                series.chair = chair
            if members is not None:
                series.members = list(dict.fromkeys(members))
            if people != (series.chair, list(series.members)):  # the invitations change
                gone = {people[0], *people[1]} - {series.chair, *series.members}
                for meeting, case in self._meetings(unit, series):
                    if case.state in NOT_HELD and meeting.slot_on >= self._today():
                        meeting.sequence += 1
                        session.add(meeting)
                        session.flush()
                        # Need-to-know follows the invitation: who left loses the meeting.
                        for login in gone:
                            self.engine.uninvolve(unit, WORKFLOW, case.ref, login,
                                                     "mace_invitee")
                        self.engine.involve(
                unit, [(WORKFLOW, case.ref)],
                                               [series.chair, *series.members], "mace_invitee")
                        self._announce(unit, series, meeting, case.ref, "REQUEST")
            timing_changed = (rule.text, day, at) != (series.every, series.weekday,
                                                      series.start_time)
            if timing_changed:
                start = max(from_date or self._today(), self._today())
                anchor = first_on_or_after(start, day)
                end = self._today() + dt.timedelta(days=series.horizon_days)
                keep = set(slots(anchor, rule, anchor, end)) if at == series.start_time \
                    else set()
                series.every, series.weekday, series.start_time = rule.text, day, at
                series.anchor_on, series.uid = anchor, self._series_uid(name, anchor)
                for meeting, case in self._meetings(unit, series):
                    if meeting.slot_on < start or case.state not in NOT_HELD:
                        continue
                    if meeting.slot_on in keep:
                        meeting.uid, meeting.sequence = series.uid, meeting.sequence + 1
                        session.add(meeting)
                        session.flush()
                        self._announce(unit, series, meeting, case.ref, "REQUEST")
                    else:
                        self.engine.fire(case.ref, "cancel", {
                            "cancel_reason": f"series changed to every {rule.text}"},
                            actor, None, WORKFLOW, unit=unit, via_domain=True)
                        meeting.sequence += 1
                        session.add(meeting)
                        session.flush()
                        self._announce(unit, series, meeting, case.ref, "CANCEL")
            series.version += 1
            series.updated_at = self.clock.now()
            session.add(series)
            self._generate(unit, series, actor)
            return self._series_view(unit, series)

    def generate(self, actor: str, name: str | None = None) -> list[MeetingView]:
        """Generate every series' meetings up to its horizon (idempotent); the new ones."""
        with self.engine.unit(actor, "mace.generate") as unit:
            session = unit.session
            unit.require()
            query = select(MaceSeries).order_by(MaceSeries.name)
            if name:
                query = query.where(MaceSeries.name == self._series(unit, name).name)  # type: ignore[arg-type]
            made: list[MeetingView] = []
            for series in list(session.scalars(query)):
                made += self._generate(unit, series, actor)
            return made

    def series(self, name: str, actor: str) -> SeriesView:
        with self.engine.unit(actor, "mace.series.show") as unit:
            unit.require()
            return self._series_view(unit, self._series(unit, name))

    def all_series(self, actor: str) -> list[SeriesView]:
        with self.engine.unit(actor, "mace.series.list") as unit:
            unit.require()
            return [self._series_view(unit, s) for s in unit.session.scalars(
                select(MaceSeries).order_by(MaceSeries.name))]

    def series_invitation(self, name: str, actor: str) -> bytes:
        """The series as one iCalendar object: the RRULE event (skipped and cancelled slots
        as EXDATEs) and an override for every meeting moved off its slot."""
        with self.engine.unit(actor, "mace.series.invite") as unit:
            unit.require()
            series = self._series(unit, name)
            unit.touch(None, WORKFLOW, series=name)
            rule = parse_every(series.every)
            end = self._today() + dt.timedelta(days=series.horizon_days)
            mine = [(m, c) for m, c in self._meetings(unit, series) if m.uid == series.uid]
            exdates = [start_instant(d, series.start_time)
                       for d in slots(series.anchor_on, rule, series.anchor_on, end)
                       if place(d, self.calendar, series.on_holiday) is None]
            exdates += [m.slot_at for m, c in mine if c.state == "cancelled"]
            organizer, attendees = self._people(unit, series)
            master = ics.Invitation(
                uid=series.uid, summary=f"MACE meeting ({series.name})",
                description=self._description(series, None), location=series.location,
                starts_at=start_instant(series.anchor_on, series.start_time),
                duration=dt.timedelta(minutes=series.duration_minutes),
                organizer=organizer, attendees=attendees,
                stamp=self.clock.now(), sequence=series.version - 1,
                rrule=rrule(rule, series.anchor_on), exdates=tuple(sorted(exdates)))
            overrides = [self._occurrence(unit, series, m, c) for m, c in mine
                         if c.state != "cancelled"
                         and as_utc(dt.datetime.fromisoformat(c.data["starts_at"])) != m.slot_at]
            return ics.calendar([master, *overrides], "REQUEST")

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _series_uid(name: str, anchor: dt.date) -> str:
        return f"mace-{series_slug(name).lower()}-{anchor:%Y%m%d}@safeguard"

    def _generate(self, unit: Unit, series: MaceSeries, actor: str) -> list[MeetingView]:
        session = unit.session
        today = self._today()
        end = today + dt.timedelta(days=series.horizon_days)
        rule: Every = parse_every(series.every)
        have = {m.slot_on for m, _c in self._meetings(unit, series)}
        made: list[MeetingView] = []
        for slot in slots(series.anchor_on, rule, max(series.anchor_on, today), end):
            if slot in have:
                continue
            day = place(slot, self.calendar, series.on_holiday)
            if day is None or day < today:
                continue
            starts = start_instant(day, series.start_time)
            ref = f"MACE-{series_slug(series.name)}-{slot.isoformat()}"
            view = self.engine.open_case(WORKFLOW, ref, {
                "series": series.name, "meeting_on": day.isoformat(),
                "starts_at": starts.isoformat()}, actor,
                None if day == slot else f"moved from {slot.isoformat()} "
                f"({self.calendar.holiday_name(slot) or 'not a working day'})",
                area=series.area, unit=unit)
            case = self.engine.find(unit, view.ref, WORKFLOW)
            self.engine.involve(
                unit, [(WORKFLOW, view.ref)],
                                   [series.chair, *series.members], "mace_invitee")
            assert case.id is not None and series.id is not None
            meeting = MaceMeeting(case_id=case.id, series_id=series.id, slot_on=slot,
                                  slot_at=start_instant(slot, series.start_time),
                                  uid=series.uid)
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
                          series.on_holiday, series.uid, meetings, skipped)


__all__ = ["SeriesService"]
