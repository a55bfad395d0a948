"""Requests to customers and suppliers for copies of lost invoices: one letter per counterparty,
in Chinese (text and PDF), sent by email, tracked, answered with e-invoice files imported into our books."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from invoices.models import Invoice
from recovery.models import Gap, GapKind
from response import services
from response.letters import request_pdf
from response.models import CounterpartyRequest, RequestState
from tests.invoices.einvoices import BUYER, DIGITAL_NUMBER, einvoice_xml
from tests.recovery.helpers import run
from tests.response.helpers import order

pytestmark = pytest.mark.django_db

OTHER = "91310000MA1FL5XK8U"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda event: None)
    cache.set(services.PAUSED_CACHE_KEY, [])


@pytest.fixture
def lost(beijing, outage):
    """Three invoices lost from both sides: two for the Fuzhou customer (one named by its number), one for Shanghai."""
    order(beijing, "SO-1", party=BUYER[0], name=BUYER[1], amount="1000.00", tax="130.00", invoice=DIGITAL_NUMBER)
    order(beijing, "SO-2", party=BUYER[0], name=BUYER[1], amount="50.00", tax="6.50")
    order(beijing, "SO-3", party=OTHER, name="上海明远贸易有限公司")
    run(beijing)
    return list(Gap.objects.filter(kind=GapKind.ONLY_IN_ORDERS).order_by("gap_key"))


def test_selected_gaps_become_one_chinese_letter_per_counterparty(beijing, alice, lost):
    made = services.counterparty_requests_prepare(company=beijing, user=alice, gaps=lost)
    assert sorted((r.counterparty_name, r.items.count()) for r in made) == [
        ("上海明远贸易有限公司", 1),
        ("福州闽江贸易有限公司", 2),
    ]
    fuzhou = next(r for r in made if r.counterparty_tax_id == BUYER[0])
    assert fuzhou.state == RequestState.DRAFT
    assert fuzhou.letter.startswith("福州闽江贸易有限公司：")
    assert DIGITAL_NUMBER in fuzhou.letter and "SO-2" in fuzhou.letter and "1,130.00" in fuzhou.letter
    assert "复印件" in fuzhou.letter  # Chinese whatever the language of whoever prepared it
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(request_pdf(fuzhou))).pages)
    assert DIGITAL_NUMBER in text and "福州闽江贸易有限公司" in text


def test_sending_by_email_goes_out_once_with_the_pdf(beijing, alice, lost, django_capture_on_commit_callbacks):
    request = services.counterparty_requests_prepare(company=beijing, user=alice, gaps=lost[:2])[0]
    with django_capture_on_commit_callbacks(execute=True):
        services.counterparty_request_send(request=request, user=alice, email="finance@minjiang.example")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["finance@minjiang.example"] and "发票" in message.subject
    assert message.attachments[0][0].endswith(".pdf") and message.attachments[0][1].startswith(b"%PDF")
    assert services.counterparty_request_email(request_id=request.pk) is False  # a retry sends nothing
    request.refresh_from_db()
    assert request.state == RequestState.SENT and request.emailed_at is not None


def test_an_e_invoice_file_sent_back_is_imported_and_ticks_off_the_invoice(beijing, alice, lost):
    request = services.counterparty_requests_prepare(company=beijing, user=alice, gaps=lost[:2])[0]
    services.counterparty_request_send(request=request, user=alice)
    copy = services.counterparty_copy_add(request=request, user=alice, name="发票.xml", content=einvoice_xml())
    assert copy.batch is not None and Invoice.objects.filter(invoice_key=DIGITAL_NUMBER).exists()
    request.refresh_from_db()
    assert request.state == RequestState.RECEIVED and request.answered_at is not None
    received = {i.invoice_key: i.received_invoice_id for i in request.items.all()}
    assert received[DIGITAL_NUMBER] is not None and received[""] is None
    services.counterparty_copy_add(request=request, user=alice, name="SO-2 复印件.pdf", content=PDF)
    assert request.copies.count() == 2
    services.counterparty_request_close(request=request, user=alice, note="均已收到")
    request.refresh_from_db()
    assert request.state == RequestState.CLOSED
    with pytest.raises(ValidationError):
        services.counterparty_request_answer(request=request, user=alice)


def test_a_file_that_is_not_what_it_claims_is_refused(beijing, alice, lost):
    request = services.counterparty_requests_prepare(company=beijing, user=alice, gaps=lost[:1])[0]
    with pytest.raises(ValidationError):
        services.counterparty_copy_add(request=request, user=alice, name="copy.pdf", content=b"MZ not a pdf")
    with pytest.raises(ValidationError):
        services.counterparty_copy_add(request=request, user=alice, name="x.xml", content=b"not xml")
    assert request.copies.count() == 0


def test_the_pages_prepare_send_and_receive(beijing, alice, fiona, lost, client_for):
    client = client_for(alice)
    page = client.post(reverse("response:response-request-prepare"), {"ids": [lost[0].pk, lost[1].pk]}, follow=True)
    request = CounterpartyRequest.objects.get()
    assert page.redirect_chain[-1][0] == reverse("response:response-request-detail", args=[request.pk])
    assert "福州闽江贸易有限公司" in page.content.decode()
    client.post(reverse("response:response-request-action", args=[request.pk, "send"]), {"email": ""})
    upload = SimpleUploadedFile("发票.xml", einvoice_xml(), content_type="application/xml")
    detail = client.post(
        reverse("response:response-request-copy-add", args=[request.pk]), {"file": upload}, follow=True
    )
    assert "✓ " + DIGITAL_NUMBER in detail.content.decode()
    pdf = client.get(reverse("response:response-request-pdf", args=[request.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    listing = client_for(fiona).get(reverse("response:response-request-list")).content.decode()
    assert request.number in listing
    refused = client_for(fiona).post(reverse("response:response-request-action", args=[request.pk, "close"]))
    assert refused.status_code == 403
    request.refresh_from_db()
    assert request.state == RequestState.RECEIVED


def test_the_api_prepares_sends_and_takes_copies(
    beijing, alice, charlie, lost, api_for, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    api = api_for(alice)
    made = api.post("/api/counterparty-requests/", {"gaps": [g.pk for g in lost]}, format="json")
    assert made.status_code == 201 and len(made.json()) == 2
    pk = next(r["id"] for r in made.json() if r["counterparty_tax_id"] == BUYER[0])
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/api/counterparty-requests/{pk}/send/", {"email": "a@b.example"}, format="json").json()
    assert sent["state"] == "sent" and len(mail.outbox) == 1
    upload = SimpleUploadedFile("inv.xml", einvoice_xml(), content_type="application/xml")
    got = api.post(f"/api/counterparty-requests/{pk}/copies/", {"file": upload}, format="multipart").json()
    assert got["state"] == "received" and got["copies"][0]["batch"] is not None
    assert api_for(charlie).get("/api/counterparty-requests/").json()["count"] == 0
    foreign = api_for(charlie).post("/api/counterparty-requests/", {"gaps": [lost[0].pk]}, format="json")
    assert foreign.status_code == 400
    with django_assert_max_num_queries(6):
        assert api.get("/api/counterparty-requests/").json()["count"] == 2


def test_an_ofd_e_invoice_sent_back_is_imported_too(beijing, alice, lost):
    from tests.invoices.einvoices import OFD_NUMBER, digital_ofd

    request = services.counterparty_requests_prepare(company=beijing, user=alice, gaps=lost[:1])[0]
    copy = services.counterparty_copy_add(request=request, user=alice, name="发票.ofd", content=digital_ofd())
    assert copy.file_type == "ofd" and copy.batch is not None
    assert Invoice.objects.filter(company=beijing, invoice_key=OFD_NUMBER).exists()


def test_list_pages_cost_a_fixed_number_of_queries(beijing, alice, lost, client_for, django_assert_max_num_queries):
    services.counterparty_requests_prepare(company=beijing, user=alice, gaps=lost)
    client = client_for(alice)
    client.get(reverse("response:response-request-list"))
    with django_assert_max_num_queries(10):
        assert client.get(reverse("response:response-request-list")).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("response:response-order-list")).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(reverse("response:response-list")).status_code == 200
