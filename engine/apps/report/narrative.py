"""The partnership's own words for the annual report: Markdown files in a folder (see
:data:`engine.apps.report.document.NARRATIVE` for their names), rendered with markdown-it-py
(raw HTML in them is shown as text, not passed through)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.apps.report.document import NARRATIVE
from engine.core.errors import UsageError


def read_folder(folder: str | Path | None) -> dict[str, str]:
    """The narrative texts found in ``folder`` (key -> Markdown); a missing file is left out
    (the report shows a placeholder for it)."""
    if folder is None:
        return {}
    path = Path(folder)
    if not path.is_dir():
        raise UsageError(f"--narrative {folder}: no such folder (it should hold "
                         f"{', '.join(NARRATIVE.values())})")
    out = {}
    for key, name in NARRATIVE.items():
        file = path / name
        if file.is_file():
            try:
                out[key] = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"--narrative: cannot read {name}: {exc}") from None
    return out


def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


DEMOTE = 2  # the narrative's headings sit below its chapter's (h2): '#' is h3


def to_html(text: str) -> str:
    md = _parser()
    tokens = md.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1:]) + DEMOTE, 6)}"
    return str(md.renderer.render(tokens, md.options, {}))


def demoted(text: str) -> str:
    """The Markdown with its ATX headings moved below its chapter's ('#' -> '###')."""
    out, fence = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        if not fence and line.startswith("#"):
            line = "#" * DEMOTE + line
        out.append(line)
    return "\n".join(out)


def blocks(text: str) -> list[tuple[str, str]]:
    """The text as (kind, words) blocks for a word processor: ``heading1``..``heading6``,
    ``bullet``, ``number``, ``quote`` or ``paragraph``; inline markup dropped."""
    out: list[tuple[str, str]] = []
    lists: list[str] = []
    quote = 0
    heading: str | None = None
    for token in _parser().parse(text):
        if token.type == "bullet_list_open":
            lists.append("bullet")
        elif token.type == "ordered_list_open":
            lists.append("number")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif token.type == "blockquote_open":
            quote += 1
        elif token.type == "blockquote_close":
            quote -= 1
        elif token.type == "heading_open":
            heading = f"heading{min(int(token.tag[1:]) + DEMOTE, 6)}"
        elif token.type == "inline":
            words = "".join(c.content if c.type in ("text", "code_inline") else
                            (" " if c.type in ("softbreak", "hardbreak") else "")
                            for c in token.children or [])
            kind = heading or (lists[-1] if lists else "quote" if quote else "paragraph")
            out.append((kind, words))
            heading = None
    return out
