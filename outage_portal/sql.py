"""Helpers for the raw SQL that set-based code runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def statement_settings(cursor, settings: dict[str, str]) -> Iterator[None]:
    """PostgreSQL settings (`{"work_mem": "'64MB'"}`) for the statements run inside, back to the
    session's after them while the transaction goes on. Nothing on SQLite, which has no such settings.
    A statement failing inside leaves them set until the transaction (or savepoint) is rolled back."""
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        for setting, value in settings.items():
            cursor.execute(f"SET LOCAL {setting} = {value}")
    yield
    if postgresql:
        for setting in settings:
            cursor.execute(f"RESET {setting}")
