"""Writes for tax-system sources: a company's source settings, and fetching records into TaxRecord.

A fetch is all-or-nothing: every page is fetched and every record validated before anything is
written, then the ImportBatch (with the raw JSON kept like an uploaded file), the records and the
batch's counts are written in one transaction through the same bulk path as `import_file`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from invoices.imports.parsers import validate_row
from invoices.imports.services import WRITE_CHUNK, import_batch_succeed, records_write
from invoices.imports.staging import DEFAULT_TYPE
from invoices.models import (
    ACTIVE_FETCH_STATES,
    BatchState,
    Direction,
    ImportBatch,
    ImportKind,
    TaxFetch,
    TaxFetchState,
    TaxRecord,
    TaxSource,
)
from invoices.signals import import_batch_succeeded
from outage_portal import outbound
from outage_portal.jobs import jobs_sweep, lease_kept
from outage_portal.models import Company

from . import SourceError
from .client import FetchedPeriod, TaxApiClient

MAX_REPORTED_ERRORS = 3


@dataclass
class FetchReport:
    batch: ImportBatch | None  # None when the same records were fetched before (nothing changed)
    received: int
    created: int
    updated: int
    unchanged: int
    calls: int
    periods: int

    def as_dict(self) -> dict:
        return {
            "batch": self.batch.pk if self.batch else None,
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "calls": self.calls,
            "periods": self.periods,
        }

    def summary(self) -> str:
        return (
            f"received {self.received} in {self.calls} calls, created {self.created}, "
            f"updated {self.updated}, unchanged {self.unchanged}"
        )


def tax_source_save(
    *,
    company: Company,
    kind: str,
    base_url: str = "",
    credential: str | None = None,
    timeout_seconds: int | None = None,
    max_retries: int | None = None,
    page_size: int | None = None,
    user=None,
) -> TaxSource:
    """Create or change a company's source. `credential=None` (or "") keeps the stored one: it is
    never shown again, so a form left empty must not wipe it. But a token is only ever sent where it
    was entered for: a new scheme, host or port needs the token entered again."""
    with transaction.atomic():
        source = TaxSource.objects.select_for_update().filter(company=company).first() or TaxSource(company=company)
        before = _origin(source.url) if source.pk and source.is_fetchable else None
        source.kind = kind
        source.base_url = base_url.strip()
        if credential:
            source.credential = credential.strip()
        elif before is not None and source.is_fetchable and source.credential and _origin(source.url) != before:
            raise ValidationError(
                {
                    "credential": _(
                        "The address changed to another host, scheme or port: enter the access token again "
                        "(the stored one is only sent where it was entered for)."
                    )
                }
            )
        if source.is_fetchable and source.base_url:  # blank: the operator's own TAX_SIMULATOR_URL
            try:
                outbound.check_url(source.base_url)
            except outbound.Refused as exc:
                raise ValidationError(
                    {"base_url": _("This address cannot be used: %(reason)s") % {"reason": exc.reason}}
                )
        for name, value in (
            ("timeout_seconds", timeout_seconds),
            ("max_retries", max_retries),
            ("page_size", page_size),
        ):
            if value is not None:
                setattr(source, name, value)
        source.updated_by = user
        source.full_clean()
        if source.is_fetchable and not source.credential:
            raise ValidationError({"credential": _("An API or simulator source needs an access token.")})
        source.save()
    return source


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of an address, the unit a token is entered for."""
    parts = urlsplit(url or "")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def tax_records_fetch(
    *,
    company: Company,
    direction: str,
    start: date,
    end: date,
    user=None,
    notify: bool = True,
) -> FetchReport:
    """Fetch [start, end] from the company's API or simulator into TaxRecord.

    Raises SourceError and stores nothing when the source fails, sends a truncated page, an
    unreadable record, or nothing at all for a month that had records before. With `notify`, a fetch
    that changed records sends `import_batch_succeeded` (recovery reconciles the period)."""
    reports = tax_records_fetch_directions(
        company=company, directions=[direction], start=start, end=end, user=user, notify=notify
    )
    return reports[direction]


def tax_records_fetch_directions(
    *,
    company: Company,
    directions: list[str],
    start: date,
    end: date,
    user=None,
    notify: bool = True,
) -> dict[str, FetchReport]:
    """Fetch several directions as ONE all-or-nothing unit: every direction is fetched and validated
    before anything is written, and all are written in one transaction. If the received invoices fail
    after the issued ones arrived, nothing from this fetch is stored (the earlier records stay)."""
    unknown = [d for d in directions if d not in Direction.values]
    if unknown or not directions:
        raise ValueError(f"unknown directions {unknown or directions!r}")
    source = _fetchable(TaxSource.objects.filter(company=company).first(), company)
    client = TaxApiClient(
        base_url=source.url,
        token=source.credential,
        timeout=source.timeout_seconds,
        max_retries=source.max_retries,
        page_size=source.page_size,
        backoff_seconds=settings.TAX_SOURCE_RETRY_BACKOFF_MS / 1000,
        max_retry_after=settings.TAX_SOURCE_MAX_RETRY_AFTER_SECONDS,
    )
    try:
        fetched = []
        for direction in directions:
            calls_before = client.calls
            periods = client.fetch(taxpayer=company.credit_code, direction=direction, start=start, end=end)
            records = _validated(company=company, direction=direction, periods=periods)
            _refuse_implausibly_empty(company=company, direction=direction, periods=periods)
            fetched.append((direction, periods, records, client.calls - calls_before))
        with transaction.atomic():
            reports = {}
            for direction, periods, records, calls in fetched:
                reports[direction] = _store(
                    source=source, direction=direction, start=start, end=end, periods=periods, records=records,
                    user=user, notify=notify, calls=calls,
                )  # fmt: skip
    except SourceError as exc:
        TaxSource.objects.filter(pk=source.pk).update(last_fetch_at=timezone.now(), last_fetch_error=exc.reason)
        raise
    TaxSource.objects.filter(pk=source.pk).update(last_fetch_at=timezone.now(), last_fetch_error="")
    return reports


def _fetchable(source: TaxSource | None, company: Company) -> TaxSource:
    """The company's source, if it is one we can fetch from; else the reason there is nothing to fetch."""
    if source is None or not source.is_fetchable:
        raise SourceError(
            _("%(company)s takes its tax-system records from uploaded exports; there is nothing to fetch.")
            % {"company": company.name}
        )
    return source


def _validated(*, company: Company, direction: str, periods: list[FetchedPeriod]) -> dict[str, dict]:
    """Every record through the import's own row rules; any unreadable record fails the fetch."""
    own_side = "seller_tax_id" if direction == Direction.ISSUED else "buyer_tax_id"
    records: dict[str, dict] = {}
    problems: list[str] = []
    position = 0
    for period in periods:
        for raw in period.invoices:
            position += 1
            if not isinstance(raw, dict):
                problems.append(_("invoice %(n)d: not an object") % {"n": position})
                continue
            row = {name: raw.get(name) for name in (
                "invoice_code", "invoice_number", "digital_number", "seller_tax_id", "seller_name", "buyer_tax_id",
                "buyer_name", "amount", "tax", "total", "tax_rate", "invoice_type", "status")}  # fmt: skip
            row["issue_date"] = raw.get("issued_at") or raw.get("issue_date")
            values, errors = validate_row(position, row, default_type=DEFAULT_TYPE)
            if errors or values is None:
                problems.extend(
                    _("invoice %(n)d: %(column)s: %(reason)s") % {"n": position, "column": e.column, "reason": e.reason}
                    for e in errors
                )
                continue
            label = values["invoice_key"]
            if values[own_side] != company.credit_code:
                problems.append(
                    _("invoice %(key)s: %(field)s is %(value)s, not this company's %(code)s")
                    % {"key": label, "field": own_side, "value": values[own_side], "code": company.credit_code}
                )
            elif not period.start <= values["issue_date"] <= period.end:
                problems.append(
                    _("invoice %(key)s: issued %(date)s, outside the requested %(start)s – %(end)s")
                    % {"key": label, "date": values["issue_date"], "start": period.start, "end": period.end}
                )
            elif label in records:
                problems.append(_("invoice %(key)s: sent twice") % {"key": label})
            else:
                records[label] = values
    if problems:
        raise SourceError(
            _("The tax system sent %(count)d unreadable invoices, e.g. %(examples)s")
            % {"count": len(problems), "examples": "; ".join(problems[:MAX_REPORTED_ERRORS])}
        )
    return records


def _refuse_implausibly_empty(*, company: Company, direction: str, periods: list[FetchedPeriod]) -> None:
    """Nothing at all for a month that had records before is a broken source, not a quiet month:
    storing it would turn every invoice of that month into a false "only in our books" gap."""
    empty = [period for period in periods if not period.invoices]
    if not empty:
        return
    seen_before = {
        row["month"]: row["n"]
        for row in TaxRecord.objects.filter(
            company=company, direction=direction, issue_date__range=(empty[0].start, empty[-1].end)
        )
        .annotate(month=TruncMonth("issue_date"))
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
    }
    for period in empty:
        month = period.start.replace(day=1)
        count = seen_before.get(month, 0)
        if count:
            raise SourceError(
                _(
                    "The tax system returned no invoices for %(start)s – %(end)s, although %(count)d were seen "
                    "there before; nothing was stored. Try again once the tax system is back."
                )
                % {"start": period.start, "end": period.end, "count": count}
            )


def _store(
    *,
    source: TaxSource,
    direction: str,
    start: date,
    end: date,
    periods: list[FetchedPeriod],
    records: dict[str, dict],
    user,
    notify: bool,
    calls: int,
) -> FetchReport:
    company = source.company
    raw = json.dumps(
        {
            "source": source.url,
            "taxpayer": company.credit_code,
            "direction": direction,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "periods": [
                {"from": p.start.isoformat(), "to": p.end.isoformat(), "total": p.total, "pages": p.pages}
                for p in periods
            ],
        },
        ensure_ascii=False,
        sort_keys=True,
        indent=1,
    ).encode()
    sha256 = hashlib.sha256(raw).hexdigest()
    now = timezone.now()
    report = FetchReport(
        batch=None, received=len(records), created=0, updated=0, unchanged=0, calls=calls, periods=len(periods)
    )
    with transaction.atomic():
        # One fetch per company at a time: two concurrent ones would race on the unique invoice keys.
        TaxSource.objects.select_for_update().filter(pk=source.pk).first()
        previous = (
            ImportBatch.objects.filter(
                company=company, kind=ImportKind.TAX_FETCH, direction=direction, state=BatchState.SUCCEEDED
            )
            .order_by("-created_at", "-pk")
            .first()
        )
        if previous is None or previous.sha256 != sha256:
            batch = ImportBatch.objects.create(
                company=company,
                kind=ImportKind.TAX_FETCH,
                direction=direction,
                state=BatchState.RUNNING,
                original_name=f"tax-fetch-{company.credit_code}-{direction}-{start:%Y%m%d}-{end:%Y%m%d}.json",
                sha256=sha256,
                size=len(raw),
                created_by=user,
            )
            written = records_write(batch=batch, records=records.values())
            report.created, report.updated, report.unchanged = written.created, written.updated, written.unchanged
            import_batch_succeed(
                batch=batch,
                merged=written,
                rows_read=len(records),
                # Kept like an uploaded original, so the integrity check re-hashes it too.
                storage_name=storages["private"].save(
                    f"imports/{company.pk}/{batch.pk}-{sha256[:16]}", ContentFile(raw)
                ),
            )
            batch.refresh_from_db()
            report.batch = batch
            if notify and (report.created or report.updated):
                transaction.on_commit(lambda: import_batch_succeeded.send(sender=ImportBatch, batch=batch))
        else:
            report.unchanged = len(records)
        # Everything the tax system showed now was seen now, changed or not.
        keys = list(records)
        for offset in range(0, len(keys), WRITE_CHUNK):
            TaxRecord.objects.filter(
                company=company, direction=direction, invoice_key__in=keys[offset : offset + WRITE_CHUNK]
            ).update(seen_at=now)
    return report


# --- "Fetch now": queued fetches the worker runs ------------------------------------------------------
@dataclass
class FetchRequest:
    fetches: list[TaxFetch]  # the queued or running fetch of each direction asked for
    started: list[TaxFetch]  # those this request queued (the others were already on their way)


def tax_fetch_request(
    *, company: Company, user=None, directions: list[str] | None = None, language: str = ""
) -> FetchRequest:
    """Queue a fetch of the default period for each direction (both by default) and run it on the
    worker after commit. A direction with a fetch already queued or running gets no second one.
    A person (`user`) must be an accountant or company admin of the company."""
    from invoices import sources
    from invoices.forms import IMPORT_ROLES
    from outage_portal.roles import has_role

    if user is not None and not has_role(user, company, *IMPORT_ROLES):
        raise PermissionDenied(_("Only accountants and company admins of this company fetch from the tax system."))

    directions = directions or list(Direction.values)
    start, end = sources.default_period()
    stale_before = timezone.now() - timedelta(minutes=settings.TAX_FETCH_STALE_MINUTES)
    with transaction.atomic():
        # Serialises clicks on the same company: the second one waits here and then sees the first's rows.
        _fetchable(TaxSource.objects.select_for_update().filter(company=company).first(), company)
        TaxFetch.objects.filter(company=company, state__in=ACTIVE_FETCH_STATES, created_at__lt=stale_before).exclude(
            state=TaxFetchState.RUNNING,
            lease_expires_at__gte=timezone.now(),  # its worker is still at it
        ).update(
            state=TaxFetchState.FAILED,
            finished_at=timezone.now(),
            failure_reason=_("Abandoned: no worker finished it within %(minutes)d minutes.")
            % {"minutes": settings.TAX_FETCH_STALE_MINUTES},
        )
        on_their_way = TaxFetch.objects.filter(company=company, direction__in=directions, state__in=ACTIVE_FETCH_STATES)
        active = {fetch.direction: fetch for fetch in on_their_way}
        request = FetchRequest(fetches=[], started=[])
        for direction in directions:
            fetch = active.get(direction)
            if fetch is None:
                fetch = TaxFetch(
                    company=company,
                    direction=direction,
                    period_start=start,
                    period_end=end,
                    created_by=user,
                    language=language or translation.get_language() or "",
                )
                fetch.full_clean()
                fetch.save()
                request.started.append(fetch)
                tax_fetch_enqueue(fetch.pk)
            request.fetches.append(fetch)
    return request


def tax_fetch_execute(*, fetch_id: int) -> TaxFetch:
    """Run a queued fetch. Safe to run twice: a finished fetch is left alone, one another worker
    holds (its lease not expired) too, and fetching the same records again changes nothing. Only this
    claim may record the outcome. A fetch that changes records queues a reconciliation (signal)."""
    token = TaxFetch.objects.claim(
        fetch_id, waiting=(TaxFetchState.QUEUED,), running=TaxFetchState.RUNNING, started_at=timezone.now()
    )
    fetch = TaxFetch.objects.select_related("company", "created_by").get(pk=fetch_id)
    if token is None:
        return fetch
    with (
        translation.override(fetch.language or settings.LANGUAGE_CODE),
        lease_kept(TaxFetch, fetch_id, token, running=TaxFetchState.RUNNING),
    ):
        try:
            report = tax_records_fetch(
                company=fetch.company,
                direction=fetch.direction,
                start=fetch.period_start,
                end=fetch.period_end,
                user=fetch.created_by,
            )
        except SourceError as exc:
            _finish(fetch_id, token, state=TaxFetchState.FAILED, failure_reason=exc.reason)
        except Exception:
            _finish(
                fetch_id,
                token,
                state=TaxFetchState.FAILED,
                failure_reason=_("The fetch failed unexpectedly; the error is in the worker's log."),
            )
            raise
        else:
            _finish(
                fetch_id,
                token,
                state=TaxFetchState.SUCCEEDED,
                batch=report.batch,
                rows_received=report.received,
                rows_created=report.created,
                rows_updated=report.updated,
                rows_unchanged=report.unchanged,
            )
    fetch.refresh_from_db()
    return fetch


def _finish(fetch_id: int, token: str, **result) -> None:
    # A worker whose lease expired (another took the fetch over) records nothing; what it stored is
    # the same records the other stores again, which changes nothing.
    TaxFetch.objects.release(fetch_id, token, running=TaxFetchState.RUNNING, finished_at=timezone.now(), **result)


def tax_fetch_enqueue(fetch_id: int) -> None:
    """Hand the fetch to the fetches queue (after commit) and note when, for the sweeper."""
    from .tasks import tax_fetch_execute_task

    TaxFetch.objects.filter(pk=fetch_id).update(enqueued_at=timezone.now())
    transaction.on_commit(lambda: tax_fetch_execute_task.delay(fetch_id))


def tax_fetches_sweep() -> dict[str, list[int]]:
    """Queue again the fetches nobody works on (expired lease, lost message); see `jobs_sweep`."""
    return jobs_sweep(
        TaxFetch,
        waiting=TaxFetchState.QUEUED,
        running=TaxFetchState.RUNNING,
        failed=TaxFetchState.FAILED,
        enqueue=tax_fetch_enqueue,
        failure_reason=lambda: _("The fetch was interrupted too many times (its worker stopped each time)."),
    )
