"""Invoice list and detail, in pages and API: filters, tenancy and constant query counts."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoices.models import RECORD_LIST_ORDER, Invoice, TaxRecord


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


def _many(company, count: int) -> None:
    """`count` invoices over a hundred days, numbered from 1 (buyers 客户1…, 客户2…)."""
    Invoice.objects.bulk_create(
        Invoice(
            company=company,
            direction="issued",
            invoice_key=key(n),
            digital_number=key(n),
            issue_date=date(2026, 1, 1) + timedelta(days=n % 100),
            seller_tax_id=company.credit_code,
            buyer_name=f"客户{n}有限公司",
            amount=Decimal("100.00"),
            tax=Decimal("13.00"),
            total=Decimal("113.00"),
            invoice_type="digital_special",
        )
        for n in range(1, count + 1)
    )


def _counted(captured) -> bool:
    """Whether the invoices were counted (rather than their count read from the tally)."""
    return any("COUNT(" in query["sql"].upper() and "invoices_invoice" in query["sql"] for query in captured)


@pytest.mark.parametrize("number", [1, 2, 4, 6])  # the first pages, one found from the end, the last
def test_the_invoice_list_shows_its_pages_from_the_tally_without_counting(client_for, alice, beijing, xian, number):
    _many(beijing, 260)
    _many(xian, 30)  # another company's invoices are neither shown nor counted
    with CaptureQueriesContext(connection) as captured:
        page = client_for(alice).get("/invoices/", {"page": number})
    assert f"{number} / 6" in page.text
    assert not _counted(captured)
    expected = Invoice.objects.filter(company=beijing).order_by(*RECORD_LIST_ORDER)
    assert [i.pk for i in page.context["page"]] == [i.pk for i in expected[(number - 1) * 50 : number * 50]]
    assert len(page.context["page"]) == (10 if number == 6 else 50)


def test_a_filtered_invoice_list_counts_what_the_filter_leaves(client_for, alice, beijing):
    _many(beijing, 260)
    client = client_for(alice)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/invoices/", {"counterparty": "客户1", "page": 3})  # 1, 10–19, 100–199
    assert "3 / 3" in page.text and len(page.context["page"]) == 11 and _counted(captured)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/invoices/", {"direction": "issued", "company": beijing.pk, "page": 2})
    assert "2 / 6" in page.text and not _counted(captured)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/invoices/", {"direction": "received"})
    assert page.context["page"].paginator.count == 0 and not _counted(captured)


def test_the_invoice_api_counts_from_the_tally_unless_filtered(api_for, alice, beijing):
    _many(beijing, 260)
    api = api_for(alice)
    with CaptureQueriesContext(connection) as captured:
        data = api.get("/api/invoices/", {"page": 6}).json()
    assert data["count"] == 260 and len(data["results"]) == 10 and not _counted(captured)
    expected = Invoice.objects.filter(company=beijing).order_by(*RECORD_LIST_ORDER)
    assert [row["id"] for row in data["results"]] == [i.pk for i in expected[250:]]
    with CaptureQueriesContext(connection) as captured:
        data = api.get("/api/invoices/", {"counterparty": "客户1"}).json()
    assert data["count"] == 111 and _counted(captured)
