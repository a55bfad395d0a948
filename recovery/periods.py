"""Reconciliation periods as people type them: a day (2025-11-05) or a month (2025-11), and the
default period, which is the span of the company's records so that "import, then reconcile" compares
what was imported."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from outage_portal.validators import moment_allowed, moment_out_of_range

DEFAULT_PERIOD_DAYS = 90
_DAY = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*$")
_MONTH = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})\s*$")


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last DEFAULT_PERIOD_DAYS days: what the schedule compares every night."""
    today = today or timezone.localdate()
    return today - timedelta(days=DEFAULT_PERIOD_DAYS), today


def is_month(text: str) -> bool:
    return bool(_MONTH.match(text or ""))


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def parse_day(text: str, *, field: str, end: bool = False) -> date:
    """A day, or a month standing for its first day (its last day when `end`)."""
    value = (text or "").strip()
    try:
        if m := _DAY.match(value):
            day = date(int(m[1]), int(m[2]), int(m[3]))
        elif m := _MONTH.match(value):
            first, last = month_bounds(int(m[1]), int(m[2]))
            day = last if end else first
        else:
            raise ValueError
    except ValueError:
        raise ValidationError(
            {field: _("%(value)s is not a date: write 2025-11-05, or 2025-11 for a month.") % {"value": value}}
        ) from None
    if not moment_allowed(day):
        raise ValidationError({field: moment_out_of_range()})
    return day


def parse_period(*, start: str = "", end: str = "", month: str = "") -> tuple[date | None, date | None]:
    """The period asked for by text; None for a side not given (the records' span fills it in).

    `month` (2025-11) covers that month; so does a month given as `start` with no `end`.
    """
    start, end, month = (start or "").strip(), (end or "").strip(), (month or "").strip()
    if month:
        if start or end:
            raise ValidationError({"month": _("Give either a month or a start and end date, not both.")})
        if not is_month(month):
            raise ValidationError({"month": _("%(value)s is not a month: write 2025-11.") % {"value": month}})
        first = parse_day(month, field="month")
        return first, parse_day(month, field="month", end=True)
    if start and not end and is_month(start):
        return parse_day(start, field="start"), parse_day(start, field="start", end=True)
    first = parse_day(start, field="start") if start else None
    last = parse_day(end, field="end", end=True) if end else None
    if first and last and last < first:
        raise ValidationError({"end": _("The period must end on or after its start.")})
    return first, last


def records_span(*, company_id: int, direction: str) -> tuple[date, date] | None:
    """First and last date among our invoices, the tax system's records and our orders (None: none)."""
    from invoices.models import Invoice, Order, TaxRecord

    days = []
    for model, field in ((Invoice, "issue_date"), (TaxRecord, "issue_date"), (Order, "order_date")):
        span = model.objects.filter(company_id=company_id, direction=direction).aggregate(
            first=Min(field), last=Max(field)
        )
        days += [d for d in span.values() if d is not None]
    return (min(days), max(days)) if days else None


def fill_period(*, company_id: int, direction: str, start: date | None, end: date | None) -> tuple[date, date, bool]:
    """The period a run covers: what was asked, with missing sides taken from the records' span.

    With no side asked, the run covers the records' span (the newest RECONCILIATION_MAX_SPAN_DAYS of
    it when longer; with no record at all, the default period, so the tax system can still be asked).
    Returns (start, end, whether the period came from the records)."""
    if start is not None and end is not None:
        return start, end, False
    span = records_span(company_id=company_id, direction=direction)
    if span is None:
        first, last = default_period()
    else:
        first, last = span
    if start is None and end is None:
        longest = timedelta(days=settings.RECONCILIATION_MAX_SPAN_DAYS - 1)
        return max(first, last - longest), last, span is not None
    if start is None:
        return min(first, end), end, False
    return start, max(last, start), False


def chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Consecutive periods of at most RECONCILIATION_MAX_SPAN_DAYS covering start..end."""
    step = timedelta(days=settings.RECONCILIATION_MAX_SPAN_DAYS)
    out = []
    while start <= end:
        out.append((start, min(end, start + step - timedelta(days=1))))
        start += step
    return out
