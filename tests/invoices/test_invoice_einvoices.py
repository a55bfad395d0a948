"""E-invoice XML and OFD files, and every kind of local backup through the page, the API and the command."""

import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from invoices.imports.services import UNEXPECTED_FAILURE, import_file
from invoices.models import BatchState, ImportBatch, ImportKind, Invoice
from tests.invoices import einvoices as fx


def _import(beijing, name, content, kind=ImportKind.BACKUP):
    return import_file(company=beijing, kind=kind, direction="issued", filename=name, content=content)


def test_digital_xml_imports_with_its_totals_type_and_issue_time(beijing):
    report = _import(beijing, "发票.xml", fx.einvoice_xml())
    assert report.batch.state == BatchState.SUCCEEDED, report.batch.failure_reason
    invoice = Invoice.objects.get()
    assert invoice.invoice_key == fx.DIGITAL_NUMBER and invoice.digital_number == fx.DIGITAL_NUMBER
    assert (invoice.amount, invoice.tax, invoice.total) == (Decimal("1000.00"), Decimal("130.00"), Decimal("1130.00"))
    assert invoice.invoice_type == "digital_special"
    assert (invoice.seller_tax_id, invoice.buyer_name) == (fx.SELLER[0], fx.BUYER[1])
    assert invoice.issued_at.isoformat() == "2025-01-06T02:15:00+00:00"  # 10:15 in Shanghai


def test_digital_ofd_adds_up_the_total_it_leaves_out(beijing):
    report = _import(beijing, "发票.ofd", fx.digital_ofd())
    assert report.batch.state == BatchState.SUCCEEDED, report.batch.failure_reason
    invoice = Invoice.objects.get()
    assert invoice.invoice_key == fx.OFD_NUMBER
    assert invoice.total == Decimal("226.11") and str(invoice.issue_date) == "2025-01-06"


def test_older_vat_ofd_reads_the_namespaced_original_invoice(beijing):
    report = _import(beijing, "增值税电子普通发票.ofd", fx.vat_ofd())
    assert report.batch.state == BatchState.SUCCEEDED, report.batch.failure_reason
    invoice = Invoice.objects.get()
    assert (invoice.invoice_code, invoice.invoice_number) == (fx.VAT_CODE, fx.VAT_NUMBER)
    assert invoice.invoice_type == "e_ordinary" and invoice.total == Decimal("100.00")


def test_an_xml_whose_total_disagrees_is_a_rejected_row_not_a_crash(beijing):
    report = _import(beijing, "bad.xml", fx.einvoice_xml(total="9999.00"))
    assert report.batch.state == BatchState.REJECTED  # its only row rejected: nothing stored
    assert [(r.row, r.column) for r in report.rejected] == [(1, "total")]
    assert not Invoice.objects.exists()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<EInvoice><Header><EIid>&lol2;</EIid></Header></EInvoice>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]><EInvoice><Header><EIid>&secret;</EIid></Header></EInvoice>"""


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bomb.xml", BILLION_LAUGHS),
        ("xxe.xml", EXTERNAL_ENTITY),
        ("not-an-invoice.xml", b"<?xml version='1.0'?><Invoice><ID>1</ID></Invoice>"),
        ("broken.xml", b"<EInvoice><Header>"),
        ("fake.ofd", b"this is not a zip"),
        ("empty.ofd", _zip({"Doc_0/Document.xml": b"<x/>"})),
        ("traversal.ofd", _zip({"../../etc/OFD.xml": b"<x/>", "/abs/original_invoice.xml": b"<x/>"})),
        # 60 MB of zeros compresses to ~60 KB: refused from the declared sizes, nothing inflated.
        ("bomb.ofd", _zip({"OFD.xml": b"<x/>", "Doc_0/Res/font.ttf": b"\0" * (60 * 1024 * 1024)})),
        ("big-member.ofd", _zip({"OFD.xml": b"<a>" + b" " * (6 * 1024 * 1024) + b"</a>"})),
        ("dtd.ofd", _zip({"OFD.xml": BILLION_LAUGHS})),
        ("archive.zip", _zip({"OFD.xml": b"<x/>"})),
    ],
)
def test_hostile_or_foreign_files_are_refused_whole_with_a_reason(beijing, name, content):
    report = _import(beijing, name, content)
    assert report.batch.state == BatchState.FAILED
    assert report.batch.failure_reason and report.batch.failure_reason != str(UNEXPECTED_FAILURE)
    assert not Invoice.objects.exists()


# --- Done when: every kind of backup imports through the page, the API and the command -------------
@pytest.mark.parametrize("name", sorted(fx.FILES))
def test_each_kept_fixture_imports_through_the_upload_page(client_for, alice, beijing, name):
    content = (fx.DATA / name).read_bytes()
    response = client_for(alice).post(
        "/imports/new/",
        {"company": beijing.pk, "kind": "backup", "direction": "issued", "files": [SimpleUploadedFile(name, content)]},
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302, response.content[:500]
    assert batch.state == BatchState.SUCCEEDED, batch.failure_reason
    assert set(Invoice.objects.values_list("invoice_key", flat=True)) == fx.EXPECTED_KEYS[name]


@pytest.mark.parametrize("name", sorted(fx.FILES))
def test_each_kept_fixture_imports_through_the_api(api_for, alice, beijing, name):
    content = (fx.DATA / name).read_bytes()
    response = api_for(alice).post(
        "/api/imports/",
        {"company": beijing.pk, "kind": "backup", "direction": "issued", "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "succeeded", response.json()
    assert set(Invoice.objects.values_list("invoice_key", flat=True)) == fx.EXPECTED_KEYS[name]


def test_all_kept_fixtures_import_through_the_command_at_once(beijing, capsys):
    paths = [str(fx.DATA / name) for name in sorted(fx.FILES)]
    call_command("import_invoices", *paths, company=beijing.credit_code, kind="backup", json=True)
    assert ImportBatch.objects.filter(state=BatchState.SUCCEEDED).count() == len(paths)
    assert set(Invoice.objects.values_list("invoice_key", flat=True)) == set().union(*fx.EXPECTED_KEYS.values())


def test_several_e_invoices_upload_at_once(client_for, alice, beijing):
    files = [
        SimpleUploadedFile("a.xml", fx.einvoice_xml("25112000000000000001")),
        SimpleUploadedFile("b.xml", fx.einvoice_xml("25112000000000000002")),
        SimpleUploadedFile("c.ofd", fx.digital_ofd("25112000000000000003")),
    ]
    client_for(alice).post(
        "/imports/new/", {"company": beijing.pk, "kind": "backup", "direction": "issued", "files": files}
    )
    assert Invoice.objects.count() == 3 and ImportBatch.objects.count() == 3


def test_kept_fixtures_match_their_builders():
    """tests/invoices/data is what the builders make (the XLSX excepted: openpyxl stamps the time)."""
    for name, build in fx.FILES.items():
        if not name.endswith(".xlsx"):
            assert (fx.DATA / name).read_bytes() == build(), name
