"""REST API for deferred-filing applications: the reviewed-application viewset of reissue requests
(recovery/reissue/api.py) over the deferred-filing services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from ..reissue.api import (
    REVIEW_READ_ONLY_FIELDS,
    ReviewedApplicationViewSet,
    TransitionSerializer,
    _scoped_company,
    _transitions_with_actors,
)
from . import services
from .filters import DeferredFilingFilter
from .models import DeferredFiling


class DeferredFilingSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    transitions = TransitionSerializer(many=True, read_only=True)

    class Meta:
        model = DeferredFiling
        fields = [
            "id",
            "number",
            "company",
            "state",
            "incident",
            "filing_deadline",
            "period",
            "tax_type",
            "deadline",
            "requested_deadline",
            "reason",
            "timeline_snapshot",
            "created_by",
            "created_at",
            "submitted_at",
            "approved_by",
            "approved_at",
            "closed_at",
            "transitions",
        ]
        read_only_fields = [*REVIEW_READ_ONLY_FIELDS, "timeline_snapshot"]


@extend_schema_view(return_=extend_schema(operation_id="deferred_filings_return"))
class DeferredFilingViewSet(ReviewedApplicationViewSet):
    serializer_class = DeferredFilingSerializer
    workflow_moves = services.DEFERRED_FILING_MOVES
    workflow_subject = "application"
    filterset_class = DeferredFilingFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DeferredFiling.objects.none()
        return (
            DeferredFiling.objects.for_user(self.request.user)
            .prefetch_related(_transitions_with_actors())
            .order_by("-created_at", "-id")
        )

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        company = _scoped_company(self.request.user, data.pop("company"))
        serializer.instance = services.deferred_filing_create(company=company, user=self.request.user, **data)

    def perform_update(self, serializer):
        self._refuse_company_change(serializer)
        data = dict(serializer.validated_data)
        data.pop("company", None)
        serializer.instance = services.deferred_filing_update(
            application=serializer.instance, user=self.request.user, **data
        )
