"""Hand-issued invoices: recorded with amounts and a checked scan, tracked until reconciliation finds them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from recovery.reissue import services
from recovery.reissue.models import HandIssuedInvoice
from tests.recovery.reissue.fixtures import DAY, PNG_BYTES, book, reconcile, tax_record

pytestmark = pytest.mark.usefixtures("messages_in_english")


def record(company, user, number="12345678", **kw):
    values = {
        "invoice_code": "1100231130",
        "invoice_number": number,
        "issue_date": DAY,
        "counterparty_name": "天津客户",
        "amount": Decimal("200.00"),
        "tax": Decimal("26.00"),
    }
    values.update(kw)
    return services.hand_issued_invoice_record(company=company, user=user, **values)


def api_body(company, **changes) -> dict:
    """A hand-issued invoice as the API takes it; a change to None leaves that field out."""
    body = {
        "company": company.pk,
        "invoice_code": "1100231130",
        "invoice_number": "11112222",
        "issue_date": "2026-11-10",
        "counterparty_name": "天津客户",
        "amount": "10.00",
        "tax": "1.30",
        **changes,
    }
    return {name: value for name, value in body.items() if value is not None}


def test_recorded_with_total_and_tracked_until_reconciliation_finds_it(beijing, alice, monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda *a, **k: None)
    row = record(beijing, alice, scan_name="手写发票.png", scan_content=PNG_BYTES)
    assert row.total == Decimal("226.00") and row.invoice_key == "110023113012345678"
    assert row.entered_at is None and row.scan_type == "png"
    book(beijing, number="12345678", amount="200.00", tax="26.00")
    tax_record(beijing, number="12345678", amount="200.00", tax="26.00")
    reconcile(beijing)
    row.refresh_from_db()
    assert row.entered_at is not None and row.booked_at is not None


def test_overdue_after_the_configured_days(beijing, alice, settings):
    settings.HAND_ISSUED_ENTRY_DAYS = 3
    today = timezone.localdate()
    fresh = record(beijing, alice, number="00000001", issue_date=today - timedelta(days=3))
    late = record(beijing, alice, number="00000002", issue_date=today - timedelta(days=4))
    assert not fresh.is_overdue() and late.is_overdue()


def test_only_accountants_record_and_bad_scans_store_nothing(settings, beijing, alice, fiona, bob):
    for person in (fiona, bob):
        with pytest.raises(PermissionDenied):
            record(beijing, person)
    with pytest.raises(ValidationError, match="content is not one"):
        record(beijing, alice, scan_name="scan.jpg", scan_content=PNG_BYTES)
    assert not HandIssuedInvoice.objects.exists()
    assert not (settings.PRIVATE_STORAGE_ROOT / "hand-issued").exists()


def test_duplicate_number_is_refused_clearly(beijing, alice):
    record(beijing, alice)
    with pytest.raises(ValidationError, match="already recorded"):
        record(beijing, alice)


def test_page_lists_with_overdue_warning_and_outsiders_get_404(client_for, beijing, alice, charlie, settings):
    settings.HAND_ISSUED_ENTRY_DAYS = 1
    row = record(
        beijing, alice, issue_date=timezone.localdate() - timedelta(days=5), scan_name="a.png", scan_content=PNG_BYTES
    )
    html = client_for(alice).get(reverse("recovery:hand-issued-list")).content.decode()
    assert 'data-overdue="1"' in html and row.invoice_key in html
    assert row.invoice_key not in client_for(charlie).get(reverse("recovery:hand-issued-list")).content.decode()
    assert client_for(charlie).get(reverse("recovery:hand-issued-scan", args=[row.pk])).status_code == 404
    response = client_for(alice).get(reverse("recovery:hand-issued-scan", args=[row.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG_BYTES
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'attachment; filename="a.png"'


def test_page_form_records_and_refuses_a_fake_photo(client_for, beijing, alice):
    data = {
        "company": beijing.pk,
        "invoice_code": "1100231130",
        "invoice_number": "87654321",
        "issue_date": DAY.isoformat(),
        "counterparty_name": "天津客户",
        "amount": "100.00",
        "tax": "13.00",
    }
    fake = SimpleUploadedFile("photo.jpg", b"%PDF-1.4 not a photo", content_type="image/jpeg")
    response = client_for(alice).post(reverse("recovery:hand-issued-new"), {**data, "scan": fake})
    assert response.status_code == 200 and "content is not one" in response.content.decode()
    response = client_for(alice).post(reverse("recovery:hand-issued-new"), data)
    assert response.status_code == 302
    assert HandIssuedInvoice.objects.get().total == Decimal("113.00")


def test_api_create_and_scoping(api_for, beijing, xian, alice, charlie):
    body = api_body(beijing)
    response = api_for(alice).post("/api/hand-issued-invoices/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["total"] == "11.30" and response.json()["overdue"] in (True, False)
    assert api_for(charlie).post("/api/hand-issued-invoices/", body, format="json").status_code == 404
    assert api_for(charlie).get("/api/hand-issued-invoices/").json()["count"] == 0


def test_api_refusal_of_a_reviewer_carries_the_services_reason(api_for, beijing, bob):
    body = api_body(beijing)
    response = api_for(bob).post("/api/hand-issued-invoices/", body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Only accountants of this company prepare and submit requests."
    assert not HandIssuedInvoice.objects.exists()


def test_api_refuses_an_oversize_scan_by_its_size(settings, api_for, beijing, alice):
    settings.MAX_UPLOAD_BYTES = 10
    body = api_body(
        beijing, invoice_code=None, scan=SimpleUploadedFile("photo.png", PNG_BYTES, content_type="image/png")
    )
    response = api_for(alice).post("/api/hand-issued-invoices/", body, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["scan"] == [
        f"photo.png is {len(PNG_BYTES)} bytes; the limit is 10 bytes."
    ]
    assert not HandIssuedInvoice.objects.exists()


def test_api_records_a_digital_invoice_without_a_code(api_for, beijing, alice):
    body = api_body(beijing, invoice_code=None, invoice_number="26112000000000000001")
    response = api_for(alice).post("/api/hand-issued-invoices/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["invoice_key"] == "26112000000000000001"


@pytest.mark.parametrize("number", ["²²²²²²²²", "٠٠٠٠٠٠٠١", "①①①①①①①①"])
def test_an_invoice_number_in_other_digits_is_refused(number):
    from recovery.reissue.forms import HandEnteredInvoiceForm

    form = HandEnteredInvoiceForm(
        data={"invoice_number": number, "issue_date": "2026-11-18", "amount": "10", "tax": "1"}
    )
    assert not form.is_valid() and "invoice_number" in form.errors
