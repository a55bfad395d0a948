"""HTTP client for a tax system's invoice API (the simulator speaks the same protocol).

    GET {base_url}/api/v1/taxpayers/{credit_code}/invoices
        ?direction=issued|received&from=YYYY-MM-DD&to=YYYY-MM-DD&page=N&page_size=M
    Authorization: Bearer <token>
    → {"total": 1234, "page": N, "page_size": M, "invoices": [{...}, ...]}

A period is asked for one calendar month at a time (tax systems cap a query's span) and each month
page by page, so a month of thousands of invoices costs a handful of calls, never one per invoice.
Transient failures (5xx, 429, timeouts, refused connections) are retried with exponential backoff;
a 503 or 429 carrying `Retry-After` (seconds or an HTTP date) is waited out instead, capped by
`max_retry_after` so a tax system asking for an hour does not hold a worker for an hour. Everything
else fails at once. Every page is checked against the declared total, so a truncated
answer is an error instead of silently missing invoices.

Every call goes through `outage_portal.outbound`: the source's address is checked (no private
addresses unless the operator allows them), the page is read as a stream up to a byte cap, and
`timeout` is the deadline of the whole call. A failure tells members the status code or a short
reason, never what the other server answered.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote

from django.utils.translation import gettext as _

from outage_portal import outbound
from outage_portal.validators import is_digits

from . import SourceError

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_STATUS = frozenset({429, 503})
_sleep = time.sleep  # tests replace it to observe the backoff without waiting


@dataclass
class FetchedPeriod:
    """What the tax system returned for one query span (at most a calendar month)."""

    start: date
    end: date
    total: int = 0
    invoices: list[dict] = field(default_factory=list)
    pages: list[dict] = field(default_factory=list)


def month_spans(start: date, end: date) -> Iterator[tuple[date, date]]:
    """[start, end] cut at month boundaries: (11-20, 12-05) → (11-20, 11-30), (12-01, 12-05)."""
    current = start
    while current <= end:
        next_month = (current.replace(day=1) + timedelta(days=32)).replace(day=1)
        span_end = min(end, next_month - timedelta(days=1))
        yield current, span_end
        current = span_end + timedelta(days=1)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """The wait a Retry-After header asks for: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
    None when absent or unreadable; a date in the past means "now" (0)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if is_digits(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class TaxApiClient:
    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float,
        max_retries: int,
        page_size: int,
        backoff_seconds: float = 0.5,
        max_retry_after: float = 30,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.max_retries = max_retries
        self.page_size = page_size
        self.backoff_seconds = backoff_seconds
        self.max_retry_after = max_retry_after
        self.calls = 0

    def fetch(self, *, taxpayer: str, direction: str, start: date, end: date) -> list[FetchedPeriod]:
        if end < start:
            raise SourceError(_("The period ends before it starts."))
        return [
            self._fetch_span(taxpayer=taxpayer, direction=direction, start=span_start, end=span_end)
            for span_start, span_end in month_spans(start, end)
        ]

    def _fetch_span(self, *, taxpayer: str, direction: str, start: date, end: date) -> FetchedPeriod:
        url = f"{self.base_url}/api/v1/taxpayers/{quote(taxpayer)}/invoices"
        period = FetchedPeriod(start=start, end=end)
        page = 1
        declared_total = None
        while True:
            params = {
                "direction": direction,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "page": page,
                "page_size": self.page_size,
            }
            body = self._get(url, params, where=_("page %(page)d of %(start)s – %(end)s") % {
                "page": page, "start": start, "end": end})  # fmt: skip
            total, page_size, invoices = self._page_parts(body, page=page, start=start, end=end)
            if declared_total is None:
                declared_total = total
            elif total != declared_total:
                raise SourceError(
                    _(
                        "The tax system's total for %(start)s – %(end)s changed from %(before)d to %(after)d "
                        "while paging; its data is moving, try again later."
                    )
                    % {"start": start, "end": end, "before": declared_total, "after": total}
                )
            expected = max(0, min(page_size, total - (page - 1) * page_size))
            if len(invoices) != expected:
                raise SourceError(
                    _(
                        "The tax system's answer is truncated: page %(page)d of %(start)s – %(end)s holds "
                        "%(received)d invoices, but %(expected)d were due (declared total %(total)d)."
                    )
                    % {
                        "page": page,
                        "start": start,
                        "end": end,
                        "received": len(invoices),
                        "expected": expected,
                        "total": total,
                    }
                )
            period.pages.append(body)
            period.invoices.extend(invoices)
            if len(period.invoices) >= total:
                break
            page += 1
        period.total = declared_total or 0
        return period

    def _page_parts(self, body, *, page: int, start: date, end: date) -> tuple[int, int, list]:
        total = body.get("total") if isinstance(body, dict) else None
        invoices = body.get("invoices") if isinstance(body, dict) else None
        page_size = body.get("page_size", self.page_size) if isinstance(body, dict) else None
        valid = (
            isinstance(total, int)
            and total >= 0
            and isinstance(invoices, list)
            and isinstance(page_size, int)
            and page_size > 0
        )
        if not valid:
            raise SourceError(
                _(
                    "The tax system's answer for page %(page)d of %(start)s – %(end)s lacks "
                    "“total”, “page_size” or the “invoices” list."
                )
                % {"page": page, "start": start, "end": end}
            )
        return total, page_size, invoices

    def _get(self, url: str, params: dict, *, where: str):
        """One GET with retries on transient failures. Returns the decoded JSON body."""
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            self.calls += 1
            last_attempt = attempt == attempts
            wait = self.backoff_seconds * 2 ** (attempt - 1)
            try:
                response = outbound.request(
                    "GET",
                    url,
                    params=params,
                    headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
                    deadline=self.timeout,
                )
            except outbound.Refused as exc:
                # The address itself is refused: retrying cannot help.
                raise SourceError(
                    _("Could not reach the tax system at %(url)s: %(reason)s")
                    % {"url": self.base_url, "reason": exc.reason}
                )
            except outbound.TimedOut:
                if last_attempt:
                    raise SourceError(
                        _("The tax system did not answer within %(seconds)s s (%(where)s, %(attempts)d attempts).")
                        % {"seconds": self.timeout, "where": where, "attempts": attempts}
                    )
            except outbound.TooLarge as exc:
                raise SourceError(
                    _("The tax system's answer was refused (%(where)s): %(reason)s")
                    % {"where": where, "reason": exc.reason}
                )
            except outbound.OutboundError as exc:
                if last_attempt:
                    raise SourceError(
                        _("Could not reach the tax system at %(url)s (%(attempts)d attempts): %(error)s")
                        % {"url": self.base_url, "attempts": attempts, "error": exc.reason}
                    )
            else:
                if response.status_code in RETRYABLE_STATUS:
                    asked = None
                    if response.status_code in RETRY_AFTER_STATUS:
                        asked = retry_after_seconds(response.headers.get("retry-after"))
                    if asked is not None:
                        wait = min(asked, self.max_retry_after)
                    if last_attempt:
                        raise SourceError(
                            _("The tax system answered HTTP %(status)d (%(where)s, %(attempts)d attempts).")
                            % {"status": response.status_code, "where": where, "attempts": attempts}
                        )
                elif response.status_code in (401, 403):
                    raise SourceError(
                        _("The tax system refused the access token (HTTP %(status)d); check the source settings.")
                        % {"status": response.status_code}
                    )
                elif response.status_code != 200:
                    # Never the answer's text: it may be any page the address leads to.
                    raise SourceError(
                        _("The tax system rejected the request (HTTP %(status)d, %(where)s).")
                        % {"status": response.status_code, "where": where}
                    )
                else:
                    try:
                        return response.json()
                    except ValueError:
                        raise SourceError(_("The tax system's answer is not JSON (%(where)s).") % {"where": where})
            _sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover
