"""The CERAR service: the coordinator's commands on ``cerar`` cases, one transaction each.

Most commands are a single fire of the ``cerar`` workflow with friendly arguments. Missing
episodes add what a flat case cannot hold: each episode is a row (M1, M2, ...) and starts its
own return home interview deadline (a keyed clock); after the episode is recorded the
repeated-missing rule (:func:`engine.domains.cerar.rules.strategy_meeting_due`) may raise a strategy
meeting and flag the child for MACE, in the same transaction. Never prints, never reads the
wall clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from engine.core.casework import CasePage, CaseWork
from engine.core.clock import as_utc, london_date, parse_date, show_instant
from engine.core.deadlines import OPEN
from engine.core.errors import EngineError, FieldError, UsageError
from engine.core.service import Engine
from engine.core.store.cases import CaseRecord
from engine.core.store.models import Case, Deadline, MissingEpisode
from engine.core.unit import Unit
from engine.core.views import CaseView
from engine.domains.cerar.rules import (
    DEFAULT_EPISODES,
    DEFAULT_WINDOW_DAYS,
    next_episode_ref,
    risk_rank,
    strategy_meeting_due,
)

WORKFLOW = "cerar"
FINAL_STATES = ("stepped_down", "closed")
# The domain-owned triggers (``via:`` in cerar.yaml) whose rules :meth:`fire_step` applies:
# a level change must change the level.
RULED_HERE = frozenset({"change_risk_level"})
# The coordinator's command (its audit action, ``cerar.<verb>``) for each plain CERAR trigger.
COMMAND_OF = {"screen": "screen", "assess": "assess", "change_risk_level": "level",
              "record_review": "review", "flag_for_mace": "flag",
              "record_strategy_meeting": "strategy_meeting", "set_placement": "placement",
              "step_down": "step_down", "close": "close"}


class EpisodeNotFoundError(EngineError):
    def __init__(self, ref: str, episode: str, known: list[str]) -> None:
        super().__init__(f"case '{ref}' has no missing episode '{episode}'; its episodes: "
                         f"{', '.join(known) or '(none)'}")


@dataclass(frozen=True)
class EpisodeView:
    episode: str
    missing_from: dt.datetime
    returned_at: dt.datetime
    rhi_outcome: str | None
    rhi_at: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"episode": self.episode, "missing_from": show_instant(self.missing_from),
                "returned_at": show_instant(self.returned_at), "rhi_outcome": self.rhi_outcome,
                "rhi_at": show_instant(self.rhi_at) if self.rhi_at else None}


@dataclass(frozen=True)
class ChildView:
    """A CERAR case with its missing episodes (and what the last command raised)."""

    case: CaseView
    episodes: tuple[EpisodeView, ...] = ()
    raised: tuple[str, ...] = field(default=())  # e.g. ("strategy_meeting",)

    def to_json(self) -> dict[str, Any]:
        out = self.case.to_json()
        out.pop("data", None)
        out["data"] = {k: v for k, v in self.case.data.items() if k != "child_name"}
        out["episodes"] = [e.to_json() for e in self.episodes]
        out["raised"] = list(self.raised)
        return out


@dataclass(frozen=True)
class ChildRow:
    """One line of the coordinator's list: the spreadsheet they no longer need."""

    ref: str
    child_ref: str
    state: str
    risk_level: str | None
    next_review: str | None
    open_rhis: int
    strategy_meeting_due: str | None
    placement: str | None
    overdue: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CerarService:
    """Every method takes the acting user and runs as one unit of work (or as a step of the
    caller's unit, for MACE decisions), checked and audited there."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clock = engine.clock

    # -- commands ------------------------------------------------------------------------
    def open(self, child_ref: str, concern_received_on: str, referring_agency: str, area: str,
             actor: str, ref: str | None = None, extra: Mapping[str, str] | None = None,
             note: str | None = None) -> ChildView:
        values = {"child_ref": child_ref, "concern_received_on": concern_received_on,
                  "referring_agency": referring_agency, "area": area, **(extra or {})}
        case_ref = ref or f"CE-{child_ref}"
        with self.engine.unit(actor, "cerar.open", case_ref=case_ref, workflow=WORKFLOW) as u:
            return ChildView(self.engine.open_case(WORKFLOW, case_ref, values, actor, note,
                                                   area=area, unit=u))

    def fire(self, ref: str, trigger: str, values: Mapping[str, str], actor: str,
             note: str | None = None) -> ChildView:
        """A plain CERAR fire (screen, assess, review, flag, placement, step down, close)."""
        with self.engine.unit(actor, f"cerar.{COMMAND_OF.get(trigger, trigger)}", case_ref=ref,
                              workflow=WORKFLOW) as unit:
            view = self.fire_step(unit, ref, trigger, values, note)
            return ChildView(view, self._episodes(unit, view.ref))

    def fire_step(self, unit: Unit, ref: str, trigger: str, values: Mapping[str, str],
                  note: str | None = None) -> CaseView:
        """Fire on a CERAR case as a step of the caller's unit (MACE decisions use this)."""
        case = self.engine.find(unit, ref, WORKFLOW)  # checked before looking at it
        if trigger == "change_risk_level":
            if case.data.get("risk_level") == values.get("risk_level"):
                raise UsageError(f"case '{ref}' is already at level "
                                 f"'{values.get('risk_level')}': to confirm it, record a "
                                 "review")
            day = self._change_day(ref, case, values.get("level_changed_on"))
            step = self.engine.definition(unit.cases, WORKFLOW, case.workflow_version) \
                .transition_for(case.state, trigger)
            # Cases opened on an older version (no day of change) count from today.
            if step is not None and "level_changed_on" in step.accepts:
                values = {**values, "level_changed_on": day}
        # The domain route only for the triggers whose rules apply here: the engine refuses
        # the other domain-owned ones (episodes, interviews) and names their command.
        return self.engine.fire(ref, trigger, values, unit.actor, note, WORKFLOW, unit=unit,
                                via_domain=trigger in RULED_HERE)

    def _change_day(self, ref: str, case: CaseRecord, given: str | None) -> str:
        """The day a level changed: today unless given; never to come, never before the
        case opened (the next review counts from it)."""
        today = london_date(self.clock.now())
        day = parse_date(given) if given else today
        opened = london_date(case.opened_at)
        if day > today:
            raise UsageError(f"the day of the change, {day.isoformat()}, is still to come: a "
                             f"level change is recorded on or before today ({today.isoformat()})")
        if day < opened:
            raise UsageError(f"the day of the change, {day.isoformat()}, is before case '{ref}' "
                             f"opened ({opened.isoformat()}): use a day from then to today")
        return day.isoformat()

    def record_missing(self, ref: str, missing_from: str, returned_at: str, actor: str,
                       note: str | None = None) -> ChildView:
        """Record a missing episode: its RHI deadline starts, and three returns inside 30
        days (the workflow's parameters) raise a strategy meeting and flag the child."""
        from engine.core.clock import parse_instant

        went, back = parse_instant(missing_from), parse_instant(returned_at)
        now = self.clock.now()
        if back < went:
            raise UsageError("the child cannot return before going missing: check when they "
                             "went missing and when they returned",
                             cli="check --from and --returned")
        if back > now:
            raise UsageError(f"returned at {show_instant(back)} is in the future (now is "
                             f"{show_instant(now)}): record the episode once the child is back")
        with self.engine.unit(actor, "cerar.missing", case_ref=ref,
                              workflow=WORKFLOW) as unit:
            session = unit.session
            case = self.engine.find(unit, ref, WORKFLOW)
            rows = self._episode_rows(unit, case)
            episode = next_episode_ref(r.episode for r in rows)
            self.engine.fire(ref, "record_missing_episode", {
                "episode": episode, "missing_from": went.isoformat(),
                "returned_at": back.isoformat()}, actor, note, WORKFLOW, unit=unit,
                via_domain=True)
            session.add(MissingEpisode(case_id=case.id, episode=episode, missing_from=went,
                                       returned_at=back, recorded_at=now))
            raised: tuple[str, ...] = ()
            if self._strategy_meeting_due(unit, case, [r.returned_at for r in rows] + [back]):
                self.engine.fire(ref, "raise_strategy_meeting", {
                    "strategy_meeting_raised_on": london_date(back).isoformat(),
                    "mace_flag": "yes", "mace_flag_reason": "repeated missing episodes"},
                    actor, "raised by the repeated-missing rule", WORKFLOW, unit=unit)
                raised = ("strategy_meeting",)
            unit.flush()
            return ChildView(self.engine.case(ref, actor, WORKFLOW, unit=unit),
                             self._episodes(unit, ref), raised)

    def record_rhi(self, ref: str, episode: str, outcome: str, at: str, actor: str,
                   reason: str | None = None) -> ChildView:
        """Record the return home interview of one episode: held, or declined (with why)."""
        if outcome == "declined" and not (reason and reason.strip()):
            raise FieldError("reason", "a declined return home interview needs the reason",
                             cli="add --note")
        with self.engine.unit(actor, "cerar.rhi", case_ref=ref, workflow=WORKFLOW) as unit:
            session = unit.session
            case = self.engine.find(unit, ref, WORKFLOW)
            rows = {r.episode: r for r in self._episode_rows(unit, case)}
            row = rows.get(episode)
            if row is None:
                raise EpisodeNotFoundError(ref, episode, list(rows))
            if row.rhi_outcome is not None:
                when = f" at {show_instant(row.rhi_at)}" if row.rhi_at else ""
                raise UsageError(f"the return home interview of {episode} is already recorded "
                                 f"({row.rhi_outcome}{when})")
            values = {"episode": episode, "rhi_outcome": outcome, "rhi_at": at}
            if reason:
                values["rhi_note"] = reason
            view = self.engine.fire(ref, "record_rhi", values, actor, None, WORKFLOW,
                                    unit=unit, via_domain=True)
            row.rhi_outcome = outcome
            row.rhi_at = as_utc(dt.datetime.fromisoformat(view.data["rhi_at"]))
            row.rhi_note = reason
            session.add(row)
            unit.flush()
            return ChildView(view, self._episodes(unit, ref))

    # -- queries -------------------------------------------------------------------------
    def show(self, ref: str, actor: str) -> ChildView:
        with self.engine.unit(actor, "cerar.show", case_ref=ref, workflow=WORKFLOW) as unit:
            return ChildView(self.engine.case(ref, actor, WORKFLOW, unit=unit),
                             self._episodes(unit, ref))

    def page(self, ref: str, actor: str) -> tuple[ChildView, CasePage]:
        """A child's page in one read: the case page (events, deadlines, the steps this user
        may take) and the missing episodes."""
        with self.engine.unit(actor, "cerar.show", case_ref=ref, workflow=WORKFLOW) as unit:
            page = CaseWork(self.engine).page_in(unit, ref, WORKFLOW)
            return ChildView(page.view, self._episodes(unit, ref)), page

    def children(self, actor: str, include_closed: bool = False, level: str | None = None,
                 review_before: dt.date | None = None) -> list[ChildRow]:
        """The CERAR cases the actor may read (open ones unless asked), by level of concern,
        then next review; only those at ``level``, or with a review due before
        ``review_before``, if given."""
        now = self.clock.now()
        with self.engine.unit(actor, "cerar.list", workflow=WORKFLOW) as unit:
            session = unit.session
            query = select(Case).where(Case.workflow == WORKFLOW)  # type: ignore[arg-type]
            if not include_closed:
                query = query.where(Case.closed_at.is_(None))  # type: ignore[union-attr]
            # Only the cases the actor may read, filtered in the same query.
            query = query.where(self.engine.readable(unit))
            cases = list(session.scalars(query))
            deadlines: dict[int, list[Deadline]] = {}
            # Their open deadlines, by a subquery of the same cases (no bound list of ids).
            listed = query.with_only_columns(col(Case.id))
            for d in session.scalars(select(Deadline).where(
                    col(Deadline.case_id).in_(listed), Deadline.status == OPEN)):  # type: ignore[arg-type]
                deadlines.setdefault(d.case_id, []).append(d)
            rows = []
            for c in cases:
                mine = deadlines.get(c.id or 0, [])
                review = next((d for d in mine if d.name == "review"), None)
                strategy = next((d for d in mine if d.name == "strategy_meeting"), None)
                rows.append(ChildRow(
                    ref=c.ref, child_ref=c.data.get("child_ref", ""), state=c.state,
                    risk_level=c.data.get("risk_level"),
                    next_review=review.due_day.isoformat() if review and review.due_day
                    else None,
                    open_rhis=sum(1 for d in mine if d.name == "rhi"),
                    strategy_meeting_due=strategy.due_day.isoformat()
                    if strategy and strategy.due_day else None,
                    placement=c.data.get("placement"),
                    overdue=sum(1 for d in mine if as_utc(d.due_at) <= now)))
            if level:
                rows = [r for r in rows if r.risk_level == level]
            if review_before:
                rows = [r for r in rows
                        if r.next_review and r.next_review < review_before.isoformat()]
            rows.sort(key=lambda r: (risk_rank(r.risk_level), r.next_review or "9999",
                                     r.child_ref))
            return rows

    # -- helpers -------------------------------------------------------------------------
    def _episode_rows(self, unit: Unit, case: CaseRecord) -> list[MissingEpisode]:
        return list(unit.session.scalars(select(MissingEpisode).where(
            MissingEpisode.case_id == case.id).order_by(MissingEpisode.id)))  # type: ignore[arg-type]

    def _episodes(self, unit: Unit, ref: str) -> tuple[EpisodeView, ...]:
        case = self.engine.find(unit, ref, WORKFLOW)
        return tuple(EpisodeView(r.episode, r.missing_from, r.returned_at, r.rhi_outcome,
                                 r.rhi_at) for r in self._episode_rows(unit, case))

    def _strategy_meeting_due(self, unit: Unit, case: CaseRecord,
                              returns: list[dt.datetime]) -> bool:
        session = unit.session
        definition = self.engine.definition(unit.cases, WORKFLOW, case.workflow_version)
        episodes = definition.parameters.get("strategy_meeting_episodes", DEFAULT_EPISODES)
        window = definition.parameters.get("strategy_meeting_window_days",
                                           DEFAULT_WINDOW_DAYS)
        assert isinstance(episodes, int) and isinstance(window, int)
        raised = case.data.get("strategy_meeting_raised_on")
        open_meeting = session.scalar(select(Deadline.id).where(  # type: ignore[call-overload]
            Deadline.case_id == case.id, Deadline.name == "strategy_meeting",
            Deadline.status == OPEN))
        if open_meeting is not None:
            return False
        return strategy_meeting_due(returns, dt.date.fromisoformat(raised) if raised else None,
                                    episodes, window)


__all__ = ["CerarService", "ChildRow", "ChildView", "EpisodeNotFoundError", "EpisodeView"]
