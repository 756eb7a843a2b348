"""The notifier's layering, checked: it imports no domain, and reaches the engine's tables only
through the core's stores (its own outbox table excepted). Pure: reads the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "notifications"
# The handles of the engine's tables: the SQLModel classes and the Core tables of store/.
ENGINE_TABLES = {"Alert", "Area", "Case", "CaseEvent", "CaseInvolvement", "Deadline",
                 "RoleGrant", "User", "ALERTS", "AREAS", "CASES", "DEADLINES", "EVENTS",
                 "GRANTS", "INVOLVEMENT", "USERS"}


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every ``from module import name`` and ``import module``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, "") for alias in node.names]
    return out


MODULES = sorted(PACKAGE.glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_the_notifier_imports_no_domain_and_no_engine_table(path: Path) -> None:
    imports = _imports(path)
    assert not [m for m, _ in imports if m.startswith("engine.domains")], path.name
    tables = [f"{m}.{n}" for m, n in imports if m.startswith("engine.") and n in ENGINE_TABLES]
    assert not tables, f"{path.name} reaches engine tables itself: {tables}"
