"""Helpers for the raw SQL that set-based code runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from django.db import connection


def transaction_settings(cursor, settings: Mapping[str, str]) -> None:
    """PostgreSQL settings (`{"work_mem": "64MB"}`) for the rest of the current transaction, as
    SET LOCAL gives them. Nothing on SQLite, which has no such settings."""
    if connection.vendor == "postgresql" and settings:
        cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(settings)), _pairs(settings))


@contextmanager
def statement_settings(cursor, settings: Mapping[str, str]) -> Iterator[None]:
    """PostgreSQL settings for the statements run inside, then back to what they were (a caller's
    own SET LOCAL included) while the transaction goes on. Nothing on SQLite.
    A statement failing inside leaves them set until the transaction (or savepoint) is rolled back."""
    if connection.vendor != "postgresql" or not settings:
        yield
        return
    cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(settings)), list(settings))
    before = dict(zip(settings, cursor.fetchone(), strict=True))
    transaction_settings(cursor, settings)
    yield
    transaction_settings(cursor, before)


def _pairs(settings: Mapping[str, str]) -> list[str]:
    return [part for setting, value in settings.items() for part in (setting, value)]
