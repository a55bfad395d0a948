"""REST API: orders (with their import), the invoices they propose, incident responses and
counterparty requests. Actions call the same services as the pages."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from invoices.imports.report import ImportReport
from invoices.models import BatchState, Direction, InvoiceType, Order
from notices.models import Incident, MaintenanceNotice
from outage_portal.models import Company
from recovery.models import OPEN_GAP_STATES, Gap, GapKind
from recovery.reissue import uploads

from . import services
from .filters import OrderFilter
from .models import (
    CounterpartyCopy,
    CounterpartyRequest,
    CounterpartyRequestItem,
    IncidentResponse,
    ResponseEvent,
    ResponseStep,
    Step,
)


class OrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = [
            "id",
            "company",
            "direction",
            "order_number",
            "order_date",
            "counterparty_name",
            "counterparty_tax_id",
            "amount",
            "tax",
            "total",
            "tax_rate",
            "invoice_key",
            "batch",
            "updated_at",
        ]
        read_only_fields = fields


class OrderImportSerializer(serializers.Serializer):
    company = serializers.IntegerField()
    direction = serializers.ChoiceField(choices=Direction.choices, required=False, allow_blank=True)
    file = serializers.FileField()


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OrderSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = OrderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return Order.objects.for_user(self.request.user).order_by("-order_date", "order_number")

    @extend_schema(request={"multipart/form-data": OrderImportSerializer}, responses=dict)
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_file(self, request):
        """Import one order or contract list; the answer is the row-level report of invoice imports."""
        from invoices.imports.orders import orders_import

        params = OrderImportSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        company = get_object_or_404(Company.objects.for_user(request.user), pk=params.validated_data["company"])
        services._require_responder(request.user, company)
        upload = params.validated_data["file"]
        uploads.check_size(name=upload.name, size=upload.size)
        batch = orders_import(
            company=company,
            filename=upload.name,
            stream=upload,
            direction=params.validated_data.get("direction") or None,
            user=request.user,
        )
        if batch.state == BatchState.FAILED:  # refused as a whole: the API's one error shape
            raise serializers.ValidationError({"file": [batch.failure_reason]})
        body = ImportReport(batch=batch).as_dict()
        return Response(body, status=status.HTTP_201_CREATED)


class ProposalSerializer(serializers.ModelSerializer):
    """A gap only orders reveal, with the invoice the order implies."""

    order = OrderSerializer(read_only=True)
    proposed_invoice = serializers.SerializerMethodField()

    class Meta:
        model = Gap
        fields = [
            "id",
            "company",
            "direction",
            "kind",
            "status",
            "decision",
            "decision_reason",
            "amount_at_risk",
            "incident_kind",
            "incident_id",
            "incident_title",
            "order",
            "proposed_invoice",
        ]
        read_only_fields = fields

    def get_proposed_invoice(self, gap) -> dict:
        p = services.proposal_of(gap)
        return {
            "counterparty_name": p.counterparty_name,
            "counterparty_tax_id": p.counterparty_tax_id,
            "issue_date": p.issue_date.isoformat(),
            "amount": str(p.amount),
            "tax": str(p.tax),
            "total": str(p.total),
            "tax_rate": str(p.tax_rate) if p.tax_rate is not None else None,
            "invoice_number": p.invoice_number,
        }


class AcceptSerializer(serializers.Serializer):
    into = serializers.ChoiceField(choices=[("reissue", "reissue"), ("hand_issued", "hand_issued")])
    invoice_number = serializers.CharField(required=False, allow_blank=True, default="")


class ProposalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ProposalSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["company", "direction", "status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Gap.objects.none()
        return (
            Gap.objects.for_user(self.request.user)
            .filter(kind=GapKind.ONLY_IN_ORDERS, order__isnull=False)
            .select_related("order")
            .order_by("issue_date", "id")
        )

    @extend_schema(request=AcceptSerializer, responses=dict)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Accept the proposed invoice into a draft reissue request or as a hand-issued invoice."""
        gap = self.get_object()
        params = AcceptSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = services.order_proposal_accept(gap=gap, user=request.user, **params.validated_data)
        gap.refresh_from_db()
        body = ProposalSerializer(gap).data
        if params.validated_data["into"] == "reissue":
            body["reissue_request"] = {"id": result.pk, "number": result.number}
        else:
            body["hand_issued_invoice"] = {"id": result.pk, "invoice_key": result.invoice_key}
        return Response(body, status=status.HTTP_201_CREATED)


# --- Incident responses ------------------------------------------------------------------------
class StepSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="get_step_display", read_only=True)
    done_by = serializers.StringRelatedField()

    class Meta:
        model = ResponseStep
        fields = ["id", "step", "label", "position", "done", "done_by", "done_at", "note"]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="get_kind_display", read_only=True)
    actor = serializers.StringRelatedField()

    class Meta:
        model = ResponseEvent
        fields = ["kind", "label", "at", "actor", "text"]
        read_only_fields = fields


class ResponseSerializer(serializers.ModelSerializer):
    steps = StepSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)
    invoicing_paused = serializers.SerializerMethodField()
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all(), required=False, allow_null=True)
    notice = serializers.PrimaryKeyRelatedField(
        queryset=MaintenanceNotice.objects.all(), required=False, allow_null=True
    )
    scope_invoice_types = serializers.ListField(
        child=serializers.ChoiceField(choices=InvoiceType.choices), required=False
    )

    class Meta:
        model = IncidentResponse
        fields = [
            "id",
            "company",
            "incident",
            "notice",
            "title",
            "state",
            "fault_started_at",
            "impact",
            "scope_invoice_types",
            "scope_customers",
            "scope_departments",
            "scope_from",
            "scope_to",
            "created_at",
            "closed_at",
            "invoicing_paused",
            "steps",
            "events",
        ]
        read_only_fields = ["id", "title", "state", "created_at", "closed_at"]
        validators = []  # the service opens the existing response rather than refusing a second one

    def get_invoicing_paused(self, response) -> bool:
        return response.company_id in services.paused_company_ids()


class StepActionSerializer(serializers.Serializer):
    step = serializers.ChoiceField(choices=Step.choices)
    done = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ResponseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ResponseSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["company", "state", "incident", "notice"]
    http_method_names = ["get", "post", "patch", "head"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return IncidentResponse.objects.none()
        return (
            IncidentResponse.objects.for_user(self.request.user)
            .prefetch_related("steps__done_by", "events__actor")
            .order_by("-created_at", "-id")
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        company = get_object_or_404(Company.objects.for_user(self.request.user), pk=data["company"].pk)
        serializer.instance = services.incident_response_open(
            company=company, user=self.request.user, incident=data.get("incident"), notice=data.get("notice")
        )

    def perform_update(self, serializer):
        fields = {k: v for k, v in serializer.validated_data.items() if k in services.SCOPE_FIELDS}
        serializer.instance = services.incident_response_update(
            response=serializer.instance, user=self.request.user, **fields
        )

    def _fresh(self, response):
        return Response(ResponseSerializer(self.get_queryset().get(pk=response.pk)).data)

    @extend_schema(request=StepActionSerializer, responses=ResponseSerializer)
    @action(detail=True, methods=["post"])
    def step(self, request, pk=None):
        """Tick or untick one step of the checklist, with a note."""
        response = self.get_object()
        params = StepActionSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        step = get_object_or_404(response.steps.all(), step=params.validated_data["step"])
        services.response_step_set(
            step=step, user=request.user, done=params.validated_data["done"], note=params.validated_data["note"]
        )
        return self._fresh(response)

    @extend_schema(request=ReasonSerializer, responses=ResponseSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Pause invoicing company-wide, for this response."""
        response = self.get_object()
        params = ReasonSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.invoicing_pause(
            company=response.company, user=request.user, reason=params.validated_data["reason"], response=response
        )
        return self._fresh(response)

    @extend_schema(request=ReasonSerializer, responses=ResponseSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Lift the company's invoicing pause, saying why."""
        response = self.get_object()
        params = ReasonSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.invoicing_resume(company=response.company, user=request.user, reason=params.validated_data["reason"])
        return self._fresh(response)

    @extend_schema(request=ReasonSerializer, responses=ResponseSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        response = self.get_object()
        params = ReasonSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.incident_response_close(response=response, user=request.user, note=params.validated_data["reason"])
        return self._fresh(response)


# --- Counterparty requests ---------------------------------------------------------------------
class RequestItemSerializer(serializers.ModelSerializer):
    # The API keeps the name its clients know; the model calls it a gap.
    discrepancy = serializers.PrimaryKeyRelatedField(source="gap", read_only=True, allow_null=True)

    class Meta:
        model = CounterpartyRequestItem
        fields = [
            "id",
            "discrepancy",
            "invoice_key",
            "order_number",
            "issue_date",
            "amount",
            "tax",
            "total",
            "received_invoice",
        ]
        read_only_fields = fields


class CopySerializer(serializers.ModelSerializer):
    class Meta:
        model = CounterpartyCopy
        fields = ["id", "original_name", "file_type", "size", "sha256", "batch", "uploaded_at"]
        read_only_fields = fields


class RequestSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    items = RequestItemSerializer(many=True, read_only=True)
    copies = CopySerializer(many=True, read_only=True)

    class Meta:
        model = CounterpartyRequest
        fields = [
            "id",
            "number",
            "company",
            "response",
            "direction",
            "counterparty_name",
            "counterparty_tax_id",
            "email",
            "state",
            "letter",
            "note",
            "created_at",
            "sent_at",
            "emailed_at",
            "answered_at",
            "received_at",
            "closed_at",
            "items",
            "copies",
        ]
        read_only_fields = fields


class PrepareSerializer(serializers.Serializer):
    gaps = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    response = serializers.IntegerField(required=False, allow_null=True)


class SendSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CopyUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class RequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RequestSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["company", "state", "response", "direction"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CounterpartyRequest.objects.none()
        return CounterpartyRequest.objects.for_user(self.request.user).prefetch_related("items", "copies")

    @extend_schema(request=PrepareSerializer, responses=RequestSerializer(many=True))
    def create(self, request):
        """Prepare one request per customer or supplier of the given gaps."""
        params = PrepareSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        gaps = list(
            Gap.objects.for_user(request.user).filter(pk__in=params.validated_data["gaps"], status__in=OPEN_GAP_STATES)
        )
        companies = {g.company_id for g in gaps}
        if len(companies) != 1:
            raise serializers.ValidationError({"gaps": ["Select open gaps of one company."]})
        company = Company.objects.get(pk=companies.pop())
        response = None
        if params.validated_data.get("response"):
            response = get_object_or_404(
                IncidentResponse.objects.filter(company=company), pk=params.validated_data["response"]
            )
        made = services.counterparty_requests_prepare(company=company, user=request.user, gaps=gaps, response=response)
        fresh = self.get_queryset().filter(pk__in=[r.pk for r in made])
        return Response(RequestSerializer(fresh, many=True).data, status=status.HTTP_201_CREATED)

    def _fresh(self, req):
        return Response(RequestSerializer(self.get_queryset().get(pk=req.pk)).data)

    @extend_schema(request=SendSerializer, responses=RequestSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Mark sent; with an email address the letter goes out by email (PDF attached)."""
        req = self.get_object()
        params = SendSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.counterparty_request_send(request=req, user=request.user, email=params.validated_data["email"])
        return self._fresh(req)

    @extend_schema(request=NoteSerializer, responses=RequestSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        req = self.get_object()
        params = NoteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.counterparty_request_answer(request=req, user=request.user, note=params.validated_data["note"])
        return self._fresh(req)

    @extend_schema(request=NoteSerializer, responses=RequestSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        req = self.get_object()
        params = NoteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.counterparty_request_close(request=req, user=request.user, note=params.validated_data["note"])
        return self._fresh(req)

    @extend_schema(request={"multipart/form-data": CopyUploadSerializer}, responses=RequestSerializer)
    @action(detail=True, methods=["post"])
    def copies(self, request, pk=None):
        """Attach a copy the counterparty sent; an e-invoice file (XML/OFD) is imported into our books."""
        req = self.get_object()
        params = CopyUploadSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["file"]
        uploads.check_size(name=upload.name, size=upload.size)
        services.counterparty_copy_add(request=req, user=request.user, name=upload.name, content=upload.read())
        return self._fresh(req)
