"""The web application's address is one setting: emails' links and sign-in links agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.core.accounts import WebSettings
from engine.core.errors import UsageError
from engine.core.settings import load_settings


def _settings(tmp_path: Path, text: str) -> tuple[str, str]:
    config = tmp_path / "s.toml"
    config.write_text(text)
    config.chmod(0o600)
    settings = load_settings(str(config), database_url="sqlite:///" + str(tmp_path / "x.db"),
                             environ={})
    return settings.notifications.base_url, WebSettings.from_raw(settings.raw).base_url


def test_web_base_url_is_used_by_emails_and_sign_in_links(tmp_path: Path) -> None:
    assert _settings(tmp_path, '[web]\nbase_url = "https://sg.example.org/"\n') == (
        "https://sg.example.org", "https://sg.example.org")


def test_the_default_is_where_serve_listens(tmp_path: Path) -> None:
    assert _settings(tmp_path, "") == ("http://127.0.0.1:8000", "http://127.0.0.1:8000")


def test_an_older_notifications_base_url_still_sets_both(tmp_path: Path) -> None:
    assert _settings(tmp_path, '[notifications]\nbase_url = "https://old.example.org"\n') == (
        "https://old.example.org", "https://old.example.org")


@pytest.mark.parametrize("text, words", [
    ('[web]\nbase_url = "https://a.example"\n[notifications]\nbase_url = "https://b.example"\n',
     "differ: set only [web] base_url"),
    ('[web]\nbase_url = "sg.example.org"\n', "[web] base_url must be the web application's"),
])
def test_a_disagreeing_or_malformed_address_is_refused(tmp_path: Path, text: str,
                                                       words: str) -> None:
    with pytest.raises(UsageError, match=words.replace("[", r"\[").replace("]", r"\]")):
        _settings(tmp_path, text)
