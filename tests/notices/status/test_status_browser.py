"""An anonymous visitor opens the public status page in a real browser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.notices.status.helpers import make_incident, make_notice, make_update, system

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_anonymous_visitor_finds_grid_incident_and_ical_link(page):
    now = timezone.now()
    incident = make_incident(
        system("beijing-vat-invoice"), start=now - timedelta(hours=1), title="北京发票数据同步故障"
    )
    make_update(incident, body="<p>已定位故障原因。</p>", posted_at=now - timedelta(minutes=30))
    make_notice(system(), start=now + timedelta(days=2), end=now + timedelta(days=2, hours=8), title="西安系统升级维护")

    page.goto(f"{page.base_url}/status/")
    assert page.locator("#current-user").count() == 0  # nobody signed in
    row = page.locator('#status-grid tr[data-system="beijing-vat-invoice"]')
    assert row.get_attribute("data-state") == "outage"
    assert row.locator('td[data-function="issue"]').get_attribute("data-state") == "outage"
    assert page.locator("#status-grid svg.history-bar").count() >= 24
    assert "北京发票数据同步故障" in page.locator(".active-incidents").inner_text()
    assert "西安系统升级维护" in page.locator(".upcoming-windows").inner_text()
    ical = page.locator("#ical-link")
    assert ical.is_visible()
    response = page.request.get(f"{page.base_url}{ical.get_attribute('href')}")
    assert response.ok and "BEGIN:VCALENDAR" in response.text() and "西安系统升级维护" in response.text()
    feeds = page.locator('link[rel="alternate"]').evaluate_all("els => els.map(e => e.type)")
    assert set(feeds) == {"application/rss+xml", "application/atom+xml", "text/calendar"}

    # The language switch works from the cached page (its CSRF token sits at the end of the page).
    page.goto(f"{page.base_url}/status/")  # served from the cache this time
    page.click("#language-switch button[data-lang=en]")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("#status-grid").count() == 1

    page.click(f'a[href="{incident.system.get_absolute_url()}"] >> nth=0')
    page.wait_for_selector("#system-state")
    assert page.locator("#system-state").get_attribute("data-state") == "outage"
