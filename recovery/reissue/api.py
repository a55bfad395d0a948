"""REST API for reissue requests (with transitions and evidence) and hand-issued invoices, and the
viewset deferred filings share. The same services as the pages, so the same rules hold: accountants draft and submit,
reviewers approve or return, nobody approves their own request, another company's id is a 404."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import exceptions as drf_exceptions
from rest_framework import mixins, parsers, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from outage_portal.forms import row_id, row_ids
from outage_portal.models import Company

from ..models import Gap
from . import services, uploads
from .filters import HandIssuedFilter, ReissueRequestFilter
from .models import (
    EvidenceKind,
    HandIssuedInvoice,
    ReissueEvidence,
    ReissueItem,
    ReissueReason,
    ReissueRequest,
    RequestedAction,
    ReviewTransition,
)

# Set only by the workflow services, never by the client, for both reviewed kinds.
REVIEW_READ_ONLY_FIELDS = [
    "state",
    "created_by",
    "created_at",
    "submitted_at",
    "approved_by",
    "approved_at",
    "closed_at",
]


class TransitionSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = ReviewTransition
        fields = ["from_state", "to_state", "actor", "at", "comment"]

    def get_actor(self, obj) -> str | None:
        return obj.actor.username if obj.actor else None


class ItemSerializer(serializers.ModelSerializer):
    # The API keeps the name its clients know; the model calls it a gap.
    discrepancy = serializers.PrimaryKeyRelatedField(source="gap", read_only=True, allow_null=True)

    class Meta:
        model = ReissueItem
        fields = [
            "id",
            "discrepancy",
            "direction",
            "invoice_key",
            "invoice_code",
            "invoice_number",
            "issue_date",
            "counterparty_name",
            "counterparty_tax_id",
            "amount",
            "tax",
            "total",
            "new_invoice_key",
            "seen_at",
            "original_seen_at",
        ]
        read_only_fields = fields


class EvidenceSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ReissueEvidence
        fields = [
            "id",
            "request",
            "kind",
            "original_name",
            "file_type",
            "size",
            "sha256",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, obj) -> str:
        return reverse("api:reissue-evidence-download", args=[obj.pk])


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=EvidenceKind.choices, default=EvidenceKind.OTHER)


@extend_schema_serializer(component_name="ManualInvoice")  # its name in the published API schema
class HandEnteredInvoiceSerializer(serializers.Serializer):
    invoice_code = serializers.CharField(required=False, allow_blank=True, default="", max_length=12)
    invoice_number = serializers.CharField(max_length=24)
    issue_date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    tax = serializers.DecimalField(max_digits=16, decimal_places=2)
    counterparty_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    counterparty_tax_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)


class ReissueRequestSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    items = ItemSerializer(many=True, read_only=True)
    transitions = TransitionSerializer(many=True, read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)
    gaps = serializers.ListField(child=serializers.IntegerField(), write_only=True, required=False)
    manual_invoices = HandEnteredInvoiceSerializer(many=True, write_only=True, required=False)
    reason = serializers.ChoiceField(choices=ReissueReason.choices, required=False)
    action = serializers.ChoiceField(choices=RequestedAction.choices, required=False)

    class Meta:
        model = ReissueRequest
        fields = [
            "id",
            "number",
            "company",
            "state",
            "reason",
            "reason_detail",
            "action",
            "incident",
            "counterparty_name",
            "contact_name",
            "contact_phone",
            "contact_email",
            "created_by",
            "created_at",
            "submitted_at",
            "approved_by",
            "approved_at",
            "reissued_at",
            "closed_at",
            "withdrawn_at",
            "duplicates_confirmed_by",
            "duplicates_confirmed_at",
            "items",
            "transitions",
            "evidence",
            "gaps",
            "manual_invoices",
        ]
        read_only_fields = [
            *REVIEW_READ_ONLY_FIELDS,
            "reissued_at",
            "withdrawn_at",
            "duplicates_confirmed_by",
            "duplicates_confirmed_at",
        ]


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class RecordReissuedSerializer(serializers.Serializer):
    new_numbers = serializers.DictField(
        child=serializers.CharField(allow_blank=True), help_text="item id → new invoice number (数电 or code+number)"
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ReviewedApplicationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    # What reissue requests and deferred filings share: list, read, draft and PATCH a draft
    # (no PUT, no DELETE: a request leaves the workflow by being closed, never deleted), and the
    # review moves. A viewset names its service functions (`workflow_moves`) and the keyword they
    # take their subject by (`workflow_subject`).
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "post", "patch", "head", "options"]
    workflow_moves: dict
    workflow_subject: str

    def _refuse_company_change(self, serializer) -> None:
        company = serializer.validated_data.get("company")
        if company is not None and company.pk != serializer.instance.company_id:
            raise DRFValidationError(
                {"company": _("%(number)s cannot move to another company.") % {"number": serializer.instance.number}}
            )

    def _fresh(self, pk):
        return Response(self.serializer_class(self.get_queryset().get(pk=pk)).data)

    def _transition(self, request, action_name: str):
        obj = self.get_object()
        params = CommentSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        self.workflow_moves[action_name](
            **{self.workflow_subject: obj}, user=request.user, comment=params.validated_data["comment"]
        )
        return self._fresh(obj.pk)

    @extend_schema(request=CommentSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._transition(request, "submit")

    @extend_schema(request=CommentSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._transition(request, "approve")

    @extend_schema(request=CommentSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        return self._transition(request, "return")

    @extend_schema(request=CommentSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._transition(request, "close")


def _read_within_limit(upload, *, field: str):
    """The upload (a file the service reads in chunks), refused by its declared size first; the
    service then checks the content completely."""
    try:
        uploads.check_size(name=upload.name, size=upload.size)
    except DjangoValidationError as exc:
        raise DRFValidationError({field: exc.messages}) from exc
    return upload


def _transitions_with_actors() -> Prefetch:
    return Prefetch("transitions", queryset=ReviewTransition.objects.select_related("actor"))


def _scoped_company(user, company: Company) -> Company:
    return get_object_or_404(Company.objects.for_user(user), pk=company.pk)


@extend_schema_view(
    list=extend_schema(summary="Reissue requests of the caller's companies"),
    create=extend_schema(summary="Draft a reissue request (accountants)"),
    partial_update=extend_schema(summary="Change a draft or returned request (accountants)"),
    return_=extend_schema(operation_id="reissue_requests_return"),
)
class ReissueRequestViewSet(ReviewedApplicationViewSet):
    serializer_class = ReissueRequestSerializer
    workflow_moves = services.REISSUE_REQUEST_MOVES
    workflow_subject = "request"
    filterset_class = ReissueRequestFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReissueRequest.objects.none()
        return (
            ReissueRequest.objects.for_user(self.request.user)
            .select_related("company")
            .prefetch_related(
                "items",
                "evidence",
                _transitions_with_actors(),
            )
            .order_by("-created_at", "-id")
        )

    def _gaps(self, ids):
        found = list(Gap.objects.for_user(self.request.user).filter(pk__in=row_ids(ids)))
        missing = set(ids) - {g.pk for g in found}
        if missing:
            raise drf_exceptions.NotFound(_("No such gap: %(ids)s.") % {"ids": ", ".join(map(str, sorted(missing)))})
        return found

    def _manual(self, data):
        return [services.HandEnteredInvoice(**m) for m in data] if data is not None else None

    def _fields(self, data) -> dict:
        return {k: v for k, v in data.items() if k in services.UPDATABLE}

    def perform_create(self, serializer):
        data = serializer.validated_data
        company = _scoped_company(self.request.user, data["company"])
        serializer.instance = services.reissue_request_create(
            company=company,
            user=self.request.user,
            gaps=self._gaps(data.get("gaps", [])),
            manual=self._manual(data.get("manual_invoices")) or [],
            **self._fields(data),
        )

    def perform_update(self, serializer):
        self._refuse_company_change(serializer)
        data = serializer.validated_data
        gaps = self._gaps(data["gaps"]) if "gaps" in data else None
        serializer.instance = services.reissue_request_update(
            request=serializer.instance,
            user=self.request.user,
            gaps=gaps,
            manual=self._manual(data.get("manual_invoices")),
            **self._fields(data),
        )

    @extend_schema(request=CommentSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._transition(request, "withdraw")

    @extend_schema(request=CommentSerializer)
    @action(detail=True, methods=["post"], url_path="confirm-reissue")
    def confirm_reissue(self, request, pk=None):
        """Confirm an approved request is still to be reissued although the tax system now shows some
        of its original invoices (a comment saying why is required)."""
        return self._transition(request, "confirm-reissue")

    @extend_schema(request=RecordReissuedSerializer, responses=ReissueRequestSerializer)
    @action(detail=True, methods=["post"], url_path="record-reissued")
    def record_reissued(self, request, pk=None):
        obj = self.get_object()
        params = RecordReissuedSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        numbers = {}
        for key, value in params.validated_data["new_numbers"].items():
            if (item_id := row_id(key)) is None:
                raise DRFValidationError({"new_numbers": _("%(key)s is not an item id.") % {"key": key}})
            numbers[item_id] = value
        services.reissue_request_record_reissued(
            request=obj, user=request.user, new_numbers=numbers, comment=params.validated_data["comment"]
        )
        return self._fresh(obj.pk)

    @extend_schema(request={"multipart/form-data": EvidenceUploadSerializer}, responses={201: EvidenceSerializer})
    @action(detail=True, methods=["post"], parser_classes=[parsers.MultiPartParser])
    def evidence(self, request, pk=None):
        obj = self.get_object()
        params = EvidenceUploadSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["file"]
        evidence = services.reissue_evidence_add(
            request=obj,
            user=request.user,
            name=upload.name,
            content=_read_within_limit(upload, field="file"),
            kind=params.validated_data["kind"],
        )
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)


class ReissueEvidenceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Evidence files of reissue requests; removing one follows the page's rules (drafts only)."""

    serializer_class = EvidenceSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["request"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReissueEvidence.objects.none()
        return ReissueEvidence.objects.for_user(self.request.user).order_by("pk")

    def perform_destroy(self, instance):
        services.reissue_evidence_remove(evidence=instance, user=self.request.user)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        evidence = self.get_object()
        return uploads.private_file_response(
            storage_name=evidence.storage_name, name=evidence.original_name, file_type=evidence.file_type
        )


class HandIssuedInvoiceSerializer(serializers.ModelSerializer):
    overdue = serializers.SerializerMethodField()
    scan = serializers.FileField(write_only=True, required=False)

    class Meta:
        model = HandIssuedInvoice
        fields = [
            "id",
            "company",
            "direction",
            "incident",
            "invoice_key",
            "invoice_code",
            "invoice_number",
            "issue_date",
            "counterparty_name",
            "counterparty_tax_id",
            "amount",
            "tax",
            "total",
            "scan",
            "scan_name",
            "note",
            "recorded_at",
            "entered_at",
            "booked_at",
            "overdue",
        ]
        read_only_fields = ["invoice_key", "total", "scan_name", "recorded_at", "entered_at", "booked_at"]
        validators: list = []  # uniqueness is checked by the service's full_clean with a clear message

    def get_overdue(self, obj) -> bool:
        return obj.is_overdue()


class HandIssuedInvoiceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = HandIssuedInvoiceSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = HandIssuedFilter
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return HandIssuedInvoice.objects.none()
        return HandIssuedInvoice.objects.for_user(self.request.user).order_by("-issue_date", "-id")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        company = _scoped_company(self.request.user, data.pop("company"))
        scan = data.pop("scan", None)
        serializer.instance = services.hand_issued_invoice_record(
            company=company,
            user=self.request.user,
            scan_name=scan.name if scan else "",
            scan_content=_read_within_limit(scan, field="scan") if scan else None,
            **data,
        )
