"""FilterSets shared by the reissue pages and the API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from outage_portal.filters import ListFilterSet, company_filter

from .models import (
    HandIssuedInvoice,
    ReissueItem,
    ReissueReason,
    ReissueRequest,
    RequestedAction,
    ReviewState,
)


class ReissueRequestFilter(ListFilterSet):
    company = company_filter()
    state = django_filters.ChoiceFilter(label=_("State"), choices=ReviewState.choices)
    reason = django_filters.ChoiceFilter(label=_("Reason"), choices=ReissueReason.choices)
    action = django_filters.ChoiceFilter(label=_("Requested action"), choices=RequestedAction.choices)
    invoice_key = django_filters.CharFilter(label=_("Invoice number"), method="filter_invoice_key")

    class Meta:
        model = ReissueRequest
        fields = ["company", "state", "reason", "action", "invoice_key"]

    def filter_invoice_key(self, queryset, name, value):
        # A subquery, not a join through items: the list page sums each request's items, and a
        # second join would count every item once per matching item.
        return queryset.filter(pk__in=ReissueItem.objects.filter(invoice_key__startswith=value).values("request_id"))


class HandIssuedFilter(ListFilterSet):
    company = company_filter()
    entered = django_filters.BooleanFilter(
        label=_("In the tax system"), field_name="entered_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = HandIssuedInvoice
        fields = ["company", "entered"]
