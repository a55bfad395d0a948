"""The one FilterSet for orders, shared by the orders page and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from invoices.models import Direction
from outage_portal.filters import ListFilterSet, company_filter


class OrderFilter(ListFilterSet):
    company = company_filter()
    direction = django_filters.ChoiceFilter(label=_("Direction"), choices=Direction.choices)
    number = django_filters.CharFilter(
        label=_("Order or contract number"), field_name="order_number", lookup_expr="icontains"
    )
    counterparty = django_filters.CharFilter(label=_("Counterparty"), method="filter_counterparty")
    ordered_from = django_filters.DateFilter(
        label=_("From"), field_name="order_date", lookup_expr="gte", widget=forms.DateInput(attrs={"type": "date"})
    )
    ordered_to = django_filters.DateFilter(
        label=_("To"), field_name="order_date", lookup_expr="lte", widget=forms.DateInput(attrs={"type": "date"})
    )

    def filter_counterparty(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(counterparty_name__icontains=value) | Q(counterparty_tax_id=value.upper()))
