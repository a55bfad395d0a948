"""Every main page, as each role sees it in a real browser, works under the Content-Security-Policy:
the console reports no violation."""

from __future__ import annotations

import importlib
import io
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from notices.models import TaxSystem
from outage_portal.models import User
from recovery.reissue.models import ReissueRequest
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_ROLES = ["bj_finance", "bj_accountant", "bj_reviewer", "bj_admin", "notice_admin"]
# Pages behind buttons rather than the navigation, and the public ones.
EXTRA_PAGES = [
    "/status/",
    "/status/calendar/",
    "/api/docs/",
    "/recovery/reissue/new/",
    "/recovery/hand-issued/new/",
    "/recovery/deferred-filing/new/",
    "/imports/new/",
    "/manage/notices/new/",
    "/manage/incidents/new/",
    "/subscriptions/",
]
SKIP_SUFFIXES = (".csv", ".xlsx", ".pdf", ".zip", ".ics", ".rss", ".atom", "/logout/")

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " @" + e.sourceFile + ":" + e.lineNumber);
});
"""


@pytest.fixture
def demo(settings, demo_simulator_url):
    settings.NOTIFY_HTTP_CONNECT_TIMEOUT = 1
    if not TaxSystem.objects.exists():
        # The catalogue comes from a data migration, which a transactional test run before this one
        # flushed: seed it again the way that migration does.
        from django.apps import apps

        importlib.import_module("notices.migrations.0004_all_provincial_tax_bureaus").forward(apps, None)
    call_command("load_demo", force=True, stdout=io.StringIO())
    for user in User.objects.filter(username__in=DEMO_ROLES):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])


def _visit_all(browser, base_url, username=None) -> dict[str, list[str]]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15000)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    found: dict[str, list[str]] = {}
    try:
        if username:
            page.goto(f"{base_url}/accounts/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.click("#login-form button[type=submit]")
            page.wait_for_selector("#current-user")
        page.goto(f"{base_url}/")
        links = page.locator("a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        paths = []
        for href in [*links, *EXTRA_PAGES, *_detail_pages()]:
            parts = urlsplit(href)
            if parts.netloc or not parts.path.startswith("/") or parts.path.endswith(SKIP_SUFFIXES):
                continue
            if parts.path.startswith(("/admin/", "/i18n/")) or parts.path in paths:
                continue
            paths.append(parts.path)
        for path in paths:
            console.clear()
            page.goto(base_url + path)
            page.wait_for_load_state("load")
            violations = page.evaluate("window.__csp || []") + console
            if violations:
                found[path] = violations
    finally:
        context.close()
    return found


def _detail_pages() -> list[str]:
    req = ReissueRequest.objects.order_by("pk").first()
    return [f"/recovery/reissue/{req.pk}/", f"/recovery/reissue/{req.pk}/print/"] if req else []


def test_no_page_breaks_the_content_security_policy(_playwright_browser, live_server, demo):
    # One demo for every role (loading it is the slow part); the failure names role and page.
    found = {
        username or "anonymous": _visit_all(_playwright_browser, live_server.url, username)
        for username in [*DEMO_ROLES, None]
    }
    assert {role: pages for role, pages in found.items() if pages} == {}
