"""FilterSets shared by the reissue pages and the API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from outage_portal.filters import company_filter

from .models import DeferredFiling, HandIssuedInvoice, ReissueReason, ReissueRequest, RequestedAction, ReviewState


class ReissueRequestFilter(django_filters.FilterSet):
    company = company_filter()
    state = django_filters.ChoiceFilter(label=_("state"), choices=ReviewState.choices)
    reason = django_filters.ChoiceFilter(label=_("reason"), choices=ReissueReason.choices)
    action = django_filters.ChoiceFilter(label=_("requested action"), choices=RequestedAction.choices)
    invoice_key = django_filters.CharFilter(
        label=_("invoice number"), field_name="items__invoice_key", lookup_expr="startswith", distinct=True
    )

    class Meta:
        model = ReissueRequest
        fields = ["company", "state", "reason", "action", "invoice_key"]


class DeferredFilingFilter(django_filters.FilterSet):
    company = company_filter()
    state = django_filters.ChoiceFilter(label=_("state"), choices=ReviewState.choices)

    class Meta:
        model = DeferredFiling
        fields = ["company", "state"]


class HandIssuedFilter(django_filters.FilterSet):
    company = company_filter()
    entered = django_filters.BooleanFilter(
        label=_("in the tax system"), field_name="entered_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = HandIssuedInvoice
        fields = ["company", "entered"]
