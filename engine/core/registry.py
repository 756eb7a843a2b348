"""The workflow definitions a deployment runs, each file parsed and checked once per content.

:class:`WorkflowRegistry` holds the current definition of each workflow in a folder of YAML
files, by name. A text is parsed by :mod:`engine.core.loader` only when neither this process
nor the :class:`DefinitionCache` on disk has its definition already, so a command whose files
are all cached imports no YAML parser and checks nothing again.

The cache keeps one pickled :class:`~engine.core.definition.WorkflowDef` per text, keyed by the
SHA-256 of the text and of the code that parses it (the loader, the definition types, the rule
grammar, the roles and the YAML library): an edited file, or an upgraded safeguard, misses.
Since a definition decides who may do what, the cache is trusted as the workflows folder is:
a folder or entry that anyone but its owner (or root) could write is not read, and entries are
unpickled into the definition's own dataclasses and nothing else. An entry that cannot be read
or is not the text's definition is ignored and rewritten; an entry is written whole or not at
all; a cache that cannot be written is no cache. Nothing here parses YAML or reads settings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import os
import pickle
import sys
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from engine.core import definition as definition_types
from engine.core.definition import WorkflowDef
from engine.core.errors import DefinitionError, Problem, UnknownWorkflowError

# A real workflow is a few hundred lines (the loader refuses a larger file).
MAX_FILE_BYTES = 256 * 1024
# Entries kept on disk: the newest, the rest removed when one is written (an edited file
# leaves its old entry behind).
MAX_ENTRIES = 64
# What a parsed definition depends on besides its text: these modules' source.
_PARSING_CODE = ("loader.py", "definition.py", "rules.py", "roles.py")


def read_definition(path: Path) -> str:
    """A definition file's text: bounded in size, UTF-8, or a :class:`DefinitionError`."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise DefinitionError([Problem(str(path), "(file)",
                                           f"larger than {MAX_FILE_BYTES} bytes")])
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError([Problem(str(path), "(file)", f"cannot read: {exc.strerror}")]) \
            from None
    except UnicodeDecodeError as exc:
        raise DefinitionError([Problem(str(path), "(file)", "not UTF-8 text (byte "
                                       f"{exc.start})")]) from None


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def _parsing_code() -> bytes:
    """A digest of the code that turns a text into a definition (once per process)."""
    digest = hashlib.sha256(f"{sys.version_info[:2]}".encode())
    here = Path(__file__).parent
    spec = importlib.util.find_spec("yaml")
    for path in [*(here / name for name in _PARSING_CODE),
                 *([Path(spec.origin)] if spec is not None and spec.origin else [])]:
        digest.update(path.read_bytes())
    return digest.digest()


def _owned_privately(info: os.stat_result) -> bool:
    """Owned by whoever runs the command (or root), writable by the owner alone."""
    return info.st_uid in (0, os.getuid()) and not info.st_mode & 0o022


class _DefinitionUnpickler(pickle.Unpickler):
    """Makes the definition's own frozen dataclasses and nothing else: no callable that a
    crafted file could name."""

    def find_class(self, module: str, name: str) -> Any:
        found = getattr(definition_types, name, None) \
            if module == definition_types.__name__ else None
        if isinstance(found, type) and dataclasses.is_dataclass(found):
            return found
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a workflow definition")


class DefinitionCache:
    """Parsed definitions in ``folder`` (made private if it is missing), one file per text."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._usable: bool | None = None

    def usable(self) -> bool:
        """The folder exists (or was made) and only its owner can write it, and the parsing
        code can be read to key the entries."""
        if self._usable is None:
            self._usable = False
            if hasattr(os, "getuid"):  # POSIX ownership; elsewhere no cache
                with contextlib.suppress(OSError):
                    _parsing_code()
                    self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                    self._usable = _owned_privately(self.folder.stat())
        return self._usable

    def entry(self, text: str) -> Path:
        key = hashlib.sha256(_parsing_code() + text.encode("utf-8")).hexdigest()
        return self.folder / f"{key}.pickle"

    def get(self, text: str) -> WorkflowDef | None:
        """The cached definition of ``text``, or None (absent, unreadable, not private,
        corrupt, or not this text's)."""
        if not self.usable():
            return None
        try:
            with open(self.entry(text), "rb") as handle:
                if not _owned_privately(os.fstat(handle.fileno())):
                    return None
                found = _DefinitionUnpickler(handle).load()
        except Exception:  # missing, truncated, corrupt or foreign: parsed again
            return None
        if not isinstance(found, WorkflowDef) or found.digest != digest_of(text):
            return None
        return found

    def put(self, text: str, definition: WorkflowDef) -> None:
        """Keep ``definition`` for ``text``: written beside, then renamed over (readers see
        the old entry or the new, never half of one)."""
        if not self.usable():
            return
        path = self.entry(text)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(definition, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial, path)
        except (OSError, pickle.PicklingError):
            with contextlib.suppress(OSError):
                partial.unlink()
            return
        self._prune()

    def _prune(self) -> None:
        with contextlib.suppress(OSError):
            entries = sorted(self.folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime)
            for old in entries[:-MAX_ENTRIES]:
                old.unlink()


# Definitions parsed in this process by (source, digest): however many engines or commands
# ask, a text is parsed once (definitions are frozen, so sharing them is safe).
_PARSED: dict[tuple[str, str], WorkflowDef] = {}


def parse(text: str, source: str, cache: DefinitionCache | None = None) -> WorkflowDef:
    """The definition ``text`` gives (``source`` names it, and its file in problems): from
    this process, then ``cache``, then the loader (whose result the cache then keeps)."""
    key = (source, digest_of(text))
    if key not in _PARSED:
        found = cache.get(text) if cache is not None else None
        if found is None:
            from engine.core.loader import load_text  # the YAML parser, only for a new text

            found = load_text(text, source)
            if cache is not None:
                cache.put(text, found)
        elif found.source != source:  # the same text elsewhere (a copy, a stored version)
            found = dataclasses.replace(found, source=source)
        _PARSED[key] = found
    return _PARSED[key]


class WorkflowRegistry:
    """The definitions found in a folder of YAML files, by name (the current version)."""

    def __init__(self, definitions: Iterable[WorkflowDef],
                 cache: DefinitionCache | None = None) -> None:
        self._by_name = {d.name: d for d in definitions}
        self.cache = cache

    @classmethod
    def from_directory(cls, folder: str | Path,
                       cache_dir: Path | None = None) -> WorkflowRegistry:
        """Every ``*.yaml`` in ``folder``; every problem in every file is raised together.
        ``cache_dir``: where parsed definitions are kept between commands (None: nowhere)."""
        cache = DefinitionCache(cache_dir) if cache_dir is not None else None
        problems: list[Problem] = []
        found: list[WorkflowDef] = []
        for path in sorted(Path(folder).glob("*.yaml")):
            try:
                found.append(parse(read_definition(path), str(path), cache))
            except DefinitionError as exc:
                problems.extend(exc.problems)
        if problems:
            raise DefinitionError(problems)
        return cls(found, cache)

    def parse(self, text: str, source: str) -> WorkflowDef:
        """A definition's text from elsewhere (a version stored in the database), cached as
        the folder's files are."""
        return parse(text, source, self.cache)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def current(self, name: str) -> WorkflowDef | None:
        """The current version of workflow ``name``; None if there is no such workflow."""
        return self._by_name.get(name)

    def get(self, name: str) -> WorkflowDef:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownWorkflowError(name, self._by_name) from None

    def __iter__(self) -> Iterator[WorkflowDef]:
        return iter(self._by_name.values())


__all__ = ["DefinitionCache", "WorkflowRegistry", "parse", "read_definition"]
