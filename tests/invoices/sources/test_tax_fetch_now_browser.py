"""An accountant clicks "Fetch now": a real worker fetches from a real simulator on an ephemeral port,
and the page shows the fetch in progress and then its result without being reloaded."""

from __future__ import annotations

import pytest
import requests

from demo import simulator
from invoices.models import TaxFetch, TaxSourceKind
from invoices.sources.fetch import tax_source_save
from invoices.sources.tasks import tax_fetch_execute_task
from tests.conftest import allow_outbound

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.xdist_group("worker"),
    pytest.mark.django_db(transaction=True),
]

TOKEN = "browser-simulator-token"


def set_faults(server, **faults) -> None:
    response = requests.post(
        f"{server.url}/admin/faults", json=faults, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def sim(settings):
    server = simulator.serve_in_thread(token=TOKEN)
    allow_outbound(settings, server.url)  # before the worker starts: it inherits the allow-list
    yield server
    server.stop()


@pytest.fixture
def worker(celery_worker_process, monkeypatch):
    """A real worker on a private queue; the tasks it sends itself (the reconciliation an import
    queues) stay on that queue, and "fetch now" from the live server is sent there too."""
    monkeypatch.setenv("CELERY_TASK_DEFAULT_QUEUE", celery_worker_process.queue)
    monkeypatch.setattr(
        tax_fetch_execute_task,
        "delay",
        lambda fetch_id: tax_fetch_execute_task.apply_async((fetch_id,), queue=celery_worker_process.queue),
    )
    return celery_worker_process.start()


def test_fetch_now_shows_progress_then_the_result_without_a_reload(login, alice, beijing, sim, worker):
    tax_source_save(company=beijing, kind=TaxSourceKind.SIMULATOR, base_url=sim.url, credential=TOKEN, max_retries=0)
    set_faults(sim, slow_seconds=0.5)  # each call takes a moment, so "in progress" is visible
    page = login(alice)
    page.goto(f"{page.base_url}/tax-sources/{beijing.pk}/")
    page.click("#tax-fetch-form button[type=submit]")
    page.wait_for_selector("#tax-fetch-status[data-live=running]")
    assert page.locator("#tax-fetch-form button").is_disabled()
    assert page.locator("#tax-fetch-table tr[data-state]").count() == 2
    page.evaluate("window.stillTheSamePage = true")

    page.wait_for_selector("#tax-fetch-status[data-live=done]", timeout=120_000)
    assert page.evaluate("window.stillTheSamePage") is True  # updated in place, not reloaded
    for direction in ("issued", "received"):
        row = page.locator(f"#tax-fetch-table tr[data-direction={direction}]")
        assert row.get_attribute("data-state") == "succeeded"
    assert page.locator("#last-fetch").inner_text().strip()
    assert page.locator("#last-fetch-error").count() == 0
    fetched = {f.direction: f.rows_received for f in TaxFetch.objects.all()}
    assert fetched["issued"] > 0 and fetched["received"] > 0

    # An outage: the next click ends in the tax system's reason, again without a reload.
    set_faults(sim, slow_seconds=0.5, outage=True)
    page.click("#tax-fetch-form button[type=submit]")
    page.wait_for_selector("#tax-fetch-status[data-live=running]")
    page.evaluate("window.stillTheSamePage = true")
    page.wait_for_selector("#tax-fetch-status[data-live=done]", timeout=120_000)
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.locator("#tax-fetch-table tr[data-state=failed]").count() == 2
    assert "503" in page.locator("#tax-fetch-table .tax-fetch-failure").first.inner_text()
    assert "503" in page.locator("#last-fetch-error").inner_text()
