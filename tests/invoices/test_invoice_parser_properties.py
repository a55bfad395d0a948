"""Property-based: random and hostile files end in a report or a clear refusal, never a crash or a
half-written batch (hypothesis)."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from invoices.imports.parsers import FileRefused, iter_rows, validate_row
from invoices.imports.services import UNEXPECTED_FAILURE, import_file
from invoices.models import BatchState, ImportKind, ImportRejection, Invoice
from tests.invoices import einvoices as fx

HEADER = fx.BACKUP_HEADER.split(",")
NAMES = st.sampled_from(["b.csv", "b.xlsx", "b.xml", "b.ofd", "b.zip", "b.txt", "发票"])


def _parse_all(content: bytes, name: str) -> list:
    """Everything the parser and the row rules make of a file; FileRefused is the only allowed error."""
    results = []
    try:
        for row_number, raw in iter_rows(io.BytesIO(content), name):
            values, errors = validate_row(row_number, raw, default_type="digital_ordinary")
            results.append((values, errors))
    except FileRefused as refused:
        assert str(refused.message).strip()
        return []
    for values, errors in results:
        assert (values is None) or not errors
        for error in errors:
            assert error.column and str(error.reason).strip()
        if values is not None:
            assert values["invoice_key"] and len(values["invoice_key"]) <= 32
            assert values["total"] == values["amount"] + values["tax"]
            assert abs(values["total"]) < 10**15
            assert len(values["invoice_number"]) <= 20 and len(values["invoice_code"]) <= 12
            assert "\x00" not in values["seller_name"] + values["buyer_name"]
    return results


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(content=st.binary(max_size=2000), name=NAMES)
@example(content=b"\xef\xbb\xbf", name="b.csv")
@example(content=b"PK\x05\x06" + b"\0" * 18, name="b.ofd")
@example(content=b"PK\x05\x06" + b"\0" * 18, name="b.xlsx")
@example(content=b"<", name="b.xml")
def test_random_bytes_under_any_name(content, name):
    _parse_all(content, name)


CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "-",
            "合计",
            "NaN",
            "Infinity",
            "1e400",
            "-0",
            "１２３",
            "'0110",
            "2025-02-30",
            "0001-01-01",
            "9999-12-31 23:59:59",
            "13%",
            "免税",
            "正常",
            "作废",
            "x" * 300,
            "\x00",
            "1,000.00",
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
)


@FUZZ
@given(
    rows=st.lists(st.lists(CELL, min_size=0, max_size=len(HEADER) + 2), max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030"]),
)
def test_csv_with_real_headers_and_hostile_cells(rows, encoding):
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    try:
        content = out.getvalue().encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    _parse_all(content, "b.csv")


@FUZZ
@given(
    rows=st.lists(st.lists(st.one_of(CELL, st.floats(), st.none(), st.booleans()), max_size=len(HEADER)), max_size=5)
)
def test_xlsx_with_platform_headers_and_hostile_cells(rows):
    from openpyxl import Workbook
    from openpyxl.utils.exceptions import IllegalCharacterError

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "发票基础信息"
    sheet.append(HEADER)
    try:
        for row in rows:
            sheet.append(row)
    except (IllegalCharacterError, ValueError):
        assume(False)  # openpyxl will not write these; Excel would not either
    out = io.BytesIO()
    workbook.save(out)
    _parse_all(out.getvalue(), "b.xlsx")


XML_TEXT = st.one_of(CELL, st.just(fx.DIGITAL_NUMBER), st.just(fx.SELLER[0]))


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@FUZZ
@given(
    number=XML_TEXT, amount=XML_TEXT, tax=XML_TEXT, total=XML_TEXT, seller=XML_TEXT, when=XML_TEXT,
    cut=st.integers(min_value=0, max_value=3000),
)  # fmt: skip
def test_einvoice_xml_with_hostile_values_or_cut_short(number, amount, tax, total, seller, when, cut):
    content = fx.einvoice_xml(
        _xml_escape(number), amount=_xml_escape(amount), tax=_xml_escape(tax), total=_xml_escape(total)
    )
    content = content.replace(fx.SELLER[0].encode(), _xml_escape(seller).encode("utf-8", "replace"), 1)
    content = content.replace(b"2025-01-06 10:15:00", _xml_escape(when).encode("utf-8", "replace"))
    _parse_all(content, "e.xml")
    _parse_all(content[:cut], "e.xml")


@FUZZ
@given(
    members=st.dictionaries(
        st.sampled_from(["OFD.xml", "Doc_0/Attachs/original_invoice.xml", "../OFD.xml", "/OFD.xml", "Doc_0/x"]),
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from([fx.einvoice_xml(), b"<ofd:OFD xmlns:ofd='x'><ofd:DocBody/></ofd:OFD>"]),
            st.builds(lambda n, a: fx.digital_ofd(n, amount=a), st.text(max_size=25), st.text(max_size=12)).map(
                lambda z: zipfile.ZipFile(io.BytesIO(z)).read("OFD.xml")
            ),
        ),
        max_size=3,
    ),
    flip=st.integers(min_value=0, max_value=5000),
)
@example(members={"OFD.xml": b"x"}, flip=30)
def test_ofd_zips_with_hostile_members_or_a_flipped_byte(members, flip):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    content = bytearray(out.getvalue())
    _parse_all(bytes(content), "e.ofd")
    if content:
        content[flip % len(content)] ^= 0xFF
        _parse_all(bytes(content), "e.ofd")


@FUZZ
@given(cut=st.integers(min_value=0, max_value=6000), flip=st.integers(min_value=0, max_value=6000))
def test_platform_export_cut_short_or_with_a_flipped_byte(cut, flip):
    content = bytearray((fx.DATA / "platform-export.xlsx").read_bytes())
    _parse_all(bytes(content[:cut]), "e.xlsx")
    content[flip % len(content)] ^= 0x55
    _parse_all(bytes(content), "e.xlsx")


# --- Through the service: a batch either succeeds whole or fails and stores nothing ------------------
@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    rows=st.lists(st.lists(CELL, max_size=len(HEADER)), max_size=6),
    good=st.booleans(),
    name=st.sampled_from(["b.csv", "b.xml", "b.ofd", "b.xlsx"]),
)
# Found by this test on PostgreSQL: a rejection reason quoting a NUL cell broke the COPY of rejections.
@example(
    rows=[["011002400111", "00020009", "", "2025-01-06", fx.SELLER[0], "", "", "", "\x00", "1"]],
    good=True,
    name="b.csv",
)
def test_an_import_is_a_report_or_a_clear_refusal_never_half_written(beijing, rows, good, name):
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(([fx.BACKUP_ROWS[0].split(",")] if good else []) + rows)
    content = out.getvalue().encode("utf-8")
    report = import_file(company=beijing, kind=ImportKind.BACKUP, direction="issued", filename=name, content=content)
    batch = report.batch
    assert batch.state in (BatchState.SUCCEEDED, BatchState.REJECTED, BatchState.EMPTY, BatchState.FAILED)
    stored = Invoice.objects.filter(batch=batch).count()
    rejections = ImportRejection.objects.filter(batch=batch).count()
    rejected_rows = ImportRejection.objects.filter(batch=batch).values("row").distinct().count()
    if batch.state == BatchState.FAILED:
        assert batch.failure_reason and batch.failure_reason != str(UNEXPECTED_FAILURE)
        assert stored == 0 and rejections == 0
    else:
        # A row with several problems is one rejected row with several reasons.
        assert stored == batch.rows_created and rejected_rows == batch.rows_rejected <= rejections
        assert batch.rows_created + batch.rows_updated + batch.rows_unchanged <= batch.rows_read
        # Nothing stored and nothing left to store is never shown as a success.
        if batch.state == BatchState.EMPTY:
            assert batch.rows_read == 0
        elif batch.state == BatchState.REJECTED:
            assert stored == 0 and batch.rows_rejected == batch.rows_read
        else:
            assert batch.rows_read > batch.rows_rejected
