"""The one FilterSet for gaps, shared by the gap list page and the API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from invoices.models import Direction
from outage_portal.filters import ListFilterSet, company_filter

from .models import Gap, GapKind, GapStatus


class GapFilter(ListFilterSet):
    company = company_filter()
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=GapKind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=GapStatus.choices)
    direction = django_filters.ChoiceFilter(label=_("Direction"), choices=Direction.choices)
    issued_from = django_filters.DateFilter(label=_("Issued from"), field_name="issue_date", lookup_expr="gte")
    issued_to = django_filters.DateFilter(label=_("Issued to"), field_name="issue_date", lookup_expr="lte")
    incident_kind = django_filters.ChoiceFilter(
        label=_("Incident or maintenance"), choices=[("incident", _("Incident")), ("notice", _("Maintenance notice"))]
    )
    incident_id = django_filters.NumberFilter(label=_("Incident or notice number"))
    invoice_key = django_filters.CharFilter(label=_("Invoice number"), lookup_expr="startswith")

    class Meta:
        model = Gap
        fields = ["company", "kind", "status", "direction", "incident_kind", "incident_id", "invoice_key"]
