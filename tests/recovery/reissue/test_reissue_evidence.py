"""Evidence uploads: type sniffed from content, size and name checked, stored privately, members only."""

from __future__ import annotations

import io
import os
import zipfile
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from recovery.reissue import services, uploads
from recovery.reissue.models import ReissueEvidence
from tests.recovery.reissue.fixtures import PDF_BYTES, PNG_BYTES, _form_data, draft, zip_bytes

pytestmark = pytest.mark.usefixtures("messages_in_english")


def stored_files(settings) -> list[str]:
    root = settings.PRIVATE_STORAGE_ROOT
    return [os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files]


@pytest.mark.parametrize(
    ("name", "content", "file_type"),
    [
        ("合同.pdf", PDF_BYTES, "pdf"),
        ("截图.PNG", PNG_BYTES, "png"),
        ("delivery.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "jpeg"),
        ("发票.ofd", zip_bytes("OFD.xml", "Doc_0/Document.xml"), "ofd"),
        ("orders.xlsx", zip_bytes("[Content_Types].xml", "xl/workbook.xml"), "xlsx"),
        ("letter.docx", zip_bytes("[Content_Types].xml", "word/document.xml"), "docx"),
    ],
)
def test_accepted_types_are_recognised_by_content(name, content, file_type):
    assert uploads.check_upload(name=name, content=content).file_type == file_type


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("contract.pdf", b"MZ\x90\x00 this is an exe", "content is not one"),
        ("photo.png", PDF_BYTES, "looks like PDF"),
        ("sheet.xlsx", zip_bytes("word/document.xml"), "looks like DOCX"),
        ("invoice.ofd", zip_bytes("something.txt"), "content is not one"),
        ("script.html", b"<script>alert(1)</script>", "only these file types"),
        ("../../etc/passwd.pdf", PDF_BYTES, "not a plain file name"),
        ("..\\windows.pdf", PDF_BYTES, "not a plain file name"),
        ("evil\x00.pdf", PDF_BYTES, "not a plain file name"),
        (".hidden.pdf", PDF_BYTES, "not a plain file name"),
        ("合同\u202efdp.exe.pdf", PDF_BYTES, "not a plain file name"),
        ("C:autoexec.pdf", PDF_BYTES, "not a plain file name"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_malicious_or_wrong_files_are_refused_with_a_clear_message(name, content, message):
    with pytest.raises(ValidationError) as exc:
        uploads.check_upload(name=name, content=content)
    assert message in " ".join(exc.value.messages)


def test_oversize_file_is_refused(settings):
    settings.MAX_UPLOAD_BYTES = 100
    with pytest.raises(ValidationError, match="limit is 100 bytes"):
        uploads.check_upload(name="big.pdf", content=PDF_BYTES + b"0" * 200)


def test_service_stores_nothing_when_a_file_is_refused(settings, beijing, alice, gaps):
    req = draft(beijing, alice, gaps)
    with pytest.raises(ValidationError):
        services.reissue_evidence_add(request=req, user=alice, name="x.pdf", content=PNG_BYTES)
    assert not ReissueEvidence.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("合同.pdf", b"GIF89a not a pdf", "content is not one"),
        ("C:evil.pdf", PDF_BYTES, "not a plain file name"),
        ("..合同.pdf", PDF_BYTES, "not a plain file name"),
    ],
)
def test_page_refuses_bad_upload_and_stores_nothing(
    settings, client_for, beijing, alice, gaps, filename, content, message
):
    good = SimpleUploadedFile("ok.pdf", PDF_BYTES, content_type="application/pdf")
    bad = SimpleUploadedFile("placeholder", content, content_type="application/pdf")
    bad.name = filename
    response = client_for(alice).post(
        reverse("recovery:reissue-request-new"), _form_data(beijing, gaps, evidence=[good, bad]), format="multipart"
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ReissueEvidence.objects.exists()
    assert stored_files(settings) == []
    from recovery.reissue.models import ReissueRequest

    assert not ReissueRequest.objects.exists()


def test_folders_in_an_upload_name_never_reach_the_disk(settings, client_for, beijing, alice, gaps):
    """Django's multipart parser drops the folder part of a name before any view sees it; the file
    is then stored under a generated name inside the private root."""
    upload = SimpleUploadedFile("x.pdf", PDF_BYTES, content_type="application/pdf")
    upload.name = "../../../../tmp/evil.pdf"
    response = client_for(alice).post(
        reverse("recovery:reissue-request-new"), _form_data(beijing, gaps, evidence=[upload])
    )
    assert response.status_code == 302
    evidence = ReissueEvidence.objects.get()
    assert evidence.original_name == "evil.pdf"
    files = stored_files(settings)
    assert len(files) == 1 and files[0].startswith(str(settings.PRIVATE_STORAGE_ROOT))
    assert os.path.realpath(files[0]).startswith(os.path.realpath(settings.PRIVATE_STORAGE_ROOT))


def test_page_refuses_oversize_upload(settings, client_for, beijing, alice, gaps):
    settings.MAX_UPLOAD_BYTES = 50
    big = SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * 100, content_type="application/pdf")
    response = client_for(alice).post(
        reverse("recovery:reissue-request-new"), _form_data(beijing, gaps, evidence=[big])
    )
    assert response.status_code == 200
    assert "limit" in response.content.decode()
    assert stored_files(settings) == []


def test_api_refuses_bad_upload_and_stores_nothing(settings, api_for, beijing, alice, gaps):
    req = draft(beijing, alice, gaps)
    url = f"/api/reissue-requests/{req.pk}/evidence/"
    fake = SimpleUploadedFile("contract.pdf", b"\x89PNG\r\n\x1a\n....", content_type="application/pdf")
    response = api_for(alice).post(url, {"file": fake, "kind": "contract"}, format="multipart")
    assert response.status_code == 400
    assert "PNG" in response.json()["error"]["message"]
    settings.MAX_UPLOAD_BYTES = 10
    big = SimpleUploadedFile("contract.pdf", PDF_BYTES, content_type="application/pdf")
    response = api_for(alice).post(url, {"file": big, "kind": "contract"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"] == [
        f"contract.pdf is {len(PDF_BYTES)} bytes; the limit is 10 bytes."
    ]
    assert not ReissueEvidence.objects.exists() and stored_files(settings) == []


def test_evidence_is_stored_privately_and_downloadable_only_by_members(
    settings, client_for, api_for, beijing, alice, fiona, charlie, gaps
):
    req = draft(beijing, alice, gaps)
    evidence = services.reissue_evidence_add(
        request=req, user=alice, name="合同.pdf", content=PDF_BYTES, kind="contract"
    )
    path = settings.PRIVATE_STORAGE_ROOT / evidence.storage_name
    assert path.read_bytes() == PDF_BYTES
    assert str(settings.MEDIA_ROOT) not in str(path) and "合同" not in evidence.storage_name
    page_url = reverse("recovery:reissue-request-evidence", args=[req.pk, evidence.pk])
    response = client_for(fiona).get(page_url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf" and response["X-Content-Type-Options"] == "nosniff"
    assert client_for(charlie).get(page_url).status_code == 404
    api_url = f"/api/reissue-evidence/{evidence.pk}/download/"
    assert api_for(fiona).get(api_url).status_code == 200
    assert api_for(charlie).get(api_url).status_code == 404
    assert api_for(charlie).get(f"/api/reissue-evidence/{evidence.pk}/").status_code == 404


def test_api_upload_then_zip_uses_safe_names(api_for, client_for, beijing, alice, gaps):
    req = draft(beijing, alice, gaps)
    upload = SimpleUploadedFile("送货单 (1).pdf", PDF_BYTES, content_type="application/pdf")
    response = api_for(alice).post(
        f"/api/reissue-requests/{req.pk}/evidence/", {"file": upload, "kind": "delivery_note"}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["file_type"] == "pdf"
    pack = client_for(alice).get(reverse("recovery:reissue-request-zip", args=[req.pk]))
    names = zipfile.ZipFile(io.BytesIO(pack.getvalue())).namelist()
    assert f"{req.number}.pdf" in names and f"{req.number}-invoices.xlsx" in names
    assert "evidence/01-delivery_note-送货单 (1).pdf" in names
    assert all(".." not in n and not n.startswith("/") for n in names)


def test_safe_archive_name_strips_path_characters():
    assert uploads.safe_archive_name('a/b\\c:d*?"<>|.pdf') == "a_b_c_d______.pdf"
    assert uploads.safe_archive_name("...") == "file"


def test_api_removes_evidence_of_a_draft_by_the_same_rules_as_the_page(
    settings, api_for, beijing, alice, bob, charlie, gaps, django_capture_on_commit_callbacks
):
    req = draft(beijing, alice, gaps)
    evidence = services.reissue_evidence_add(
        request=req, user=alice, name="合同.pdf", content=PDF_BYTES, kind="contract"
    )
    url = f"/api/reissue-evidence/{evidence.pk}/"
    assert api_for(charlie).delete(url).status_code == 404  # another company's evidence does not exist for him
    assert api_for(bob).delete(url).status_code == 403  # reviewers do not edit requests
    with django_capture_on_commit_callbacks(execute=True):  # the file goes once the row is gone for good
        assert api_for(alice).delete(url).status_code == 204
    assert not ReissueEvidence.objects.filter(pk=evidence.pk).exists()
    assert not (settings.PRIVATE_STORAGE_ROOT / evidence.storage_name).exists()

    kept = services.reissue_evidence_add(request=req, user=alice, name="订单.pdf", content=PDF_BYTES, kind="order")
    services.reissue_request_submit(request=req, user=alice)
    response = api_for(alice).delete(f"/api/reissue-evidence/{kept.pk}/")
    assert response.status_code == 400 and "submitted" in response.json()["error"]["message"]
    assert ReissueEvidence.objects.filter(pk=kept.pk).exists()


def test_page_removes_evidence_of_a_draft_and_explains_a_refusal(
    settings, client_for, beijing, alice, bob, charlie, gaps, django_capture_on_commit_callbacks
):
    req = draft(beijing, alice, gaps)
    evidence = services.reissue_evidence_add(request=req, user=alice, name="合同.pdf", content=PDF_BYTES)
    kept = services.reissue_evidence_add(request=req, user=alice, name="订单.pdf", content=PDF_BYTES)
    url = reverse("recovery:reissue-request-evidence-remove", args=[req.pk, evidence.pk])
    assert client_for(charlie).post(url).status_code == 404
    response = client_for(bob).post(url, follow=True)
    assert "Only accountants of this company" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(url)
    assert response.status_code == 302 and response["Location"] == reverse(
        "recovery:reissue-request-detail", args=[req.pk]
    )
    assert list(req.evidence.all()) == [kept]
    assert not (settings.PRIVATE_STORAGE_ROOT / evidence.storage_name).exists()
    services.reissue_request_submit(request=req, user=alice)
    response = client_for(alice).post(
        reverse("recovery:reissue-request-evidence-remove", args=[req.pk, kept.pk]), follow=True
    )
    assert "stays as it was submitted" in response.content.decode()
    assert req.evidence.filter(pk=kept.pk).exists()


def test_page_shows_a_service_refusal_next_to_its_field(client_for, beijing, alice, gaps):
    draft(beijing, alice, gaps[:1])
    response = client_for(alice).post(reverse("recovery:reissue-request-new"), _form_data(beijing, gaps[:1]))
    assert response.status_code == 200
    form = response.context["form"]
    assert "Already in another open request" in " ".join(form.errors["gaps"])
    assert not form.non_field_errors()


def test_edit_page_is_prefilled_saves_changes_and_refuses_a_submitted_request(client_for, beijing, alice, gaps):
    from notices.models import Incident, TaxSystem

    system = TaxSystem.objects.filter(region="北京").first() or TaxSystem.objects.create(
        region="北京", name="电子税务局", slug="bj-etax-edit"
    )
    outage = Incident.objects.create(system=system, title="北京电子税务局无法开票", started_at=timezone.now())
    req = draft(beijing, alice, gaps[:2], reason_detail="系统宕机", contact_phone="010-12345678", incident=outage)
    client = client_for(alice)
    url = reverse("recovery:reissue-request-edit", args=[req.pk])
    form = client.get(url).context["form"]
    assert form["reason_detail"].value() == "系统宕机" and form["contact_phone"].value() == "010-12345678"
    assert str(form["incident"].value()) == str(outage.pk) and str(form["company"].value()) == str(beijing.pk)
    assert sorted(int(v) for v in form["gaps"].value()) == sorted(g.pk for g in gaps[:2])

    data = _form_data(beijing, gaps[:1], reason_detail="只剩一张", incident=outage.pk)
    response = client.post(url, data)
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.reason_detail == "只剩一张" and req.incident_id == outage.pk and req.items.count() == 1

    services.reissue_request_submit(request=req, user=alice)
    response = client.get(url, follow=True)
    assert response.redirect_chain == [(reverse("recovery:reissue-request-detail", args=[req.pk]), 302)]
    assert f"{req.number} can no longer be changed." in response.content.decode()


def test_edit_page_lists_the_files_already_attached(client_for, beijing, alice, gaps):
    req = draft(beijing, alice, gaps)
    url = reverse("recovery:reissue-request-edit", args=[req.pk])
    assert "Already attached" not in client_for(alice).get(url).content.decode()
    services.reissue_evidence_add(request=req, user=alice, name="合同.pdf", content=PDF_BYTES)
    services.reissue_evidence_add(request=req, user=alice, name="订单.pdf", content=PDF_BYTES)
    assert "Already attached: 合同.pdf, 订单.pdf" in client_for(alice).get(url).content.decode()


def test_sweep_deletes_only_files_whose_save_was_rolled_back_and_only_after_a_day(settings, beijing, alice, gaps):
    req = draft(beijing, alice, gaps)
    kept = services.reissue_evidence_add(request=req, user=alice, name="合同.pdf", content=PDF_BYTES)
    with pytest.raises(RuntimeError), transaction.atomic():  # e.g. "save and submit" refused after storing
        services.reissue_evidence_add(request=req, user=alice, name="照片.png", content=PNG_BYTES)
        raise RuntimeError
    assert len(stored_files(settings)) == 2 and ReissueEvidence.objects.get() == kept
    assert services.private_uploads_sweep(now=timezone.now()) == 0  # may still be in an open transaction
    assert services.private_uploads_sweep(now=timezone.now() + timedelta(days=2)) == 1
    assert [os.path.basename(path) for path in stored_files(settings)] == [os.path.basename(kept.storage_name)]
