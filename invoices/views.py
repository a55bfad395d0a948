"""Pages for invoice records."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from invoices.filters import InvoiceRecordFilter
from invoices.models import Invoice, TaxRecord


@login_required
def invoice_list(request):
    queryset = (
        Invoice.objects.for_user(request.user).select_related("company", "batch").order_by("-issue_date", "invoice_key")
    )
    filterset = InvoiceRecordFilter(request.GET or None, queryset=queryset, request=request)
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "invoices/invoice_list.html", {"filter": filterset, "page": page, "query": query.urlencode()}
    )


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
    return render(request, "invoices/invoice_detail.html", {"invoice": invoice, "twin": twin, "compared": compared})


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
