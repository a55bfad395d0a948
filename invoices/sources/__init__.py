"""Tax-system sources: where `TaxRecord`s come from (export upload, HTTP API, simulator).

Each company chooses one in its settings (`TaxSource`). Uploaded exports go through
`invoices.imports.services.import_file`; the API and the simulator speak the same paged JSON protocol
(`client.TaxApiClient`) and are fetched by `fetch.tax_records_fetch`.

The contract recovery relies on: `refresh_tax_records` pulls a company's records for a period from
its configured fetchable source (API or simulator) into `TaxRecord`, or returns None when the
company has none (its records come from uploaded exports). A failing source raises `SourceError`
with a reason a person can read, and stores nothing partial.
"""

from __future__ import annotations

from datetime import date, timedelta

DEFAULT_FETCH_DAYS = 90  # the same span recovery reconciles by default


class SourceError(Exception):
    """The tax-system source failed (outage, timeout, truncated or implausible data)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = str(reason)


def default_period(today: date | None = None) -> tuple[date, date]:
    from django.utils import timezone

    today = today or timezone.localdate()
    return today - timedelta(days=DEFAULT_FETCH_DAYS), today


def refresh_tax_records(*, company, direction: str, start: date, end: date, user=None):
    """Fetch [start, end] from the company's fetchable source into TaxRecord and return the
    `FetchReport`; None when the company uploads exports instead. Raises SourceError, storing nothing,
    when the source fails. Sends no "import succeeded" signal: the caller reconciles next anyway."""
    from invoices.models import TaxSource

    from .fetch import tax_records_fetch

    source = TaxSource.objects.filter(company=company).first()
    if source is None or not source.is_fetchable:
        return None
    return tax_records_fetch(company=company, direction=direction, start=start, end=end, user=user, notify=False)
