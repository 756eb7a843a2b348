"""Case field values: parse what a user typed, check it against its FieldDef, and turn the
stored form (JSON strings) back into dates and instants. Pure."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping

from engine.core.clock import as_utc, parse_date, parse_instant
from engine.core.definition import FieldDef
from engine.core.errors import BadDateError, FieldError, did_you_mean, one_of

Stored = str  # every field is stored as a string: ISO dates and UTC instants, choices, text

# Free text without a bound of its own: a note on a step (the web form's limit), a text field
# whose definition sets no max_length.
MAX_NOTE = 2000
MAX_TEXT = 10_000
# Characters that would let stored text rewrite a terminal line or reorder what a reader sees:
# control characters (line breaks and tabs apart), line separators, bidirectional overrides.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069]")


def check_text(what: str, value: str, limit: int) -> str:
    """Free text as it is stored: line breaks (a browser's CR LF becomes LF) and tabs are
    kept; other control characters, and text longer than ``limit``, are refused."""
    text = value.replace("\r\n", "\n")
    hidden = _HIDDEN.search(text)
    if hidden is not None:
        raise FieldError(what, f"{what} contains the control character "
                         f"U+{ord(hidden.group()):04X}: use plain text")
    if len(text) > limit:
        raise FieldError(what, f"{what} is {len(text)} characters long; at most {limit} "
                         "allowed")
    return text


def check_note(note: str | None) -> str | None:
    return None if note is None else check_text("the note", note, MAX_NOTE)


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """['a=1', 'b=x=y'] -> {'a': '1', 'b': 'x=y'}; a pair without '=' is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise FieldError(pair, f"'{pair}' is not FIELD=VALUE, e.g. notified_on=2024-06-07")
        out[name.strip()] = value.strip()
    return out


def parse_value(field: FieldDef, raw: str) -> Stored:
    """The stored form of ``raw`` for ``field``, or a FieldError saying what is allowed."""
    if raw == "":
        raise FieldError(field.name, f"field '{field.name}' needs a value")
    try:
        if field.type == "date":
            return parse_date(raw).isoformat()
        if field.type == "datetime":
            return parse_instant(raw).isoformat()
    except BadDateError as exc:
        raise FieldError(field.name, f"field '{field.name}': {exc}") from None
    if field.type == "choice":
        if raw not in field.choices:
            raise FieldError(field.name, f"field '{field.name}' must be one of: "
                             f"{one_of(field.choices)}; got '{raw}'"
                             f"{did_you_mean(raw, field.choices)}")
        return raw
    if field.max_length is not None and len(raw) > field.max_length:
        raise FieldError(field.name, f"field '{field.name}' is {len(raw)} characters long; "
                         f"at most {field.max_length} allowed")
    raw = check_text(f"field '{field.name}'", raw, field.max_length or MAX_TEXT)
    if field.pattern is not None and not re.fullmatch(field.pattern, raw):
        raise FieldError(field.name, f"field '{field.name}' does not look like a valid "
                         f"{field.description or field.name} (pattern {field.pattern})")
    return raw


def parse_values(fields: Mapping[str, FieldDef], raw: Mapping[str, str],
                 requires: Iterable[str], accepts: Iterable[str], action: str,
                 ) -> dict[str, Stored]:
    """Check a set of assignments against what ``action`` requires and accepts."""
    requires, accepts = list(requires), list(accepts)
    allowed = requires + accepts
    for name in raw:
        if name not in allowed:
            hint = f"{action} takes: {one_of(allowed)}" if allowed else f"{action} takes no fields"
            raise FieldError(name, f"field '{name}' is not taken by {action}"
                             f"{did_you_mean(name, allowed)}; {hint}")
    missing = [name for name in requires if name not in raw]
    if missing:
        example = " ".join(f"--set {m}=..." for m in missing)
        wanted = ", ".join(f"'{fields[m].title}'" if m in fields else m for m in missing)
        raise FieldError(missing[0], f"{action} requires {wanted}", cli=f"add {example}")
    return {name: parse_value(fields[name], value) for name, value in raw.items()}


def typed(field: FieldDef, stored: Stored) -> dt.date | dt.datetime | str:
    if field.type == "date":
        return dt.date.fromisoformat(stored)
    if field.type == "datetime":
        return as_utc(dt.datetime.fromisoformat(stored))
    return stored
