"""Filter pieces shared by every app's FilterSets."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as drf_filters
from django_filters.fields import IsoDateTimeField

from outage_portal.models import Company
from outage_portal.validators import validate_moment


def _my_companies(request):
    if request is None:  # schema generation
        return Company.objects.none()
    return Company.objects.for_user(request.user)


def company_filter(field_name: str | None = None) -> django_filters.ModelChoiceFilter:
    """A company choice that offers only the companies the user belongs to (never another tenant's name)."""
    return django_filters.ModelChoiceFilter(field_name=field_name, label=_("Company"), queryset=_my_companies)


class MomentField(IsoDateTimeField):
    def to_python(self, value):
        moment = super().to_python(value)
        if moment is not None:
            validate_moment(moment)
        return moment


class MomentFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 moment (2026-10-01T00:00+08:00; without an offset, Beijing time) in a sane range."""

    field_class = MomentField


class ListFilterSet(django_filters.FilterSet):
    """Base of the FilterSets a list page shows above its table: their form renders compact, a row
    of small fields (outage_portal.form_rendering)."""

    def get_form_class(self):
        form_class = super().get_form_class()
        form_class.compact = True
        return form_class


class TenantFilterSet(drf_filters.FilterSet):
    """Base of the FilterSets DRF builds from a view's `filterset_fields`: a company is chosen among
    the user's own, so another company's id is refused exactly like an id that does not exist (no
    existence oracle)."""

    @classmethod
    def filter_for_field(cls, field, field_name, lookup_expr=None):
        if getattr(field, "related_model", None) is Company and lookup_expr in (None, "exact"):
            return company_filter(field_name)
        return super().filter_for_field(field, field_name, lookup_expr)
