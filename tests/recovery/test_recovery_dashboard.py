"""The finance dashboard (home page), the gap list, bulk actions and exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from recovery.models import Gap, GapKind, GapStatus
from tests.recovery.helpers import _gaps


def test_home_is_the_dashboard_with_open_gaps_by_kind(client_for, alice, beijing, xian):
    _gaps(beijing, 12)
    _gaps(xian, 5)
    response = client_for(alice).get(reverse("portal:home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="open-gap-total">12<' in body  # xian's gaps are not alice's
    assert 'data-stale="1"' in body  # no backup import yet


@pytest.mark.django_db
def test_dashboard_and_gap_list_queries_stay_constant_with_100000_gaps(
    client_for, alice, beijing, django_assert_max_num_queries
):
    _gaps(beijing, 100_000)
    client = client_for(alice)
    # 16 for the figures, gaps, reviews and companies, plus the tax-system status panels (systems,
    # windows, incidents, their updates).
    with django_assert_max_num_queries(20):
        assert client.get(reverse("portal:home")).status_code == 200
    with django_assert_max_num_queries(12):
        response = client.get(reverse("recovery:recovery-gap-list"))
    assert response.status_code == 200 and response.content.decode().count('name="ids"') == 50


def test_gap_list_pages_keep_the_filter_and_the_exports_take_it(client_for, alice, beijing):
    _gaps(beijing, 120, kind=GapKind.ONLY_IN_BOOKS)
    body = (
        client_for(alice).get(reverse("recovery:recovery-gap-list"), {"kind": GapKind.ONLY_IN_BOOKS, "page": 2}).content
    )
    body = body.decode()
    assert "2 / 3" in body
    for page in (1, 3):  # the page number replaced, not repeated after the old one
        assert f'href="?kind={GapKind.ONLY_IN_BOOKS}&amp;page={page}"' in body
    assert f'{reverse("recovery:recovery-gap-export-csv")}?kind={GapKind.ONLY_IN_BOOKS}"' in body


def test_gap_list_filters_and_hides_other_companies(client_for, alice, beijing, xian):
    _gaps(beijing, 6)
    _gaps(xian, 6)
    body = (
        client_for(alice).get(reverse("recovery:recovery-gap-list"), {"kind": GapKind.ONLY_IN_BOOKS}).content.decode()
    )
    assert body.count('name="ids"') == 1


def test_bulk_acknowledge_touches_only_own_gaps(client_for, alice, beijing, xian):
    _gaps(beijing, 3)
    _gaps(xian, 3)
    ids = list(Gap.objects.values_list("pk", flat=True))
    client_for(alice).post(reverse("recovery:recovery-gap-bulk"), {"action": "acknowledge", "ids": ids})
    assert Gap.objects.filter(company=beijing, status=GapStatus.ACKNOWLEDGED).count() == 3
    assert Gap.objects.filter(company=xian, status=GapStatus.OPEN).count() == 3


def test_bulk_dismiss_without_reason_changes_nothing(client_for, alice, beijing):
    _gaps(beijing, 2)
    ids = list(Gap.objects.values_list("pk", flat=True))
    client_for(alice).post(reverse("recovery:recovery-gap-bulk"), {"action": "dismiss", "ids": ids, "reason": ""})
    assert not Gap.objects.filter(status=GapStatus.DISMISSED).exists()


def test_bulk_without_an_action_says_so_and_changes_nothing(client_for, alice, beijing):
    _gaps(beijing, 2)
    ids = list(Gap.objects.values_list("pk", flat=True))
    response = client_for(alice).post(reverse("recovery:recovery-gap-bulk"), {"action": "", "ids": ids}, follow=True)
    assert "选择要对所选差异执行的操作" in response.content.decode()
    assert Gap.objects.filter(status=GapStatus.OPEN).count() == 2


def test_exports_escape_formula_cells(client_for, alice, beijing):
    _gaps(beijing, 1, invoice_key="=HYPERLINK(1)")
    client = client_for(alice)
    text = client.get(reverse("recovery:recovery-gap-export-csv")).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][3] == "'=HYPERLINK(1)"
    wb = load_workbook(io.BytesIO(client.get(reverse("recovery:recovery-gap-export-xlsx")).content))
    assert list(wb.active.iter_rows(values_only=True))[1][3] == "'=HYPERLINK(1)"


def test_gap_list_company_choices_never_name_another_tenant(client_for, alice, charlie):
    response = client_for(charlie).get("/recovery/gaps/")
    assert response.status_code == 200
    assert "西安秦川贸易有限公司" in response.text
    assert "北京华信科技有限公司" not in response.text
