"""outage_portal.sql: PostgreSQL settings for a few statements, or for the rest of a transaction."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from outage_portal.sql import statement_settings, transaction_settings

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="settings are PostgreSQL's"),
]


def _shown(cursor, setting: str) -> str:
    cursor.execute(f"SHOW {setting}")
    return cursor.fetchone()[0]


def test_statement_settings_hold_inside_and_give_back_what_the_caller_had_set():
    with transaction.atomic(), connection.cursor() as cursor:
        transaction_settings(cursor, {"work_mem": "32MB"})  # the caller's own, for its transaction
        with statement_settings(cursor, {"work_mem": "64MB", "enable_seqscan": "off"}):
            assert (_shown(cursor, "work_mem"), _shown(cursor, "enable_seqscan")) == ("64MB", "off")
        assert (_shown(cursor, "work_mem"), _shown(cursor, "enable_seqscan")) == ("32MB", "on")

