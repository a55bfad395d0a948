"""In a real browser: an accountant files a reissue request, a reviewer returns it, it is fixed and
approved, the new numbers are recorded, and the next reconciliation closes it."""

from __future__ import annotations

import pytest

from recovery.reissue.models import ReissueRequest, ReviewState
from tests.recovery.reissue.fixtures import PDF_BYTES, make_gaps, reconcile, tax_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _switch_user(page, login, user):
    page.click("#logout")
    page.wait_for_url("**/accounts/login/**")
    return login(user)


def _state(page) -> str:
    return page.locator("#request-state [data-state]").get_attribute("data-state")


def test_reissue_request_from_gaps_to_closed(page, login, beijing, alice, bob, monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda *a, **k: None)
    gaps = make_gaps(beijing, 3)
    base = page.base_url

    # The accountant selects gaps, sees the running total, adds an invoice the portal never saw.
    login(alice)
    page.goto(f"{base}/recovery/reissue/new/")
    page.select_option("select[name=company]", str(beijing.pk))
    page.check(f"#gap-{gaps[0].pk}")
    page.check(f"#gap-{gaps[1].pk}")
    assert page.locator("#selected-count").inner_text() == "2"
    assert page.locator("#selected-total").inner_text() == "339.00"
    page.click("#add-manual")
    page.fill("input[name=manual-0-invoice_number]", "123")
    assert page.locator('.live-error[data-for="manual-0-invoice_number"]').inner_text() != ""
    page.fill("input[name=manual-0-invoice_number]", "12345678")
    assert page.locator('.live-error[data-for="manual-0-invoice_number"]').inner_text() == ""
    page.fill("input[name=manual-0-invoice_code]", "1100231130")
    page.fill("input[name=manual-0-issue_date]", "2026-11-09")
    page.fill("input[name=manual-0-amount]", "10")
    page.fill("input[name=manual-0-tax]", "1.30")
    assert page.locator("#selected-count").inner_text() == "3"
    assert page.locator("#selected-total").inner_text() == "350.30"
    page.fill("input[name=contact_phone]", "电话")
    assert page.locator('.live-error[data-for="contact_phone"]').inner_text() != ""
    page.fill("input[name=contact_phone]", "010-8888 1234")
    page.fill("input[name=contact_name]", "王经理")
    page.select_option("select[name=evidence_kind]", "contract")
    page.set_input_files(  # a type the server's checks refuse is named at once, from the input's accept list
        "input[name=evidence]", files=[{"name": "合同.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"}]
    )
    assert "合同.exe" in page.locator('.live-error[data-for="evidence"]').inner_text()
    page.set_input_files(
        "input[name=evidence]", files=[{"name": "合同.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}]
    )
    assert page.locator('.live-error[data-for="evidence"]').inner_text() == ""
    page.click("#submit-request")
    page.wait_for_selector("#request-state")
    assert _state(page) == ReviewState.SUBMITTED
    req = ReissueRequest.objects.get()
    assert req.items.count() == 3 and req.evidence.get().original_name == "合同.pdf"
    detail = f"{base}/recovery/reissue/{req.pk}/"

    # The reviewer returns it with a comment.
    _switch_user(page, login, bob)
    page.goto(detail)
    page.fill("#review-comment", "请补充销售合同编号")
    page.click("#return-request")
    page.wait_for_selector("#request-state [data-state=returned]")
    assert "请补充销售合同编号" in page.locator("#timeline").inner_text()

    # The accountant fixes it and submits again.
    _switch_user(page, login, alice)
    page.goto(detail)
    page.click("#edit-request")
    page.fill("textarea[name=reason_detail]", "合同编号 HT-2026-118")
    page.click("#submit-request")
    page.wait_for_selector("#request-state [data-state=submitted]")

    # The reviewer approves.
    _switch_user(page, login, bob)
    page.goto(detail)
    page.click("#approve-request")
    page.wait_for_selector("#request-state [data-state=approved]")

    # The accountant records the new numbers.
    _switch_user(page, login, alice)
    page.goto(detail)
    inputs = page.locator("input.new-number")
    new_numbers = [f"261100000000000000{n:02d}" for n in range(1, inputs.count() + 1)]
    for index, number in enumerate(new_numbers):
        inputs.nth(index).fill(number)
    page.click("#record-reissued")
    page.wait_for_selector("#request-state [data-state=reissued]")

    # The tax system shows them at the next reconciliation: the request closes itself.
    for number in new_numbers:
        tax_record(beijing, code="", number=number)
    reconcile(beijing)
    page.goto(detail)
    assert _state(page) == ReviewState.CLOSED
    assert page.locator("#timeline li[data-to=closed]").count() == 1
