"""Writes for reissue requests and hand-issued invoices, and the review workflow deferred filings share.

Pages, API, demo and the reconciliation hook all call these. Role rules live here, once:
only accountants draft, edit and submit; only reviewers approve or return; nobody approves or
returns their own request. An impossible transition raises `InvalidTransition` with a clear message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import BinaryIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from invoices.keys import invoice_key, normalise_digits
from invoices.models import Direction, Invoice, TaxRecord
from outage_portal.models import Company, Role
from outage_portal.roles import has_role
from outage_portal.timefmt import local_text

from ..models import OPEN_GAP_STATES, Decision, Gap, GapKind, GapStatus
from . import uploads
from .models import (
    EvidenceKind,
    HandIssuedInvoice,
    ParticipantRole,
    ReissueEvidence,
    ReissueItem,
    ReissueReason,
    ReissueRequest,
    RequestedAction,
    ReviewParticipant,
    ReviewState,
    ReviewTransition,
)

DRAFTERS = (Role.ACCOUNTANT,)
REVIEWERS = (Role.REVIEWER,)
# States in which an invoice is still being handled by a request (it may not join a second one).
ACTIVE_STATES = (ReviewState.DRAFT, ReviewState.SUBMITTED, ReviewState.RETURNED, ReviewState.APPROVED)


class InvalidTransition(ValidationError):
    """The request is not in a state this action starts from."""


@dataclass(frozen=True)
class HandEnteredInvoice:
    """An invoice the portal never saw, entered by the accountant."""

    invoice_code: str
    invoice_number: str
    issue_date: date
    amount: Decimal
    tax: Decimal
    counterparty_name: str = ""
    counterparty_tax_id: str = ""
    direction: str = Direction.ISSUED


def _require_role(user, company: Company | int, roles: tuple, message: str) -> None:
    if not has_role(user, company, *roles):
        raise PermissionDenied(message)


def _require_drafter(user, company) -> None:
    _require_role(user, company, DRAFTERS, _("Only accountants of this company prepare and submit requests."))


def _log(subject, *, from_state: str, to_state: str, user, comment: str = "", at=None) -> ReviewTransition:
    field = "reissue_request" if isinstance(subject, ReissueRequest) else "deferred_filing"
    row = ReviewTransition(
        **{field: subject},
        from_state=from_state,
        to_state=to_state,
        actor=user,
        at=at or timezone.now(),
        comment=comment,
    )
    row.full_clean()
    row.save()
    return row


def _take_part(subject, *, user, role: str) -> None:
    """Record that `user` prepared, edited or submitted `subject`: four eyes keeps them from approving it."""
    if user is None:
        return
    field = "reissue_request" if isinstance(subject, ReissueRequest) else "deferred_filing"
    # One statement whether or not the row exists (an edit costs the same queries every time).
    ReviewParticipant.objects.bulk_create(
        [ReviewParticipant(**{field: subject}, user=user, role=role)], ignore_conflicts=True
    )


def _lock(subject):
    """Re-read the row under a lock so two reviewers clicking at once cannot both move it."""
    return type(subject).objects.select_for_update().get(pk=subject.pk)


def _check_state(subject, *, allowed_from: tuple, to_state: str) -> None:
    if subject.state not in allowed_from:
        raise InvalidTransition(
            _("%(number)s is %(state)s; it cannot move to %(target)s (only from %(allowed)s).")
            % {
                "number": subject.number,
                "state": subject.get_state_display(),
                "target": ReviewState(to_state).label,
                "allowed": ", ".join(str(ReviewState(s).label) for s in allowed_from),
            },
            code="invalid_transition",
        )


def _prepared_by(subject, user) -> bool:
    """Whether `user` prepared, edited or submitted this request (and so may not review it)."""
    return (
        subject.created_by_id == user.pk
        or subject.participants.filter(user=user).exists()
        or subject.transitions.filter(actor=user, to_state=ReviewState.SUBMITTED).exists()
    )


@dataclass(frozen=True)
class Step:
    """One move of the review workflow, for reissue requests and deferred filings alike: the states it
    starts from, where it goes, who takes it and which timestamp it stamps. `_take` applies the rules."""

    allowed_from: tuple
    to_state: str
    by: tuple
    stamp: str = ""


SUBMIT = Step((ReviewState.DRAFT, ReviewState.RETURNED), ReviewState.SUBMITTED, DRAFTERS, "submitted_at")
APPROVE = Step((ReviewState.SUBMITTED,), ReviewState.APPROVED, REVIEWERS, "approved_at")
RETURN = Step((ReviewState.SUBMITTED,), ReviewState.RETURNED, REVIEWERS)
RECORD_REISSUED = Step((ReviewState.APPROVED,), ReviewState.REISSUED, DRAFTERS, "reissued_at")
CLOSE_REISSUED = Step((ReviewState.REISSUED,), ReviewState.CLOSED, DRAFTERS, "closed_at")
CLOSE_FILED = Step((ReviewState.APPROVED,), ReviewState.CLOSED, DRAFTERS, "closed_at")
WITHDRAW = Step(
    (ReviewState.DRAFT, ReviewState.SUBMITTED, ReviewState.RETURNED, ReviewState.APPROVED),
    ReviewState.WITHDRAWN,
    DRAFTERS,
    "withdrawn_at",
)
# Shown on every invoice of an open request that the tax system turned out to hold after all.
ORIGINAL_SEEN_WARNING = gettext_noop("The tax system now shows the original invoice — reissuing would duplicate it.")


def _require_step_role(step: Step, subject, user) -> None:
    if step.by == REVIEWERS:
        _require_role(
            user, subject.company_id, REVIEWERS, _("Only reviewers of this company approve or return requests.")
        )
        if _prepared_by(subject, user):
            raise PermissionDenied(
                _(
                    "Nobody may approve or return their own request, nor one they edited or submitted; "
                    "ask another reviewer."
                )
            )
    else:
        _require_drafter(user, subject.company_id)


def _open_step(step: Step, subject, *, user):
    """The checks before moving `subject` along `step`: who may (self-review refused), then the state,
    under a lock held to the end of the transaction. Returns the locked row."""
    _require_step_role(step, subject, user)
    locked = _lock(subject)
    _check_state(locked, allowed_from=step.allowed_from, to_state=step.to_state)
    return locked


def _finish_step(step: Step, subject, locked, *, user, comment: str = "", **fields):
    """Move the row `_open_step` locked: the timestamp stamped, `fields` stored, the transition logged;
    `subject` (the caller's copy) follows."""
    comment = (comment or "").strip()
    if step.to_state == ReviewState.APPROVED:
        fields["approved_by"] = user
    if step.stamp:
        fields[step.stamp] = timezone.now()
    from_state = locked.state
    locked.state = step.to_state
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    if step.to_state == ReviewState.SUBMITTED:
        _take_part(locked, user=user, role=ParticipantRole.SUBMITTED)
    _log(locked, from_state=from_state, to_state=step.to_state, user=user, comment=comment)
    for name in ("state", *fields):
        setattr(subject, name, getattr(locked, name))
    return subject


def _take(step: Step, subject, *, user, comment: str = "", precondition=None, **fields):
    """Move `subject` along `step`: a return explained, the checks of `_open_step`, then `precondition`
    (e.g. "has invoices"), then the move. `fields` are stored with it."""
    if step.to_state == ReviewState.RETURNED and not (comment or "").strip():
        raise ValidationError({"comment": _("Say what needs fixing when returning a request.")})
    locked = _open_step(step, subject, user=user)
    if precondition is not None:
        precondition()
    return _finish_step(step, subject, locked, user=user, comment=comment, **fields)


def _save_draft(subject, *, user):
    """Store a new reissue request or deferred filing as a draft and log its start."""
    subject.full_clean()
    subject.save()
    _take_part(subject, user=user, role=ParticipantRole.CREATED)
    _log(subject, from_state="", to_state=ReviewState.DRAFT, user=user)
    return subject


def _ensure_editable(subject) -> None:
    if not subject.is_editable:
        raise InvalidTransition(
            _("%(number)s is %(state)s and can no longer be changed.")
            % {"number": subject.number, "state": subject.get_state_display()},
            code="not_editable",
        )


def _update_fields(subject, *, user, updatable: tuple, fields: dict):
    """Change a draft or returned request's own fields (strings stripped); returns the locked row."""
    _require_drafter(user, subject.company_id)
    subject = _lock(subject)
    _ensure_editable(subject)
    unknown = set(fields) - set(updatable)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(subject, name, value.strip() if isinstance(value, str) else value)
    subject.full_clean()
    subject.save()
    _take_part(subject, user=user, role=ParticipantRole.EDITED)
    return subject


# --- Reissue requests: drafting ----------------------------------------------------------------


def _item_from_gap(gap: Gap) -> ReissueItem:
    source = gap.invoice if gap.invoice_id else gap.tax_record
    counterparty = ""
    counterparty_tax_id = ""
    amount, tax = gap.amount_at_risk, Decimal("0.00")
    code = number = ""
    if source is not None:
        own_side_is_seller = gap.direction == Direction.ISSUED
        counterparty = source.buyer_name if own_side_is_seller else source.seller_name
        counterparty_tax_id = source.buyer_tax_id if own_side_is_seller else source.seller_tax_id
        amount, tax = source.amount, source.tax
        code, number = source.invoice_code, source.digital_number or source.invoice_number
    elif gap.order_id is not None:  # lost from both sides: the order says what the invoice was
        order = gap.order
        counterparty, counterparty_tax_id = order.counterparty_name, order.counterparty_tax_id
        amount, tax = order.amount, order.tax
    return ReissueItem(
        gap=gap,
        invoice_id=gap.invoice_id,
        direction=gap.direction,
        invoice_key=gap.invoice_key,
        invoice_code=code,
        invoice_number=number,
        issue_date=gap.issue_date,
        counterparty_name=counterparty,
        counterparty_tax_id=counterparty_tax_id,
        amount=amount,
        tax=tax,
        total=amount + tax,
    )


def _item_from_manual(entry: HandEnteredInvoice) -> ReissueItem:
    key = invoice_key(code=entry.invoice_code, number=entry.invoice_number)
    if not key:
        raise ValidationError({"items": _("Each invoice entered by hand needs an invoice number.")})
    return ReissueItem(
        direction=entry.direction,
        invoice_key=key,
        invoice_code=normalise_digits(entry.invoice_code),
        invoice_number=normalise_digits(entry.invoice_number),
        issue_date=entry.issue_date,
        counterparty_name=entry.counterparty_name.strip(),
        counterparty_tax_id=entry.counterparty_tax_id.strip().upper(),
        amount=entry.amount,
        tax=entry.tax,
        total=entry.amount + entry.tax,
    )


def _replace_items(request: ReissueRequest, *, gaps: list[Gap], manual: list[HandEnteredInvoice]) -> None:
    foreign = [g for g in gaps if g.company_id != request.company_id]
    if foreign:
        raise ValidationError({"gaps": _("Gaps must belong to the request's company.")})
    busy = (
        ReissueItem.objects.filter(gap__in=gaps, request__state__in=ACTIVE_STATES)
        .exclude(request=request)
        .select_related("request")
    )
    if busy:
        raise ValidationError(
            {
                "gaps": _("Already in another open request: %(list)s.")
                % {"list": ", ".join(f"{i.invoice_key} ({i.request.number})" for i in busy)}
            }
        )
    items = [_item_from_gap(g) for g in gaps] + [_item_from_manual(m) for m in manual]
    keys = [i.invoice_key for i in items]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValidationError({"items": _("Listed twice: %(keys)s.") % {"keys": ", ".join(duplicates)}})
    request.items.all().delete()
    for item in items:
        item.request = request
        # Field checks only (lengths, digits): each item was just built with a key and total =
        # amount + tax from a gap and invoice just read, and the table holds the constraints anyway.
        # Validating those again cost eight queries an invoice.
        item.full_clean(exclude=["request", "gap", "invoice"], validate_constraints=False)
    ReissueItem.objects.bulk_create(items)


def _gaps_with_sources(gap_ids) -> list[Gap]:
    return list(Gap.objects.filter(pk__in=list(gap_ids)).select_related("invoice", "tax_record", "order"))


@transaction.atomic
def reissue_request_create(
    *,
    company: Company,
    user,
    reason: str = ReissueReason.OUTAGE,
    reason_detail: str = "",
    action: str = RequestedAction.REISSUE,
    incident=None,
    counterparty_name: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
    gaps: list[Gap] | None = None,
    manual: list[HandEnteredInvoice] | None = None,
) -> ReissueRequest:
    """Start a draft covering the given gaps and hand-entered invoices."""
    _require_drafter(user, company)
    request = ReissueRequest(
        company=company,
        created_by=user,
        reason=reason,
        reason_detail=(reason_detail or "").strip(),
        action=action,
        incident=incident,
        counterparty_name=counterparty_name.strip(),
        contact_name=contact_name.strip(),
        contact_phone=contact_phone.strip(),
        contact_email=contact_email.strip(),
    )
    if incident is None and gaps:
        request.incident_id = _incident_of(gaps)
    _save_draft(request, user=user)
    _replace_items(request, gaps=_gaps_with_sources([g.pk for g in gaps or []]), manual=manual or [])
    return request


def _incident_of(gaps: list[Gap]) -> int | None:
    """The incident the gaps were attributed to by reconciliation, if they share one."""
    ids = {g.incident_id for g in gaps if g.incident_kind == "incident" and g.incident_id}
    if len(ids) != 1:
        return None
    from notices.models import Incident

    found = Incident.objects.filter(pk=next(iter(ids))).values_list("pk", flat=True).first()
    return found


UPDATABLE = ("reason", "reason_detail", "action", "incident", "counterparty_name", "contact_name", "contact_phone",
             "contact_email")  # fmt: skip


@transaction.atomic
def reissue_request_update(
    *,
    request: ReissueRequest,
    user,
    gaps: list[Gap] | None = None,
    manual: list[HandEnteredInvoice] | None = None,
    **fields,
) -> ReissueRequest:
    """Change a draft or returned request (fields, and the invoices if `gaps`/`manual` are given)."""
    request = _update_fields(request, user=user, updatable=UPDATABLE, fields=fields)
    if gaps is None and manual is None:
        return request
    if gaps is None:
        gap_ids = request.items.exclude(gap=None).values_list("gap_id", flat=True)
    else:
        gap_ids = [g.pk for g in gaps]
    if manual is None:
        manual = [
            HandEnteredInvoice(
                invoice_code=i.invoice_code,
                invoice_number=i.invoice_number,
                issue_date=i.issue_date,
                amount=i.amount,
                tax=i.tax,
                counterparty_name=i.counterparty_name,
                counterparty_tax_id=i.counterparty_tax_id,
                direction=i.direction,
            )
            for i in request.items.filter(gap=None)
        ]
    _replace_items(request, gaps=_gaps_with_sources(gap_ids), manual=manual)
    return request


@transaction.atomic
def reissue_evidence_add(
    *, request: ReissueRequest, user, name: str, content: bytes | BinaryIO, kind: str = EvidenceKind.OTHER
) -> ReissueEvidence:
    """Check the file completely (name, size, content type) and only then store it privately."""
    _require_drafter(user, request.company_id)
    if not request.is_editable:
        raise InvalidTransition(
            _("Evidence can only be added while the request is a draft or returned."), code="not_editable"
        )
    if kind not in EvidenceKind.values:
        raise ValidationError({"kind": _("Unknown evidence kind.")})
    _take_part(request, user=user, role=ParticipantRole.EDITED)
    checked = uploads.check_upload(name=name, content=content)
    storage_name = uploads.store_private(folder=f"reissue/{request.company_id}/{request.pk}", upload=checked)
    evidence = ReissueEvidence(
        request=request,
        kind=kind,
        storage_name=storage_name,
        **uploads.file_fields(checked),
        uploaded_by=user,
    )
    try:
        evidence.full_clean()
        evidence.save()
    except Exception:
        storages["private"].delete(storage_name)
        raise
    return evidence


@transaction.atomic
def reissue_evidence_remove(*, evidence: ReissueEvidence, user) -> None:
    _require_drafter(user, evidence.request.company_id)
    if not evidence.request.is_editable:
        raise InvalidTransition(_("Evidence of a submitted request stays as it was submitted."), code="not_editable")
    _take_part(evidence.request, user=user, role=ParticipantRole.EDITED)
    name = evidence.storage_name
    evidence.delete()
    transaction.on_commit(lambda: storages["private"].delete(name))


# --- Reissue requests: workflow ----------------------------------------------------------------


@transaction.atomic
def reissue_request_submit(*, request: ReissueRequest, user, comment: str = "") -> ReissueRequest:
    def has_items():
        if not request.items.exists():
            raise ValidationError({"items": _("Add at least one invoice before submitting.")})

    return _take(SUBMIT, request, user=user, comment=comment, precondition=has_items)


@transaction.atomic
def reissue_request_approve(*, request: ReissueRequest, user, comment: str = "") -> ReissueRequest:
    return _take(APPROVE, request, user=user, comment=comment)


@transaction.atomic
def reissue_request_return(*, request: ReissueRequest, user, comment: str) -> ReissueRequest:
    return _take(RETURN, request, user=user, comment=comment)


_NEW_NUMBER = re.compile(r"^\d{8,20}$")


@transaction.atomic
def reissue_request_record_reissued(
    *, request: ReissueRequest, user, new_numbers: dict[int, str], comment: str = ""
) -> ReissueRequest:
    """Record the new invoice number for every invoice of an approved request (item id → number:
    the 20-digit 数电 number, or invoice code followed by the 8-digit number)."""
    # The state first, so a request in the wrong state is not answered with number errors.
    locked = _open_step(RECORD_REISSUED, request, user=user)
    items = list(request.items.all())
    if duplicates_unconfirmed(locked, items):
        raise ValidationError(
            {
                "new_numbers": _(
                    "The tax system now shows some of these original invoices; reissuing them would duplicate "
                    "them. Withdraw the request, or confirm that they are still to be reissued first."
                )
            },
            code="originals_seen",
        )
    errors: dict[str, list[str]] = {}
    keys: dict[int, str] = {}
    for item in items:
        raw = new_numbers.get(item.pk) or ""
        key = normalise_digits(raw)
        if not key:
            errors.setdefault("new_numbers", []).append(
                _("%(old)s: enter the new invoice number.") % {"old": item.invoice_key}
            )
        elif not _NEW_NUMBER.match(key):
            errors.setdefault("new_numbers", []).append(
                _("%(old)s: %(new)s is not an invoice number (8 to 20 digits).") % {"old": item.invoice_key, "new": raw}
            )
        elif key == item.invoice_key:
            errors.setdefault("new_numbers", []).append(
                _("%(old)s: the new number must differ from the old one.") % {"old": item.invoice_key}
            )
        keys[item.pk] = key
    unknown = set(new_numbers) - {i.pk for i in items}
    if unknown:
        errors.setdefault("new_numbers", []).append(
            _("Not invoices of this request: %s") % ", ".join(str(pk) for pk in sorted(unknown))
        )
    values = [k for k in keys.values() if k]
    if len(values) != len(set(values)):
        errors.setdefault("new_numbers", []).append(_("Each new invoice number may be used once."))
    if errors:
        raise ValidationError(errors)
    _finish_step(
        RECORD_REISSUED,
        request,
        locked,
        user=user,
        comment=(comment or "").strip() or "; ".join(f"{i.invoice_key} → {keys[i.pk]}" for i in items),
    )
    for item in items:
        item.new_invoice_key = keys[item.pk]
    ReissueItem.objects.bulk_update(items, ["new_invoice_key"])
    return request


@transaction.atomic
def reissue_request_close(*, request: ReissueRequest, user, comment: str = "") -> ReissueRequest:
    """Close by hand (an accountant, once the new invoices are confirmed some other way)."""
    _take(CLOSE_REISSUED, request, user=user, comment=comment)
    _resolve_gaps(request_ids=[request.pk], now=request.closed_at)
    return request


def duplicates_unconfirmed(request: ReissueRequest, items: list[ReissueItem] | None = None) -> bool:
    """Whether the tax system showed an original invoice of this request since anyone last confirmed."""
    items = list(request.items.all()) if items is None else items
    seen = [i.original_seen_at for i in items if i.original_seen_at is not None]
    if not seen:
        return False
    return request.duplicates_confirmed_at is None or max(seen) > request.duplicates_confirmed_at


@transaction.atomic
def reissue_request_withdraw(*, request: ReissueRequest, user, comment: str = "") -> ReissueRequest:
    """Take a request out of the workflow without a reissue (an accountant; from any open state)."""
    return _take(WITHDRAW, request, user=user, comment=comment)


@transaction.atomic
def reissue_request_confirm_duplicates(*, request: ReissueRequest, user, comment: str = "") -> ReissueRequest:
    """Confirm an approved request is still to be reissued although the tax system now shows some of
    its original invoices (accountants and reviewers; a reason is required). Unblocks "record reissued"."""
    _require_role(
        user,
        request.company_id,
        (Role.ACCOUNTANT, Role.REVIEWER),
        _("Only accountants and reviewers of this company confirm a reissue."),
    )
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Say why these invoices are still to be reissued.")})
    locked = _lock(request)
    if locked.state != ReviewState.APPROVED or not duplicates_unconfirmed(locked):
        raise InvalidTransition(
            _("%(number)s has nothing to confirm.") % {"number": locked.number}, code="nothing_to_confirm"
        )
    locked.duplicates_confirmed_by = user
    locked.duplicates_confirmed_at = timezone.now()
    locked.full_clean()
    locked.save(update_fields=["duplicates_confirmed_by", "duplicates_confirmed_at", "updated_at"])
    _log(locked, from_state=locked.state, to_state=locked.state, user=user, comment=comment)
    request.duplicates_confirmed_by, request.duplicates_confirmed_at = user, locked.duplicates_confirmed_at
    return request


# Requests whose invoices may turn up in the tax system as they are (the red-letter action starts
# from an invoice the tax system holds, so its original being there is expected).
_ORIGINAL_MAY_APPEAR = (RequestedAction.REISSUE, RequestedAction.HAND_ISSUE)
_WITHDRAWABLE = (ReviewState.DRAFT, ReviewState.SUBMITTED, ReviewState.RETURNED)


def reissue_requests_flag_originals_seen(*, company_id: int, now) -> tuple[list[int], list[int]]:
    """After a run: flag the invoices of open requests that the tax system now shows (reissuing them
    would duplicate them), withdraw drafts, submitted and returned requests left with nothing to
    reissue, and tell each requester after commit. Set-based. Returns (flagged, withdrawn) request ids.

    Only invoices the tax system lacked (a gap "only in our books", or entered by hand) count."""
    seen = TaxRecord.objects.filter(
        company_id=company_id, direction=OuterRef("direction"), invoice_key=OuterRef("invoice_key")
    )
    items = (
        ReissueItem.objects.filter(
            request__company_id=company_id,
            request__state__in=ACTIVE_STATES,
            request__action__in=_ORIGINAL_MAY_APPEAR,
            original_seen_at__isnull=True,
        )
        .filter(Q(gap__isnull=True) | Q(gap__kind=GapKind.ONLY_IN_BOOKS))
        .filter(Exists(seen))
    )
    flagged = sorted(set(items.values_list("request_id", flat=True)))
    if not flagged:
        return [], []
    ReissueItem.objects.filter(pk__in=list(items.values_list("pk", flat=True))).update(original_seen_at=now)
    pending = ReissueItem.objects.filter(request=OuterRef("pk"), original_seen_at__isnull=True)
    moot = list(
        ReissueRequest.objects.select_for_update()
        .filter(pk__in=flagged, state__in=_WITHDRAWABLE)
        .filter(~Exists(pending))
        .values_list("pk", "state")
    )
    withdrawn = [pk for pk, _state in moot]
    if withdrawn:
        ReissueRequest.objects.filter(pk__in=withdrawn).update(
            state=ReviewState.WITHDRAWN, withdrawn_at=now, updated_at=now
        )
        ReviewTransition.objects.bulk_create(
            [
                ReviewTransition(
                    reissue_request_id=pk,
                    from_state=state,
                    to_state=ReviewState.WITHDRAWN,
                    actor=None,
                    at=now,
                    comment=_("Withdrawn automatically: the tax system now shows every original invoice."),
                )
                for pk, state in moot
            ]
        )
    transaction.on_commit(lambda: requesters_notify_originals_seen(request_ids=flagged))
    return flagged, withdrawn


def requesters_notify_originals_seen(*, request_ids: list[int]) -> int:
    """Email each requester what became of their request (withdrawn, or flagged); returns emails sent."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.urls import reverse

    sent = 0
    with override(settings.LANGUAGE_CODE):
        for req in ReissueRequest.objects.filter(pk__in=request_ids).select_related("created_by", "company"):
            if not req.created_by.email:
                continue
            keys = ", ".join(req.items.filter(original_seen_at__isnull=False).values_list("invoice_key", flat=True))
            if req.state == ReviewState.WITHDRAWN:
                subject = _("%(number)s was withdrawn: the tax system now shows its invoices") % {"number": req.number}
                lead = _("The tax system now shows every invoice of %(number)s, so it was withdrawn.")
            else:
                subject = _("%(number)s: the tax system now shows some of its invoices") % {"number": req.number}
                lead = _("%(number)s holds invoices the tax system now shows; reissuing them would duplicate them.")
            body = "\n\n".join(
                [
                    lead % {"number": req.number},
                    _("Invoices: %(keys)s") % {"keys": keys},
                    settings.SITE_URL + reverse("recovery:reissue-request-detail", args=[req.pk]),
                ]
            )
            send_mail(subject, body, None, [req.created_by.email], fail_silently=True)
            sent += 1
    return sent


def _resolve_gaps(*, request_ids: list[int], now) -> int:
    """Resolve the gaps of closed requests. A person's decision (`linked`) keeps a later run from
    reopening them as "found again"; we also re-resolve after every run (see close_seen)."""
    return (
        Gap.objects.filter(reissue_items__request_id__in=request_ids, status__in=[*OPEN_GAP_STATES, GapStatus.RESOLVED])
        .exclude(status=GapStatus.RESOLVED, decision=Decision.LINKED)
        .update(
            status=GapStatus.RESOLVED,
            decision=Decision.LINKED,
            decision_reason=_("Reissued through a reissue request."),
            decided_at=now,
            resolved_at=now,
        )
    )


def reissue_requests_close_seen(*, company_id: int) -> int:
    """After a successful reconciliation: mark reissued invoices the tax system now shows, close every
    reissued request whose new invoices are all there, and resolve their gaps. Set-based (a few
    UPDATEs whatever the number of requests). Also tracks hand-issued invoices. Returns requests closed."""
    now = timezone.now()
    with transaction.atomic():
        seen = TaxRecord.objects.filter(
            company_id=company_id, direction=OuterRef("direction"), invoice_key=OuterRef("new_invoice_key")
        )
        ReissueItem.objects.filter(
            request__company_id=company_id, request__state=ReviewState.REISSUED, seen_at__isnull=True
        ).exclude(new_invoice_key="").filter(Exists(seen)).update(seen_at=now)
        waiting = ReissueItem.objects.filter(request=OuterRef("pk"), seen_at__isnull=True)
        ready = list(
            ReissueRequest.objects.select_for_update()
            .filter(company_id=company_id, state=ReviewState.REISSUED)
            .filter(~Exists(waiting))
            .values_list("pk", flat=True)
        )
        if ready:
            ReissueRequest.objects.filter(pk__in=ready).update(state=ReviewState.CLOSED, closed_at=now, updated_at=now)
            ReviewTransition.objects.bulk_create(
                [
                    ReviewTransition(
                        reissue_request_id=pk,
                        from_state=ReviewState.REISSUED,
                        to_state=ReviewState.CLOSED,
                        actor=None,
                        at=now,
                        comment=_("Closed automatically: every reissued invoice appeared in the tax system."),
                    )
                    for pk in ready
                ]
            )
        # Gaps of closed requests stay resolved even when a later run finds the old number again.
        closed = ReissueRequest.objects.filter(company_id=company_id, state=ReviewState.CLOSED).values("pk")
        _resolve_gaps(request_ids=closed, now=now)
        hand_issued_invoices_mark_entered(company_id=company_id, now=now)
    return len(ready)


# --- Deferred filing ---------------------------------------------------------------------------


def incident_timeline(incident) -> list[dict]:
    """The incident's start, its updates and its end, oldest first (what the bureau reads).

    Rows keep the moment as ISO text with its offset ("at", frozen into a submitted application) and
    carry what people read: the Beijing time with its zone ("shown") and the state's name ("label"),
    in the language of whoever prepared it."""
    if incident is None:
        return []
    from notices.models import IncidentState

    labels = {**dict(IncidentState.choices), "started": _("Started"), "ended": _("Ended")}

    def row(moment, state: str, text: str) -> dict:
        return {
            "at": timezone.localtime(moment).isoformat(),
            "shown": local_text(moment),
            "state": state,
            "label": str(labels.get(state, state)),
            "text": text,
        }

    moments = [(incident.started_at, "started", incident.title)]
    moments += [(update.posted_at, update.state, update.body_markdown) for update in incident.updates.all()]
    if incident.ended_at:
        moments.append((incident.ended_at, "ended", ""))
    # By time: a "resolved" update is often posted after the end it reports (16:10 for an end at 16:00).
    moments.sort(key=lambda m: m[0])
    return [row(*m) for m in moments]


# The review moves of each kind by the name pages and API post them under ("record-reissued" takes
# more than a comment, so callers add it themselves).
REISSUE_REQUEST_MOVES = {
    "submit": reissue_request_submit,
    "approve": reissue_request_approve,
    "return": reissue_request_return,
    "close": reissue_request_close,
    "withdraw": reissue_request_withdraw,
    "confirm-reissue": reissue_request_confirm_duplicates,
}
# --- Hand-issued invoices ----------------------------------------------------------------------


@transaction.atomic
def hand_issued_invoice_record(
    *,
    company: Company,
    user,
    invoice_number: str,
    issue_date: date,
    counterparty_name: str,
    amount: Decimal,
    tax: Decimal,
    invoice_code: str = "",  # a 数电 invoice has none
    counterparty_tax_id: str = "",
    direction: str = Direction.ISSUED,
    incident=None,
    note: str = "",
    scan_name: str = "",
    scan_content: bytes | BinaryIO | None = None,
) -> HandIssuedInvoice:
    """Record an invoice written by hand during an outage (with its photo or scan, checked like evidence)."""
    _require_drafter(user, company)
    row = HandIssuedInvoice(
        company=company,
        direction=direction,
        incident=incident,
        invoice_key=invoice_key(code=invoice_code, number=invoice_number),
        invoice_code=normalise_digits(invoice_code),
        invoice_number=normalise_digits(invoice_number),
        issue_date=issue_date,
        counterparty_name=(counterparty_name or "").strip(),
        counterparty_tax_id=(counterparty_tax_id or "").strip().upper(),
        amount=amount,
        tax=tax,
        total=amount + tax,
        note=(note or "").strip(),
        recorded_by=user,
    )
    row.full_clean()
    if scan_content is not None:
        checked = uploads.check_upload(name=scan_name, content=scan_content, allowed=uploads.SCAN_TYPES)
        row.scan_name = checked.name
        row.scan_type = checked.file_type
        row.scan_storage_name = uploads.store_private(folder=f"hand-issued/{company.pk}", upload=checked)
    row.save()
    hand_issued_invoices_mark_entered(company_id=company.pk, now=timezone.now())
    row.refresh_from_db(fields=["entered_at", "booked_at"])
    return row


def hand_issued_invoices_mark_entered(*, company_id: int, now) -> None:
    """Stamp hand-issued invoices the tax system (TaxRecord) or our books (Invoice) now hold. Set-based."""
    for model, field in ((TaxRecord, "entered_at"), (Invoice, "booked_at")):
        found = model.objects.filter(
            company_id=company_id, direction=OuterRef("direction"), invoice_key=OuterRef("invoice_key")
        )
        HandIssuedInvoice.objects.filter(company_id=company_id, **{f"{field}__isnull": True}).filter(
            Exists(found)
        ).update(**{field: now})


# Where evidence and scans are stored (store_private's folders), and how old an unreferenced file must
# be before the sweep takes it: younger ones may belong to a save whose transaction is still open.
UPLOAD_FOLDERS = ("reissue", "hand-issued")
UNREFERENCED_UPLOAD_GRACE = timedelta(days=1)


def private_uploads_sweep(*, now: datetime) -> int:
    """Delete stored evidence and scans that no row refers to; return how many.

    A file is stored before its row is saved, and the database rolls back what the storage keeps:
    "save and submit" refused after its evidence was stored, a hand-issued invoice whose row was
    refused, a worker killed in between. Nobody can reach such a file; this keeps them from piling up.
    """
    referenced = set(ReissueEvidence.objects.values_list("storage_name", flat=True))
    referenced.update(
        HandIssuedInvoice.objects.exclude(scan_storage_name="").values_list("scan_storage_name", flat=True)
    )
    deleted = 0
    for folder in UPLOAD_FOLDERS:
        for name, written in list(uploads.stored_files(folder)):
            if name not in referenced and written < now - UNREFERENCED_UPLOAD_GRACE:
                storages["private"].delete(name)
                deleted += 1
    return deleted
