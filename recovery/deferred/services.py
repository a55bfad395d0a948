"""Writes for deferred-filing applications: the review workflow of reissue requests (its steps and
rules are recovery/reissue/services.py's), with the incident timeline frozen at submission."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from outage_portal.models import Company

from ..reissue.services import (
    APPROVE,
    CLOSE_FILED,
    RETURN,
    SUBMIT,
    _require_drafter,
    _save_draft,
    _take,
    _update_fields,
    incident_timeline,
)
from .models import DeferredFiling

DEFERRED_UPDATABLE = ("incident", "filing_deadline", "period", "tax_type", "deadline", "requested_deadline", "reason")


@transaction.atomic
def deferred_filing_create(
    *,
    company: Company,
    user,
    period: date,
    tax_type: str,
    deadline: date,
    reason: str,
    incident=None,
    filing_deadline=None,
    requested_deadline: date | None = None,
) -> DeferredFiling:
    _require_drafter(user, company)
    application = DeferredFiling(
        company=company,
        created_by=user,
        incident=incident,
        filing_deadline=filing_deadline,
        period=period,
        tax_type=(tax_type or "").strip(),
        deadline=deadline,
        requested_deadline=requested_deadline,
        reason=(reason or "").strip(),
    )
    return _save_draft(application, user=user)


@transaction.atomic
def deferred_filing_update(*, application: DeferredFiling, user, **fields) -> DeferredFiling:
    return _update_fields(application, user=user, updatable=DEFERRED_UPDATABLE, fields=fields)


@transaction.atomic
def deferred_filing_submit(*, application: DeferredFiling, user, comment: str = "") -> DeferredFiling:
    return _take(
        SUBMIT, application, user=user, comment=comment, timeline_snapshot=incident_timeline(application.incident)
    )


@transaction.atomic
def deferred_filing_approve(*, application: DeferredFiling, user, comment: str = "") -> DeferredFiling:
    return _take(APPROVE, application, user=user, comment=comment)


@transaction.atomic
def deferred_filing_return(*, application: DeferredFiling, user, comment: str) -> DeferredFiling:
    return _take(RETURN, application, user=user, comment=comment)


@transaction.atomic
def deferred_filing_close(*, application: DeferredFiling, user, comment: str = "") -> DeferredFiling:
    """Close an approved application once it has been filed with the bureau."""
    return _take(CLOSE_FILED, application, user=user, comment=comment)


# The review moves by the name pages and API post them under.
DEFERRED_FILING_MOVES = {
    "submit": deferred_filing_submit,
    "approve": deferred_filing_approve,
    "return": deferred_filing_return,
    "close": deferred_filing_close,
}
