"""The demonstration year's child deaths: a realistic, synthetic set (references only),
notified, asked about, met on and reviewed by the CDOP through the year, as data that
:mod:`engine.apps.demo.year` schedules through the CDOP service.

Fourteen deaths across the age bands, categories and both areas: three from the year before
reviewed at the year's first panels (reviews of earlier years' deaths), ten of the year (most
reviewed by its end, one notified late, one agency's form chased past its deadline, one with
suspected abuse linked to the practice review the Panel took as a national review), and one
known on the demo's last morning, its notification due. The CDOP meets every two months on
the second Wednesday (a meeting series whose use is the CDOP, made with the MACE series
before the second area exists, as the panel covers both): its agenda of the deaths ready for
review is published a week before, the reviews are recorded on the day, the minutes follow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from engine.core.clock import LONDON

if TYPE_CHECKING:
    from engine.apps.demo.year import Year

d = dt.date.fromisoformat
PEOPLE = (("cdop.chair", "CDOP chair", "Public health", "cdop_chair"),
          ("cdop.coord", "CDOP coordinator", "ICB", "cdop_coordinator"),
          ("dr.designated", "Designated doctor for child deaths", "ICB", "designated_doctor"))
COORD, CHAIR, DOCTOR = "cdop.coord", "cdop.chair", "dr.designated"


@dataclass(frozen=True)
class Death:
    child: str
    area: str
    died: dt.date
    band: str
    sex: str
    expected: bool
    jar_reason: str | None = None
    abuse: str | None = None
    agencies: tuple[str, ...] = ("GP", "Hospital trust")
    meeting: dt.date | None = None  # the child death review meeting
    panel: dt.date | None = None  # the CDOP review
    category: str = ""
    domains: tuple[str, ...] = ()
    learning: str | None = None
    late_hours: int = 3  # hours from the death becoming known to its notification
    carried: bool = False  # a death of the year before (notified then; opened at the start)
    chased: str | None = None  # an agency whose form arrives late
    link: str | None = None  # the practice review it is linked to


CM, WF = "cumberland", "westmorland_furness"
PANELS = (d("2023-05-10"), d("2023-07-12"), d("2023-09-13"), d("2023-11-08"),
          d("2024-01-10"), d("2024-03-13"))


def deaths() -> list[Death]:
    return [
        # The year before's deaths, waiting for the panel when the year starts.
        Death("C-D2201", CM, d("2023-01-09"), "0_to_27_days", "male", True,
              meeting=d("2023-03-20"), panel=PANELS[0], category="8", carried=True),
        Death("C-D2202", WF, d("2023-02-14"), "15_to_17_years", "male", False,
              jar_reason="external_causes", agencies=("Police", "School", "GP"),
              meeting=d("2023-03-29"), panel=PANELS[0], category="3",
              domains=("environment",), learning="road safety near schools on rural roads",
              carried=True),
        Death("C-D2203", CM, d("2023-03-02"), "1_to_4_years", "female", True,
              meeting=d("2023-06-05"), panel=PANELS[1], category="6", carried=True),
        # The year's deaths.
        Death("C-D2301", CM, d("2023-04-18"), "0_to_27_days", "female", True,
              agencies=("Hospital trust", "Midwifery"), meeting=d("2023-06-19"),
              panel=PANELS[1], category="8"),
        Death("C-D2302", WF, d("2023-05-06"), "28_to_364_days", "male", False,
              jar_reason="sudden_unexplained", agencies=("Police", "GP", "Health visitor"),
              meeting=d("2023-08-07"), panel=PANELS[2], category="10",
              domains=("parenting", "environment"),
              learning="safer sleep messages at every health visitor contact", late_hours=30),
        Death("C-D2303", CM, d("2023-06-22"), "10_to_14_years", "female", True,
              agencies=("Hospital trust", "School"), meeting=d("2023-08-30"),
              panel=PANELS[2], category="4"),
        Death("C-D2304", CM, d("2023-07-30"), "15_to_17_years", "male", False,
              jar_reason="external_causes", agencies=("Police", "School", "GP", "CAMHS"),
              meeting=d("2023-10-09"), panel=PANELS[3], category="2",
              domains=("service",), learning="transition between CAMHS and adult services",
              chased="CAMHS"),
        Death("C-D2305", WF, d("2023-08-15"), "0_to_27_days", "male", True,
              agencies=("Hospital trust", "Midwifery"), meeting=d("2023-10-16"),
              panel=PANELS[3], category="7"),
        Death("C-D2306", CM, d("2023-10-03"), "5_to_9_years", "female", False,
              agencies=("Hospital trust", "GP", "School"), meeting=d("2023-12-04"),
              panel=PANELS[4], category="5"),
        Death("C-D2307", WF, d("2023-11-19"), "1_to_4_years", "male", False,
              jar_reason="external_causes", agencies=("Police", "GP", "Health visitor"),
              meeting=d("2024-01-22"), panel=PANELS[5], category="3",
              domains=("environment", "parenting"),
              learning="water safety: garden ponds and paddling pools"),
        Death("C-D2308", CM, d("2023-12-28"), "28_to_364_days", "female", True,
              agencies=("Hospital trust", "Health visitor"), meeting=d("2024-02-26"),
              panel=PANELS[5], category="9"),
        # Suspected abuse: linked to the practice review the Panel took (PR-2024-05).
        Death("C-4-05", CM, d("2024-01-13"), "1_to_4_years", "male", False,
              jar_reason="suspicious_circumstances", abuse="suspected",
              agencies=("Police", "Children's social care", "GP", "Health visitor"),
              link="PR-2024-05"),
        # Waiting for the panel at the year's end.
        Death("C-D2310", WF, d("2024-02-20"), "0_to_27_days", "female", True,
              agencies=("Hospital trust", "Midwifery"), meeting=d("2024-04-08")),
        Death("C-D2311", CM, d("2024-03-25"), "15_to_17_years", "male", True,
              agencies=("Hospital trust", "GP", "School"), chased="School"),
    ]


def _at(day: dt.date, hh_mm: str) -> dt.datetime:
    h, m = (int(x) for x in hh_mm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=LONDON)


def panel(year: Year) -> None:
    """The CDOP's people, and its meeting series (covering every area) with each meeting's
    agenda, record and minutes as dated tasks."""
    admin = year.app.admin
    for login, name, agency, role in PEOPLE:
        admin.add_user(year.you, login, name, f"{login}@partnership.example", agency)
        admin.grant(year.you, login, role, None)
    mace = year.app.mace
    view = mace.create_series("Panel", "2m", "wednesday", "14:00", CHAIR, [COORD, DOCTOR],
                              COORD, starts_on=PANELS[0], location="Video call",
                              horizon_days=400, use="cdop")
    assert tuple(m.meeting_on for m in view.meetings) == PANELS, "the panel's days moved"
    for meeting in view.meetings:
        ref, day = meeting.ref, meeting.meeting_on
        year.at(_at(year.wd(day, -5), "10:00"), partial(mace.publish, ref, COORD))
        year.at(_at(day, "16:00"), partial(mace.hold, ref, CHAIR, [
            ("health", DOCTOR), ("partnership", COORD)]))
        minutes = year.wd(day, 5)
        year.at(_at(minutes, "10:00"), partial(mace.circulate, ref, COORD))
        year.at(_at(minutes, "10:05"), partial(mace.close, ref, COORD))


def schedule(year: Year, start: dt.date, end: dt.date) -> None:
    """Each death's steps as dated tasks of the year."""
    for death in deaths():
        _schedule(year, death, start)
    # Known on the demo's last morning: the notification is due tomorrow.
    year.at(_at(end, "10:30"), lambda: year.app.cdop.open(
        "C-D2312", CM, _at(end, "10:00").isoformat(), COORD))


def _schedule(year: Year, death: Death, start: dt.date) -> None:
    cdop, ref = year.app.cdop, f"CDR-{death.child}"
    known = _at(death.died, "16:00")
    notified = known + dt.timedelta(hours=death.late_hours)
    opened = _at(start, "09:00") if death.carried else known
    year.at(opened, lambda: cdop.open(death.child, death.area, known.isoformat(), DOCTOR))
    year.at(max(opened, notified) + dt.timedelta(minutes=1), lambda: cdop.notify(
        ref, death.died.isoformat(), death.band, death.sex, death.expected,
        death.jar_reason is not None, DOCTOR, death.jar_reason, death.abuse,
        notified.isoformat() if death.carried else None))
    if not death.carried:
        asked = year.wd(notified.date(), 1)
        for n, agency in enumerate(death.agencies):
            back = year.wd(asked, 35 if agency == death.chased else 6 + 3 * n)
            year.at(_at(asked, "10:00"), partial(cdop.request, ref, agency, COORD))
            if death.meeting is None or back < death.meeting:
                year.at(_at(back, "14:00"), partial(cdop.received, ref, agency, COORD))
    if death.link:
        year.at(_at(year.wd(death.died, 2), "16:30"),
                lambda: cdop.link(ref, str(death.link), year.you))
    if death.meeting:
        when = _at(max(death.meeting, start), "15:00" if death.meeting >= start else "09:30")
        year.at(when, lambda: cdop.step(ref, "hold_cdr_meeting", {
            "cdr_meeting_on": str(death.meeting)}, DOCTOR))
    if death.panel:
        panel = death.panel
        year.at(_at(panel, "12:00"), lambda: cdop.review(
            ref, death.category, bool(death.domains), list(death.domains), CHAIR,
            death.learning))
        sent = year.wd(panel, 3)
        year.at(_at(sent, "11:00"), lambda: cdop.step(ref, "record_ncmd", {
            "ncmd_submitted_on": sent.isoformat()}, COORD))
        year.at(_at(sent, "11:05"), lambda: cdop.close(ref, COORD))


__all__ = ["PANELS", "PEOPLE", "Death", "deaths", "panel", "schedule"]
