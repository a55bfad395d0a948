"""One filter for the status API, the feeds (RSS, Atom, iCal) and the calendar: which regions, systems
and functions a reader follows. Values are comma-separated: `?region=北京,西安&function=issue,file`."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from notices.grid import Function, functions_include_any
from notices.models import TaxSystem
from notices.regions import resolve_region


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    pass


class FunctionInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    pass


class StatusScopeFilter(django_filters.FilterSet):
    """Filters tax systems; `function` also narrows the grid's columns and the feeds' items."""

    region = CharInFilter(method="filter_region", label=_("Regions (comma-separated, e.g. 北京,西安)"))
    system = CharInFilter(field_name="slug", label=_("Systems by slug (comma-separated)"))
    function = FunctionInFilter(
        choices=Function.choices, method="filter_function", label=_("Functions (comma-separated)")
    )

    class Meta:
        model = TaxSystem
        fields = ["region", "system", "function"]

    def filter_function(self, queryset, name, value):
        return queryset.filter(functions_include_any(value)) if value else queryset

    def filter_region(self, queryset, name, value):
        # A city names its bureau's region: 西安 → 陕西.
        return queryset.filter(region__in=[resolve_region(v) or v for v in value]) if value else queryset

    @property
    def functions(self) -> list[str]:
        """The functions asked for, in the grid's order (all of them when none was asked for)."""
        asked = set(self.form.cleaned_data.get("function") or []) if self.is_valid() else set()
        return [f for f in Function.values if not asked or f in asked]

    def error_message(self) -> str:
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in self.errors.items())


def status_scope(params, queryset=None) -> StatusScopeFilter:
    # Always bound (an empty query means "everything"), so is_valid() is meaningful.
    return StatusScopeFilter(
        params if params is not None else {}, queryset=queryset if queryset is not None else TaxSystem.objects.active()
    )
