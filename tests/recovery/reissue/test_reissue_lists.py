"""List pages and endpoints of the reissue area keep flat query counts; the gap list hands its selection over."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from recovery.reissue import services
from tests.recovery.reissue.fixtures import DAY, application

pytestmark = pytest.mark.usefixtures("messages_in_english")


def _fill(beijing, alice, n=5):
    for i in range(n):
        services.hand_issued_invoice_record(
            company=beijing,
            user=alice,
            invoice_code="1100231130",
            invoice_number=f"{i + 1:08d}",
            issue_date=DAY,
            counterparty_name="客户",
            amount=Decimal("10.00"),
            tax=Decimal("1.30"),
        )
        application(beijing, alice, tax_type=f"税种{i}")


def test_hand_issued_and_deferred_lists_query_counts(
    client_for, api_for, beijing, alice, django_assert_max_num_queries
):
    _fill(beijing, alice)
    client, api = client_for(alice), api_for(alice)
    for url in (reverse("recovery:hand-issued-list"), reverse("recovery:deferred-filing-list")):
        with django_assert_max_num_queries(10):
            assert client.get(url).status_code == 200
    for url in ("/api/hand-issued-invoices/", "/api/deferred-filings/", "/api/reissue-evidence/"):
        with django_assert_max_num_queries(10):
            assert api.get(url).status_code == 200


def test_gap_list_selection_opens_a_prefilled_request_form(client_for, beijing, alice, gaps):
    html = client_for(alice).get(reverse("recovery:recovery-gap-list")).content.decode()
    assert 'id="reissue-selected"' in html
    url = reverse("recovery:reissue-request-new") + f"?ids={gaps[0].pk}&ids={gaps[2].pk}&action=acknowledge"
    html = client_for(alice).get(url).content.decode()
    assert f'value="{gaps[0].pk}" id="gap-{gaps[0].pk}" data-amount="113.00" checked' in html
    assert f'value="{gaps[1].pk}" id="gap-{gaps[1].pk}" data-amount="226.00" >' in html


def test_only_accountants_open_the_forms(client_for, bob, fiona):
    for user in (bob, fiona):
        for name in ("recovery:reissue-request-new", "recovery:deferred-filing-new", "recovery:hand-issued-new"):
            assert client_for(user).get(reverse(name)).status_code == 403


def test_overdue_and_later_dates(beijing, alice, settings):
    settings.HAND_ISSUED_ENTRY_DAYS = 0
    row = services.hand_issued_invoice_record(
        company=beijing,
        user=alice,
        invoice_code="",
        invoice_number="12345678",
        counterparty_name="客户",
        issue_date=date.today() - timedelta(days=1),
        amount=Decimal("1.00"),
        tax=Decimal("0.00"),
    )
    assert row.is_overdue()


def test_filtering_requests_by_invoice_number_keeps_each_requests_total(client_for, beijing, alice, gaps):
    from tests.recovery.reissue.fixtures import draft

    req = draft(beijing, alice, gaps)
    other = draft(beijing, alice, [], manual=[])
    list_url = reverse("recovery:reissue-request-list")
    for query in ("", "?invoice_key=1100231130", f"?invoice_key={gaps[1].invoice_key}"):
        html = client_for(alice).get(list_url + query).content.decode()
        assert req.number in html and "678.00" in html, query
        assert (other.number in html) == (query == ""), query


def test_list_pages_page_on_and_keep_their_filters(client_for, beijing, alice):
    from recovery.deferred.models import DeferredFiling
    from recovery.reissue.models import HandIssuedInvoice

    HandIssuedInvoice.objects.bulk_create(
        HandIssuedInvoice(
            company=beijing,
            invoice_key=f"{i:08d}",
            invoice_number=f"{i:08d}",
            issue_date=DAY,
            counterparty_name="客户",
            amount=Decimal("10.00"),
            tax=Decimal("1.30"),
            total=Decimal("11.30"),
        )
        for i in range(1, 56)
    )
    DeferredFiling.objects.bulk_create(
        DeferredFiling(
            company=beijing,
            created_by=alice,
            period=date(2026, 10, 1),
            tax_type=f"税种{i}",
            deadline=date(2026, 11, 15),
        )
        for i in range(55)
    )
    client = client_for(alice)
    for name, query in (
        ("recovery:hand-issued-list", "entered=false"),
        ("recovery:deferred-filing-list", "state=draft"),
    ):
        html = client.get(f"{reverse(name)}?{query}").content.decode()
        assert f'href="?{query}&amp;page=2"' in html, name
        html = client.get(f"{reverse(name)}?{query}&page=2").content.decode()
        assert "2 / 2" in html and f'href="?{query}&amp;page=1"' in html, name
