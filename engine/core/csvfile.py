"""Reading a CSV file a partnership uploads (the plan, the figures): its header checked against
the columns expected, then each data row with its row number. Every problem is one
:class:`UsageError` naming the row; blank rows are skipped."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from engine.core.errors import UsageError, did_you_mean


def csv_records(text: str, columns: Sequence[str], what: str,
                ) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, cells by column name) for each data row of ``text``, a CSV whose first
    row names ``columns`` in any order ("Due on" reads as ``due_on``); ``what`` names the file
    in messages ("the plan file")."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise UsageError(f"{what} is empty: its first row names the columns "
                         f"{', '.join(columns)}") from None
    names = [h.strip().lower().replace(" ", "_") for h in header]
    for name in names:
        if name not in columns:
            raise UsageError(f"row 1: unknown column '{name}'{did_you_mean(name, columns)}; "
                             f"the columns are {', '.join(columns)}")
    missing = [c for c in columns if c not in names]
    if missing:
        raise UsageError(f"row 1: the column(s) {', '.join(missing)} are missing; the columns "
                         f"are {', '.join(columns)}")
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(names):
                raise UsageError(f"row {number}: {len(cells)} cells where the header names "
                                 f"{len(names)}")
            yield number, dict(zip(names, cells, strict=True))
    except csv.Error as exc:
        raise UsageError(f"row {reader.line_num}: not CSV ({exc})") from None


__all__ = ["csv_records"]
