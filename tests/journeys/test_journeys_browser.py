"""Each person's journey through the portal, in a real browser at laptop (1366 px) and phone (390 px)
width: what they would check with their own eyes, with screenshots kept for a person to look at, and
axe-core's accessibility check on the main pages."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from notices import services as notice_services
from notices.models import TaxSystem
from recovery.reissue import services as reissue_services
from tests.conftest import nav_click
from tests.recovery.reissue.fixtures import draft, make_gaps

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("seeded_tax_systems"),
]


WIDTHS = {"laptop": (1366, 768), "phone": (390, 844)}
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", Path(settings.BASE_DIR) / "var" / "screenshots"))


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_sideways_scroll(page) -> None:
    """The page itself never scrolls sideways: wide tables scroll inside their own box."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the screen"


def axe_violations(page) -> list[str]:
    """Serious or critical accessibility violations axe-core finds on the page as it stands."""
    # Evaluated over the DevTools protocol, which the page's Content-Security-Policy does not govern
    # (a script tag would be refused, as it should be).
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
        }"""
    )
    return found


def check_axe(page, where: str) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `make install` (needs npm) to put it in node_modules/")
    assert axe_violations(page) == [], where


def nav_on_one_line(page) -> None:
    height = page.locator("#main-nav").bounding_box()["height"]
    assert height < 60, f"the menu wraps ({height}px tall)"


@pytest.fixture
def story(beijing, alice, bob, fiona, carol, nora, monkeypatch):
    """Beijing has three gaps the tax system lacks, one of them in a submitted request; a critical
    incident is open; a notice's window has passed without being marked as ended."""
    monkeypatch.setattr("notices.events.event_publish", lambda *a, **k: None)
    import importlib

    from django.apps import apps

    importlib.import_module("recovery.migrations.0002_seed_rules").seed(apps, None)  # flushed like the catalogue
    gaps = make_gaps(beijing)
    req = reissue_services.reissue_request_submit(request=draft(beijing, alice, gaps[:1]), user=alice)
    system = TaxSystem.objects.get(slug="beijing-vat-invoice")
    notice_services.incident_open(
        system=system,
        title="北京开票服务中断",
        functions=["issue"],
        severity="critical",
        started_at=timezone.now() - timedelta(hours=1),
        message="正在排查",
    )
    return {"gaps": gaps, "request": req}


@pytest.mark.parametrize("width", WIDTHS)
def test_public_visitor_reads_the_status_page(page, story, width):
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    page.goto(f"{page.base_url}/status/")
    banner = page.locator("#status-summary")
    assert "alert-danger" in banner.get_attribute("class")  # a critical incident is red, not yellow
    assert "北京开票服务中断" in page.locator(".active-incidents").inner_text()
    no_sideways_scroll(page)
    name = page.locator('#status-grid tr[data-system="beijing-vat-invoice"] th[scope=row] a')
    assert name.evaluate("a => a.getClientRects().length") == 1  # one line, not a character a line
    assert page.locator("link[rel=icon]").count() == 1
    shot(page, f"visitor-status-{width}")
    if width == "laptop":
        check_axe(page, "status page")


@pytest.mark.parametrize("width", WIDTHS)
def test_finance_staff_see_the_figures_and_read_a_gap(page, login, fiona, story, width):
    login(fiona)
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    page.goto(f"{page.base_url}/")
    assert page.locator("#figure-open-gaps").inner_text() == "3"
    assert page.locator("#figure-amount").inner_text() == "¥678.00"
    assert page.locator("#figure-waiting").inner_text() == "1"
    assert page.locator("#gap-trend circle").count() == 30
    no_sideways_scroll(page)
    shot(page, f"finance-home-{width}")
    if width == "phone":
        assert page.locator("#main-nav").is_hidden() and page.locator("#nav-toggler").is_visible()
    else:
        check_axe(page, "finance home")
    nav_click(page, "recovery-gap-list")
    page.wait_for_selector("#gap-table")
    assert page.locator("#bulk-actions").count() == 0  # finance staff read; they do not decide
    assert page.locator('#gap-table .badge[data-status="open"]').first.inner_text() == "待处理"
    no_sideways_scroll(page)
    shot(page, f"finance-gaps-{width}")
    page.locator("#gap-table a.gap-link").last.click()
    page.wait_for_selector("#gap-sides")
    assert "税务系统中没有" in page.locator("#gap-sides").inner_text()
    assert page.locator("#read-only-note").is_visible()
    assert page.locator('#gap-actions button[value="acknowledge"]').count() == 0
    no_sideways_scroll(page)
    shot(page, f"finance-gap-{width}")
    if width == "laptop":
        check_axe(page, "gap page")


@pytest.mark.parametrize("width", WIDTHS)
def test_accountant_starts_a_reissue_request_from_ticked_gaps(page, login, alice, story, width):
    login(alice)
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    if width == "laptop":
        nav_on_one_line(page)
    page.goto(f"{page.base_url}/recovery/gaps/")
    apply, reissue = page.locator("#apply-selected"), page.locator("#reissue-selected")
    assert apply.is_disabled() and reissue.is_disabled()  # nothing ticked, nothing to apply
    held = story["gaps"][0]
    assert page.locator(f'tr[data-gap="{held.pk}"] .in-request').inner_text() == f"已在 {story['request'].number} 中"
    free = story["gaps"][2]
    page.check(f'tr[data-gap="{free.pk}"] input[name=ids]')
    assert apply.is_enabled() and reissue.is_enabled()
    assert page.locator("#selection-count").inner_text() == "已选 1 条"
    no_sideways_scroll(page)
    shot(page, f"accountant-gaps-{width}")
    if width == "laptop":
        check_axe(page, "gap list")
    reissue.click()
    page.wait_for_selector("#reissue-form")
    assert "csrfmiddlewaretoken" not in page.url and page.url.endswith("/recovery/reissue/new/")
    assert page.locator(f"#gap-{free.pk}").is_checked()
    shot(page, f"accountant-reissue-form-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_reviewer_finds_the_request_waiting_on_the_home_page(page, login, bob, story, width):
    login(bob)
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    queue = page.locator("#review-queue")
    assert story["request"].number in queue.inner_text()
    no_sideways_scroll(page)
    shot(page, f"reviewer-home-{width}")
    queue.locator("a").first.click()
    page.wait_for_selector("#request-state")
    assert page.locator("#request-state").inner_text().strip() == "已提交"
    shot(page, f"reviewer-request-{width}")
    if width == "laptop":
        check_axe(page, "reissue request")


@pytest.mark.parametrize("width", WIDTHS)
def test_company_admin_opens_the_company_page_from_the_menu(page, login, carol, story, width):
    login(carol)
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    if width == "laptop":
        nav_on_one_line(page)
    nav_click(page, "company-page-list")
    page.wait_for_selector("#company-table")
    assert "application/json" not in page.evaluate("document.contentType")
    page.click("#company-table a")
    members = page.locator("#member-table").inner_text()
    assert "alice" in members and "会计" in members and "公司管理员" in members
    no_sideways_scroll(page)
    shot(page, f"company-admin-company-{width}")
    if width == "laptop":
        check_axe(page, "company page")


@pytest.mark.parametrize("width", WIDTHS)
def test_notice_admin_home_is_about_notices_incidents_and_sources(page, login, nora, story, width):
    login(nora)
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    assert "北京开票服务中断" in page.locator("#open-incidents").inner_text()
    assert page.locator("#notices-to-confirm").is_visible() and page.locator("#failing-sources").is_visible()
    assert page.locator("#headline").count() == 0 and page.locator("#gaps-by-kind").count() == 0
    no_sideways_scroll(page)
    shot(page, f"notice-admin-home-{width}")
    if width == "laptop":
        check_axe(page, "notice admin home")


def test_api_docs_load_from_our_own_static_files(page, login, alice):
    login(alice)
    fetched, blocked = [], []
    outside = lambda r: r.url.startswith("http") and not r.url.startswith(page.base_url)  # noqa: E731
    page.on("requestfinished", lambda r: fetched.append(r.url) if outside(r) else None)
    page.on("requestfailed", lambda r: blocked.append((r.url, r.failure)) if outside(r) else None)
    page.goto(f"{page.base_url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    page.goto(f"{page.base_url}/api/redoc/")
    page.wait_for_selector("redoc h1", timeout=60000)  # a large script on a busy machine
    assert fetched == []
    # ReDoc's sidebar credit asks Redocly's CDN for its logo; the page's policy stops it in the browser.
    assert all("CSP" in (failure or "").upper() for _url, failure in blocked), blocked
