"""Free text as stored: line breaks and tabs are kept (a browser's CR LF becomes LF), other
control characters and bidirectional overrides are refused, and every text has a bound."""

from __future__ import annotations

import pytest

from engine.core.definition import FieldDef
from engine.core.errors import FieldError
from engine.core.fields import MAX_TEXT, check_note, parse_value


def test_a_multi_line_note_from_a_browser_is_kept_with_plain_line_breaks() -> None:
    assert check_note("first line\r\nsecond\tline") == "first line\nsecond\tline"


@pytest.mark.parametrize("text", ["a\rb", "a\x1b[2Jb", "a\x00b", "a\u202eb", "a\u2028b"])
def test_characters_that_rewrite_what_a_reader_sees_are_refused(text: str) -> None:
    with pytest.raises(FieldError, match="control character U\\+"):
        check_note(text)
    with pytest.raises(FieldError, match="field 'label'"):
        parse_value(FieldDef("label", "text"), text)


def test_text_without_a_bound_of_its_own_has_one() -> None:
    field = FieldDef("label", "text")
    assert parse_value(field, "x" * MAX_TEXT) == "x" * MAX_TEXT
    with pytest.raises(FieldError, match=f"at most {MAX_TEXT}"):
        parse_value(field, "x" * (MAX_TEXT + 1))
