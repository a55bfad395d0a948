"""Writes for a company's incident response, its invoicing pause, invoices proposed from orders and
requests to customers and suppliers. Roles are checked here: accountants and company admins act."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from invoices.models import Direction, Invoice, InvoiceType, Order, TaxRecord
from notices.models import Incident, MaintenanceNotice
from outage_portal.models import Company, Role
from outage_portal.roles import has_role
from recovery.models import OPEN_GAP_STATES, Decision, Gap, GapKind, GapStatus
from recovery.reissue import uploads

from .models import (
    CounterpartyCopy,
    CounterpartyRequest,
    CounterpartyRequestItem,
    EventKind,
    IncidentResponse,
    InvoicingPause,
    RequestState,
    ResponseEvent,
    ResponseState,
    ResponseStep,
    Step,
)

RESPONDERS = (Role.ACCOUNTANT, Role.COMPANY_ADMIN)
# Functions whose loss stops invoices: a window touching only filing needs no invoice response.
INVOICE_FUNCTIONS = {"issue", "query", "download", "red_letter", "certify"}
LOOKBACK_DAYS = 60
LOOKAHEAD_DAYS = 14


def _require_responder(user, company) -> None:
    if user is not None and not has_role(user, company, *RESPONDERS):
        raise PermissionDenied(_("Only the company's accountants and admins can do this."))


def _event(response: IncidentResponse, kind: str, *, user, text: str = "", at: datetime | None = None) -> None:
    ResponseEvent.objects.create(response=response, kind=kind, actor=user, text=text, at=at or timezone.now())


# --- Which windows touch a company ---------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    kind: str  # "incident" or "notice"
    id: int
    title: str
    start: datetime
    end: datetime | None
    functions: tuple[str, ...]


def windows_touching(company: Company, *, now: datetime | None = None) -> list[Window]:
    """Incidents and maintenance windows of the company's region (or naming it in their impact)
    that stop invoice functions, from LOOKBACK_DAYS ago to LOOKAHEAD_DAYS ahead."""
    return windows_by_region([company.region], now=now)[company.region]


def windows_by_region(regions: list[str], *, now: datetime | None = None) -> dict[str, list[Window]]:
    """`windows_touching` for several regions at once (four queries whatever their number)."""
    from notices import windows

    now = now or timezone.now()
    found = windows.outage_windows(
        regions=list(regions), start=now - timedelta(days=LOOKBACK_DAYS), end=now + timedelta(days=LOOKAHEAD_DAYS)
    )
    incidents = Incident.objects.filter(pk__in=[w.id for w in found if w.kind == "incident"])
    notices = MaintenanceNotice.objects.filter(pk__in=[w.id for w in found if w.kind == "notice"])
    functions = {("incident", pk): tuple(f) for pk, f in incidents.values_list("pk", "functions")}
    functions.update({("notice", pk): tuple(f) for pk, f in notices.values_list("pk", "functions")})
    result: dict[str, list[Window]] = {region: [] for region in regions}
    for w in found:
        f = functions.get((w.kind, w.id), ())
        if (f and not set(f) & INVOICE_FUNCTIONS) or w.region not in result:
            continue
        result[w.region].append(Window(kind=w.kind, id=w.id, title=w.title, start=w.start, end=w.end, functions=f))
    return result


# --- Incident responses --------------------------------------------------------------------------
def _window_gaps(response: IncidentResponse):
    kind = "incident" if response.incident_id else "notice"
    return Gap.objects.filter(
        company_id=response.company_id, incident_kind=kind, incident_id=response.incident_id or response.notice_id
    )


def scope_suggestion(response: IncidentResponse) -> dict:
    """What the incident and the gaps it explains say about the scope (prefilled, editable)."""
    window = response.window
    types: list[str] = []
    if response.incident_id:
        types = [t for t in (window.impact_invoice_types or []) if t in InvoiceType.values]
        start, end = window.started_at, window.ended_at
        impact = window.impact_summary
    else:
        start, end = window.window_start, window.window_end
        impact = ""
    gaps = _window_gaps(response).exclude(status=GapStatus.DISMISSED)
    invoice_ids = [i for i in gaps.values_list("invoice_id", flat=True)[:5000] if i]
    tax_ids = [i for i in gaps.values_list("tax_record_id", flat=True)[:5000] if i]
    order_ids = [i for i in gaps.values_list("order_id", flat=True)[:5000] if i]
    parties: OrderedDict[str, None] = OrderedDict()
    for model, ids in ((Invoice, invoice_ids), (TaxRecord, tax_ids)):
        for t, direction, buyer, seller in model.objects.filter(pk__in=ids).values_list(
            "invoice_type", "direction", "buyer_name", "seller_name"
        ):
            if t not in types:
                types.append(t)
            name = buyer if direction == Direction.ISSUED else seller
            if name:
                parties[name] = None
    for name in Order.objects.filter(pk__in=order_ids).values_list("counterparty_name", flat=True):
        if name:
            parties[name] = None
    counts = dict(gaps.order_by().values_list("kind").annotate(n=Count("id")))
    if counts and not impact:
        labels = dict(GapKind.choices)
        impact = "; ".join(f"{labels[k]}: {n}" for k, n in counts.items())
    return {
        "scope_invoice_types": types,
        "scope_customers": "\n".join(list(parties)[:50]),
        "scope_from": start,
        "scope_to": end,
        "fault_started_at": start,
        "impact": impact,
    }


@transaction.atomic
def incident_response_open(
    *, company: Company, user, incident: Incident | None = None, notice: MaintenanceNotice | None = None
) -> IncidentResponse:
    """Open the company's response to an incident or maintenance window (the existing one if there
    is one): the playbook's checklist and the scope prefilled from the window and its gaps."""
    _require_responder(user, company)
    existing = IncidentResponse.objects.filter(company=company, incident=incident, notice=notice).first()
    if existing is not None:
        return existing
    window = incident or notice
    if window is None:
        raise ValidationError(_("Choose the incident or maintenance window to respond to."))
    response = IncidentResponse(company=company, incident=incident, notice=notice, title=window.title, created_by=user)
    for field, value in scope_suggestion(response).items():
        setattr(response, field, value)
    response.full_clean()
    response.save()
    ResponseStep.objects.bulk_create(
        ResponseStep(response=response, step=step, position=n) for n, step in enumerate(Step.values, start=1)
    )
    _event(response, EventKind.OPENED, user=user, text=window.title)
    return response


def incident_responses_open_for_windows(*, now: datetime | None = None) -> int:
    """Open a response for each company an active incident or window touches (a periodic task), so
    the company's accountants and admins find its page waiting. Returns how many were opened."""
    now = now or timezone.now()
    opened = 0
    companies = list(Company.objects.all())
    by_region = windows_by_region(sorted({c.region for c in companies}), now=now)
    for company in companies:
        for w in by_region[company.region]:
            if w.start > now or (w.end is not None and w.end < now - timedelta(days=1)):
                continue
            key = {"incident_id": w.id} if w.kind == "incident" else {"notice_id": w.id}
            if IncidentResponse.objects.filter(company=company, **key).exists():
                continue
            window = Incident.objects.get(pk=w.id) if w.kind == "incident" else MaintenanceNotice.objects.get(pk=w.id)
            incident_response_open(company=company, user=None, **{w.kind: window})
            opened += 1
    return opened


@transaction.atomic
def response_step_set(*, step: ResponseStep, user, done: bool, note: str = "") -> ResponseStep:
    """Tick (or untick) one step of the checklist, with a note; the timeline records who and when."""
    response = step.response
    _require_responder(user, response.company_id)
    step = ResponseStep.objects.select_for_update().get(pk=step.pk)
    note = (note or "").strip()
    if done == step.done and note == step.note:
        return step
    step.done, step.note = done, note
    step.done_by, step.done_at = (user, timezone.now()) if done else (None, None)
    step.full_clean()
    step.save()
    text = step.get_step_display() + (f" — {note}" if note else "")
    _event(response, EventKind.STEP_DONE if done else EventKind.STEP_REOPENED, user=user, text=text)
    return step


SCOPE_FIELDS = (
    "fault_started_at",
    "impact",
    "scope_invoice_types",
    "scope_customers",
    "scope_departments",
    "scope_from",
    "scope_to",
)


@transaction.atomic
def incident_response_update(*, response: IncidentResponse, user, **fields) -> IncidentResponse:
    """Record the scope (types, customers, departments, hours), the fault's start and its impact."""
    _require_responder(user, response.company_id)
    unknown = set(fields) - set(SCOPE_FIELDS)
    if unknown:
        raise ValueError(f"not scope fields: {sorted(unknown)}")
    bad = [t for t in fields.get("scope_invoice_types") or [] if t not in InvoiceType.values]
    if bad:
        raise ValidationError({"scope_invoice_types": _("Unknown invoice type: %(t)s") % {"t": ", ".join(bad)}})
    changed = [name for name, value in fields.items() if getattr(response, name) != value]
    for name, value in fields.items():
        setattr(response, name, value)
    response.full_clean()
    response.save()
    if changed:
        labels = {f.name: str(f.verbose_name) for f in IncidentResponse._meta.fields}
        _event(response, EventKind.SCOPE, user=user, text=", ".join(labels[n] for n in changed))
    return response


@transaction.atomic
def incident_response_close(*, response: IncidentResponse, user, note: str = "") -> IncidentResponse:
    _require_responder(user, response.company_id)
    if response.state == ResponseState.CLOSED:
        return response
    response.state, response.closed_at = ResponseState.CLOSED, timezone.now()
    response.save(update_fields=["state", "closed_at"])
    _event(response, EventKind.CLOSED, user=user, text=(note or "").strip())
    return response


# --- Invoicing paused --------------------------------------------------------------------------
PAUSED_CACHE_KEY = "response:paused-company-ids"


def paused_company_ids() -> list[int]:
    """Companies with invoicing paused, from the cache (no query); empty when unknown."""
    from django.core.cache import cache

    return cache.get(PAUSED_CACHE_KEY) or []


def paused_companies_refresh() -> list[int]:
    """Rewrite the cached list from the database (after each change, and every minute in case the
    cache was flushed)."""
    from django.core.cache import cache

    ids = list(InvoicingPause.objects.filter(lifted_at__isnull=True).values_list("company_id", flat=True))
    cache.set(PAUSED_CACHE_KEY, ids, timeout=None)
    return ids


def _pauses_changed() -> None:
    # Now, so this request's own redirect shows it, and again once committed (another request may
    # have read the old list in between).
    paused_companies_refresh()
    transaction.on_commit(paused_companies_refresh)


@transaction.atomic
def invoicing_pause(*, company: Company, user, reason: str, response: IncidentResponse | None = None) -> InvoicingPause:
    """Pause invoicing company-wide until someone lifts it; every member sees it in the page header."""
    _require_responder(user, company)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why invoicing is paused.")})
    Company.objects.select_for_update().filter(pk=company.pk).first()  # one pause at a time per company
    if InvoicingPause.objects.filter(company=company, lifted_at__isnull=True).exists():
        raise ValidationError(_("Invoicing is already paused for this company."))
    pause = InvoicingPause(company=company, response=response, reason=reason, paused_by=user, paused_at=timezone.now())
    pause.full_clean()
    pause.save()
    _pauses_changed()
    if response is not None:
        _event(response, EventKind.PAUSED, user=user, text=reason)
        step = response.steps.filter(step=Step.PAUSE_INVOICING, done=False).first()
        if step is not None:
            response_step_set(step=step, user=user, done=True, note=reason)
    return pause


@transaction.atomic
def invoicing_resume(*, company: Company, user, reason: str) -> InvoicingPause:
    """Lift the company's pause, saying why (recorded on the pause and the response's timeline)."""
    _require_responder(user, company)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why invoicing may resume.")})
    pause = InvoicingPause.objects.select_for_update().filter(company=company, lifted_at__isnull=True).first()
    if pause is None:
        raise ValidationError(_("Invoicing is not paused for this company."))
    pause.lifted_at, pause.lifted_by, pause.lift_reason = timezone.now(), user, reason
    pause.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    _pauses_changed()
    if pause.response_id:
        _event(pause.response, EventKind.RESUMED, user=user, text=reason)
    return pause


# --- Invoices proposed from orders -------------------------------------------------------------
@dataclass(frozen=True)
class Proposal:
    """The invoice an order implies: what an accountant accepts into a reissue request or records
    as a hand-issued invoice."""

    gap: Gap
    order: Order
    direction: str
    counterparty_name: str
    counterparty_tax_id: str
    issue_date: date
    amount: Decimal
    tax: Decimal
    total: Decimal
    tax_rate: Decimal | None
    invoice_number: str  # the number the order names, if any


def proposal_of(gap: Gap) -> Proposal:
    if gap.kind != GapKind.ONLY_IN_ORDERS or gap.order is None:
        raise ValidationError(_("Only a gap revealed by an order proposes an invoice."))
    o = gap.order
    return Proposal(
        gap=gap,
        order=o,
        direction=o.direction,
        counterparty_name=o.counterparty_name,
        counterparty_tax_id=o.counterparty_tax_id,
        issue_date=o.order_date,
        amount=o.amount,
        tax=o.tax,
        total=o.total,
        tax_rate=o.tax_rate,
        invoice_number=o.invoice_key,
    )


@transaction.atomic
def order_proposal_accept(*, gap: Gap, user, into: str, invoice_number: str = "", note: str = ""):
    """Accept the invoice an order implies: into a new draft reissue request ("reissue"), or as a
    hand-issued invoice written during the outage ("hand_issued", which needs its number).
    The gap records the decision; a reissue request resolves it when the reissued invoice appears."""
    from recovery.reissue import services as reissue

    proposal = proposal_of(gap)
    _require_responder(user, gap.company_id)
    if gap.status not in OPEN_GAP_STATES:
        raise ValidationError(_("This gap is already dealt with."))
    if into == "reissue":
        result = reissue.reissue_request_create(
            company=gap.company, user=user, counterparty_name=proposal.counterparty_name, gaps=[gap]
        )
        status = GapStatus.ACKNOWLEDGED
        reason = _("Accepted into reissue request %(number)s") % {"number": result.number}
    elif into == "hand_issued":
        if not (invoice_number or "").strip():
            raise ValidationError({"invoice_number": _("Give the number of the hand-issued invoice.")})
        incident = Incident.objects.filter(pk=gap.incident_id).first() if gap.incident_kind == "incident" else None
        result = reissue.hand_issued_invoice_record(
            company=gap.company,
            user=user,
            invoice_number=invoice_number,
            issue_date=proposal.issue_date,
            counterparty_name=proposal.counterparty_name or proposal.counterparty_tax_id,
            counterparty_tax_id=proposal.counterparty_tax_id,
            amount=proposal.amount,
            tax=proposal.tax,
            direction=proposal.direction,
            incident=incident,
            note=note or _("From order %(order)s") % {"order": proposal.order.order_number},
        )
        # Dismissed, not resolved: the order stays without an invoice in either system, and a later
        # run would reopen a resolved gap it finds again.
        status = GapStatus.DISMISSED
        reason = _("Recorded as hand-issued invoice %(number)s") % {"number": result.invoice_number}
    else:
        raise ValidationError({"into": _("Choose a reissue request or a hand-issued invoice.")})
    Gap.objects.filter(pk=gap.pk).update(
        decision=Decision.ACCEPTED_SUGGESTION,
        decision_reason=reason,
        decided_by=user,
        decided_at=timezone.now(),
        status=status,
    )
    return result


# --- Requests to customers and suppliers -------------------------------------------------------
@dataclass
class _Wanted:
    name: str
    tax_id: str
    direction: str
    gap: Gap
    invoice_key: str
    order_number: str
    issue_date: date
    amount: Decimal
    tax: Decimal
    total: Decimal


def _wanted(gap: Gap) -> _Wanted:
    issued = gap.direction == Direction.ISSUED
    if gap.order_id:
        o = gap.order
        return _Wanted(
            o.counterparty_name, o.counterparty_tax_id, gap.direction, gap, o.invoice_key, o.order_number,
            o.order_date, o.amount, o.tax, o.total,
        )  # fmt: skip
    source = gap.invoice or gap.tax_record
    if source is None:
        return _Wanted("", "", gap.direction, gap, gap.invoice_key, "", gap.issue_date, gap.amount_at_risk, 0, 0)
    return _Wanted(
        source.buyer_name if issued else source.seller_name,
        source.buyer_tax_id if issued else source.seller_tax_id,
        gap.direction, gap, gap.invoice_key, "", source.issue_date, source.amount, source.tax, source.total,
    )  # fmt: skip


def letter_text(request: CounterpartyRequest, items: list) -> str:
    """The letter in Chinese, whatever the language of whoever prepared it (it goes to the counterparty)."""
    with translation.override("zh-hans"):
        return render_to_string(
            "response/letter.txt",
            {
                "req": request,
                "company": request.company,
                "items": items,
                "total": sum((i.total for i in items), Decimal("0.00")),
            },
        ).strip()


@transaction.atomic
def counterparty_requests_prepare(
    *, company: Company, user, gaps: list[Gap], response: IncidentResponse | None = None
) -> list[CounterpartyRequest]:
    """One request per customer or supplier of the selected gaps, each listing its invoices."""
    _require_responder(user, company)
    gaps = list(
        Gap.objects.filter(pk__in=[g.pk for g in gaps], company=company).select_related(
            "invoice", "tax_record", "order"
        )
    )
    if not gaps:
        raise ValidationError({"gaps": _("Select the gaps whose invoices to ask for.")})
    groups: OrderedDict[tuple, list[_Wanted]] = OrderedDict()
    for gap in sorted(gaps, key=lambda g: (g.issue_date, g.pk)):
        wanted = _wanted(gap)
        groups.setdefault((wanted.direction, wanted.tax_id or wanted.name), []).append(wanted)
    if response is None:
        response = (
            IncidentResponse.objects.filter(
                company=company, incident_id__in=[g.incident_id for g in gaps if g.incident_kind == "incident"]
            )
            .order_by("-created_at")
            .first()
        )
    made = []
    for (direction, _who), wanted in groups.items():
        first = wanted[0]
        request = CounterpartyRequest(
            company=company,
            response=response,
            direction=direction,
            counterparty_name=first.name or first.tax_id or _("Unknown counterparty"),
            counterparty_tax_id=first.tax_id,
            created_by=user,
            letter="-",
        )
        request.full_clean()
        request.save()
        items = [
            CounterpartyRequestItem(
                request=request,
                gap=w.gap,
                invoice_key=w.invoice_key,
                order_number=w.order_number,
                issue_date=w.issue_date,
                amount=w.amount,
                tax=w.tax,
                total=w.total,
            )
            for w in wanted
        ]
        CounterpartyRequestItem.objects.bulk_create(items)
        request.letter = letter_text(request, items)
        request.save(update_fields=["letter"])
        if response is not None:
            _event(response, EventKind.REQUEST, user=user, text=f"{request.number} {request.counterparty_name}")
        made.append(request)
    return made


def _move(request: CounterpartyRequest, *, to: str, allowed: tuple, stamp: str, user) -> CounterpartyRequest:
    _require_responder(user, request.company_id)
    request = CounterpartyRequest.objects.select_for_update().get(pk=request.pk)
    if request.state == to:
        return request
    if request.state not in allowed:
        raise ValidationError(
            _("A request that is “%(state)s” cannot become “%(to)s”.")
            % {"state": request.get_state_display(), "to": RequestState(to).label}
        )
    request.state = to
    setattr(request, stamp, timezone.now())
    request.save(update_fields=["state", stamp])
    return request


@transaction.atomic
def counterparty_request_send(*, request: CounterpartyRequest, user, email: str = "") -> CounterpartyRequest:
    """Mark the request sent; with an email address, the worker emails the letter (PDF attached)
    after commit. Without one it was downloaded and sent some other way."""
    email = (email or request.email or "").strip()
    if email:
        request.email = email
        request.full_clean()
        CounterpartyRequest.objects.filter(pk=request.pk).update(email=email)
    request = _move(request, to=RequestState.SENT, allowed=(RequestState.DRAFT,), stamp="sent_at", user=user)
    if email:
        from .tasks import counterparty_request_email_task

        transaction.on_commit(lambda: counterparty_request_email_task.delay(request.pk))
    return request


def counterparty_request_email(*, request_id: int) -> bool:
    """Email the letter once (`emailed_at` guards a second send). True when it was sent now."""
    from django.conf import settings
    from django.core.mail import EmailMessage

    from .letters import request_pdf

    with transaction.atomic():
        request = (
            CounterpartyRequest.objects.select_for_update().select_related("company").filter(pk=request_id).first()
        )
        if request is None or request.emailed_at is not None or not request.email:
            return False
        with translation.override("zh-hans"):
            subject = _("%(company)s: request for copies of invoices (%(number)s)") % {
                "company": request.company.name,
                "number": request.number,
            }
        message = EmailMessage(subject, request.letter, settings.DEFAULT_FROM_EMAIL, [request.email])
        message.attach(f"{request.number}.pdf", request_pdf(request), "application/pdf")
        message.send()
        request.emailed_at = timezone.now()
        request.save(update_fields=["emailed_at"])
    return True


@transaction.atomic
def counterparty_request_answer(*, request: CounterpartyRequest, user, note: str = "") -> CounterpartyRequest:
    request = _move(request, to=RequestState.ANSWERED, allowed=(RequestState.SENT,), stamp="answered_at", user=user)
    if note.strip():
        CounterpartyRequest.objects.filter(pk=request.pk).update(note=note.strip())
        request.note = note.strip()
    return request


@transaction.atomic
def counterparty_request_close(*, request: CounterpartyRequest, user, note: str = "") -> CounterpartyRequest:
    allowed = (RequestState.DRAFT, RequestState.SENT, RequestState.ANSWERED, RequestState.RECEIVED)
    request = _move(request, to=RequestState.CLOSED, allowed=allowed, stamp="closed_at", user=user)
    if note.strip():
        CounterpartyRequest.objects.filter(pk=request.pk).update(note=note.strip())
    return request


COPY_TYPES = ("pdf", "png", "jpeg", "ofd")


def _check_copy(name: str, content: bytes) -> uploads.CheckedUpload:
    """The checked upload: e-invoice XML besides what evidence takes (PDF, images, OFD)."""
    if name.lower().endswith(".xml"):
        name = uploads.check_name(name)
        uploads.check_size(name=name, size=len(content))
        if not content.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<"):
            raise ValidationError(_("%(name)s is not an XML file.") % {"name": name})
        return uploads.checked_as(name=name, file_type="xml", content=content)
    return uploads.check_upload(name=name, content=content, allowed=COPY_TYPES)


@transaction.atomic
def counterparty_copy_add(*, request: CounterpartyRequest, user, name: str, content: bytes) -> CounterpartyCopy:
    """Keep a copy the counterparty sent as evidence. An e-invoice file (XML or OFD) is imported into
    our books at once, and the invoices it holds are ticked off the request."""
    from invoices.imports.services import import_file
    from invoices.models import BatchState, ImportKind

    _require_responder(user, request.company_id)
    checked = _check_copy(name, content)
    name, file_type = checked.name, checked.file_type
    storage_name = uploads.store_private(folder=f"counterparty-copies/{request.company_id}", upload=checked)
    copy = CounterpartyCopy(
        request=request, storage_name=storage_name, **uploads.file_fields(checked), uploaded_by=user
    )
    if file_type in ("xml", "ofd"):
        report = import_file(
            company=request.company,
            kind=ImportKind.BACKUP,
            direction=request.direction,
            filename=name,
            content=content,
            user=user,
        )
        copy.batch = report.batch
        if report.batch.state == BatchState.FAILED:
            raise ValidationError(
                _("%(name)s could not be imported: %(reason)s") % {"name": name, "reason": report.batch.failure_reason}
            )
    copy.full_clean()
    copy.save()
    counterparty_request_match(request=request)
    request = CounterpartyRequest.objects.select_for_update().get(pk=request.pk)
    now = timezone.now()
    if request.state in (RequestState.DRAFT, RequestState.SENT, RequestState.ANSWERED):
        request.state = RequestState.RECEIVED
        request.received_at = now
        request.answered_at = request.answered_at or now
        request.save(update_fields=["state", "received_at", "answered_at"])
    return copy


def counterparty_request_match(*, request: CounterpartyRequest) -> int:
    """Tick off the requested invoices now in our books: by number, else by date and total."""
    matched = 0
    books = Invoice.objects.filter(company_id=request.company_id, direction=request.direction)
    for item in request.items.filter(received_invoice__isnull=True):
        found = None
        if item.invoice_key:
            found = books.filter(invoice_key=item.invoice_key).first()
        if found is None:
            party = Q(buyer_tax_id=request.counterparty_tax_id) | Q(seller_tax_id=request.counterparty_tax_id)
            near = (item.issue_date - timedelta(days=31), item.issue_date + timedelta(days=31))
            candidates = books.filter(total=item.total, issue_date__range=near)
            if request.counterparty_tax_id:
                candidates = candidates.filter(party)
            found = candidates.order_by("issue_date").first()
        if found is not None:
            item.received_invoice = found
            item.save(update_fields=["received_invoice"])
            matched += 1
    return matched
