"""The one FilterSet for gaps, shared by the gap list page and the API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from invoices.models import Direction
from outage_portal.filters import company_filter

from .models import Discrepancy, GapKind, GapStatus


class DiscrepancyFilter(django_filters.FilterSet):
    company = company_filter()
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=GapKind.choices)
    status = django_filters.ChoiceFilter(label=_("status"), choices=GapStatus.choices)
    direction = django_filters.ChoiceFilter(label=_("direction"), choices=Direction.choices)
    issued_from = django_filters.DateFilter(label=_("issued from"), field_name="issue_date", lookup_expr="gte")
    issued_to = django_filters.DateFilter(label=_("issued to"), field_name="issue_date", lookup_expr="lte")
    incident_kind = django_filters.ChoiceFilter(
        label=_("window kind"), choices=[("incident", _("Incident")), ("notice", _("Maintenance notice"))]
    )
    incident_id = django_filters.NumberFilter(label=_("window id"))
    invoice_key = django_filters.CharFilter(label=_("invoice key"), lookup_expr="startswith")

    class Meta:
        model = Discrepancy
        fields = ["company", "kind", "status", "direction", "incident_kind", "incident_id", "invoice_key"]
