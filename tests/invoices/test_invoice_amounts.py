"""Amounts to exact cents (spreadsheet floats included) and the summary rows backups and exports carry."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from invoices.imports.parsers import parse_money
from invoices.imports.services import import_file
from invoices.models import ImportKind, Invoice
from tests.invoices import einvoices as fx


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (0.1 + 0.2, "0.30"),  # 0.30000000000000004 in binary
        (1.005, "1.01"),  # stored as 1.00499999999999989…; the accountant typed 1.005
        (2.675, "2.68"),
        (1130, "1130.00"),
        (1e-3, "0.00"),
        ("１，１３０．５", "1130.50"),
        ("￥1,130.50", "1130.50"),
        (" 99.995 ", "100.00"),
        (Decimal("3.14159"), "3.14"),
        ("-226.11", "-226.11"),  # red-letter invoices carry negative amounts
    ],
)
def test_amounts_become_exact_cents_rounded_half_up(value, cents):
    assert parse_money(value) == Decimal(cents)


@pytest.mark.parametrize("value", ["", None, "abc", "NaN", "Infinity", "1e20", float("nan"), "1,0,0.0.0"])
def test_what_is_not_an_amount_is_refused_with_a_message(value):
    with pytest.raises(ValidationError) as caught:
        parse_money(value)
    assert caught.value.messages[0]


@pytest.mark.parametrize("name", ["backup-gbk.csv", "platform-export.xlsx"])
def test_summary_rows_with_dashes_are_neither_read_nor_rejected(beijing, name):
    report = import_file(
        company=beijing,
        kind=ImportKind.BACKUP,
        direction="issued",
        filename=name,
        content=(fx.DATA / name).read_bytes(),
    )
    expected = fx.EXPECTED_KEYS[name]
    assert (report.batch.rows_read, report.batch.rows_rejected) == (len(expected), 0)
    assert set(Invoice.objects.values_list("invoice_key", flat=True)) == expected


def test_float_cells_of_the_platform_export_land_as_exact_cents(beijing):
    import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="e.xlsx",
        content=(fx.DATA / "platform-export.xlsx").read_bytes(),
    )  # fmt: skip
    invoice = Invoice.objects.get()
    assert (invoice.amount, invoice.tax, invoice.total) == (Decimal("0.30"), Decimal("0.04"), Decimal("0.34"))


def test_a_memoised_tax_id_error_still_speaks_the_language_of_each_import():
    from django.utils import translation

    from invoices.imports.parsers import validate_row

    raw = {"invoice_number": "25112000000000000009", "issue_date": "2025-01-06", "amount": "1", "tax": "0",
           "seller_tax_id": "91110108MA01B2C3D1"}  # fmt: skip
    with translation.override("en"):
        english = validate_row(2, raw, default_type="digital_ordinary")[1][0].reason
    with translation.override("zh-hans"):
        chinese = validate_row(2, raw, default_type="digital_ordinary")[1][0].reason
    assert english != chinese and "91110108MA01B2C3D1" in english
