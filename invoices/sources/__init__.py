"""Tax-system sources: where `TaxRecord`s come from (export upload, HTTP API, simulator).

The contract recovery relies on: `refresh_tax_records` pulls a company's records for a period from
its configured fetchable source (API or simulator) into `TaxRecord`, or returns None when the
company has none (its records come from uploaded exports). A failing source raises `SourceError`
with a reason a person can read, and stores nothing partial.
"""

from __future__ import annotations

from datetime import date


class SourceError(Exception):
    """The tax-system source failed (outage, timeout, truncated or implausible data)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def refresh_tax_records(*, company, direction: str, start: date, end: date, user=None):
    """Fetch [start, end] from the company's fetchable source; None when it has none. Issue 5 fills it."""
    return None
