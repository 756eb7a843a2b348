"""Parsed definitions cached on disk by content: a hit needs no parser, an edited file is
parsed again, and an entry that is corrupt, foreign or not private is never trusted."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.core import registry
from engine.core.errors import UsageError
from engine.core.registry import WorkflowRegistry
from engine.core.settings import SHIPPED_WORKFLOWS, load_settings

TEXT = (SHIPPED_WORKFLOWS / "practice_review.yaml").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a new command would: nothing parsed in this process yet."""
    monkeypatch.setattr(registry, "_PARSED", {})


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The sources the loader is asked to parse (a cache hit asks nothing)."""
    from engine.core import loader

    asked: list[str] = []
    real = loader.load_text

    def counting(text: str, source: str = "<text>") -> Any:
        asked.append(source)
        return real(text, source)

    monkeypatch.setattr(loader, "load_text", counting)
    yield asked


def _folder(tmp_path: Path, text: str = TEXT) -> Path:
    folder = tmp_path / "workflows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "practice_review.yaml").write_text(text, encoding="utf-8")
    return folder


def _load(folder: Path, cache: Path) -> WorkflowRegistry:
    registry._PARSED.clear()  # a new process
    return WorkflowRegistry.from_directory(folder, cache)


def test_a_cached_definition_needs_no_parsing(tmp_path: Path, parses: list[str]) -> None:
    folder, cache = _folder(tmp_path), tmp_path / "cache"
    first = _load(folder, cache).get("practice_review")
    assert parses == [str(folder / "practice_review.yaml")]
    assert len(list(cache.glob("*.pickle"))) == 1
    assert cache.stat().st_mode & 0o077 == 0  # made private
    again = _load(folder, cache).get("practice_review")
    assert parses == [str(folder / "practice_review.yaml")]  # not parsed again
    assert again == first and again.digest == first.digest
    assert again.transitions_from(again.initial_state)  # a working definition


def test_an_edited_file_is_parsed_again(tmp_path: Path, parses: list[str]) -> None:
    folder, cache = _folder(tmp_path), tmp_path / "cache"
    _load(folder, cache)
    edited = TEXT.replace("\ntitle:", "\ntitle: Edited -", 1)
    assert edited != TEXT
    _folder(tmp_path, edited)
    definition = _load(folder, cache).get("practice_review")
    assert len(parses) == 2
    assert definition.title.startswith("Edited -")
    assert len(list(cache.glob("*.pickle"))) == 2


@pytest.mark.parametrize("damage", [
    lambda entry: entry.write_bytes(b"not a pickle"),
    lambda entry: entry.write_bytes(entry.read_bytes()[:100]),  # cut short
    lambda entry: entry.write_bytes(pickle.dumps({"workflow": "practice_review"})),
])
def test_a_corrupt_entry_is_ignored_and_rewritten(tmp_path: Path, parses: list[str],
                                                  damage: Callable[[Path], Any]) -> None:
    folder, cache = _folder(tmp_path), tmp_path / "cache"
    first = _load(folder, cache).get("practice_review")
    (entry,) = cache.glob("*.pickle")
    damage(entry)
    assert _load(folder, cache).get("practice_review") == first
    assert len(parses) == 2
    assert _load(folder, cache).get("practice_review") == first  # rewritten whole
    assert len(parses) == 2


class _Planted:
    """A pickle that would run code when loaded by a plain unpickler."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_an_entry_naming_anything_but_definition_types_runs_nothing(
        tmp_path: Path, parses: list[str]) -> None:
    folder, cache = _folder(tmp_path), tmp_path / "cache"
    _load(folder, cache)
    (entry,) = cache.glob("*.pickle")
    marker = tmp_path / "ran"
    entry.write_bytes(pickle.dumps(_Planted(marker)))
    assert _load(folder, cache).get("practice_review").name == "practice_review"
    assert not marker.exists()
    assert len(parses) == 2


def test_a_cache_others_can_write_is_not_used(tmp_path: Path, parses: list[str]) -> None:
    folder, cache = _folder(tmp_path), tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    _load(folder, cache)
    _load(folder, cache)
    assert len(parses) == 2
    assert not list(cache.glob("*.pickle"))
    cache.chmod(0o700)
    _load(folder, cache)
    (entry,) = cache.glob("*.pickle")
    entry.chmod(0o666)  # an entry anyone may rewrite is not read either
    _load(folder, cache)
    assert len(parses) == 4


def test_the_same_text_elsewhere_names_its_own_file(tmp_path: Path,
                                                     parses: list[str]) -> None:
    cache = tmp_path / "cache"
    _load(_folder(tmp_path / "a"), cache)
    other = _folder(tmp_path / "b")
    definition = _load(other, cache).get("practice_review")
    assert len(parses) == 1
    assert definition.source == str(other / "practice_review.yaml")
    stored = WorkflowRegistry([], registry.DefinitionCache(cache)).parse(TEXT, "stored v4")
    assert stored.source == "stored v4" and len(parses) == 1


def test_old_entries_are_removed_beyond_the_limit(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "MAX_ENTRIES", 2)
    folder, cache = _folder(tmp_path), tmp_path / "cache"
    entries = []
    for age, title in enumerate(("One", "Two", "Three")):
        text = TEXT.replace("\ntitle:", f"\ntitle: {title} -", 1)
        _folder(tmp_path, text)
        _load(folder, cache)
        entries.append(registry.DefinitionCache(cache).entry(text))
        os.utime(entries[-1], (age, age))  # written in this order, clearly
    assert sorted(cache.glob("*.pickle")) == sorted(entries[1:])


def test_the_cache_folder_is_a_setting(tmp_path: Path) -> None:
    assert load_settings(environ={"SAFEGUARD_CACHE_DIR": str(tmp_path)}).workflow_cache \
        == tmp_path
    assert load_settings(environ={"SAFEGUARD_CACHE_DIR": "off"}).workflow_cache is None
    assert load_settings(environ={}).workflow_cache is not None  # the user's cache folder
    config = tmp_path / "s.toml"
    config.write_text("[workflows]\ncache = 5\n")
    with pytest.raises(UsageError, match=r"workflows\.cache"):
        load_settings(str(config), environ={})
