"""Bounded memory: evidence uploads go to storage a chunk at a time, the evidence ZIP is built in a
temporary file and streamed, a request carries a limited number of files (with a message saying so),
and an XLSX that would inflate beyond its cap is refused before it is opened."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from invoices.imports.services import import_file
from invoices.models import BatchState, ImportKind
from recovery.reissue import pack, services, uploads
from recovery.reissue.models import ReissueEvidence
from tests.recovery.reissue.fixtures import PDF_BYTES, _form_data, draft

pytestmark = pytest.mark.usefixtures("messages_in_english")

BIG = 16 * 1024 * 1024
MB = 1024 * 1024


def big_pdf_upload(size: int = BIG) -> TemporaryUploadedFile:
    """What Django hands a view for a large upload: a temporary file on disk, not bytes in memory."""
    upload = TemporaryUploadedFile("扫描件.pdf", "application/pdf", size, None)
    upload.write(PDF_BYTES)
    block = b"0" * MB
    for _ in range(size // MB):
        upload.write(block)
    upload.seek(0)
    return upload


def peak_memory(work) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_big_evidence_file_is_stored_without_being_held_in_memory(beijing, alice, gaps):
    req = draft(beijing, alice, gaps)
    upload = big_pdf_upload()
    peak = peak_memory(lambda: services.reissue_evidence_add(request=req, user=alice, name=upload.name, content=upload))
    evidence = ReissueEvidence.objects.get()
    assert evidence.size == BIG + len(PDF_BYTES) and evidence.file_type == "pdf"
    assert peak < 4 * MB, f"{peak / MB:.1f} MB held for a {BIG / MB:.0f} MB upload"


def test_the_evidence_zip_is_built_in_a_file_and_streamed(client_for, beijing, alice, gaps, monkeypatch):
    req = draft(beijing, alice, gaps)
    services.reissue_evidence_add(request=req, user=alice, name="扫描件.pdf", content=big_pdf_upload())
    monkeypatch.setattr(pack, "request_pdf", lambda request: PDF_BYTES)  # a page or two, made in memory anyway
    peak = peak_memory(lambda: pack.request_zip(req).close())
    assert peak < 4 * MB, f"{peak / MB:.1f} MB held building a pack with a {BIG / MB:.0f} MB file"
    response = client_for(alice).get(reverse("recovery:reissue-request-zip", args=[req.pk]))
    assert response.streaming and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.getvalue()))
    evidence = [info for info in archive.infolist() if info.filename.startswith("evidence/")]
    assert [info.file_size for info in evidence] == [BIG + len(PDF_BYTES)]


def test_a_form_with_too_many_files_is_refused_with_a_message(settings, client_for, api_for, beijing, alice, gaps):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    files = [SimpleUploadedFile(f"{n}.pdf", PDF_BYTES, content_type="application/pdf") for n in range(4)]
    client = client_for(alice)
    client.raise_request_exception = False  # Django answers it with the 400 page, as it would a browser
    page = client.post(
        reverse("recovery:reissue-request-new"),
        _form_data(beijing, gaps, evidence=files),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert page.status_code == 400
    assert "一次最多可上传 3 个文件" in page.content.decode()
    req = draft(beijing, alice, gaps)
    files = {f"file{n}": SimpleUploadedFile(f"{n}.pdf", PDF_BYTES) for n in range(4)}
    response = api_for(alice).post(
        f"/api/reissue-requests/{req.pk}/evidence/", {**files, "kind": "contract"}, format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("At most 3 files can be sent at once")
    assert not ReissueEvidence.objects.exists()


def xlsx_of(rows: int) -> bytes:
    wb = Workbook()
    sheet = wb.active
    sheet.append(["发票代码", "发票号码", "开票日期", "销方识别号", "金额", "税额", "价税合计"])
    for n in range(rows):
        sheet.append(["011002300111", f"{n:08d}", "2026-11-18", "91110108MA01B2C3D0", "100.00", "13.00", "113.00"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(("language", "message"), [("zh-hans", "解压后超过 1 MB"), ("en", "expands to more than 1 MB")])
def test_an_xlsx_that_inflates_past_the_cap_is_refused_before_it_is_opened(settings, beijing, language, message):
    from django.utils import translation

    settings.XLSX_MAX_EXPANDED_BYTES = MB
    content = xlsx_of(8000)
    assert len(content) < MB < sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(content)).infolist())
    with translation.override(language):
        batch = import_file(
            company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="大表.xlsx", content=content
        ).batch
    assert batch.state == BatchState.FAILED and message in batch.failure_reason
    assert uploads.sniff(content) == "xlsx"  # only the zip's directory was read to tell
