"""Pages for invoice records."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from invoices.filters import InvoiceRecordFilter
from invoices.forms import IMPORT_ROLES, ImportForm, TaxSourceForm
from invoices.imports import services
from invoices.imports.report import rejected_rows
from invoices.models import RECORD_LIST_ORDER, ImportBatch, Invoice, TaxFetch, TaxRecord, TaxSource
from invoices.sources import DEFAULT_FETCH_DAYS, SourceError, fetch
from outage_portal.forms import form_add_service_errors
from outage_portal.models import Company, Role
from outage_portal.pages import filtered_page
from outage_portal.roles import has_role
from outage_portal.spreadsheets import Column, csv_response


@login_required
def invoice_list(request):
    # By company id (one query for them), so that for someone in one company the order is read from the
    # `invoice_list` index rather than sorting every invoice the company has; same rows as for_user.
    company_ids = list(Company.objects.for_user(request.user).values_list("pk", flat=True))
    queryset = (
        Invoice.objects.filter(company_id__in=company_ids)
        .select_related("company", "batch")
        .order_by(*RECORD_LIST_ORDER)
    )
    filterset = InvoiceRecordFilter(request.GET or None, queryset=queryset, request=request)
    # "Page N / M" from the invoices' tally rather than counting a million of them, unless filtered.
    page = filtered_page(request, filterset, deferred=True, count=filterset.tallied_count(company_ids))
    return render(request, "invoices/invoice_list.html", {"filter": filterset, "page": page})


@login_required
def invoice_detail(request, pk: int):
    invoice = get_object_or_404(Invoice.objects.for_user(request.user).select_related("company", "batch"), pk=pk)
    twin = (
        TaxRecord.objects.filter(company=invoice.company, direction=invoice.direction, invoice_key=invoice.invoice_key)
        .select_related("batch")
        .first()
    )
    compared = [
        (field.verbose_name, getattr(invoice, field.name), getattr(twin, field.name) if twin else None)
        for field in Invoice._meta.get_fields()
        if field.name in COMPARED
    ]
    history = invoice.changes.select_related("batch")[:200]
    labels = {field.name: field.verbose_name for field in Invoice._meta.get_fields() if hasattr(field, "verbose_name")}
    changes = [
        (change, [(labels.get(name, name), before, after) for name, (before, after) in change.changes.items()])
        for change in history
    ]
    return render(
        request,
        "invoices/invoice_detail.html",
        {"invoice": invoice, "twin": twin, "compared": compared, "changes": changes},
    )


COMPARED = (
    "issue_date",
    "seller_tax_id",
    "seller_name",
    "buyer_tax_id",
    "buyer_name",
    "amount",
    "tax",
    "total",
    "status",
)


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        batches = [
            services.import_submit(
                company=data["company"],
                kind=data["kind"],
                direction=data["direction"],
                filename=upload.name,
                stream=upload,
                user=request.user,
            )
            for upload in data["files"]
        ]
        if len(batches) == 1:
            return redirect("invoices:import-detail", pk=batches[0].pk)
        return redirect("invoices:import-list")
    return render(request, "invoices/import_upload.html", {"form": form})


@login_required
def import_list(request):
    batches = ImportBatch.objects.for_user(request.user).select_related("company", "created_by")[:100]
    can_import = Company.objects.for_user(request.user, roles=IMPORT_ROLES).exists()
    return render(request, "invoices/import_list.html", {"batches": batches, "can_import": can_import})


@login_required
def import_detail(request, pk: int):
    batch = get_object_or_404(ImportBatch.objects.for_user(request.user).select_related("company", "created_by"), pk=pk)
    # The first 500 reasons, grouped by row; the CSV download has them all.
    rejected = rejected_rows(batch, batch.rejections.all()[:500])
    return render(request, "invoices/import_detail.html", {"batch": batch, "rejected_rows": rejected})


@login_required
def import_progress(request, pk: int):
    """The progress block alone, which the batch page follows while a big file is imported."""
    batch = get_object_or_404(ImportBatch.objects.for_user(request.user), pk=pk)
    return render(request, "invoices/_import_progress.html", {"batch": batch})


@login_required
def import_rejections_csv(request, pk: int):
    batch = get_object_or_404(ImportBatch.objects.for_user(request.user), pk=pk)
    columns = [Column(_("Row")), Column(_("Column")), Column(_("Reason"))]
    rows = ([r.row, batch.column_label(r.column), r.reason] for r in batch.rejections.all().iterator())
    return csv_response(f"rejected-rows-{batch.pk}.csv", columns, rows)


# --- tax-system sources ---
@login_required
def tax_source_list(request):
    companies = Company.objects.for_user(request.user).select_related("tax_source").order_by("name")
    admin_of = set(Company.objects.for_user(request.user, roles=[Role.COMPANY_ADMIN]).values_list("pk", flat=True))
    rows = [(company, TaxSource.for_company(company), company.pk in admin_of) for company in companies]
    return render(request, "invoices/tax_source_list.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def tax_source_edit(request, company_pk: int):
    company = get_object_or_404(Company.objects.for_user(request.user).select_related("tax_source"), pk=company_pk)
    source = TaxSource.for_company(company)
    can_edit = has_role(request.user, company, Role.COMPANY_ADMIN)
    fields = ("kind", "base_url", "timeout_seconds", "max_retries", "page_size")
    initial = {name: getattr(source, name) for name in fields}
    form = TaxSourceForm(initial=initial)
    if not source.base_url and source.url:
        # The simulator's address in use, in the field itself (greyed) rather than an empty box beside it.
        form.fields["base_url"].widget.attrs["placeholder"] = source.url
    if request.method == "POST":
        if not can_edit:
            messages.error(request, _("Only a company admin can change where tax-system records come from."))
            return redirect("invoices:tax-source-edit", company_pk=company.pk)
        form = TaxSourceForm(request.POST)
        if form.is_valid():
            try:
                fetch.tax_source_save(company=company, user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("Tax-system source saved."))
                return redirect("invoices:tax-source-edit", company_pk=company.pk)
    return render(
        request,
        "invoices/tax_source_edit.html",
        {"company": company, "source": source, "form": form, "can_edit": can_edit, **_fetch_status(request, company)},
    )


def _fetch_status(request, company: Company) -> dict:
    fetches = TaxFetch.objects.filter(company=company).latest_per_direction()
    return {
        "fetches": fetches,
        "fetch_running": any(f.is_active for f in fetches),
        "can_fetch": has_role(request.user, company, *IMPORT_ROLES),
        "fetch_days": DEFAULT_FETCH_DAYS,
    }


@login_required
@require_http_methods(["POST"])
def tax_source_fetch(request, company_pk: int):
    """ "Fetch now": queue a fetch of both directions for the worker (a second click joins the first)."""
    company = get_object_or_404(Company.objects.for_user(request.user), pk=company_pk)
    if not has_role(request.user, company, *IMPORT_ROLES):
        raise PermissionDenied(_("Only the company's accountants and admins can fetch from the tax system."))
    try:
        queued = fetch.tax_fetch_request(company=company, user=request.user, language=request.LANGUAGE_CODE)
    except SourceError as exc:
        messages.error(request, exc.reason)
    else:
        if queued.started:
            messages.success(request, _("Fetch queued; this page shows its result when it is done."))
        else:
            messages.info(request, _("A fetch is already on its way; this page shows its result when it is done."))
    return redirect("invoices:tax-source-edit", company_pk=company.pk)


@login_required
def tax_source_fetch_status(request, company_pk: int):
    """The fetch-status block alone, which the page follows while a fetch runs."""
    company = get_object_or_404(Company.objects.for_user(request.user).select_related("tax_source"), pk=company_pk)
    context = {"company": company, "source": TaxSource.for_company(company), **_fetch_status(request, company)}
    return render(request, "invoices/_tax_fetch_status.html", context)
