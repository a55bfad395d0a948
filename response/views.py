"""Pages: a company's incident responses, its orders and the invoices they propose, and its
requests to customers and suppliers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from invoices.imports.orders import orders_import
from invoices.models import Order
from notices.models import Incident, MaintenanceNotice
from outage_portal.forms import row_ids
from outage_portal.models import Company
from outage_portal.pages import filtered_page
from outage_portal.roles import has_role
from recovery.models import OPEN_GAP_STATES, Gap, GapKind
from recovery.reissue import uploads

from . import services
from .filters import OrderFilter
from .forms import CopyForm, OrderImportForm, ScopeForm
from .letters import request_pdf
from .models import (
    CounterpartyRequest,
    CounterpartyRequestItem,
    IncidentResponse,
    InvoicingPause,
    RequestState,
    ResponseStep,
)

ASKABLE = (GapKind.ONLY_IN_TAX_SYSTEM, GapKind.ONLY_IN_ORDERS, GapKind.ONLY_IN_BOOKS)


def _errors(request, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


# --- Incident responses ------------------------------------------------------------------------
@login_required
def response_list(request):
    responses = list(
        IncidentResponse.objects.for_user(request.user)
        .select_related("company", "incident", "notice")
        .annotate(done=Count("steps", filter=Q(steps__done=True)), total=Count("steps"))
    )
    answered = {
        (r.company_id, "incident" if r.incident_id else "notice", r.incident_id or r.notice_id) for r in responses
    }
    companies = list(Company.objects.for_user(request.user, roles=services.RESPONDERS).order_by("name"))
    by_region = services.windows_by_region(sorted({c.region for c in companies})) if companies else {}
    waiting = [
        (company, w)
        for company in companies
        for w in by_region[company.region]
        if (company.pk, w.kind, w.id) not in answered
    ]
    return render(request, "response/response_list.html", {"responses": responses, "waiting": waiting})


@login_required
@require_POST
def response_start(request):
    company = get_object_or_404(Company.objects.for_user(request.user), pk=request.POST.get("company"))
    kind, pk = request.POST.get("kind"), request.POST.get("window")
    window = {
        "incident": get_object_or_404(Incident, pk=pk) if kind == "incident" else None,
        "notice": get_object_or_404(MaintenanceNotice, pk=pk) if kind == "notice" else None,
    }
    try:
        response = services.incident_response_open(company=company, user=request.user, **window)
    except ValidationError as exc:
        _errors(request, exc)
        return redirect("response:response-list")
    return redirect("response:response-detail", pk=response.pk)


def _response(request, pk) -> IncidentResponse:
    return get_object_or_404(
        IncidentResponse.objects.for_user(request.user).select_related("company", "incident", "notice"), pk=pk
    )


@login_required
def response_detail(request, pk: int):
    response = _response(request, pk)
    gaps = (
        services._window_gaps(response)
        .filter(status__in=OPEN_GAP_STATES, kind__in=ASKABLE)
        .select_related("invoice", "tax_record", "order")
        .order_by("issue_date", "id")[:200]
    )
    gaps = list(gaps)
    asked = dict(
        CounterpartyRequestItem.objects.filter(gap_id__in=[g.pk for g in gaps])
        .exclude(request__state=RequestState.CLOSED)
        .values_list("gap_id", "request_id")
    )
    for gap in gaps:
        gap.asked_in = asked.get(gap.pk)
    initial = {name: getattr(response, name) for name in services.SCOPE_FIELDS}
    can_act = has_role(request.user, response.company, *services.RESPONDERS)
    scope_form = ScopeForm(initial=initial)
    for field in scope_form.fields.values():
        field.disabled = not can_act  # finance staff and reviewers read the scope
    context = {
        "response": response,
        "steps": response.steps.select_related("done_by"),
        "events": response.events.select_related("actor"),
        "scope_form": scope_form,
        "gaps": gaps,
        "requests": response.requests.annotate(n=Count("items")),
        "pause": InvoicingPause.objects.filter(company=response.company, lifted_at__isnull=True).first(),
        "can_act": can_act,
    }
    return render(request, "response/response_detail.html", context)


def _act(request, fn, *, success: str):
    try:
        fn()
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, success)


@login_required
@require_POST
def response_step(request, pk: int, step_pk: int):
    response = _response(request, pk)
    step = get_object_or_404(ResponseStep, pk=step_pk, response=response)
    done = request.POST.get("done") == "1"
    _act(
        request,
        lambda: services.response_step_set(step=step, user=request.user, done=done, note=request.POST.get("note", "")),
        success=_("Checklist updated."),
    )
    return redirect("response:response-detail", pk=response.pk)


@login_required
@require_POST
def response_scope(request, pk: int):
    response = _response(request, pk)
    form = ScopeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    else:
        _act(
            request,
            lambda: services.incident_response_update(response=response, user=request.user, **form.cleaned_data),
            success=_("Scope saved."),
        )
    return redirect("response:response-detail", pk=response.pk)


@login_required
@require_POST
def response_close(request, pk: int):
    response = _response(request, pk)
    _act(
        request,
        lambda: services.incident_response_close(
            response=response, user=request.user, note=request.POST.get("note", "")
        ),
        success=_("Response closed."),
    )
    return redirect("response:response-detail", pk=response.pk)


@login_required
@require_POST
def invoicing_pause(request):
    company = get_object_or_404(Company.objects.for_user(request.user), pk=request.POST.get("company"))
    response = None
    if request.POST.get("response"):
        response = get_object_or_404(IncidentResponse.objects.filter(company=company), pk=request.POST["response"])
    _act(
        request,
        lambda: services.invoicing_pause(
            company=company, user=request.user, reason=request.POST.get("reason", ""), response=response
        ),
        success=_("Invoicing is paused for %(company)s.") % {"company": company.name},
    )
    return redirect(request.POST.get("next") or "response:response-list")


@login_required
@require_POST
def invoicing_resume(request):
    company = get_object_or_404(Company.objects.for_user(request.user), pk=request.POST.get("company"))
    _act(
        request,
        lambda: services.invoicing_resume(company=company, user=request.user, reason=request.POST.get("reason", "")),
        success=_("Invoicing may resume for %(company)s.") % {"company": company.name},
    )
    return redirect(request.POST.get("next") or "response:response-list")


# --- Orders and the invoices they propose ------------------------------------------------------
@login_required
def order_list(request):
    queryset = Order.objects.for_user(request.user).select_related("company").order_by("-order_date", "order_number")
    filterset = OrderFilter(request.GET or None, queryset=queryset, request=request)
    proposals = (
        Gap.objects.for_user(request.user)
        .filter(kind=GapKind.ONLY_IN_ORDERS, status__in=OPEN_GAP_STATES)
        .select_related("order", "company")
        .order_by("issue_date", "id")[:200]
    )
    can_import = Company.objects.for_user(request.user, roles=services.RESPONDERS).exists()
    return render(
        request,
        "response/order_list.html",
        {
            "filter": filterset,
            "page": filtered_page(request, filterset),
            "proposals": proposals,
            "can_import": can_import,
        },
    )


@login_required
def order_import(request):
    form = OrderImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        batches = [
            orders_import(
                company=data["company"],
                filename=upload.name,
                stream=upload,
                direction=data["direction"] or None,
                user=request.user,
            )
            for upload in data["files"]
        ]
        if len(batches) == 1:
            return redirect("invoices:import-detail", pk=batches[0].pk)
        return redirect("invoices:import-list")
    return render(request, "response/order_import.html", {"form": form})


@login_required
@require_POST
def proposal_accept(request, gap_pk: int):
    gap = get_object_or_404(
        Gap.objects.for_user(request.user).select_related("order", "company"),
        pk=gap_pk,
        kind=GapKind.ONLY_IN_ORDERS,
    )
    into = request.POST.get("into", "")
    try:
        result = services.order_proposal_accept(
            gap=gap, user=request.user, into=into, invoice_number=request.POST.get("invoice_number", "")
        )
    except ValidationError as exc:
        _errors(request, exc)
        return redirect("response:response-order-list")
    if into == "reissue":
        messages.success(request, _("Reissue request %(number)s drafted.") % {"number": result.number})
        return redirect("recovery:reissue-request-detail", pk=result.pk)
    messages.success(request, _("Hand-issued invoice recorded."))
    return redirect("response:response-order-list")


# --- Requests to customers and suppliers -------------------------------------------------------
@login_required
def request_list(request):
    requests = (
        CounterpartyRequest.objects.for_user(request.user)
        .select_related("company", "response")
        .annotate(n=Count("items", distinct=True), copies_n=Count("copies", distinct=True))[:200]
    )
    return render(request, "response/request_list.html", {"requests": requests})


@login_required
@require_POST
def request_prepare(request):
    gaps = list(
        Gap.objects.for_user(request.user).filter(pk__in=row_ids(request.POST.getlist("ids"))).select_related("company")
    )
    companies = {g.company for g in gaps}
    if len(companies) != 1:
        messages.error(request, _("Select gaps of one company."))
        return redirect(request.POST.get("next") or "response:response-request-list")
    response = None
    if request.POST.get("response"):
        response = IncidentResponse.objects.filter(company__in=companies, pk=request.POST["response"]).first()
    try:
        made = services.counterparty_requests_prepare(
            company=companies.pop(), user=request.user, gaps=gaps, response=response
        )
    except ValidationError as exc:
        _errors(request, exc)
        return redirect(request.POST.get("next") or "response:response-request-list")
    messages.success(request, _("%(n)s requests prepared, one per customer or supplier.") % {"n": len(made)})
    if len(made) == 1:
        return redirect("response:response-request-detail", pk=made[0].pk)
    return redirect("response:response-request-list")


def _request(request, pk) -> CounterpartyRequest:
    return get_object_or_404(
        CounterpartyRequest.objects.for_user(request.user).select_related("company", "response"), pk=pk
    )


@login_required
def request_detail(request, pk: int):
    req = _request(request, pk)
    context = {
        "req": req,
        "items": req.items.select_related("received_invoice"),
        "copies": req.copies.select_related("batch", "uploaded_by"),
        "copy_form": CopyForm(),
        "can_act": has_role(request.user, req.company, *services.RESPONDERS),
    }
    return render(request, "response/request_detail.html", context)


@login_required
def request_letter_pdf(request, pk: int):
    req = _request(request, pk)
    response = HttpResponse(request_pdf(req), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{req.number}.pdf"'
    return response


@login_required
@require_POST
def request_action(request, pk: int, action: str):
    req = _request(request, pk)
    note = request.POST.get("note", "")
    actions = {
        "send": (
            lambda: services.counterparty_request_send(
                request=req, user=request.user, email=request.POST.get("email", "")
            ),
            _("Request marked as sent."),
        ),
        "answer": (
            lambda: services.counterparty_request_answer(request=req, user=request.user, note=note),
            _("Request marked as answered."),
        ),
        "close": (
            lambda: services.counterparty_request_close(request=req, user=request.user, note=note),
            _("Request closed."),
        ),
    }
    if action not in actions:
        raise PermissionDenied
    fn, success = actions[action]
    _act(request, fn, success=success)
    return redirect("response:response-request-detail", pk=req.pk)


@login_required
@require_POST
def request_copy_add(request, pk: int):
    req = _request(request, pk)
    form = CopyForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        _act(
            request,
            lambda: services.counterparty_copy_add(
                request=req, user=request.user, name=upload.name, content=upload.read()
            ),
            success=_("Copy received and kept as evidence."),
        )
    else:
        messages.error(request, _("Choose a file."))
    return redirect("response:response-request-detail", pk=req.pk)


@login_required
def request_copy_download(request, pk: int, copy_pk: int):
    req = _request(request, pk)
    copy = get_object_or_404(req.copies, pk=copy_pk)
    if copy.file_type == "xml":
        from django.core.files.storage import storages
        from django.http import FileResponse

        response = FileResponse(
            storages["private"].open(copy.storage_name, "rb"), as_attachment=True, filename=copy.original_name
        )
        response["Content-Type"] = "application/xml"
        return response
    return uploads.private_file_response(
        storage_name=copy.storage_name, name=copy.original_name, file_type=copy.file_type
    )
