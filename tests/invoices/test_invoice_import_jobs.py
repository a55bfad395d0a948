"""Big imports in the background with progress, each invoice's change history, and the integrity check
of kept originals."""

from decimal import Decimal

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile

from invoices.imports.services import import_batch_process, import_file, import_originals_verify
from invoices.models import BatchState, ImportBatch, ImportKind, Integrity, Invoice, InvoiceChange
from invoices.tasks import import_originals_verify_task
from tests.invoices.helpers import GOOD, csv_rows


def _post(client, beijing, content, name="big.csv"):
    return client.post(
        "/imports/new/",
        {"company": beijing.pk, "kind": "backup", "direction": "issued", "files": [SimpleUploadedFile(name, content)]},
    )


# --- Background imports and progress ------------------------------------------------------------------
def test_a_file_over_the_threshold_is_queued_then_imported_by_the_task_on_commit(
    client_for, alice, beijing, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_BYTES = 10
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _post(client, beijing, csv_rows(*GOOD).encode("gbk"))
    batch = ImportBatch.objects.get()
    assert response["Location"] == f"/imports/{batch.pk}/"
    assert batch.state == BatchState.QUEUED and not Invoice.objects.exists()
    page = client.get(f"/imports/{batch.pk}/").text
    assert 'id="import-progress"' in page and "js/live-block.js" in page
    progress = client.get(f"/imports/{batch.pk}/progress/").text
    assert 'data-live="running"' in progress and 'aria-valuenow="0"' in progress and "data-live-reload" in progress

    for callback in callbacks:  # the commit: the task runs (eagerly in tests)
        callback()
    batch.refresh_from_db()
    assert batch.state == BatchState.SUCCEEDED and batch.rows_created == 2
    assert (batch.rows_processed, batch.progress_percent) == (2, 100)
    progress = client.get(f"/imports/{batch.pk}/progress/").text
    assert 'data-live="done"' in progress and "<span data-rows>2</span>" in progress  # the page reloads
    page = client.get(f"/imports/{batch.pk}/").text
    assert 'id="import-progress"' not in page and 'id="batch-counts"' in page


def test_the_api_answers_a_big_upload_with_the_queued_batch(
    api_for, alice, beijing, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_BYTES = 10
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(alice).post(
            "/api/imports/",
            {"company": beijing.pk, "kind": "backup", "file": SimpleUploadedFile("b.csv", csv_rows(*GOOD).encode())},
            format="multipart",
        )
    assert response.status_code == 201 and response.json()["state"] == "queued"
    body = api_for(alice).get(f"/api/imports/{response.json()['id']}/").json()
    assert body["state"] == "succeeded" and body["rows_processed"] == 2 and body["progress_percent"] == 100
    # The issue dates the batch wrote: the period reconciliation re-checks after it.
    assert (body["issued_from"], body["issued_to"]) == ("2026-11-18", "2026-11-18")


def test_the_batch_page_shows_the_issue_dates_the_import_wrote(client, alice, beijing):
    report = import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=csv_rows(*GOOD).encode()
    )
    client.force_login(alice)
    page = client.get(f"/imports/{report.batch.pk}/").text
    assert "2026-11-18 – 2026-11-18" in page


def test_the_import_list_shows_progress_only_while_a_batch_is_on_its_way(client_for, alice, beijing):
    report = import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=csv_rows(*GOOD).encode()
    )
    client = client_for(alice)
    assert "37%" not in client.get("/imports/").text
    ImportBatch.objects.filter(pk=report.batch.pk).update(state=BatchState.RUNNING, progress_percent=37)
    assert "37%" in client.get("/imports/").text


def test_processing_a_finished_batch_again_changes_nothing(beijing):
    report = import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=csv_rows(*GOOD).encode()
    )
    again = import_batch_process(batch_id=report.batch.pk)
    assert again.batch.rows_created == 2 and Invoice.objects.count() == 2
    assert not InvoiceChange.objects.exists()


def test_a_batch_interrupted_while_running_is_processed_again_from_scratch(beijing):
    """A worker killed mid-file leaves the batch running and its message re-delivered (acks_late)."""
    report = import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=csv_rows(*GOOD).encode()
    )
    Invoice.objects.all().delete()
    ImportBatch.objects.filter(pk=report.batch.pk).update(state=BatchState.RUNNING, rows_processed=1)
    again = import_batch_process(batch_id=report.batch.pk)
    assert again.batch.state == BatchState.SUCCEEDED and Invoice.objects.count() == 2


def test_progress_of_another_companys_batch_is_404(client_for, alice, charlie, beijing):
    report = import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=csv_rows(*GOOD).encode()
    )
    assert client_for(charlie).get(f"/imports/{report.batch.pk}/progress/").status_code == 404


def test_an_unexpected_error_fails_the_batch_and_stores_nothing(beijing, monkeypatch):
    from invoices.imports.staging import Staging

    def explode(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Staging, "merge", explode)
    report = import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=csv_rows(*GOOD).encode()
    )
    assert report.batch.state == BatchState.FAILED and report.batch.failure_reason
    assert not Invoice.objects.exists() and not report.batch.rejections.exists()


def test_the_same_invoice_twice_in_a_file_keeps_the_first_and_rejects_the_rest(beijing):
    report = import_file(
        company=beijing,
        kind=ImportKind.BACKUP,
        direction="issued",
        filename="b.csv",
        content=csv_rows(GOOD[0], GOOD[1], GOOD[0].replace('"1,000.00",130.00,1130.00', "5.00,0.65,5.65")).encode(),
    )
    assert report.batch.rows_created == 2
    assert [(r.row, r.column) for r in report.rejected] == [(4, "invoice_number")]
    assert Invoice.objects.get(invoice_key="01100230011100000001").amount == Decimal("1000.00")


# --- History ------------------------------------------------------------------------------------------
def test_each_import_that_changes_an_invoice_leaves_its_old_and_new_values(client_for, alice, beijing):
    first = import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="a.csv", content=csv_rows(*GOOD).encode()
    )
    changed = GOOD[1].replace(",作废", ",正常").replace("200.10,26.01,226.11", "300.10,39.01,339.11")
    second = import_file(
        company=beijing,
        kind=ImportKind.BACKUP,
        direction="issued",
        filename="b.csv",
        content=csv_rows(GOOD[0], changed).encode(),
    )
    assert (first.batch.rows_created, second.batch.rows_updated, second.batch.rows_unchanged) == (2, 1, 1)
    invoice = Invoice.objects.get(invoice_key="01100230011100000002")
    change = InvoiceChange.objects.get()
    assert change.invoice == invoice and change.batch == second.batch
    assert change.changes == {
        "amount": ["200.10", "300.10"], "tax": ["26.01", "39.01"], "total": ["226.11", "339.11"],
        "status": ["voided", "normal"],
    }  # fmt: skip
    page = client_for(alice).get(f"/invoices/{invoice.pk}/").text
    assert 'id="change-history"' in page and "300.10" in page and "b.csv" in page


def test_invoice_detail_queries_stay_flat_with_a_long_history(
    client_for, alice, beijing, django_assert_max_num_queries
):
    rows = csv_rows(*GOOD).encode()
    import_file(company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="a.csv", content=rows)
    invoice = Invoice.objects.get(invoice_key="01100230011100000001")
    for amount in range(5):
        row = GOOD[0].replace('"1,000.00",130.00,1130.00', f"{amount}.00,0.00,{amount}.00")
        import_file(
            company=beijing, kind=ImportKind.BACKUP, direction="issued", filename=f"{amount}.csv",
            content=csv_rows(row).encode(),
        )  # fmt: skip
    assert invoice.changes.count() == 5
    client = client_for(alice)
    with django_assert_max_num_queries(12):
        assert client.get(f"/invoices/{invoice.pk}/").status_code == 200


# --- Integrity of kept originals ---------------------------------------------------------------------
def _three_batches(beijing):
    return [
        import_file(
            company=beijing, kind=ImportKind.BACKUP, direction="issued", filename=f"{i}.csv",
            content=csv_rows(GOOD[0]).encode() + b"\n" * i,
        ).batch
        for i in range(3)
    ]  # fmt: skip


def test_integrity_check_flags_changed_and_vanished_originals(beijing):
    intact, tampered, deleted = _three_batches(beijing)
    storage = storages["private"]
    with storage.open(tampered.storage_name, "wb") as handle:
        handle.write(b"edited later")
    storage.delete(deleted.storage_name)

    assert import_originals_verify_task.delay().get() == {"intact": 1, "changed": 1, "missing": 1}
    verdicts = dict(ImportBatch.objects.values_list("pk", "integrity"))
    assert verdicts == {intact.pk: Integrity.INTACT, tampered.pk: Integrity.CHANGED, deleted.pk: Integrity.MISSING}
    assert ImportBatch.objects.filter(integrity_checked_at__isnull=True).count() == 0


def test_integrity_verdicts_show_on_the_list_the_batch_page_and_the_api(client_for, api_for, alice, beijing):
    _intact, tampered, _deleted = _three_batches(beijing)
    storages["private"].delete(tampered.storage_name)
    import_originals_verify()
    client = client_for(alice)
    assert "badge text-bg-danger" in client.get("/imports/").text
    assert 'id="integrity-alert"' in client.get(f"/imports/{tampered.pk}/").text
    assert api_for(alice).get(f"/api/imports/{tampered.pk}/").json()["integrity"] == "missing"


def test_integrity_check_hashes_in_chunks_not_whole_files(beijing, monkeypatch):
    from invoices.imports import services

    monkeypatch.setattr(services, "HASH_CHUNK", 7)
    batch = _three_batches(beijing)[2]
    assert import_originals_verify()["intact"] == 3
    batch.refresh_from_db()
    assert batch.integrity == Integrity.INTACT


def test_integrity_check_is_scheduled_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["verify-import-originals"]
    assert entry["task"] == "invoices.tasks.import_originals_verify_task"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_import_list_query_count_does_not_grow_with_batches(
    client_for, alice, beijing, django_assert_max_num_queries, language
):
    _three_batches(beijing)
    client = client_for(alice)
    with django_assert_max_num_queries(10):
        assert client.get("/imports/", HTTP_ACCEPT_LANGUAGE=language).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_refused_file_inside_a_callers_transaction_leaves_that_transaction_usable(beijing):
    from django.db import transaction

    with transaction.atomic():
        refused = import_file(
            company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="x.ofd", content=b"PK\x03\x04junk"
        )
        good = import_file(
            company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv",
            content=csv_rows(*GOOD).encode(),
        )  # fmt: skip
    assert refused.batch.state == BatchState.FAILED and good.batch.state == BatchState.SUCCEEDED
    assert Invoice.objects.count() == 2
