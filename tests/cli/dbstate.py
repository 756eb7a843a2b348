"""Every row of every table, as comparable text: "nothing was written" on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text


def dump(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out: list[str] = []
            for table in sorted(inspect(conn).get_table_names()):
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                out += sorted(f"{table}: {tuple(row)!r}" for row in rows)
            return out
    finally:
        engine.dispose()
