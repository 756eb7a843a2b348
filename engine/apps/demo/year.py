"""`safeguard demo`: a fresh SQLite database holding a synthetic partnership year, built by
driving the public engine, CERAR, MACE and notifier APIs through simulated time.

Two areas, a user for every role, serious incidents with their rapid reviews (one LCSPR
published, one deferred for criminal proceedings, one closed without review, one past its
6-month target, one referred for a national review), CERAR children at all three levels with
reviews, level changes, missing episodes and return home interviews, a fortnightly MACE
series with agendas, meetings, decisions and actions, and the business plan with its
quarterly updates and the figures from other systems (:mod:`engine.apps.demo.plan`). A
:class:`FixedClock` moves day by day; each day the notifier sweeps at 07:00 and delivers at
18:00, so every alert and email in the database is real (the emails are .eml files in the
demo folder). Generated references only: no real person's data. Deterministic for a seed. It
never reads the wall clock (the caller may time it).
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from engine.app import App, build_app
from engine.apps.demo import deaths as demo_deaths
from engine.apps.demo import reviews as demo_reviews
from engine.apps.demo.plan import DemoPlan
from engine.core.clock import LONDON, FixedClock, london_date
from engine.core.deployment import record_demo
from engine.core.settings import NotificationSettings, Settings, default_head_file

START = dt.date(2023, 4, 3)  # the first Monday of the reporting year 2023-24
END = dt.date(2024, 4, 15)  # the demo's "today": a fortnight after the year ends
YEAR = (dt.date(2023, 4, 1), dt.date(2024, 3, 31))
AREAS = (("cumberland", "Cumberland"), ("westmorland_furness", "Westmorland and Furness"))
# login, display name, agency, roles (granted for all areas)
PEOPLE: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("support", "Business support officer", "Partnership", ("business_support",)),
    ("crg.chair", "Case review group chair", "Partnership", ("case_review_chair",)),
    ("crg.member", "Case review group member", "ICB", ("case_review_member",)),
    ("reviewer.a", "Independent reviewer A", "Independent", ("independent_reviewer",)),
    ("reviewer.b", "Independent reviewer B", "Independent", ("independent_reviewer",)),
    ("cerar.coord", "CERAR coordinator", "Partnership", ("cerar_coordinator",)),
    ("cerar.mgr", "CERAR manager", "Children's social care", ("cerar_manager",)),
    ("mace.chair", "MACE chair", "Police", ("mace_chair",)),
    ("police.rep", "Police representative", "Police", ("mace_member",)),
    ("health.rep", "Health representative", "ICB", ("mace_member",)),
    ("sc.rep", "Social care representative", "Children's social care", ("mace_member",)),
    ("auditor", "Internal auditor", "Partnership", ("auditor",)),
    ("bg.chair", "Business group chair", "Partnership", ("business_group_chair",)),
)
AGENCIES = ("police", "children's social care", "education", "health", "youth justice")
PLACING = ("Lancashire County Council", "Leeds City Council", "Durham County Council")
ACTIONS = ("Share intelligence about a location of concern", "Police disruption visit",
           "Education to confirm an attendance plan", "Health to offer an appointment",
           "Youth justice worker to make contact", "Review the safety plan with the family")
REPRESENTATIVES = (("police", "police.rep"), ("health", "health.rep"),
                   ("social care", "sc.rep"))


def _at(day: dt.date, hh_mm: str) -> dt.datetime:
    h, m = (int(x) for x in hh_mm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=LONDON)


@dataclass
class DemoResult:
    path: Path
    url: str
    emails: Path
    counts: dict[str, int] = field(default_factory=dict)


def demo_settings(url: str, eml_dir: Path) -> Settings:
    """The demo database's deployment: its own SQLite file, emails as .eml files."""
    return Settings(
        database_url=url, sqlite_synchronous="NORMAL", audit_head_file=default_head_file(url),
        notifications=NotificationSettings(
            transport="eml", eml_dir=eml_dir, sender="safeguard@partnership.example",
            base_url="https://safeguard.partnership.example"),
        raw={"mace": {"email_domain": "partnership.example"}})


class Year:
    """The simulation: a clock, the services, and a queue of dated tasks."""

    def __init__(self, url: str, eml_dir: Path, you: str, seed: int) -> None:
        self.clock = FixedClock(_at(START, "08:00"))
        self.app = build_app(demo_settings(url, eml_dir), self.clock, check_schema=False)
        self.db = self.app.db
        self.db.upgrade()
        with self.db.begin() as conn:  # a demonstration database: anyone may act as anyone
            record_demo(conn, self.app.settings)
        self.engine, self.cal = self.app.engine, self.app.engine.calendar
        self.cerar, self.mace, self.notifier = self.app.cerar, self.app.mace, self.app.notifier
        self.rng = random.Random(seed)
        self.you = you
        self.tasks: list[tuple[dt.datetime, int, Callable[[], object]]] = []
        self.seq = 0
        self.children: dict[str, str] = {}  # CERAR case ref -> state as the demo knows it
        self.level: dict[str, str] = {}
        self.agendas: dict[str, list[str]] = {}  # meeting -> CERAR cases on its agenda
        self.counts: dict[str, int] = {"emails": 0, "alerts": 0}

    # -- the calendar of tasks ------------------------------------------------------------
    def at(self, when: dt.datetime, task: Callable[[], object]) -> None:
        self.seq += 1
        heapq.heappush(self.tasks, (when, self.seq, task))

    def wd(self, day: dt.date, n: int) -> dt.date:
        return self.cal.add_working_days(day, n) if n >= 0 else \
            self.cal.subtract_working_days(day, -n)

    def working(self, day: dt.date) -> dt.date:
        return day if self.cal.is_working_day(day) else self.cal.next_working_day(day)

    def run(self) -> None:
        day = START
        while day <= END:
            self.clock.set(_at(day, "07:00"))
            swept = self.notifier.sweep()
            self.counts["alerts"] += swept.raised
            if day.weekday() == 0:
                self.notifier.digest()
            evening = _at(day, "18:00")
            while self.tasks and self.tasks[0][0] < _at(day + dt.timedelta(days=1), "00:00"):
                when, _, task = heapq.heappop(self.tasks)
                self.clock.set(max(when, self.clock.now()))
                task()
            self.clock.set(max(evening, self.clock.now()))
            self.counts["emails"] += self.notifier.dispatch().sent
            day += dt.timedelta(days=1)

    # -- people ---------------------------------------------------------------------------
    def people(self) -> None:
        admin = self.app.admin
        admin.bootstrap(self.you)
        admin.add_area(self.you, *AREAS[0])
        admin.grant(self.you, self.you, "partnership_manager", None)
        for login, name, agency, roles in PEOPLE:
            admin.add_user(self.you, login, name, f"{login}@partnership.example", agency)
            for role in roles:
                admin.grant(self.you, login, role, None)
        # The MACE series generates its meetings with no area named, which the engine only
        # accepts while one area exists: so the pan-area series is made before the second.
        self.mace_series()
        demo_deaths.panel(self)
        for code, name in AREAS[1:]:
            admin.add_area(self.you, code, name)

    # -- practice reviews -----------------------------------------------------------------
    def review(self, ref: str, area: str, aware: dt.date,
               steps: list[tuple[dt.date, str, dict[str, str], str]]) -> None:
        def open_it() -> None:
            self.engine.open_case("practice_review", ref, {
                "became_aware_on": aware.isoformat(), "child_ref": f"C-{ref[-4:]}",
                "label": f"Serious incident {ref[-2:]}"}, "support",
                note="serious incident reported by children's social care", area=area)

        self.at(_at(aware, "11:00"), open_it)
        for day, trigger, values, actor in steps:
            def fire(trigger: str = trigger, values: dict[str, str] = values,
                     actor: str = actor) -> None:
                self.engine.fire(ref, trigger, values, actor)
            self.at(_at(day, "15:00"), fire)

    def reviews(self) -> None:
        for ref, area, aware, steps in demo_reviews.reviews():
            self.review(ref, area, aware, steps)

    # -- CERAR ----------------------------------------------------------------------------
    def cerar_children(self, n: int = 24) -> None:
        span = (END - START).days - 30
        for i in range(n):
            ref = f"CE-C-{1001 + i}"
            concern = self.working(START + dt.timedelta(days=self.rng.randrange(span)))
            area = AREAS[self.rng.randrange(2)][0]
            level = self.rng.choices(("high", "medium", "low"), (2, 4, 4))[0]
            extra: dict[str, str] = {}
            if i % 7 == 3:
                extra = {"placement": "placed_in_area",
                         "placing_authority": PLACING[i % len(PLACING)]}
            elif i == 8:
                extra = {"placement": "placed_out_of_area",
                         "host_authority": "Lancashire County Council"}
            self.at(_at(concern, "09:30"), partial(self._open_child, ref, concern, area, extra))
            screen = self.wd(concern, 1)
            self.at(_at(screen, "10:00"), partial(
                self._fire_child, ref, "screen", {"screened_on": screen.isoformat()},
                "cerar.coord", "awaiting_assessment"))
            assess = self.wd(concern, self.rng.choice((4, 6, 8, 9, 12)))
            self.at(_at(assess, "14:00"), partial(self._assess, ref, level))
            episodes = self.rng.choice((0, 0, 0, 1, 1, 2, 3))
            if i == 5:
                episodes = 3  # three returns inside 30 days: a strategy meeting
            start = self.wd(concern, 3)
            for k in range(episodes):
                gap = 9 if i == 5 else self.rng.randrange(10, 80)
                went = start + dt.timedelta(days=gap * (k + 1))
                if went >= END - dt.timedelta(days=4):
                    break
                self.at(_at(went + dt.timedelta(days=1), "10:00"),
                        partial(self._missing, ref, went))

    def _open_child(self, ref: str, concern: dt.date, area: str, extra: dict[str, str]) -> None:
        self.cerar.open(f"C-{ref[-4:]}", concern.isoformat(),
                        AGENCIES[int(ref[-2:]) % len(AGENCIES)], area, "cerar.coord",
                        ref=ref, extra=extra, note="screened concern")
        self.children[ref] = "screening"

    def _fire_child(self, ref: str, trigger: str, values: dict[str, str], actor: str,
                    to: str | None = None) -> None:
        if self.children.get(ref) in (None, "stepped_down", "closed"):
            return
        self.cerar.fire(ref, trigger, values, actor)
        if to:
            self.children[ref] = to

    def _assess(self, ref: str, level: str) -> None:
        if self.children.get(ref) != "awaiting_assessment":
            return
        self.cerar.fire(ref, "assess", {"assessed_on": london_date(
            self.clock.now()).isoformat(), "risk_level": level}, "cerar.mgr")
        self.children[ref], self.level[ref] = "assessed", level
        if level == "low":
            self._plan_low_review(ref)

    def _review_due(self, ref: str) -> dt.date | None:
        view = self.cerar.show(ref, "cerar.coord")
        due = [d.due_day for d in view.case.deadlines if d.name == "review"
               and d.status in ("open", "breached") and d.met_at is None]
        return due[0] if due else None

    def _plan_low_review(self, ref: str) -> None:
        """Low-concern children are reviewed by the CERAR manager, outside MACE."""
        due = self._review_due(ref)
        if due is None:
            return
        day = self.working(due + dt.timedelta(days=self.rng.choice((-7, -3, -1, 0, 4))))
        self.at(_at(day, "11:00"), lambda: self._low_review(ref))

    def _low_review(self, ref: str) -> None:
        if self.children.get(ref) != "assessed" or self.level.get(ref) != "low":
            return
        today = london_date(self.clock.now()).isoformat()
        if self.rng.random() < 0.25:
            self._fire_child(ref, "close", {"closed_on": today,
                                            "close_reason": "risk reduced; no further concerns"},
                             "cerar.mgr", "closed")
            return
        if self.rng.random() < 0.2:
            self._fire_child(ref, "change_risk_level", {
                "risk_level": "medium", "level_change_reason": "new intelligence"},
                "cerar.mgr")
            self.level[ref] = "medium"  # now reviewed at MACE
            return
        self._fire_child(ref, "record_review", {"reviewed_on": today,
                                                "review_note": "low concern confirmed"},
                         "cerar.mgr")
        self._plan_low_review(ref)

    def _missing(self, ref: str, went: dt.date) -> None:
        if self.children.get(ref) in (None, "stepped_down", "closed"):
            return
        out = _at(went, "20:30")
        back = out + dt.timedelta(hours=self.rng.randrange(4, 13))
        view = self.cerar.record_missing(ref, out.isoformat(), back.isoformat(), "cerar.coord",
                                         note="reported by the placement")
        episode = view.episodes[-1].episode
        if "strategy_meeting" in view.raised:
            self.at(_at(self.wd(london_date(back), 2), "13:00"),
                    lambda: self._fire_child(ref, "record_strategy_meeting", {
                        "strategy_meeting_held_on": london_date(self.clock.now()).isoformat()},
                        "cerar.mgr"))
        roll = self.rng.random()
        hours = self.rng.randrange(80, 120) if roll < 0.15 else self.rng.randrange(18, 70)
        outcome = "declined" if 0.15 <= roll < 0.3 else "held"
        rhi = back + dt.timedelta(hours=hours)
        if rhi.date() > END:
            return
        self.at(rhi + dt.timedelta(minutes=30), lambda: self._rhi(ref, episode, outcome, rhi))

    def _rhi(self, ref: str, episode: str, outcome: str, at: dt.datetime) -> None:
        if self.children.get(ref) in (None, "stepped_down", "closed"):
            return
        self.cerar.record_rhi(ref, episode, outcome, at.isoformat(), "cerar.coord",
                              "the child did not want to talk" if outcome == "declined"
                              else None)

    # -- MACE -----------------------------------------------------------------------------
    def mace_series(self) -> None:
        view = self.mace.create_series(
            "Cumbria", "2w", "tuesday", "10:00", "mace.chair",
            [login for _, login in REPRESENTATIVES], "cerar.coord",
            starts_on=dt.date(2023, 4, 11), location="Video call", horizon_days=400)
        for n, m in enumerate(view.meetings):
            self._plan_meeting(m.ref, m.meeting_on, cancel=(n == 9))

    def _plan_meeting(self, ref: str, day: dt.date, cancel: bool) -> None:
        if day > END + dt.timedelta(days=30):
            return
        if cancel:
            self.at(_at(self.wd(day, -5), "12:00"), lambda: self.mace.cancel(
                ref, "cerar.coord", "summer holidays: not quorate"))
            return
        late = self.rng.random() < 0.1
        self.at(_at(self.wd(day, -1 if late else -2), "09:00"),
                lambda: self._publish(ref))
        if day <= END:
            self.at(_at(day, "12:30"), lambda: self._hold(ref, day))

    def _publish(self, ref: str) -> None:
        self.agendas[ref] = [c["case_ref"] for c in self.mace.publish(ref, "cerar.coord")
                             ["children"]]

    def _hold(self, ref: str, day: dt.date) -> None:
        present = [(a, p) for a, p in REPRESENTATIVES if self.rng.random() < 0.9] \
            or [REPRESENTATIVES[0]]
        apologies = [a for a, _ in REPRESENTATIVES if a not in {x for x, _ in present}]
        self.mace.hold(ref, "mace.chair", present, apologies)
        horizon = day + dt.timedelta(days=14)
        discussed = []
        for child in self.agendas.get(ref, []):
            if self.children.get(child) != "assessed" or self.level.get(child) == "low":
                continue
            due = self._review_due(child)
            if due is None or due > horizon:
                continue
            discussed.append(child)
            self._decide(ref, child)
        for n in range(self.rng.choice((1, 2, 2, 3))):
            owner = REPRESENTATIVES[(n + day.toordinal()) % 3]
            due_on = day + dt.timedelta(days=self.rng.randrange(10, 28))
            action = self.mace.add_action(
                ref, self.rng.choice(ACTIONS), owner[1], owner[0], due_on, "mace.chair",
                discussed[n] if n < len(discussed) else None)
            roll = self.rng.random()
            if roll < 0.12:
                continue  # still open
            done = due_on - dt.timedelta(days=self.rng.randrange(0, 6)) if roll < 0.8 \
                else due_on + dt.timedelta(days=self.rng.randrange(2, 9))
            done = max(done, day)
            if done <= END:
                self.at(_at(done, "16:00"), partial(self.mace.complete_action, ref,
                                                    action.ref, "cerar.coord", done))
        minutes = self.wd(day, self.rng.choice((2, 3, 4, 5, 6)))
        if minutes <= END:
            self.at(_at(minutes, "16:30"), lambda: self.mace.circulate(ref, "cerar.coord"))

    def _decide(self, meeting: str, child: str) -> None:
        level = self.level[child]
        roll = self.rng.random()
        opened = self.cerar.show(child, "cerar.coord").case.opened_at
        if roll < 0.12 and (self.clock.now() - opened).days > 120:
            self.mace.decide(meeting, child, "step_down", "mace.chair",
                             step_down_to=self.rng.choice(("single_agency", "early_help")),
                             receiving_service="Early help team")
            self.children[child] = "stepped_down"
        elif roll < 0.22:
            new = {"high": "medium", "medium": self.rng.choice(("high", "high", "low"))}[level]
            self.mace.decide(meeting, child, "level_changed", "mace.chair", new,
                             "risk reduced" if new != "high" else "new intelligence")
            self.level[child] = new
            if new == "low":
                self._plan_low_review(child)
        else:
            self.mace.decide(meeting, child, "review_done" if roll < 0.7
                             else "level_confirmed", "mace.chair")


def build_year(folder: Path, you: str, seed: int = 2023) -> DemoResult:
    """Build the demo year into ``folder`` (demo.db and outbox/); returns where it is."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.db"
    for stale in (path, path.with_name("demo.db-wal"), path.with_name("demo.db-shm"),
                  path.with_name("demo.db.audit-head.json")):
        stale.unlink(missing_ok=True)
    emails = folder / "outbox"
    if emails.is_dir():
        for old in emails.glob("*.eml"):
            old.unlink()
    url = f"sqlite:///{path}"
    return DemoResult(path, url, emails, fill_year(url, emails, you, seed))


def fill_year(url: str, emails: Path, you: str, seed: int = 2023) -> dict[str, int]:
    """Drive the whole year into the empty database at ``url`` (SQLite or PostgreSQL), its
    emails into ``emails``; returns what was made, by kind."""
    year = Year(url, emails, you, seed)
    try:
        year.people()
        year.reviews()
        year.cerar_children()
        plan = DemoPlan(year, seed)  # the business plan and the figures from other systems
        plan.people()
        plan.schedule()
        demo_deaths.schedule(year, START, END)
        year.run()
    finally:
        year.db.dispose()
    return dict(year.counts)


def run_demo(folder: str | None, echo: Callable[[str], None], you: str = "demo",
             seed: int = 2023) -> DemoResult:
    """Build the year, then print the dashboard (as you) and where everything is."""
    from engine.apps.report.service import annual_report
    from engine.apps.report.status import dashboard, dashboard_text

    if folder is None:
        from platformdirs import user_data_path

        base = user_data_path("safeguard") / "demo"
    else:
        base = Path(folder)
    echo(f"Building a demonstration year ({START.isoformat()} to {END.isoformat()}, "
         f"seed {seed}) in {base} ...")
    result = build_year(base, you, seed)
    app = demo_app(result)
    engine = app.engine
    try:
        report = annual_report(engine, you, *YEAR)
        flat = report.flat()
        echo(f"The year {YEAR[0].isoformat()} to {YEAR[1].isoformat()}: "
             f"{flat['rapid_reviews.held']} rapid reviews, "
             f"{flat['lcspr.published']} LCSPR published, "
             f"{flat['cerar.referrals']} CERAR referrals, "
             f"{flat['missing.episodes']} missing episodes, "
             f"{flat['mace.held']} MACE meetings; {result.counts['alerts']} alerts raised, "
             f"{result.counts['emails']} emails sent.\n")
        echo(dashboard_text(dashboard(engine, you)))
    finally:
        app.close()
    echo(f"\nEmails (.eml files): {result.emails}")
    echo(f"Database: {result.url}")
    now = f"--now {END.isoformat()}T18:30"
    echo(f"Explore it: safeguard --db {result.url} {now} status")
    echo(f"            safeguard --db {result.url} report annual --from {YEAR[0]} "
         f"--to {YEAR[1]} --format html > report.html")
    return result


def demo_sign_ins(app: App, you: str) -> tuple[str, list[tuple[str, str]]]:
    """Give every demonstration user one known password (demo databases only); returns it
    with each login and what the login does, for the page that says how to sign in."""
    password = "-".join(secrets.token_hex(2) for _ in range(3))
    people = [(you, "administrator and partnership manager")]
    people += [(login, name) for login, name, _, _ in PEOPLE]
    for login, _ in people:
        app.accounts.set_demo_password(you, login, password)
    return password, people


def demo_app(result: DemoResult) -> App:
    """The demonstration database's application at the year's last evening (the time its
    tasks and deadlines are shown at)."""
    return build_app(demo_settings(result.url, result.emails), FixedClock(_at(END, "18:30")))
