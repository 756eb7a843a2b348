"""The demonstration year's practice reviews: serious incidents and what happened to each,
as data (day, trigger, fields, actor) that :mod:`engine.apps.demo.year` fires through the engine.
Generated references only."""

from __future__ import annotations

import datetime as dt

Step = tuple[dt.date, str, dict[str, str], str]
d = dt.date.fromisoformat


def reviews() -> list[tuple[str, str, dt.date, list[Step]]]:
    """(reference, area, the day the local authority became aware, steps)."""
    out: list[tuple[str, str, dt.date, list[Step]]] = []
    add = out.append
    dissemination = [(d(day), "record_dissemination", {name: day}, "support")
                     for day, name in (("2023-11-20", "website_updated_on"),
                                       ("2023-12-04", "learning_brief_on"),
                                       ("2024-01-15", "training_reviewed_on"),
                                       ("2024-02-05", "policies_reviewed_on"),
                                       ("2024-02-26", "workshops_held_on"),
                                       ("2024-03-11", "assurance_sought_on"))]
    # Published within six months of the decision; learning disseminated; action plan.
    add(("PR-2023-01", "cumberland", d("2023-04-12"), [
        (d("2023-04-18"), "notify", {"notified_on": "2023-04-18",
                                     "partners_told_on": "2023-04-18"}, "support"),
        (d("2023-04-28"), "submit_rapid_review", {"rr_submitted_on": "2023-04-28",
                                                  "rr_recommendation": "lcspr"},
         "crg.chair"),
        (d("2023-05-12"), "record_panel_response", {"panel_response": "agreed",
                                                    "panel_response_on": "2023-05-11"},
         "support"),
        (d("2023-05-25"), "commission_lcspr", {"decision_on": "2023-05-25",
                                               "decision_rationale": "multi-agency "
                                               "learning about neglect"}, "crg.chair"),
        (d("2023-06-12"), "appoint_reviewer", {"reviewer": "reviewer.a",
                                               "reviewer_appointed_on": "2023-06-12"},
         "crg.chair"),
        (d("2023-09-04"), "receive_draft", {"draft_received_on": "2023-09-04"},
         "reviewer.a"),
        (d("2023-10-02"), "approve_final", {"planned_publication_on": "2023-11-02",
                                            "final_approved_on": "2023-10-02"},
         "crg.chair"),
        (d("2023-10-19"), "send_to_panel", {"sent_to_panel_on": "2023-10-19"},
         "support"),
        (d("2023-11-02"), "publish", {"published_on": "2023-11-02",
                                      "publication_kind": "full_report"}, "support"),
        *dissemination,
        (d("2023-12-11"), "start_action_plan", {"action_plan_started_on": "2023-12-11"},
         "crg.chair"),
    ]))
    # Deferred for criminal proceedings after the final report went to the Panel.
    add(("PR-2023-02", "westmorland_furness", d("2023-06-05"), [
        (d("2023-06-09"), "notify", {"notified_on": "2023-06-09"}, "support"),
        (d("2023-06-23"), "submit_rapid_review", {"rr_submitted_on": "2023-06-23",
                                                  "rr_recommendation": "lcspr"},
         "crg.chair"),
        (d("2023-07-10"), "commission_lcspr", {"decision_on": "2023-07-10"}, "crg.chair"),
        (d("2023-07-24"), "appoint_reviewer", {"reviewer": "reviewer.b",
                                               "reviewer_appointed_on": "2023-07-24"},
         "crg.chair"),
        (d("2023-11-13"), "approve_final", {"planned_publication_on": "2024-01-08"},
         "crg.chair"),
        (d("2023-12-15"), "send_to_panel", {"sent_to_panel_on": "2023-12-15"},
         "support"),
        (d("2024-01-03"), "defer_publication", {"deferral_reason": "criminal_proceedings",
                                                "deferred_on": "2024-01-03"},
         "crg.chair"),
        (d("2024-01-31"), "review_deferral", {"deferral_reviewed_on": "2024-01-31"},
         "crg.chair"),
        (d("2024-02-28"), "review_deferral", {"deferral_reviewed_on": "2024-02-28"},
         "crg.chair"),
        (d("2024-03-27"), "review_deferral", {"deferral_reviewed_on": "2024-03-27"},
         "crg.chair"),
    ]))
    # No further review: the learning goes to the neglect strategy instead.
    add(("PR-2023-03", "cumberland", d("2023-07-17"), [
        (d("2023-07-21"), "notify", {"notified_on": "2023-07-21"}, "support"),
        (d("2023-08-04"), "submit_rapid_review", {
            "rr_submitted_on": "2023-08-04", "rr_recommendation": "no_further_review"},
         "crg.chair"),
        (d("2023-08-21"), "close_without_review", {
            "decision_on": "2023-08-21",
            "decision_rationale": "learning taken forward by the neglect strategy"},
         "crg.chair"),
    ]))
    # Notified late; an LCSPR still in review past its six-month target.
    add(("PR-2023-04", "westmorland_furness", d("2023-09-04"), [
        (d("2023-09-13"), "notify", {"notified_on": "2023-09-13"}, "support"),
        (d("2023-09-22"), "submit_rapid_review", {"rr_submitted_on": "2023-09-22",
                                                  "rr_recommendation": "lcspr"},
         "crg.chair"),
        (d("2023-10-02"), "commission_lcspr", {"decision_on": "2023-10-02"}, "crg.chair"),
        (d("2023-11-06"), "appoint_reviewer", {"reviewer": "reviewer.a",
                                               "reviewer_appointed_on": "2023-11-06"},
         "crg.chair"),
        (d("2024-03-04"), "receive_draft", {"draft_received_on": "2024-03-04"},
         "reviewer.a"),
    ]))
    # Rapid review late; the Panel takes a national review.
    add(("PR-2024-05", "cumberland", d("2024-01-15"), [
        (d("2024-01-19"), "notify", {"notified_on": "2024-01-19"}, "support"),
        (d("2024-02-08"), "submit_rapid_review", {"rr_submitted_on": "2024-02-08",
                                                  "rr_recommendation": "national_review"},
         "crg.chair"),
        (d("2024-02-22"), "record_panel_response", {
            "panel_response": "national_review_taken", "panel_response_on": "2024-02-21"},
         "support"),
        (d("2024-02-26"), "refer_national_review", {"decision_on": "2024-02-26"},
         "crg.chair"),
    ]))
    # A new serious incident: its notification is due this week.
    add(("PR-2024-06", "cumberland", d("2024-04-11"), []))

    return out
