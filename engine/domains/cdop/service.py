"""The CDOP service: the child death review commands, one transaction and one audit record
each (``cdop.<verb>``), over ``child_death_review`` cases.

Most commands are one fire of the workflow with friendly arguments; the service adds what a
flat step cannot check: a joint agency response names its reason, an agency is asked once
and answers once (one keyed deadline per agency), modifiable factors name their domains, and
a death with known or suspected abuse or neglect is linked to a practice review (made from
either side, both cases readable by whoever links them). Never prints, never reads the wall
clock; references only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from engine.core.clock import as_utc, london_date, parse_date, parse_instant, show_instant
from engine.core.deadlines import OPEN
from engine.core.errors import FieldError, UsageError, did_you_mean, one_of
from engine.core.service import Engine
from engine.core.store.access_store import AccessStore
from engine.core.store.cases import CaseRecord
from engine.core.store.links import add_link
from engine.core.store.models import Case, Deadline
from engine.core.unit import Unit
from engine.core.views import CaseView
from engine.domains.cdop.words import CATEGORIES, DOMAINS, category_code

WORKFLOW = "child_death_review"
PRACTICE_REVIEW = "practice_review"
REQUEST_CLOCK = "information"
# The plain steps and the command (audit action ``cdop.<verb>``) that records each.
COMMAND_OF = {"hold_cdr_meeting": "meeting", "record_ncmd": "ncmd", "close": "close",
              "close_without_review": "close"}
ABUSE = ("suspected", "known")
# The days a plain step records: each a day that has come (as every day given here is).
DAY_FIELDS = ("cdr_meeting_on", "ncmd_submitted_on", "closed_on")


@dataclass(frozen=True)
class DeathRow:
    """One line of the coordinator's register of deaths (references and codes only)."""

    ref: str
    child_ref: str
    state: str
    died_on: str | None
    age_band: str | None
    category: str | None
    open_requests: int
    next_due: str | None
    overdue: int
    area: str | None = None
    area_name: str | None = None  # the partnership's name for the area, for pages
    notified_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CdopService:
    """Every method takes the acting user and runs as one unit of work, checked and audited
    there (the engine checks the workflow's roles on each fire)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clock = engine.clock

    # -- the death ----------------------------------------------------------------------
    def open(self, child_ref: str, area: str, known_at: str | None, actor: str,
             ref: str | None = None, note: str | None = None) -> CaseView:
        """A death has become known: the notification is due within 24 hours of then."""
        now = self.clock.now()
        at = parse_instant(known_at) if known_at else now
        if at > now:
            raise FieldError("death_known_at", f"the time the death became known "
                             f"({show_instant(at)}) is still to come (now is "
                             f"{show_instant(now)})", cli="check --known-at")
        case_ref = ref or f"CDR-{child_ref}"
        values = {"child_ref": child_ref, "area": area, "death_known_at": at.isoformat()}
        with self.engine.unit(actor, "cdop.open", case_ref=case_ref, workflow=WORKFLOW) as u:
            return self.engine.open_case(WORKFLOW, case_ref, values, actor, note, area=area,
                                         unit=u)

    def notify(self, ref: str, died_on: str, age_band: str, sex: str, expected: bool,
               jar_needed: bool, actor: str, jar_reason: str | None = None,
               abuse_or_neglect: str | None = None, notified_at: str | None = None,
               note: str | None = None) -> CaseView:
        """Record the notification: a joint agency response names its reason (and only one
        that is needed does); the death is not after today."""
        if jar_needed and not jar_reason:
            raise FieldError("jar_reason", "a joint agency response needs its reason",
                             cli="add --jar-reason")
        if jar_reason and not jar_needed:
            raise FieldError("jar_reason", "a reason is given only for a death that needs "
                             "a joint agency response", cli="add --jar yes, or leave "
                             "--jar-reason out")
        now = self.clock.now()
        day = parse_date(died_on)
        if day > london_date(now):
            raise FieldError("died_on", f"the date of death {day.isoformat()} is still to "
                             "come", cli="check --died-on")
        at = parse_instant(notified_at) if notified_at else now
        values = {"died_on": day.isoformat(), "age_band": age_band, "sex": sex,
                  "expected": "yes" if expected else "no",
                  "jar_needed": "yes" if jar_needed else "no", "notified_at": at.isoformat()}
        if jar_reason:
            values["jar_reason"] = jar_reason
        if abuse_or_neglect:
            values["abuse_or_neglect"] = abuse_or_neglect
        with self.engine.unit(actor, "cdop.notify", case_ref=ref, workflow=WORKFLOW) as u:
            case = self.engine.find(u, ref, WORKFLOW)
            known = case.data.get("death_known_at")
            if known and day > london_date(parse_instant(known)):
                raise FieldError("died_on", f"the date of death {day.isoformat()} is after "
                                 "the death became known "
                                 f"({show_instant(parse_instant(known))})",
                                 cli="check --died-on")
            view = self.engine.fire(ref, "notify", values, actor, note, WORKFLOW, unit=u,
                                    via_domain=True)
            # Checked after the fire (which checks the actor's roles, refusals audited);
            # raising here rolls the fire back. The report counts a death by this time.
            if at > now:
                raise FieldError("notified_at", f"the time of the notification "
                                 f"({show_instant(at)}) is still to come (now is "
                                 f"{show_instant(now)})", cli="check --at")
            if known and at < parse_instant(known):
                raise FieldError("notified_at", f"the notification ({show_instant(at)}) is "
                                 "before the death became known "
                                 f"({show_instant(parse_instant(known))})", cli="check --at")
            return self._shown(u, view)

    # -- agencies' reporting forms: one keyed deadline per agency -----------------------
    def request(self, ref: str, agency: str, actor: str, on: str | None = None,
                note: str | None = None) -> CaseView:
        """Ask ``agency`` for its reporting form; asked once per death."""
        agency = " ".join(agency.split())
        with self.engine.unit(actor, "cdop.request", case_ref=ref, workflow=WORKFLOW) as u:
            case = self.engine.find(u, ref, WORKFLOW)
            asked = self._requests(u, case)
            named = next((a for a in asked if a.lower() == agency.lower()), None)
            if named is not None:
                status = "awaited" if asked[named].status == OPEN else "received"
                raise FieldError("request_agency", f"{named} was already asked on case "
                                 f"'{ref}' (form "
                                 f"{status}): one request per agency")
            day = self._day(on, "requested_on")
            return self._shown(u, self.engine.fire(ref, "request_information", {
                "request_agency": agency, "requested_on": day}, actor, note, WORKFLOW,
                unit=u, via_domain=True))

    def received(self, ref: str, agency: str, actor: str, on: str | None = None,
                 note: str | None = None) -> CaseView:
        """Record ``agency``'s reporting form received: its deadline is met."""
        with self.engine.unit(actor, "cdop.received", case_ref=ref, workflow=WORKFLOW) as u:
            case = self.engine.find(u, ref, WORKFLOW)
            awaited = {a: d for a, d in self._requests(u, case).items() if d.status == OPEN}
            match = next((a for a in awaited if a.lower() == " ".join(agency.split()).lower()),
                         None)
            if match is None:
                raise FieldError("request_agency", "no reporting form is awaited from "
                                 f"'{agency}' on case "
                                 f"'{ref}'{did_you_mean(agency, awaited)}; awaited: "
                                 f"{one_of(awaited)}")
            return self._shown(u, self.engine.fire(ref, "receive_information", {
                "request_agency": match, "received_on": self._day(on, "received_on")}, actor,
                note, WORKFLOW, unit=u, via_domain=True))

    # -- the review ---------------------------------------------------------------------
    def review(self, ref: str, category: str, modifiable: bool, domains: list[str],
               actor: str, learning: str | None = None, on: str | None = None,
               note: str | None = None) -> CaseView:
        """Record the CDOP review: the category (1 to 10), whether there were modifiable
        factors and, if so, in which domains; the learning points."""
        code = category_code(category)
        if code is None:
            raise FieldError("category", f"unknown category '{category}': choose one of "
                             "the ten categories of death",
                             cli=f"give --category 1 to 10 or one of {one_of(CATEGORIES)}")
        unknown = [d for d in domains if d not in DOMAINS]
        if unknown:
            raise FieldError("modifiable_domains", f"unknown domain '{unknown[0]}'"
                             f"{did_you_mean(unknown[0], DOMAINS)}: one of {one_of(DOMAINS)}")
        if modifiable and not domains:
            raise FieldError("modifiable_domains", "modifiable factors name their domains: "
                             "choose at least one", cli=f"add --domain ({one_of(DOMAINS)})")
        if domains and not modifiable:
            raise FieldError("modifiable_domains", "domains are named only for modifiable "
                             "factors", cli="add --modifiable yes, or leave --domain out")
        values = {"cdop_reviewed_on": self._day(on, "cdop_reviewed_on"), "category": code,
                  "modifiable_factors": "yes" if modifiable else "no"}
        if domains:
            values["modifiable_domains"] = ",".join(dict.fromkeys(domains))
        if learning:
            values["learning_points"] = learning
        with self.engine.unit(actor, "cdop.review", case_ref=ref, workflow=WORKFLOW) as u:
            return self._shown(u, self.engine.fire(ref, "review", values, actor, note,
                                                   WORKFLOW, unit=u, via_domain=True))

    def step(self, ref: str, trigger: str, values: Mapping[str, str], actor: str,
             note: str | None = None) -> CaseView:
        """A plain step (the review meeting, the NCMD form, closing) as its own command."""
        for name in DAY_FIELDS:
            if values.get(name):
                self._day(values[name], name)
        with self.engine.unit(actor, f"cdop.{COMMAND_OF.get(trigger, trigger)}", case_ref=ref,
                              workflow=WORKFLOW) as u:
            return self._shown(u, self.engine.fire(ref, trigger, values, actor, note,
                                                   WORKFLOW, unit=u))

    def close(self, ref: str, actor: str, on: str | None = None,
              reason: str | None = None) -> CaseView:
        """Close a reviewed death (once the NCMD has its form), or with a reason one that
        is not reviewed here."""
        values = {"closed_on": self._day(on, "closed_on")}
        if reason:
            values["close_reason"] = reason
        return self.step(ref, "close_without_review" if reason else "close", values, actor)

    # -- the link with a practice review -------------------------------------------------
    def link(self, ref: str, other: str, actor: str) -> CaseView:
        """Link a death with known or suspected abuse or neglect to its practice review, from
        either side (the arguments in either order). Whoever links them reads both cases
        and may correct one of them."""
        with self.engine.unit(actor, "cdop.link", case_ref=ref) as u:
            first, second = self.engine.find(u, ref), self.engine.find(u, other)
            pair = {first.workflow: first, second.workflow: second}
            death, review = pair.get(WORKFLOW), pair.get(PRACTICE_REVIEW)
            if death is None or review is None:
                raise FieldError("other", "a link joins a child death review case and a "
                                 "practice "
                                 f"review case: '{ref}' is {first.workflow}, '{other}' is "
                                 f"{second.workflow}")
            self._link(u, death, review)
            return self.engine.case(ref, actor, unit=u)

    def refer(self, ref: str, review_ref: str, actor: str, label: str | None = None,
              aware_on: str | None = None, note: str | None = None) -> CaseView:
        """Open the practice review of a death with known or suspected abuse or neglect,
        linked to it, in the death's area (the rapid review process runs in parallel)."""
        with self.engine.unit(actor, "cdop.refer", case_ref=ref, workflow=WORKFLOW) as u:
            death = self.engine.find(u, ref, WORKFLOW)
            self._check_abuse(death)
            values = {"child_ref": death.data["child_ref"],
                      "became_aware_on": self._day(aware_on, "became_aware_on"),
                      "label": label or f"Child death {ref}"}
            self.engine.open_case(PRACTICE_REVIEW, review_ref, values, actor, note,
                                  area=death.area, unit=u)
            review = self.engine.find(u, review_ref, PRACTICE_REVIEW)
            self._link(u, death, review)
            return self.engine.case(review_ref, actor, PRACTICE_REVIEW, unit=u)

    # -- queries -------------------------------------------------------------------------
    def show(self, ref: str, actor: str) -> CaseView:
        with self.engine.unit(actor, "cdop.show", case_ref=ref, workflow=WORKFLOW) as u:
            return self.engine.case(ref, actor, WORKFLOW, unit=u)

    def deaths(self, actor: str, include_closed: bool = False,
               state: str | None = None) -> list[DeathRow]:
        """The deaths the actor may read (open ones unless asked), by date of death."""
        now = self.clock.now()
        with self.engine.unit(actor, "cdop.list", workflow=WORKFLOW) as unit:
            session = unit.session
            query = select(Case).where(Case.workflow == WORKFLOW)  # type: ignore[arg-type]
            if not include_closed:
                query = query.where(Case.closed_at.is_(None))  # type: ignore[union-attr]
            if state:
                query = query.where(Case.state == state)  # type: ignore[arg-type]
            query = query.where(self.engine.readable(unit))
            cases = list(session.scalars(query))
            names = dict(unit.access.areas())
            listed = query.with_only_columns(col(Case.id))
            open_rows: dict[int, list[Deadline]] = {}
            for d in session.scalars(select(Deadline).where(
                    col(Deadline.case_id).in_(listed), Deadline.status == OPEN)):  # type: ignore[arg-type]
                open_rows.setdefault(d.case_id, []).append(d)
            rows = []
            for c in cases:
                mine = sorted(open_rows.get(c.id or 0, []), key=lambda d: as_utc(d.due_at))
                first = mine[0] if mine else None
                rows.append(DeathRow(
                    ref=c.ref, child_ref=c.data.get("child_ref", ""), state=c.state,
                    died_on=c.data.get("died_on"), age_band=c.data.get("age_band"),
                    category=c.data.get("category"),
                    open_requests=sum(1 for d in mine if d.name == REQUEST_CLOCK),
                    next_due=(first.due_day.isoformat() if first.due_day
                              else show_instant(as_utc(first.due_at))) if first else None,
                    overdue=sum(1 for d in mine if as_utc(d.due_at) <= now),
                    area=c.area, area_name=names.get(c.area or "", c.area),
                    notified_at=c.data.get("notified_at")))
            rows.sort(key=lambda r: (r.died_on or "9999", r.ref))
            return rows

    def area_names(self) -> list[tuple[str, str]]:
        """Each area's code and the partnership's name for it: labels for a form's choices
        (not case data, so not an audited command)."""
        with self.engine.db.begin_read() as conn:
            return AccessStore(conn).areas()

    # -- helpers -------------------------------------------------------------------------
    def _shown(self, unit: Unit, view: CaseView) -> CaseView:
        """The view a fire returned, with the cases linked to it (as ``case show`` has)."""
        links = self.engine.links(unit, self.engine.find(unit, view.ref, WORKFLOW))
        return replace(view, links=links) if links else view

    def _day(self, on: str | None, field: str = "on") -> str:
        """The day given (default today): one still to come is refused, as in the other
        domains (what is recorded has happened; deadlines and the report count from it)."""
        today = london_date(self.clock.now())
        day = parse_date(on) if on else today
        if day > today:
            raise FieldError(field, f"the day {day.isoformat()} is still to come: record what "
                             "has happened")
        return day.isoformat()

    def _requests(self, unit: Unit, case: CaseRecord) -> dict[str, Deadline]:
        """Each agency asked on the case, with its reporting form's deadline."""
        rows = unit.session.scalars(select(Deadline).where(
            Deadline.case_id == case.id, Deadline.name == REQUEST_CLOCK)  # type: ignore[arg-type]
            .order_by(Deadline.id))  # type: ignore[arg-type]
        return {str(d.key): d for d in rows}

    @staticmethod
    def _check_abuse(death: CaseRecord) -> None:
        if death.data.get("abuse_or_neglect") not in ABUSE:
            raise UsageError(f"case '{death.ref}' records no known or suspected abuse or "
                             "neglect: record it first",
                             cli="cdop notify --abuse-or-neglect, or case correct --set "
                             "abuse_or_neglect=suspected")

    def _link(self, unit: Unit, death: CaseRecord, review: CaseRecord) -> None:
        self._check_abuse(death)
        editors = [*self.engine.definition(unit.cases, WORKFLOW,
                                           death.workflow_version).access.correct]
        review_def = self.engine.definition(unit.cases, PRACTICE_REVIEW,
                                            review.workflow_version)
        if not (self.engine.may(unit, editors, death)
                or self.engine.may(unit, review_def.access.correct, review)):
            self.engine.require_on_case(unit, editors, death,
                                        f"link case {death.ref} to case {review.ref}")
        if not add_link(unit.conn, death.id, review.id, self.clock.now(), unit.actor):
            raise FieldError("other", f"cases '{death.ref}' and '{review.ref}' are already "
                             "linked")


__all__ = ["CdopService", "DeathRow"]
