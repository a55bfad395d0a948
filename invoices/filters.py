"""The one FilterSet for invoice records, shared by the invoice list page and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES

from invoices.keys import normalise_digits
from invoices.models import TALLIES, Direction, ImportKind, InvoiceStatus, InvoiceType
from outage_portal.filters import ListFilterSet, company_filter


class InvoiceRecordFilter(ListFilterSet):
    """Works for Invoice and TaxRecord alike (they share their fields)."""

    company = company_filter()
    number = django_filters.CharFilter(label=_("Invoice number"), method="filter_number")
    counterparty = django_filters.CharFilter(label=_("Counterparty"), method="filter_counterparty")
    direction = django_filters.ChoiceFilter(label=_("Direction"), choices=Direction.choices)
    issued_from = django_filters.DateFilter(
        label=_("Issued from"),
        field_name="issue_date",
        lookup_expr="gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    issued_to = django_filters.DateFilter(
        label=_("Issued to"), field_name="issue_date", lookup_expr="lte", widget=forms.DateInput(attrs={"type": "date"})
    )
    total_min = django_filters.NumberFilter(label=_("Total at least"), field_name="total", lookup_expr="gte")
    total_max = django_filters.NumberFilter(label=_("Total at most"), field_name="total", lookup_expr="lte")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=InvoiceStatus.choices)
    invoice_type = django_filters.ChoiceFilter(label=_("Type"), choices=InvoiceType.choices)
    source = django_filters.ChoiceFilter(label=_("Source"), field_name="batch__kind", choices=ImportKind.choices)

    def tallied_count(self, company_ids) -> int | None:
        """How many records the list holds (its queryset being these companies' records), from their
        tally, when it is filtered by nothing but company and direction (what a list opens on); None
        when any other filter narrows it, and the narrower set is counted."""
        values = {}
        if self.is_bound:
            self.is_valid()  # fills cleaned_data with the valid filters, the ones `qs` applies
            values = self.form.cleaned_data
        if any(value not in EMPTY_VALUES for name, value in values.items() if name not in ("company", "direction")):
            return None
        if values.get("company") is not None:
            company_ids = [pk for pk in company_ids if pk == values["company"].pk]
        tally = TALLIES[self.queryset.model]
        return tally.objects.total(company_ids, direction=values.get("direction") or None)

    def filter_number(self, queryset, name, value):
        # Keys are stored normalised, so a pasted "'0110…" or full-width number still finds its invoice.
        return queryset.filter(invoice_key__contains=normalise_digits(value))

    def filter_counterparty(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(buyer_name__icontains=value)
            | Q(seller_name__icontains=value)
            | Q(buyer_tax_id=value.upper())
            | Q(seller_tax_id=value.upper())
        )
