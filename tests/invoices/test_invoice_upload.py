"""Uploading invoice files in the browser form and through the API."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from invoices.models import ImportBatch, Invoice
from tests.invoices.helpers import GOOD, csv_rows

BAD = "011002300111,00000005,2026-11-18,91110108MA01B2C3D0,x,91350100M000100Y43,y,10.00,1.30,99.99,13%,,正常"


def upload(name="备份.csv", text=None):
    return SimpleUploadedFile(name, csv_rows(*(text or [*GOOD, BAD])).encode("gbk"), content_type="text/csv")


def test_accountant_uploads_a_backup_and_sees_the_report(client_for, alice, beijing):
    client = client_for(alice)
    response = client.post(
        "/imports/new/", {"company": beijing.pk, "kind": "backup", "direction": "issued", "files": [upload()]}
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{batch.pk}/"
    report = client.get(response["Location"]).text
    assert 'id="rejection-table"' in report
    csv_text = client.get(f"/imports/{batch.pk}/rejected-rows.csv").content.decode("utf-8-sig")
    assert "4,价税合计," in csv_text  # the column as the file's header names it
    assert Invoice.objects.count() == 2


def test_several_files_at_once(client_for, alice, beijing):
    client_for(alice).post(
        "/imports/new/",
        {"company": beijing.pk, "kind": "backup", "direction": "issued",
         "files": [upload("a.csv", [GOOD[0]]), upload("b.csv", [GOOD[1]])]},
    )  # fmt: skip
    assert ImportBatch.objects.count() == 2 and Invoice.objects.count() == 2


def test_finance_staff_cannot_import(client_for, fiona, beijing):
    response = client_for(fiona).post(
        "/imports/new/", {"company": beijing.pk, "kind": "backup", "direction": "issued", "files": [upload()]}
    )
    assert response.status_code == 200  # the form again, with the company refused
    assert not ImportBatch.objects.exists()


def test_oversized_upload_is_refused_with_a_message(client_for, alice, beijing, settings):
    settings.MAX_UPLOAD_BYTES = 100
    response = client_for(alice).post(
        "/imports/new/", {"company": beijing.pk, "kind": "backup", "direction": "issued", "files": [upload()]}
    )
    assert response.status_code == 200 and "MB" in response.text
    assert not ImportBatch.objects.exists()


def test_api_upload_returns_the_batch_report(api_for, alice, beijing):
    response = api_for(alice).post(
        "/api/imports/", {"company": beijing.pk, "kind": "backup", "direction": "issued", "file": upload()},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["rows_created"], body["rows_rejected"]) == (2, 1)
    assert body["rejections"][0]["column"] == "价税合计"


def test_api_upload_into_another_company_is_refused_as_if_it_did_not_exist(api_for, charlie, beijing):
    def post(company_id):
        return api_for(charlie).post(
            "/api/imports/", {"company": company_id, "kind": "backup", "file": upload()}, format="multipart"
        )

    theirs, missing = post(beijing.pk), post(999999)
    assert theirs.status_code == missing.status_code == 400
    assert theirs.json() == json.loads(json.dumps(missing.json()).replace("999999", str(beijing.pk)))
    assert not ImportBatch.objects.exists() and not Invoice.objects.exists()


def test_other_companies_batches_are_404(client_for, alice, charlie, beijing):
    client_for(alice).post(
        "/imports/new/", {"company": beijing.pk, "kind": "backup", "direction": "issued", "files": [upload()]}
    )
    batch = ImportBatch.objects.get()
    client = client_for(charlie)
    assert client.get(f"/imports/{batch.pk}/").status_code == 404
    assert client.get(f"/imports/{batch.pk}/rejected-rows.csv").status_code == 404
