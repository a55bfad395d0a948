"""In a real browser: the batch page of a big import follows its progress, then shows the report."""

from __future__ import annotations

import io

import pytest

from invoices.imports.services import import_batch_create, import_batch_process
from invoices.models import BatchState, ImportBatch, ImportKind
from tests.invoices.helpers import GOOD, csv_rows

pytestmark = pytest.mark.browser


def test_progress_bar_moves_then_the_report_replaces_it(login, alice, beijing):
    batch = import_batch_create(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="big.csv",
        stream=io.BytesIO(csv_rows(*GOOD).encode("gbk")), user=alice,
    )  # fmt: skip
    page = login(alice)
    page.goto(f"{page.base_url}/imports/{batch.pk}/")
    page.wait_for_selector("#import-progress")  # the bar itself is 0 px wide at 0 %
    assert page.locator("#failure-reason").count() == 0

    ImportBatch.objects.filter(pk=batch.pk).update(state=BatchState.RUNNING, progress_percent=40, rows_processed=5000)
    # A selector, not wait_for_function: the page's Content-Security-Policy refuses evaluated strings.
    page.wait_for_selector("#import-progress [data-rows]:text-is('5000')")
    assert page.locator("#import-progress [role=progressbar]").get_attribute("aria-valuenow") == "40"
    bar = page.locator("#import-progress .progress-bar").bounding_box()
    track = page.locator("#import-progress [role=progressbar]").bounding_box()
    assert bar["width"] == pytest.approx(track["width"] * 0.4, abs=2)  # painted from data-progress

    import_batch_process(batch_id=batch.pk)  # the worker finishes
    page.wait_for_selector("#import-progress", state="detached")  # reloaded on "done"
    assert page.locator("#rows-read").inner_text() == "2"
