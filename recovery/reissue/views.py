"""Pages for reissue requests and hand-issued invoices (deferred filings: recovery/deferred/views.py).

Small function views: parse input, call a service, render or redirect. Every lookup goes through
`for_user`, so another company's id is a 404. Role and state rules are the services'.
"""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from outage_portal.forms import form_add_service_errors, row_id, row_ids
from outage_portal.models import Company, Role
from outage_portal.pages import filtered_page
from outage_portal.roles import roles_in

from . import pack, services, uploads
from .filters import HandIssuedFilter, ReissueRequestFilter
from .forms import (
    HandEnteredInvoiceFormSet,
    HandIssuedInvoiceForm,
    ReissueRequestForm,
    TransitionForm,
)
from .models import EvidenceKind, HandIssuedInvoice, ReissueEvidence, ReissueRequest, ReviewState


def _error_text(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You may not do this.")


def _form_add_refusal(form, exc: ValidationError | PermissionDenied) -> None:
    """A service's refusal on a form page: its validation errors next to their fields, a role refusal
    above the form."""
    if isinstance(exc, ValidationError):
        form_add_service_errors(form, exc)
    else:
        form.add_error(None, _error_text(exc))


def _transition_page(request, subject, move, /, *, detail_url: str, refused_context: dict, **kwargs):
    """Run one workflow move posted from a detail page (reissue request or deferred filing): a refusal
    gets its own page, anything else invalid goes back to the detail page with the reason. Positional-only
    `request` because the reissue services take their subject as `request=`."""
    try:
        move(user=request.user, comment=request.POST.get("comment", ""), **kwargs)
    except PermissionDenied as exc:
        return render(
            request, "recovery/reissue/refused.html", {"message": _error_text(exc), **refused_context}, status=403
        )
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("%(number)s is now %(state)s.") % {"number": subject.number, "state": subject.get_state_display()},
        )
    return redirect(detail_url, pk=subject.pk)


def _workflow_roles(user, subject) -> dict:
    """Which workflow buttons a detail page offers: accountants move drafts, reviewers review."""
    roles = roles_in(user, subject.company_id)
    return {"is_accountant": Role.ACCOUNTANT in roles, "is_reviewer": Role.REVIEWER in roles}


def _pdf_response(content: bytes, number: str) -> HttpResponse:
    """A printable application, shown in the browser and saved under its request number."""
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{number}.pdf"'
    return response


# --- Reissue requests -----------------------------------------------------------------------------


@login_required
def request_list(request):
    queryset = (
        ReissueRequest.objects.for_user(request.user)
        .select_related("company", "created_by")
        .annotate(n_items=Count("items", distinct=True), total=Sum("items__total"))
        .order_by("-created_at", "-id")
    )
    filterset = ReissueRequestFilter(request.GET or None, queryset=queryset, request=request)
    page = filtered_page(request, filterset)
    can_draft = Company.objects.for_user(request.user, roles=services.DRAFTERS).exists()
    return render(
        request, "recovery/reissue/request_list.html", {"filter": filterset, "page": page, "can_draft": can_draft}
    )


def _manual_from_items(req: ReissueRequest) -> list[dict]:
    return [
        {
            "invoice_code": i.invoice_code,
            "invoice_number": i.invoice_number,
            "issue_date": i.issue_date,
            "counterparty_name": i.counterparty_name,
            "amount": i.amount,
            "tax": i.tax,
        }
        for i in req.items.filter(gap=None)
    ]


def _save_request(request, form, formset, req: ReissueRequest | None) -> ReissueRequest:
    data = form.cleaned_data
    manual = [f.to_manual() for f in formset.forms if f.has_changed() and not f.cleaned_data.get("DELETE")]
    fields = {name: data[name] for name in services.UPDATABLE}
    gaps = list(data["gaps"])
    with transaction.atomic():
        if req is None:
            req = services.reissue_request_create(
                company=data["company"], user=request.user, gaps=gaps, manual=manual, **fields
            )
        else:
            req = services.reissue_request_update(request=req, user=request.user, gaps=gaps, manual=manual, **fields)
        for checked in data["evidence"]:
            services.reissue_evidence_add(
                request=req,
                user=request.user,
                name=checked.name,
                content=checked.file,
                kind=data["evidence_kind"] or EvidenceKind.OTHER,
            )
        if request.POST.get("intent") == "submit":
            services.reissue_request_submit(request=req, user=request.user)
    return req


@login_required
@require_http_methods(["GET", "POST"])
def request_edit(request, pk: int | None = None):
    req = None
    if pk is not None:
        req = get_object_or_404(
            ReissueRequest.objects.for_user(request.user).select_related("company", "incident"), pk=pk
        )
        if not req.is_editable:
            messages.error(request, _("%(number)s can no longer be changed.") % {"number": req.number})
            return redirect("recovery:reissue-request-detail", pk=req.pk)
        initial = {name: getattr(req, name) for name in services.UPDATABLE}
        initial["company"] = req.company_id
        initial["gaps"] = list(req.items.exclude(gap=None).values_list("gap_id", flat=True))
    else:
        # Gaps ticked on the gap list or a gap's page arrive through the session (posted there, so no
        # token or id list lands in a URL); a link may still name them with ?gaps=.
        chosen = (
            request.GET.getlist("gaps")
            + request.GET.getlist("ids")
            + [str(pk) for pk in request.session.pop("reissue_gaps", [])]
        )
        initial = {"gaps": row_ids(chosen)}
        if (company_id := row_id(request.GET.get("company", ""))) is not None:
            initial["company"] = company_id
    form = ReissueRequestForm(
        request.POST or None, request.FILES or None, user=request.user, request_obj=req, initial=initial
    )
    formset = HandEnteredInvoiceFormSet(
        request.POST or None, prefix="manual", initial=_manual_from_items(req) if req else None
    )
    if not form.fields["company"].queryset.exists():
        raise PermissionDenied(_("Only accountants prepare reissue requests."))
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            req = _save_request(request, form, formset, req)
        except (ValidationError, PermissionDenied) as exc:
            _form_add_refusal(form, exc)
        else:
            if req.state == ReviewState.SUBMITTED:
                messages.success(request, _("%(number)s submitted for review.") % {"number": req.number})
            else:
                messages.success(request, _("Draft %(number)s saved.") % {"number": req.number})
            return redirect("recovery:reissue-request-detail", pk=req.pk)
    return render(
        request,
        "recovery/reissue/request_form.html",
        {
            "form": form,
            "formset": formset,
            "req": req,
            "gap_rows": _gap_rows(form),
            "form_messages": form_script_messages(),
            "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
        },
    )


def form_script_messages() -> dict:
    """Messages the form's script shows while people type (translated on the server)."""
    return {
        "number": _("An invoice number has 8 digits (20 for a 数电 invoice)."),
        "code": _("An invoice code has 10 or 12 digits."),
        "money": _("Enter an amount like 1234.56."),
        "required": _("This field is required."),
        "email": _("Enter a valid email address."),
        "phone": _("A phone number has digits, spaces, +, - and brackets only."),
        "type": _("Only PDF, PNG, JPEG, OFD, XLSX or DOCX files are accepted."),
        "size": _("This file is larger than the upload limit."),
        "restored": _("Unsaved entries restored from this browser."),
        "nothing": _("Choose at least one gap or add an invoice before submitting."),
        "saved_locally": _("Entries kept in this browser until you save."),
    }


def _gap_rows(form) -> list:
    """The selectable gaps with their checkbox state, for the running-total table."""
    chosen = {str(v) for v in (form["gaps"].value() or [])}
    return [(gap, str(gap.pk) in chosen) for gap in form.fields["gaps"].queryset]


@login_required
def request_detail(request, pk: int):
    req = get_object_or_404(
        ReissueRequest.objects.for_user(request.user).select_related(
            "company", "created_by", "approved_by", "incident"
        ),
        pk=pk,
    )
    ctx = pack.request_context(req)
    ctx.update(
        {
            **_workflow_roles(request.user, req),
            "transition_form": TransitionForm(),
            "own_request": req.created_by_id == request.user.pk,
            "originals_seen": any(item.original_seen_at for item in ctx["items"]),
            "duplicates_unconfirmed": req.state == ReviewState.APPROVED
            and services.duplicates_unconfirmed(req, list(ctx["items"])),
            "can_withdraw": req.is_open,
        }
    )
    return render(request, "recovery/reissue/request_detail.html", ctx)


@login_required
@require_POST
def request_transition(request, pk: int, action: str):
    req = get_object_or_404(ReissueRequest.objects.for_user(request.user), pk=pk)
    if action == "record-reissued":
        # The detail page posts each item's new number as new_<item id>.
        numbers = {
            item_id: v
            for k, v in request.POST.items()
            if k.startswith("new_") and (item_id := row_id(k[4:])) is not None
        }
        move = partial(services.reissue_request_record_reissued, new_numbers=numbers)
    else:
        move = services.REISSUE_REQUEST_MOVES[action]
    return _transition_page(
        request, req, move, detail_url="recovery:reissue-request-detail", refused_context={"req": req}, request=req
    )


@login_required
def evidence_download(request, pk: int, evidence_pk: int):
    evidence = get_object_or_404(ReissueEvidence.objects.for_user(request.user), pk=evidence_pk, request_id=pk)
    return uploads.private_file_response(
        storage_name=evidence.storage_name, name=evidence.original_name, file_type=evidence.file_type
    )


@login_required
@require_POST
def evidence_remove(request, pk: int, evidence_pk: int):
    evidence = get_object_or_404(
        ReissueEvidence.objects.for_user(request.user).select_related("request"), pk=evidence_pk, request_id=pk
    )
    try:
        services.reissue_evidence_remove(evidence=evidence, user=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc))
    return redirect("recovery:reissue-request-detail", pk=pk)


@login_required
def request_print(request, pk: int):
    req = get_object_or_404(ReissueRequest.objects.for_user(request.user).select_related("company", "incident"), pk=pk)
    return render(request, "recovery/reissue/request_print.html", pack.request_context(req))


@login_required
def request_pack(request, pk: int, fmt: str):
    req = get_object_or_404(ReissueRequest.objects.for_user(request.user).select_related("company", "incident"), pk=pk)
    if fmt == "pdf":
        return _pdf_response(pack.request_pdf(req), req.number)
    # Streamed from the temporary file the pack was built in (FileResponse closes it when done).
    return FileResponse(
        pack.request_zip(req),
        as_attachment=True,
        filename=f"{req.number}-evidence-pack.zip",
        content_type="application/zip",
    )


# --- Hand-issued invoices ---------------------------------------------------------------------------


@login_required
def hand_issued_list(request):
    queryset = HandIssuedInvoice.objects.for_user(request.user).select_related("company", "incident", "recorded_by")
    filterset = HandIssuedFilter(request.GET or None, queryset=queryset, request=request)
    page = filtered_page(request, filterset)
    today = timezone.localdate()
    rows = [(row, row.is_overdue(today)) for row in page]
    return render(
        request,
        "recovery/reissue/hand_issued_list.html",
        {
            "filter": filterset,
            "page": page,
            "rows": rows,
            "overdue_days": settings.HAND_ISSUED_ENTRY_DAYS,
            "can_record": Company.objects.for_user(request.user, roles=services.DRAFTERS).exists(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def hand_issued_new(request):
    form = HandIssuedInvoiceForm(request.POST or None, request.FILES or None, user=request.user)
    if not form.fields["company"].queryset.exists():
        raise PermissionDenied(_("Only accountants record hand-issued invoices."))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        scan = data.pop("scan")
        try:
            row = services.hand_issued_invoice_record(
                user=request.user,
                scan_name=scan.name if scan else "",
                scan_content=scan.file if scan else None,
                **data,
            )
        except (ValidationError, PermissionDenied) as exc:
            _form_add_refusal(form, exc)
        else:
            messages.success(request, _("Hand-issued invoice %(key)s recorded.") % {"key": row.invoice_key})
            return redirect("recovery:hand-issued-list")
    return render(request, "recovery/reissue/hand_issued_form.html", {"form": form})


@login_required
def hand_issued_scan(request, pk: int):
    row = get_object_or_404(HandIssuedInvoice.objects.for_user(request.user).exclude(scan_storage_name=""), pk=pk)
    return uploads.private_file_response(
        storage_name=row.scan_storage_name, name=row.scan_name, file_type=row.scan_type
    )
