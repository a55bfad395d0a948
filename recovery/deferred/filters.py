"""The FilterSet shared by the deferred-filing list page and the API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from outage_portal.filters import ListFilterSet, company_filter

from ..reissue.models import ReviewState
from .models import DeferredFiling


class DeferredFilingFilter(ListFilterSet):
    company = company_filter()
    state = django_filters.ChoiceFilter(label=_("State"), choices=ReviewState.choices)

    class Meta:
        model = DeferredFiling
        fields = ["company", "state"]
