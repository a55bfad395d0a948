"""Read API for invoice records: the company's own invoices and what the tax system shows."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from invoices.filters import InvoiceRecordFilter
from invoices.forms import IMPORT_ROLES
from invoices.imports import services
from invoices.models import (
    RECORD_LIST_ORDER,
    Direction,
    ImportBatch,
    ImportKind,
    ImportRejection,
    Invoice,
    TaxFetch,
    TaxRecord,
    TaxSource,
    TaxSourceKind,
)
from invoices.sources import SourceError
from invoices.sources.fetch import tax_fetch_request, tax_source_save
from outage_portal.api import OwnCompanyField
from outage_portal.models import Company, Role
from outage_portal.rest import DeferredPagination
from outage_portal.roles import has_role

RECORD_FIELDS = ["id", "company", "direction", "invoice_key", *services.COMPARED_FIELDS, "batch"]


class InvoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = RECORD_FIELDS
        read_only_fields = RECORD_FIELDS


class TaxRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaxRecord
        fields = [*RECORD_FIELDS, "seen_at"]
        read_only_fields = fields


class _RecordViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_class = InvoiceRecordFilter
    pagination_class = DeferredPagination  # the order is an index's: `invoice_list`, `taxrecord_list`

    def get_queryset(self):
        model = self.serializer_class.Meta.model
        if getattr(self, "swagger_fake_view", False):
            return model.objects.none()
        # By company id, as the invoice list page does: the order is then read from an index.
        self.company_ids = list(Company.objects.for_user(self.request.user).values_list("pk", flat=True))
        return model.objects.filter(company_id__in=self.company_ids).order_by(*RECORD_LIST_ORDER)

    def list_count(self, queryset) -> int | None:
        """The list's count from the records' tally unless a filter narrows it (outage_portal.rest.Pagination)."""
        filterset = self.filterset_class(self.request.query_params, queryset=queryset, request=self.request)
        return filterset.tallied_count(self.company_ids)


class InvoiceViewSet(_RecordViewSet):
    """The company's own invoice records (from backups)."""

    serializer_class = InvoiceSerializer


class TaxRecordViewSet(_RecordViewSet):
    """Invoices as the tax system shows them."""

    serializer_class = TaxRecordSerializer


class RejectionSerializer(serializers.ModelSerializer):
    """One reason a row was rejected; a row with two problems has two. `column` is the file's header."""

    column = serializers.CharField(source="column_label", read_only=True)

    class Meta:
        model = ImportRejection
        fields = ["row", "column", "reason"]


class ImportBatchSerializer(serializers.ModelSerializer):
    rejections = RejectionSerializer(many=True, read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    rows_rejected = serializers.IntegerField(
        read_only=True, help_text=_("Rows rejected (a row with several problems counts once).")
    )

    class Meta:
        model = ImportBatch
        fields = [
            "id", "company", "kind", "direction", "state", "state_display", "original_name", "sha256", "size",
            "created_at", "finished_at", "rows_read", "rows_created", "rows_updated", "rows_unchanged", "rows_rejected",
            "failure_reason", "rows_processed", "progress_percent", "integrity", "integrity_checked_at",
            "issued_from", "issued_to", "rejections",
        ]  # fmt: skip
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer):
    company = OwnCompanyField()
    kind = serializers.ChoiceField(choices=[ImportKind.BACKUP, ImportKind.TAX_EXPORT])
    direction = serializers.ChoiceField(choices=Direction.choices, default=Direction.ISSUED)
    file = serializers.FileField()

    def validate_company(self, company):
        # Not a member with an importing role: the same answer as a company that does not exist.
        if (
            not Company.objects.for_user(self.context["request"].user, roles=IMPORT_ROLES)
            .filter(pk=company.pk)
            .exists()
        ):
            raise NotFound()
        return company

    def validate_file(self, upload):
        if upload.size > settings.MAX_UPLOAD_BYTES:
            raise serializers.ValidationError(
                _("The file is larger than %(limit)d MB.") % {"limit": settings.MAX_UPLOAD_BYTES // 2**20}
            )
        return upload


class ImportBatchViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Imports of invoice files. POST a multipart file (CSV, XLSX, e-invoice XML or OFD) to import it
    (accountants and company admins). A file over IMPORT_BACKGROUND_BYTES comes back "queued": poll the
    batch until it is no longer queued or running (`rows_processed`, `progress_percent`). It ends
    succeeded, failed (the file refused whole), rejected (every row rejected: nothing stored) or empty
    (no invoice rows: nothing stored)."""

    serializer_class = ImportBatchSerializer
    filterset_fields = ["company", "kind", "state"]
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImportBatch.objects.none()
        return ImportBatch.objects.for_user(self.request.user).prefetch_related("rejections")

    def get_serializer_class(self):
        return ImportUploadSerializer if self.action == "create" else ImportBatchSerializer

    @extend_schema(request=ImportUploadSerializer, responses={201: ImportBatchSerializer})
    def create(self, request, *args, **kwargs):
        upload = ImportUploadSerializer(data=request.data, context={"request": request})
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        batch = services.import_submit(
            company=data["company"],
            kind=data["kind"],
            direction=data["direction"],
            filename=data["file"].name,
            stream=data["file"],
            user=request.user,
        )
        # 201 with the report when the file was small enough to import at once; a big one is
        # "queued": poll GET /api/imports/<id>/ until its state is neither queued nor running.
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_201_CREATED)


# --- tax-system sources ---
class TaxSourceSerializer(serializers.Serializer):
    """A company's tax-system source. The access token is write-only: never shown after saving."""

    company = serializers.IntegerField(source="company_id", read_only=True)
    kind = serializers.ChoiceField(choices=TaxSourceKind.choices)
    base_url = serializers.URLField(max_length=300, required=False, allow_blank=True)
    credential = serializers.CharField(
        max_length=500, required=False, allow_blank=True, write_only=True, help_text=_("Empty keeps the stored one.")
    )
    has_credential = serializers.BooleanField(read_only=True)
    timeout_seconds = serializers.IntegerField(min_value=1, max_value=300, required=False)
    max_retries = serializers.IntegerField(min_value=0, max_value=10, required=False)
    page_size = serializers.IntegerField(min_value=10, max_value=500, required=False)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_fetch_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_fetch_error = serializers.CharField(read_only=True)


class TaxFetchSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaxFetch
        fields = [
            "id", "direction", "period_start", "period_end", "state", "created_at", "started_at", "finished_at",
            "batch", "rows_received", "rows_created", "rows_updated", "rows_unchanged", "failure_reason",
        ]  # fmt: skip
        read_only_fields = fields


class TaxFetchStatusSerializer(serializers.Serializer):
    """The newest "fetch now" of each direction and where to ask again."""

    company = serializers.IntegerField()
    running = serializers.BooleanField(help_text=_("A fetch is queued or running: ask the status URL again."))
    started = serializers.ListField(
        child=serializers.IntegerField(), help_text=_("Fetches this request queued (POST only).")
    )
    last_fetch_at = serializers.DateTimeField(allow_null=True)
    last_fetch_error = serializers.CharField()
    fetches = TaxFetchSerializer(many=True)
    status_url = serializers.URLField()


class TaxSourceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Each company's tax-system source, by company id. Members read; company admins change it;
    accountants and company admins fetch now (POST …/fetch/, then GET the status URL until not running)."""

    serializer_class = TaxSourceSerializer
    http_method_names = ["get", "put", "patch", "post", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Company.objects.none()
        return Company.objects.for_user(self.request.user).select_related("tax_source").order_by("name")

    def get_serializer(self, instance=None, *args, **kwargs):
        if isinstance(instance, Company):
            instance = TaxSource.for_company(instance)
        elif instance is not None and not isinstance(instance, TaxSource):
            instance = [TaxSource.for_company(company) for company in instance]
        return super().get_serializer(instance, *args, **kwargs)

    def _save(self, request, partial: bool):
        company = self.get_object()
        if not has_role(request.user, company, Role.COMPANY_ADMIN):
            raise PermissionDenied(_("Only a company admin can change where tax-system records come from."))
        current = TaxSource.for_company(company)
        serializer = TaxSourceSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source = tax_source_save(
            company=company,
            kind=data.get("kind", current.kind),
            base_url=data.get("base_url", current.base_url if partial else ""),
            credential=data.get("credential"),
            timeout_seconds=data.get("timeout_seconds"),
            max_retries=data.get("max_retries"),
            page_size=data.get("page_size"),
            user=request.user,
        )
        return Response(TaxSourceSerializer(source).data)

    @extend_schema(request=TaxSourceSerializer, responses={200: TaxSourceSerializer})
    def update(self, request, *args, **kwargs):
        return self._save(request, partial=False)

    @extend_schema(request=TaxSourceSerializer, responses={200: TaxSourceSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self._save(request, partial=True)

    def _fetch_status(self, request, company: Company, started: list[int]) -> dict:
        source = TaxSource.for_company(company)
        fetches = TaxFetch.objects.filter(company=company).latest_per_direction()
        return TaxFetchStatusSerializer(
            {
                "company": company.pk,
                "running": any(f.is_active for f in fetches),
                "started": started,
                "last_fetch_at": source.last_fetch_at,
                "last_fetch_error": source.last_fetch_error,
                "fetches": fetches,
                "status_url": request.build_absolute_uri(reverse("api:tax-source-fetch", args=[company.pk])),
            }
        ).data

    @extend_schema(methods=["GET"], request=None, responses={200: TaxFetchStatusSerializer})
    @extend_schema(
        methods=["POST"],
        request=None,
        responses={202: TaxFetchStatusSerializer},
        description=_(
            "Queue a fetch of the default period, issued and received. A direction with a fetch already queued "
            "or running gets no second one. Answers 202 with the status URL to poll."
        ),
    )
    @action(detail=True, methods=["get", "post"], url_path="fetch", url_name="fetch")
    def fetch(self, request, pk=None):
        company = self.get_object()
        if request.method == "GET":
            return Response(self._fetch_status(request, company, started=[]))
        if not has_role(request.user, company, *IMPORT_ROLES):
            raise PermissionDenied(_("Only the company's accountants and admins can fetch from the tax system."))
        try:
            queued = tax_fetch_request(company=company, user=request.user, language=request.LANGUAGE_CODE)
        except SourceError as exc:
            raise ValidationError(exc.reason)
        body = self._fetch_status(request, company, started=[f.pk for f in queued.started])
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})
