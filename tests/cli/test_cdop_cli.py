"""The `safeguard cdop` commands through click's CliRunner: a death from notification to
closure, the link with a practice review, and bad input (one line, exit 2, nothing written)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli.dbstate import dump
from tests.conftest import cli_as

NOTIFY = ("--died-on", "2024-06-02", "--age-band", "1_to_4_years", "--sex", "female",
          "--expected", "no")


@pytest.fixture(scope="module")
def run(module_db_url: str) -> Any:
    run = cli_as(module_db_url, "coord")
    run("2024-06-03T09:00", "cdop", "open", "--child", "C-9", "--area", "cumberland",
        "--known-at", "2024-06-03T08:00")
    run("2024-06-03T10:00", "cdop", "notify", "CDR-C-9", *NOTIFY, "--jar", "yes",
        "--jar-reason", "sudden_unexplained", "--abuse-or-neglect", "suspected")
    run("2024-06-03T10:00", "cdop", "request", "CDR-C-9", "--agency", "Police")
    run("2024-06-03T10:00", "cdop", "request", "CDR-C-9", "--agency", "GP")
    run("2024-06-03T10:00", "cdop", "open", "--child", "C-10", "--area", "cumberland")
    # the bad-input tests' death: notified, two agencies asked
    run("2024-06-03T09:00", "cdop", "open", "--child", "C-8", "--area", "cumberland")
    run("2024-06-03T10:00", "cdop", "notify", "CDR-C-8", *NOTIFY, "--jar", "no")
    run("2024-06-03T10:00", "cdop", "request", "CDR-C-8", "--agency", "Police")
    run.url = module_db_url  # type: ignore[attr-defined]
    return run


def test_a_death_from_the_command_line(run: Any) -> None:
    shown = json.loads(run("2024-06-04T09:00", "cdop", "show", "CDR-C-9", "--json").output)
    assert shown["state"] == "gathering_information"
    assert {d["key"]: d["due"] for d in shown["deadlines"] if d["name"] == "information"} \
        == {"Police": "2024-07-01", "GP": "2024-07-01"}
    out = run("2024-06-04T09:00", "cdop", "list").output
    assert "CDR-C-9" in out and "CDR-C-10" in out
    run("2024-06-04T09:00", "cdop", "received", "CDR-C-9", "--agency", "gp")
    out = run("2024-06-04T09:00", "cdop", "refer", "CDR-C-9", "--ref", "PR-9").output
    assert out.startswith("Case PR-9") and "Linked cases:\n  CDR-C-9" in out
    out = run("2024-06-04T09:00", "case", "show", "CDR-C-9").output
    assert "Linked cases:\n  PR-9  Practice review" in out
    run("2024-07-01T09:00", "cdop", "meeting", "CDR-C-9")
    rows = json.loads(run("2024-07-01T09:00", "cdop", "list", "--state", "awaiting_cdop",
                          "--json").output)
    assert [r["ref"] for r in rows] == ["CDR-C-9"]
    run("2024-09-04T09:00", "cdop", "review", "CDR-C-9", "--category", "10",
        "--modifiable", "yes", "--domain", "parenting", "--learning", "safer sleep")
    run("2024-09-05T09:00", "cdop", "ncmd", "CDR-C-9")
    shown = json.loads(run("2024-09-05T09:00", "cdop", "close", "CDR-C-9", "--json").output)
    assert shown["state"] == "closed" and shown["links"] == [
        {"ref": "PR-9", "workflow": "practice_review",
         "title": "Practice review (serious incident to publication)",
         "state": "awaiting_notification"}]


BAD = [
    (("cdop", "notify", "CDR-C-10", *NOTIFY, "--jar", "yes"),
     "a joint agency response needs its reason"),
    (("cdop", "notify", "CDR-C-10", *NOTIFY, "--jar", "no", "--jar-reason",
      "external_causes"), "a reason is given only for a death that needs"),
    (("cdop", "notify", "CDR-C-10", "--died-on", "2024-07-02", "--age-band", "1_to_4_years",
      "--sex", "male", "--expected", "no", "--jar", "no"), "still to come"),
    (("cdop", "notify", "CDR-C-10", *NOTIFY[:2], "--age-band", "2_years", *NOTIFY[4:],
      "--jar", "no"), "Invalid value for '--age-band'"),
    (("cdop", "open", "--child", "Jo-Bloggs", "--area", "cumberland"), "child reference"),
    (("cdop", "open", "--child", "C-11", "--area", "cumbria"), "unknown area 'cumbria'"),
    (("cdop", "request", "CDR-C-8", "--agency", "police"), "Police was already asked"),
    (("cdop", "request", "CDR-C-8", "--agency", "<script>"), "agency"),
    (("cdop", "received", "CDR-C-8", "--agency", "School"), "no reporting form is awaited"),
    (("cdop", "review", "CDR-C-8", "--category", "11", "--modifiable", "no"),
     "unknown category '11'"),
    (("cdop", "review", "CDR-C-8", "--category", "3", "--modifiable", "no", "--domain",
      "child"), "domains are named only for modifiable factors"),
    (("cdop", "link", "CDR-C-10", "CDR-C-8"), "a link joins"),
    (("cdop", "meeting", "CDR-C-8", "--on", "2024-13-01"), "2024-13-01"),
    # the report counts a death by its notification's time: not still to come, not before
    # the death became known
    (("cdop", "notify", "CDR-C-10", *NOTIFY, "--jar", "no", "--at", "2024-06-05T09:00"),
     "the time of the notification"),
    (("cdop", "notify", "CDR-C-10", *NOTIFY, "--jar", "no", "--at", "2024-06-03T09:00"),
     "before the death became known"),
    # a day given is one that has come (the deadlines and the report count from it)
    (("cdop", "meeting", "CDR-C-8", "--on", "2024-06-05"), "2024-06-05 is still to come"),
    (("cdop", "request", "CDR-C-8", "--agency", "GP", "--on", "2024-06-05"),
     "2024-06-05 is still to come"),
    (("cdop", "close", "CDR-C-8", "--reason", "not resident", "--on", "2024-06-05"),
     "2024-06-05 is still to come"),
]


@pytest.mark.parametrize(("args", "says"), BAD, ids=[" ".join(a[:2]) + f"-{i}"
                                                      for i, (a, _) in enumerate(BAD)])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(run: Any, args: tuple[str, ...],
                                                          says: str) -> None:
    before = dump(run.url)
    result = run("2024-06-04T09:00", *args, code=2)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert says in lines[0]
    assert dump(run.url) == before


def test_a_cdop_series_from_the_command_line(run: Any) -> None:
    run("2024-06-05T09:00", "cdop", "open", "--child", "C-12", "--area", "cumberland")
    run("2024-06-05T09:00", "cdop", "notify", "CDR-C-12", *NOTIFY, "--jar", "no")
    run("2024-06-05T09:00", "cdop", "meeting", "CDR-C-12")
    out = run("2024-06-05T09:00", "mace", "series", "create", "--name", "Panel", "--every",
              "1m", "--weekday", "wednesday", "--time", "14:00", "--chair", "chair",
              "--member", "amy", "--horizon-days", "30", "--use", "cdop").output
    assert out.startswith("CDOP series Panel: monthly on Wednesday at 14:00")
    assert "CDOP-Panel-2024-06-05" in out and "CDOP-Panel-2024-07-03" in out
    agenda = run("2024-06-05T09:00", "mace", "agenda", "CDOP-Panel-2024-06-05").output
    assert "CDOP agenda: CDOP-Panel-2024-06-05 (Panel)" in agenda
    assert "CDR-C-12 (child C-12)" in agenda
    err = run("2024-06-05T09:00", "mace", "series", "create", "--name", "P2", "--every",
              "1m", "--weekday", "wednesday", "--time", "14:00", "--chair", "chair",
              "--use", "minutes", code=2).stderr
    assert "Invalid value for '--use'" in err
