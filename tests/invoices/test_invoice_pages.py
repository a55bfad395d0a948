"""Invoice list and detail, in pages and API: filters, tenancy and constant query counts."""

from datetime import date
from decimal import Decimal

import pytest

from invoices.models import Invoice, TaxRecord


def make(model, company, key, **extra):
    values = {
        "company": company,
        "direction": "issued",
        "invoice_key": key,
        "digital_number": key,
        "issue_date": date(2026, 11, 18),
        "seller_tax_id": company.credit_code,
        "seller_name": company.name,
        "buyer_tax_id": "91350100M000100Y43",
        "buyer_name": "福州客户有限公司",
        "amount": Decimal("100.00"),
        "tax": Decimal("13.00"),
        "total": Decimal("113.00"),
        "invoice_type": "digital_special",
        **extra,
    }
    if model is TaxRecord:
        from django.utils import timezone

        values.setdefault("seen_at", timezone.now())
    return model.objects.create(**values)


def key(n: int) -> str:
    return f"261120000000{n:08d}"


def test_list_filters_by_counterparty_and_amount(client_for, alice, beijing):
    make(Invoice, beijing, key(1))
    make(Invoice, beijing, key(2), buyer_name="上海东方电子有限公司", amount=Decimal("1000.00"), tax=Decimal("130.00"),
         total=Decimal("1130.00"))  # fmt: skip
    client = client_for(alice)
    page = client.get("/invoices/", {"counterparty": "东方"})
    assert key(2) in page.text and key(1) not in page.text
    page = client.get("/invoices/", {"total_max": "200"})
    assert key(1) in page.text and key(2) not in page.text


def test_number_search_tolerates_spreadsheet_mangling(client_for, alice, beijing):
    make(Invoice, beijing, key(7))
    page = client_for(alice).get("/invoices/", {"number": "'００００００07"})
    assert key(7) in page.text


def test_the_api_uses_the_same_filters(api_for, alice, beijing):
    make(Invoice, beijing, key(1), status="voided")
    make(Invoice, beijing, key(2))
    data = api_for(alice).get("/api/invoices/", {"status": "voided"}).json()
    assert [row["invoice_key"] for row in data["results"]] == [key(1)]
    assert data["results"][0]["total"] == "113.00"


def test_detail_shows_the_tax_system_twin_and_its_differences(client_for, alice, beijing):
    invoice = make(Invoice, beijing, key(3))
    make(TaxRecord, beijing, key(3), status="voided")
    page = client_for(alice).get(f"/invoices/{invoice.pk}/")
    assert page.status_code == 200
    assert 'class="table-danger"' in page.text  # the status differs
    lonely = make(Invoice, beijing, key(4))
    assert 'id="no-twin"' in client_for(alice).get(f"/invoices/{lonely.pk}/").text


def test_other_companies_invoices_are_404_and_absent(client_for, api_for, charlie, beijing, xian):
    theirs = make(Invoice, beijing, key(5))
    assert client_for(charlie).get(f"/invoices/{theirs.pk}/").status_code == 404
    assert api_for(charlie).get(f"/api/invoices/{theirs.pk}/").status_code == 404
    assert api_for(charlie).get("/api/invoices/").json()["count"] == 0
    assert key(5) not in client_for(charlie).get("/invoices/").text


@pytest.mark.parametrize("url", ["/invoices/", "/api/invoices/", "/api/tax-records/"])
def test_lists_use_a_constant_number_of_queries(client_for, alice, beijing, url, django_assert_max_num_queries):
    for n in range(60):
        make(Invoice, beijing, key(100 + n))
        make(TaxRecord, beijing, key(100 + n))
    client = client_for(alice)
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200
