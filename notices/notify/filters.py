"""The one FilterSet for deliveries, shared by the deliveries dashboard and the API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from notices.events import EventKind
from notices.notify.models import ChannelKind, Delivery, DeliveryState
from outage_portal.filters import ListFilterSet


class DeliveryFilter(ListFilterSet):
    state = django_filters.ChoiceFilter(label=_("State"), choices=DeliveryState.choices)
    channel_kind = django_filters.ChoiceFilter(label=_("Channel"), choices=ChannelKind.choices)
    event_kind = django_filters.ChoiceFilter(label=_("Event"), choices=EventKind.choices)
    event_key = django_filters.CharFilter(label=_("Event key"), lookup_expr="startswith")
    created_from = django_filters.DateFilter(label=_("Created from"), field_name="created_at", lookup_expr="date__gte")
    created_to = django_filters.DateFilter(label=_("Created to"), field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = Delivery
        fields = ["state", "channel_kind", "event_kind", "event_key"]
