"""``safeguard workflow``: list, show, validate and draw the workflow definitions."""

from __future__ import annotations

import click

from commands._common import _emit, _runtime, json_option


@click.group()
def workflow() -> None:
    """Workflow definitions: list, show, validate, diagram."""


@workflow.command("list")
@json_option
def workflow_list(as_json: bool) -> None:
    """List the workflows this installation knows."""
    from engine.core.present import table

    registry = _runtime().registry()
    items = [{"name": d.name, "version": d.version, "title": d.title, "file": d.source}
             for d in registry]
    _emit(as_json, items, lambda: table(
        ("NAME", "VERSION", "TITLE"), [(i["name"], i["version"], i["title"]) for i in items]))


@workflow.command("show")
@click.argument("name")
@json_option
def workflow_show(name: str, as_json: bool) -> None:
    """Show a workflow's states, transitions and clocks."""
    from engine.core.present import workflow_text

    definition = _runtime().registry().get(name)
    data = {
        "name": definition.name, "version": definition.version, "title": definition.title,
        "states": [{"name": s.name, "description": s.description, "initial": s.initial,
                    "final": s.final} for s in definition.states.values()],
        "transitions": [{"trigger": t.trigger, "from": list(t.sources), "to": t.dest,
                         "requires": list(t.requires), "accepts": list(t.accepts),
                         "guards": list(t.guards), "roles": list(t.roles), "via": t.via}
                        for t in definition.transitions],
        "clocks": [{"name": c.name, "rule": c.rule.text, "owner": c.owner}
                   for c in definition.clocks.values()],
    }
    _emit(as_json, data, lambda: workflow_text(definition))


@workflow.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def workflow_validate(file: str) -> None:
    """Check a workflow file; every problem is reported with its YAML path and line."""
    from engine.core.loader import load_file

    definition = load_file(file)
    click.echo(f"OK: {file}: {definition.name} version {definition.version}, "
               f"{len(definition.states)} states, {len(definition.transitions)} transitions, "
               f"{len(definition.clocks)} clocks")


@workflow.command("diagram")
@click.argument("name")
def workflow_diagram(name: str) -> None:
    """Print a Mermaid state diagram of a workflow."""
    from engine.core.present import mermaid

    click.echo(mermaid(_runtime().registry().get(name)))
