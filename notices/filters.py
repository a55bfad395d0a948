"""The FilterSets for notices and incidents, shared by the admin list pages and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from notices.grid import Function, functions_include_any
from notices.models import Incident, IncidentState, MaintenanceNotice, NoticeState, Severity, TaxSystem
from notices.regions import resolve_region
from outage_portal.filters import ListFilterSet, MomentFilter


def _regions(request=None):
    return [(r, r) for r in TaxSystem.objects.regions()]


class RegionChoiceField(forms.ChoiceField):
    """A region as people type it: 西安 or 国家税务总局陕西省税务局 mean 陕西."""

    def to_python(self, value):
        value = super().to_python(value)
        return resolve_region(value) or value


class RegionFilter(django_filters.ChoiceFilter):
    field_class = RegionChoiceField


class NoticeFilter(ListFilterSet):
    region = RegionFilter(label=_("Region"), field_name="system__region", choices=_regions)
    system = django_filters.ModelChoiceFilter(label=_("System"), queryset=TaxSystem.objects.all(), to_field_name="slug")
    function = django_filters.ChoiceFilter(label=_("Function"), choices=Function.choices, method="filter_function")
    state = django_filters.ChoiceFilter(label=_("State"), choices=NoticeState.choices)
    active_from = MomentFilter(
        label=_("Window ends after"),
        field_name="window_end",
        lookup_expr="gt",
        widget=forms.DateTimeInput(attrs={"placeholder": "2026-10-01T00:00+08:00"}),
    )
    active_to = MomentFilter(
        label=_("Window starts before"),
        field_name="window_start",
        lookup_expr="lt",
        widget=forms.DateTimeInput(attrs={"placeholder": "2026-10-08T00:00+08:00"}),
    )
    q = django_filters.CharFilter(label=_("Search"), method="filter_text")

    class Meta:
        model = MaintenanceNotice
        fields = ["region", "system", "function", "state"]

    def filter_function(self, queryset, name, value):
        return queryset.filter(functions_include_any([value]))

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(document_number__icontains=value))


class IncidentFilter(ListFilterSet):
    region = RegionFilter(label=_("Region"), field_name="system__region", choices=_regions)
    system = django_filters.ModelChoiceFilter(label=_("System"), queryset=TaxSystem.objects.all(), to_field_name="slug")
    function = django_filters.ChoiceFilter(label=_("Function"), choices=Function.choices, method="filter_function")
    state = django_filters.ChoiceFilter(label=_("State"), choices=IncidentState.choices)
    severity = django_filters.ChoiceFilter(label=_("Severity"), choices=Severity.choices)
    active_from = MomentFilter(label=_("Still going after"), method="filter_active_from")
    active_to = MomentFilter(label=_("Started before"), field_name="started_at", lookup_expr="lt")

    class Meta:
        model = Incident
        fields = ["region", "system", "function", "state", "severity"]

    def filter_function(self, queryset, name, value):
        return queryset.filter(functions_include_any([value]))

    def filter_active_from(self, queryset, name, value):
        return queryset.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=value))


class TaxSystemFilter(django_filters.FilterSet):
    region = django_filters.CharFilter(label=_("Region"), method="filter_region")

    class Meta:
        model = TaxSystem
        fields = ["region", "is_active"]

    def filter_region(self, queryset, name, value):
        return queryset.filter(region=resolve_region(value) or value)
