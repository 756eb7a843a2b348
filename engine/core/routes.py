"""Which route may fire a trigger: the generic one, or only the domain service that owns it.

A transition whose domain keeps records or rules beyond the case row (a MACE decision, a
missing episode) declares its command in the YAML (``via: "safeguard mace decide"``). The
generic fire (``Engine.fire``, ``case advance``, later a web form or the JSON API) refuses
such a trigger and names that command; the domain services fire it on their explicit route
(``Engine.fire(..., via_domain=True)``). Pure: no database, no I/O.
"""

from __future__ import annotations

from engine.core.definition import WorkflowDef
from engine.core.errors import DomainOwnedError
from engine.core.registry import WorkflowRegistry


def owning_command(registry: WorkflowRegistry, definition: WorkflowDef,
                   trigger: str) -> str | None:
    """The command that owns ``trigger`` on a case running ``definition``, or None.

    The current version of the workflow counts too: a case opened on an older version
    (written before its domain claimed the trigger) is not a way around the domain.
    """
    via = definition.via_for(trigger)
    if via is None:
        current = registry.current(definition.name)
        if current is not None and current.version != definition.version:
            via = current.via_for(trigger)
    return via


def check_generic_route(registry: WorkflowRegistry, definition: WorkflowDef,
                        trigger: str) -> None:
    """Refuse, on the generic route, a trigger that a domain service owns."""
    via = owning_command(registry, definition, trigger)
    if via is not None:
        raise DomainOwnedError(trigger, via)


__all__ = ["check_generic_route", "owning_command"]
