"""REST API: reconciliation runs, gaps (with actions) and alerts."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from invoices.models import Direction, TaxRecord
from outage_portal.api import OwnCompanyField
from outage_portal.models import Company
from outage_portal.rest import DeferredPagination

from . import periods, selectors, services
from .filters import GapFilter
from .models import GAP_LIST_ORDER, Alert, Gap, ReconciliationRun


class RunSerializer(serializers.ModelSerializer):
    """A run. Create with `company`, `direction` and a period: `period_start`/`period_end`, or `month`
    ("2025-11"), or nothing (the span of the company's records in that direction)."""

    month = serializers.CharField(write_only=True, required=False, allow_blank=True, help_text="e.g. 2025-11")
    company = OwnCompanyField()
    state_display = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = ReconciliationRun
        fields = [
            "id",
            "company",
            "direction",
            "period_start",
            "period_end",
            "month",
            "period_from_records",
            "invoices_compared",
            "tax_records_compared",
            "state",
            "state_display",
            "trigger",
            "failure_reason",
            "counts",
            "new_gaps",
            "resolved_gaps",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = [
            f for f in fields if f not in ("company", "direction", "period_start", "period_end", "month")
        ]
        extra_kwargs = {"period_start": {"required": False}, "period_end": {"required": False}}

    def validate(self, attrs):
        month = attrs.pop("month", "")
        if month:  # with a start or an end as well, parse_period refuses it
            start, end = (attrs.get(f"period_{side}") for side in ("start", "end"))
            attrs["period_start"], attrs["period_end"] = periods.parse_period(
                month=month, start=start.isoformat() if start else "", end=end.isoformat() if end else ""
            )
        return attrs


class GapSerializer(serializers.ModelSerializer):
    outcome = serializers.CharField(read_only=True, help_text="What happened to a resolved gap, in words.")

    class Meta:
        model = Gap
        fields = [
            "id",
            "company",
            "direction",
            "kind",
            "invoice_key",
            "invoice",
            "tax_record",
            "suggested_tax_record",
            "suggested_invoice",
            "issue_date",
            "issued_at",
            "amount_at_risk",
            "rule",
            "explanation",
            "status",
            "decision",
            "decision_reason",
            "assignee",
            "incident_kind",
            "incident_id",
            "incident_title",
            "first_seen_at",
            "last_seen_at",
            "resolved_at",
            "outcome",
        ]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = ["id", "company", "run", "counts", "created_at", "published_at"]


class ActionSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    body = serializers.CharField(required=False, allow_blank=True, default="")
    assignee = serializers.IntegerField(required=False, allow_null=True)
    tax_record = serializers.IntegerField(required=False)


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = RunSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["company", "direction", "state"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReconciliationRun.objects.none()
        return ReconciliationRun.objects.for_user(self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        company = get_object_or_404(Company.objects.for_user(self.request.user), pk=data["company"].pk)
        serializer.instance = services.reconciliation_run_create(
            company=company,
            direction=data.get("direction", Direction.ISSUED),
            period_start=data.get("period_start"),
            period_end=data.get("period_end"),
            user=self.request.user,
        )


class GapViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = GapSerializer
    pagination_class = DeferredPagination
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = GapFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Gap.objects.none()
        if self.action == "list":  # by company id: the list's order comes from the gap_list index
            return selectors.gaps_of(selectors.member_roles(self.request.user)).order_by(*GAP_LIST_ORDER)
        return Gap.objects.for_user(self.request.user).order_by(*GAP_LIST_ORDER)

    def _act(self, request, fn):
        gap = self.get_object()
        params = ActionSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        fn(gap, params.validated_data)
        gap.refresh_from_db()
        return Response(GapSerializer(gap).data)

    @extend_schema(request=ActionSerializer, responses=GapSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._act(request, lambda g, d: services.gap_acknowledge(gap=g, user=request.user))

    @extend_schema(request=ActionSerializer, responses=GapSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        def fn(g, d):
            user = None
            if d.get("assignee"):
                user = get_object_or_404(get_user_model(), pk=d["assignee"], memberships__company_id=g.company_id)
            services.gap_assign(gap=g, assignee=user, user=request.user)

        return self._act(request, fn)

    @extend_schema(request=ActionSerializer, responses=GapSerializer)
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        return self._act(request, lambda g, d: services.gap_comment(gap=g, body=d["body"], user=request.user))

    @extend_schema(request=ActionSerializer, responses=GapSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        return self._act(request, lambda g, d: services.gap_dismiss(gap=g, reason=d["reason"], user=request.user))

    @extend_schema(request=ActionSerializer, responses=GapSerializer)
    @action(detail=True, methods=["post"], url_path="accept-suggestion")
    def accept_suggestion(self, request, pk=None):
        return self._act(request, lambda g, d: services.gap_accept_suggestion(gap=g, user=request.user))

    @extend_schema(request=ActionSerializer, responses=GapSerializer)
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None):
        def fn(g, d):
            record = get_object_or_404(TaxRecord.objects.filter(company_id=g.company_id), pk=d.get("tax_record"))
            services.gap_link(gap=g, tax_record=record, reason=d["reason"], user=request.user)

        return self._act(request, fn)


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AlertSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["company"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Alert.objects.none()
        return Alert.objects.for_user(self.request.user)
