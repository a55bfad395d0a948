"""Filter pieces shared by every app's FilterSets."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from outage_portal.models import Company


def _my_companies(request):
    if request is None:  # schema generation
        return Company.objects.none()
    return Company.objects.for_user(request.user)


def company_filter() -> django_filters.ModelChoiceFilter:
    """A company choice that offers only the companies the user belongs to (never another tenant's name)."""
    return django_filters.ModelChoiceFilter(label=_("Company"), queryset=_my_companies)
