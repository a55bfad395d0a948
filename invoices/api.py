"""Read API for invoice records: the company's own invoices and what the tax system shows."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from invoices.filters import InvoiceRecordFilter
from invoices.models import Invoice, TaxRecord

RECORD_FIELDS = [
    "id",
    "company",
    "direction",
    "invoice_key",
    "invoice_code",
    "invoice_number",
    "digital_number",
    "issue_date",
    "issued_at",
    "seller_tax_id",
    "seller_name",
    "buyer_tax_id",
    "buyer_name",
    "amount",
    "tax",
    "total",
    "tax_rate",
    "invoice_type",
    "status",
    "batch",
]


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

    def get_queryset(self):
        model = self.serializer_class.Meta.model
        if getattr(self, "swagger_fake_view", False):
            return model.objects.none()
        return model.objects.for_user(self.request.user).order_by("-issue_date", "invoice_key")


class InvoiceViewSet(_RecordViewSet):
    """The company's own invoice records (from backups)."""

    serializer_class = InvoiceSerializer


class TaxRecordViewSet(_RecordViewSet):
    """Invoices as the tax system shows them."""

    serializer_class = TaxRecordSerializer
