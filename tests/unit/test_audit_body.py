"""The text a record's hash covers, written out by hand for plain values (``plain_body``), is
json.dumps' text for every kind of value a record holds; the hash is the one it always was."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

import pytest

from engine.core.audit import (
    chain_hash,
    entry_body,
    entry_hash,
    hashed_at,
    hashed_detail,
    plain_body,
)
from tests.audit_reference import reference_hash

AT = dt.datetime(2024, 6, 3, 9, 0, tzinfo=dt.UTC)
LONDON_SUMMER = dt.timezone(dt.timedelta(hours=1))
VALUES: list[tuple[Any, ...]] = [  # seq, at, actor, action, outcome, case_ref, workflow, command
    (1, AT, "amy", "case.open", "ok", "PR-1", "practice_review", "case open PR-1"),
    (2, AT.replace(microsecond=123456), "bob", "audit.log", "refused", None, None, None),
    (10**12, dt.datetime(1, 1, 1, tzinfo=dt.UTC), "zoë", "case.show", "ok", "PR-“2”", "mace",
     'say "hi" \\ back\n\ttab \x00 \u2028 😀'),
    (7, dt.datetime(2024, 6, 3, 10, 0, 0, 1, tzinfo=LONDON_SUMMER), "", "", "", "", "", ""),
]
DETAILS: list[Any] = [
    {},
    {"fields": ["child_ref", "label"], "area": "north"},
    {"z": {"b": [1, 2.5, None, True], "a": "é"}, "steps": [{"to": "x", "from": "y"}]},
    {"when": dt.date(2024, 6, 3), "count": 3, "ratio": 1e-7, "big": 10**30},  # default=str
    {"": "", "\"": "\\", "é": "\u2028"},
]


@pytest.mark.parametrize("values", VALUES)
@pytest.mark.parametrize("detail", DETAILS)
def test_the_hand_written_body_is_json_dumps_text(values: tuple[Any, ...],
                                                  detail: Any) -> None:
    seq, at, *rest = values
    expected = entry_body(seq, at, *rest, detail)
    assert plain_body(seq, hashed_at(at), *rest, hashed_detail(detail)) == expected
    assert entry_hash(seq, at, *rest, detail, "p" * 64) == \
        reference_hash(seq, at, *rest, detail, "p" * 64)


@pytest.mark.parametrize("seq", [True, 2.0, float("nan"), "3", None])
def test_a_sequence_number_that_is_no_int_is_left_to_json_dumps(seq: Any) -> None:
    with pytest.raises(TypeError):
        plain_body(seq, hashed_at(AT), "amy", "a", "ok", None, None, None, "{}")


@pytest.mark.parametrize("field", range(2, 8))
def test_a_value_that_is_no_string_is_left_to_json_dumps(field: int) -> None:
    values: list[Any] = [1, hashed_at(AT), "amy", "a", "ok", None, None, None, "{}"]
    values[field] = b"bytes"
    with pytest.raises(TypeError):
        plain_body(*values)


@pytest.mark.parametrize("key", [None, b"", b"partnership secret", b"\x00" * 100])
def test_the_hash_is_the_one_it_always_was(key: bytes | None) -> None:
    body = entry_body(1, AT, "amy", "case.open", "ok", "PR-1", None, None, {"a": 1})
    message = f"{'0' * 64}\n{body}".encode()
    expected = hmac.new(key, message, hashlib.sha256).hexdigest() if key \
        else hashlib.sha256(message).hexdigest()
    assert chain_hash("0" * 64, body, key) == expected
