"""The annual report's sections and their parts, and the CERAR and MACE figures computed
from rows (pure: no database, no clock).

Each figure is counted from the events and records of the period ``[start, end]`` (London
days, both included): what happened in the period is read from event times and the dates
recorded with them; what stood at the period's end (a child's state and level) is replayed
from the events up to the end. A :class:`Section` is a list of figures, optional tables
(references and counts only) and an optional chart.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.apps.report.queries import CaseRow, EventRow, ReportData
from engine.core.clock import end_of_day, london_date, start_of_day
from engine.core.errors import UsageError

LEVELS = ("high", "medium", "low", "not_assessed")
ENDED = ("stepped_down", "closed")
RHI_HOURS = 72
AMBER_DAYS = 14  # an open action due within this many days of the period's end is amber
RAG = ("red", "amber", "green", "blue")

# Display words for the codes the figures group by (the report shows no codes).
RAG_WORDS = {"red": "Red", "amber": "Amber", "green": "Green", "blue": "Blue (complete)"}
LEVEL_WORDS = {"high": "High", "medium": "Medium", "low": "Low",
               "not_assessed": "Not yet assessed"}
DECISION_WORDS = {"level_confirmed": "Level confirmed", "level_changed": "Level changed",
                  "review_done": "Review done", "step_down": "Stepped down"}
# The one palette of RAG and status words: (strong colour for charts, light fill and dark
# ink for a tag beside the word). Every coloured thing also carries the word.
STATUS_PALETTE = {
    "Red": ("#d4351c", "#f4cdc6", "#942514"), "Amber": ("#f47738", "#fcd6c3", "#6e3619"),
    "Green": ("#00703c", "#cce2d8", "#005a30"),
    "Blue (complete)": ("#1d70b8", "#bbd4ea", "#0c2d4a"),
    "Blue": ("#1d70b8", "#bbd4ea", "#0c2d4a"), "Complete": ("#1d70b8", "#bbd4ea", "#0c2d4a"),
    "Overdue": ("#d4351c", "#f4cdc6", "#942514"), "On track": ("#00703c", "#cce2d8", "#005a30"),
    "Not started": ("#505a5f", "#e5e6e7", "#383f43")}
RAG_COLOURS = {word: strong for word, (strong, _, _) in STATUS_PALETTE.items()}
LEVEL_COLOURS = ("#d4351c", "#f47738", "#ffdd00", "#b1b4b6")  # high .. not assessed


def words(mapping: dict[str, str], code: str) -> str:
    """A code in words: from ``mapping``, else the code with spaces ('other_reason')."""
    return mapping.get(code) or (code.replace("_", " ").capitalize() if code else "")


@dataclass(frozen=True)
class Chart:
    """A chart of one or more series over categories (months, quarters, categories):
    ``bars`` is one series as horizontal bars; ``columns`` groups (or stacks) series as
    vertical columns; ``line`` draws each series as a line."""

    title: str
    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[float, ...]], ...]
    kind: str = "bars"
    stacked: bool = False
    colours: tuple[str, ...] = ()  # per series (per bar for a one-series bar chart)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "kind": self.kind, "stacked": self.stacked,
                "categories": list(self.categories),
                "series": [{"name": n, "values": list(v)} for n, v in self.series]}

    @classmethod
    def bars(cls, title: str, bars: Sequence[tuple[str, float]],
             colours: Sequence[str] = ()) -> Chart:
        return cls(title, tuple(b[0] for b in bars),
                   (("Count", tuple(b[1] for b in bars)),), "bars", False, tuple(colours))

    @classmethod
    def from_table(cls, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                   stacked: bool = False) -> Chart:
        """A table of category x column (e.g. deaths by category x year) as columns: one
        group per row, one series per numeric column."""
        series = tuple((str(c), tuple(float(r[i] or 0) for r in rows))
                       for i, c in enumerate(columns) if i > 0)
        return cls(title, tuple(str(r[0]) for r in rows), series, "columns", stacked)


# A section's chart: a Chart, the older (title, bars) pair, or the title of one of the
# section's tables (category x year) to draw as columns.
ChartSpec = Chart | tuple[str, list[tuple[str, int]]] | str | None


@dataclass
class Section:
    key: str
    title: str
    figures: list[tuple[str, str, Any]] = field(default_factory=list)  # key, label, value
    tables: list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]] = field(
        default_factory=list)  # title, columns, rows
    chart: ChartSpec = None

    def add(self, key: str, label: str, value: Any) -> None:
        self.figures.append((key, label, value))

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title,
                "figures": [{"key": k, "label": label, "value": v}
                            for k, label, v in self.figures],
                "tables": [{"title": t, "columns": list(c), "rows": [list(r) for r in rows]}
                           for t, c, rows in self.tables],
                "chart": None if (c := chart_of(self)) is None else c.to_json()}

    @property
    def empty(self) -> bool:
        """No records in the period: no figures and no table rows."""
        return not self.figures and not any(rows for _, _, rows in self.tables)


def chart_of(section: Section) -> Chart | None:
    """The section's chart as a :class:`Chart` (None when it has none, or names a table it
    does not hold, or the section is empty)."""
    spec = section.chart
    if spec is None or section.empty:
        return None
    if isinstance(spec, Chart):
        return spec
    if isinstance(spec, str):
        for title, columns, rows in section.tables:
            if title == spec and rows:
                return Chart.from_table(title, columns, rows)
        return None
    title, bars = spec
    return Chart.bars(title, bars)


def or_empty(section: Section) -> Section:
    """The section, or an empty one when it holds nothing but zeros (no records in the
    period: the report says so rather than showing zeros as facts)."""
    if all(v in (0, None) for _, _, v in section.figures) \
            and not any(rows for _, _, rows in section.tables):
        return Section(section.key, section.title)
    return section


def check_period(start: dt.date, end: dt.date) -> None:
    if start > end:
        raise UsageError(f"--from {start.isoformat()} is after --to {end.isoformat()}: "
                         "the period must start on or before its end")


def recorded_day(text: str | None) -> dt.date | None:
    """The day a date field records (None when it records none)."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


class Replay:
    """Cases' states and field values at a moment, replayed from their events."""

    def __init__(self, events: Iterable[EventRow]) -> None:
        self.by_case: dict[int, list[EventRow]] = defaultdict(list)
        for e in events:
            self.by_case[e.case_id].append(e)
        for rows in self.by_case.values():
            rows.sort(key=lambda e: e.seq)

    def state_at(self, case_id: int, before: dt.datetime) -> str | None:
        state = None
        for e in self.by_case.get(case_id, []):
            if e.at >= before:
                break
            state = e.to_state
        return state

    def value_at(self, case_id: int, name: str, before: dt.datetime) -> str | None:
        value = None
        for e in self.by_case.get(case_id, []):
            if e.at >= before:
                break
            if name in e.changes:
                change = e.changes[name]
                value = change[1] if isinstance(change, list) and len(change) == 2 else None
        return value

    def fired(self, case_id: int, triggers: Iterable[str], lo: dt.datetime,
              hi: dt.datetime) -> list[EventRow]:
        wanted = set(triggers)
        return [e for e in self.by_case.get(case_id, []) if e.trigger in wanted
                and lo <= e.at < hi]


def casework_sections(data: ReportData, start: dt.date, end: dt.date,
                      area: str | None = None) -> list[Section]:
    """The CERAR, missing, MACE and placement sections for ``[start, end]``, for the
    partnership or (``area``, a code) for the cases of one area. (The practice reviews'
    are counted in SQL: :mod:`engine.apps.report.review_figures`.)"""
    check_period(start, end)
    lo, hi = start_of_day(start), end_of_day(end)
    replay = Replay(data.events)
    in_period = lambda d: d is not None and start <= d <= end  # noqa: E731

    def mine(c: CaseRow) -> bool:
        return area is None or c.area == area

    children = [c for c in data.cases if c.workflow == "cerar" and mine(c)]
    meetings = [c for c in data.cases if c.workflow == "mace_meeting"]
    return [or_empty(s) for s in (
        _cerar(children, replay, lo, hi, start, end),
        _missing(data, children, replay, lo, hi, start, end),
        _mace(data, meetings, children, replay, in_period, lo, hi, end, area),
        _placed(children, replay, lo, hi),
    )]


def rag_status(due_on: dt.date, done_on: dt.date | None, end: dt.date) -> str:
    """Blue when done by ``end``; red when past due; amber when due within two weeks."""
    if done_on is not None and done_on <= end:
        return "blue"
    if due_on < end:
        return "red"
    if (due_on - end).days <= AMBER_DAYS:
        return "amber"
    return "green"


def quarters(start: dt.date, end: dt.date) -> list[tuple[str, dt.date]]:
    """The ends of the period's quarters (three months from its start; the last may be cut
    short by its end), each with a label like 'Apr to Jun 2024'."""
    out = []
    first = start
    while first <= end:
        month = first.month + 3
        nxt = dt.date(first.year + (month - 1) // 12, (month - 1) % 12 + 1, 1) \
            if first.day == 1 else first + dt.timedelta(days=91)
        last = min(nxt - dt.timedelta(days=1), end)
        out.append((f"{first:%b} to {last:%b %Y}", last))
        first = nxt
    return out


def months(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    """(year, month) of every month the period touches."""
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _cerar(children: list[CaseRow], replay: Replay, lo: dt.datetime,
           hi: dt.datetime, start: dt.date, end: dt.date) -> Section:
    s = Section("cerar", "Children at risk of exploitation (CERAR)")
    levels: Counter[str] = Counter()
    for c in children:
        state = replay.state_at(c.id, hi)
        if state is None or state in ENDED:
            continue
        levels[replay.value_at(c.id, "risk_level", hi) or "not_assessed"] += 1
    s.add("open_at_end", "Children open at the period's end", sum(levels.values()))
    for key in LEVELS:
        s.add(f"level_{key}", f"Open at the end, risk level: {LEVEL_WORDS[key].lower()}",
              levels[key])
    s.add("referrals", "New referrals (flow in)",
          sum(1 for c in children if replay.fired(c.id, ["open"], lo, hi)))
    s.add("stepped_down", "Stepped down (flow out)",
          sum(len(replay.fired(c.id, ["step_down"], lo, hi)) for c in children))
    s.add("closed", "Closed (flow out)",
          sum(len(replay.fired(c.id, ["close"], lo, hi)) for c in children))
    s.add("level_changes", "Level changes",
          sum(len(replay.fired(c.id, ["change_risk_level"], lo, hi)) for c in children))
    s.add("reviews", "Reviews held",
          sum(len(replay.fired(c.id, ["record_review"], lo, hi)) for c in children))
    by_quarter = []
    for _, last in quarters(start, end):
        at = end_of_day(last)
        counts: Counter[str] = Counter()
        for c in children:
            state = replay.state_at(c.id, at)
            if state is not None and state not in ENDED:
                counts[replay.value_at(c.id, "risk_level", at) or "not_assessed"] += 1
        by_quarter.append(counts)
    s.chart = Chart("Children open by risk level at each quarter's end",
                    tuple(q for q, _ in quarters(start, end)),
                    tuple((LEVEL_WORDS[k], tuple(float(c[k]) for c in by_quarter))
                          for k in LEVELS), "columns", True, LEVEL_COLOURS)
    return s


def _missing(data: ReportData, children: list[CaseRow], replay: Replay, lo: dt.datetime,
             hi: dt.datetime, start: dt.date, end: dt.date) -> Section:
    s = Section("missing", "Missing episodes and return home interviews")
    ids = {c.id for c in children}
    episodes = [e for e in data.episodes if e.case_id in ids and lo <= e.returned_at < hi]
    s.add("episodes", "Missing episodes (returns in the period)", len(episodes))
    s.add("children", "Children with a missing episode", len({e.case_id for e in episodes}))
    limit = dt.timedelta(hours=RHI_HOURS)
    held_72 = sum(1 for e in episodes if e.rhi_outcome == "held" and e.rhi_at is not None
                  and e.rhi_at - e.returned_at <= limit and e.rhi_at < hi)
    s.add("rhi_within_72h", "RHIs held within 72 hours", held_72)
    s.add("rhi_late", "RHIs held after 72 hours",
          sum(1 for e in episodes if e.rhi_outcome == "held" and e.rhi_at is not None
              and e.rhi_at - e.returned_at > limit and e.rhi_at < hi))
    s.add("rhi_declined", "RHIs declined by the child",
          sum(1 for e in episodes if e.rhi_outcome == "declined" and e.rhi_at is not None
              and e.rhi_at < hi))
    s.add("rhi_outstanding", "RHIs not recorded by the period's end",
          sum(1 for e in episodes if e.rhi_at is None or e.rhi_at >= hi))
    s.add("rhi_within_72h_pct", "Share of RHIs held within 72 hours (%)",
          _pct(held_72, len(episodes)))
    s.add("strategy_meetings", "Strategy meetings called (3 episodes in 30 days)",
          sum(len(replay.fired(c.id, ["raise_strategy_meeting"], lo, hi)) for c in children))
    by_month = Counter((d.year, d.month) for d in (london_date(e.returned_at)
                                                   for e in episodes))
    span = months(start, end)
    s.chart = Chart("Missing episodes by month of return",
                    tuple(dt.date(y, m, 1).strftime("%b %Y") for y, m in span),
                    (("Missing episodes", tuple(float(by_month[k]) for k in span)),),
                    "columns")
    return s


def _mace(data: ReportData, meetings: list[CaseRow], children: list[CaseRow],
          replay: Replay, in_period: Any, lo: dt.datetime, hi: dt.datetime, end: dt.date,
          area: str | None) -> Section:
    """MACE meetings serve the whole partnership: for one area, the children discussed and
    the decisions are that area's; meetings and actions are not counted by area."""
    s = Section("mace", "MACE meetings")
    held = [c for c in meetings if in_period(recorded_day(c.data.get("held_on")))]
    held_ids = {c.id for c in held}
    whole = area is None
    s.add("held", "Meetings held", len(held) if whole else None)
    s.add("cancelled", "Meetings cancelled",
          sum(len(replay.fired(c.id, ["cancel"], lo, hi)) for c in meetings)
          if whole else None)
    by_case = {m.case_id: m for m in data.meetings}
    refs = {c.id: c.ref for c in children}
    discussed: set[str] = set()
    meeting_ids = {by_case[c].meeting_id for c in held_ids if c in by_case}
    for c in held_ids:
        if c in by_case:
            discussed.update(r for r in by_case[c].agenda_children
                             if whole or r in refs.values())
    decisions: Counter[str] = Counter()
    for d in data.decisions:
        if d.meeting_id in meeting_ids and (whole or d.case_id in refs):
            discussed.add(refs.get(d.case_id, str(d.case_id)))
            decisions[d.decision] += 1
    s.add("children_discussed", "Children discussed", len(discussed))
    for key in DECISION_WORDS:
        s.add(f"decision_{key}", f"Decisions: {DECISION_WORDS[key].lower()}", decisions[key])
    actions = [a for a in data.actions if a.meeting_id in meeting_ids]
    s.add("actions_agreed", "Actions agreed", len(actions) if whole else None)
    # One dropped (no longer needed) by the period's end is not due; as the end saw it.
    due = [a for a in data.actions if start_of_day(a.due_on) < hi
           and lo <= start_of_day(a.due_on) and not a.dropped_by(end)]
    s.add("actions_due", "Actions due in the period", len(due) if whole else None)
    s.add("actions_on_time", "Actions due in the period completed on time",
          sum(1 for a in due if a.done_on is not None and a.done_on <= a.due_on)
          if whole else None)
    s.add("actions_late", "Actions due in the period completed late or still open",
          sum(1 for a in due if a.done_on is None or a.done_on > a.due_on)
          if whole else None)
    s.chart = Chart.bars("MACE decisions", [(DECISION_WORDS[k], decisions[k])
                                            for k in DECISION_WORDS])
    return s


def _placed(children: list[CaseRow], replay: Replay, lo: dt.datetime,
            hi: dt.datetime) -> Section:
    s = Section("placed", "Children placed in the area by other authorities")
    placed: Counter[str] = Counter()
    out_of_area = 0
    authorities: Counter[str] = Counter()
    for c in children:
        opened = replay.state_at(c.id, hi)
        if opened is None:
            continue
        ended_before = replay.state_at(c.id, lo) in ENDED
        if ended_before:
            continue
        placement = replay.value_at(c.id, "placement", hi)
        if placement == "placed_in_area":
            placed[replay.value_at(c.id, "risk_level", hi) or "not_assessed"] += 1
            authorities[replay.value_at(c.id, "placing_authority", hi) or "Not recorded"] += 1
        elif placement == "placed_out_of_area":
            out_of_area += 1
    s.add("placed_in_area_at_risk", "Placed in the area by other LAs, at risk of exploitation",
          sum(placed.values()))
    s.add("placed_in_area_medium_high", "... of whom at medium or high concern",
          placed["medium"] + placed["high"])
    s.add("placed_out_of_area", "Our children placed out of the area, at risk", out_of_area)
    s.tables.append(("Placing authorities", ("Authority", "Children"),
                     sorted(authorities.items())))
    return s


def period_of(now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The last complete April-to-March year before ``now`` (the reporting year)."""
    today = london_date(now)
    year = today.year - 1 if today.month >= 4 else today.year - 2
    return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)
