"""Which route may fire a trigger (``via:``): pure, no database."""

from __future__ import annotations

import re

import pytest

from engine.core.errors import DomainOwnedError, UsageError
from engine.core.loader import load_file, load_text
from engine.core.registry import WorkflowRegistry
from engine.core.routes import check_generic_route, owning_command
from engine.core.settings import SHIPPED_WORKFLOWS

SHIPPED = WorkflowRegistry.from_directory(SHIPPED_WORKFLOWS)


def _older(name: str) -> str:
    """The shipped file as it was before its domain claimed any trigger (version 1)."""
    text = (SHIPPED_WORKFLOWS / f"{name}.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^    via: .*\n", "", text)
    return re.sub(r"(?m)^version: \d+$", "version: 1", text)


def test_a_domain_owned_trigger_is_refused_on_the_generic_route_naming_its_command() -> None:
    mace = SHIPPED.get("mace_meeting")
    with pytest.raises(DomainOwnedError) as caught:
        check_generic_route(SHIPPED, mace, "record_decision")
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2
    assert (caught.value.trigger, caught.value.via) == ("record_decision",
                                                        "safeguard mace decide")
    assert str(caught.value) == (
        "'record_decision' is recorded through 'safeguard mace decide', which also keeps the "
        "records and checks that go with it: use that command")
    check_generic_route(SHIPPED, mace, "circulate_minutes")  # a plain step
    check_generic_route(SHIPPED, SHIPPED.get("practice_review"), "add_action")


def test_a_case_on_an_older_version_cannot_go_round_the_domain() -> None:
    older = load_text(_older("cerar"), "cerar version 1 (stored)")
    assert older.version == 1 and older.via_for("record_rhi") is None
    assert owning_command(SHIPPED, older, "record_rhi") == "safeguard cerar rhi"
    with pytest.raises(DomainOwnedError, match="safeguard cerar missing"):
        check_generic_route(SHIPPED, older, "record_missing_episode")
    assert owning_command(SHIPPED, older, "screen") is None
    # A registry without the workflow: only the case's own version speaks.
    assert owning_command(WorkflowRegistry([]), older, "record_rhi") is None
    current = load_file(SHIPPED_WORKFLOWS / "cerar.yaml")
    assert owning_command(WorkflowRegistry([]), current, "record_rhi") == "safeguard cerar rhi"
