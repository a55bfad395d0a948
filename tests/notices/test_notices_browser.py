"""In the browser: a notice admin posts (through the warnings), revises and cancels notices; a finance
user sees the state change when the window starts, the revision history and the warnings."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from notices import services
from notices.models import MaintenanceNotice, NoticeState, TaxSystem
from notices.tasks import advance_notice_states

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def xian_vat():
    # Transactional tests flush the tables, seeded rows included: bring the one we need back.
    system, _ = TaxSystem.objects.get_or_create(
        slug="shaanxi-vat-invoice",
        defaults={"region": "陕西", "name": "增值税发票管理系统", "functions": ["issue", "query", "certify"]},
    )
    return system


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def test_admin_posts_revises_and_cancels_and_finance_sees_the_window_start(page, login, nora, fiona):
    system = xian_vat()
    day = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=3)
    other = services.notice_publish(
        system=system,
        title="西安增值税发票管理系统夜间维护",
        window_start=day + timedelta(hours=20),
        window_end=day + timedelta(hours=23),
        functions=["issue"],
    )
    # The window lands on a filing deadline: a warning the finance user must see too.
    period = (day.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    services.filing_deadline_save(region="", period=period, tax_type="增值税", deadline=day.date())

    login(nora)
    page.click("#main-nav [data-nav=manage-notice-list]")
    page.click("#new-notice")
    page.select_option("#id_system", str(system.pk))
    page.fill("#id_title", "西安增值税发票管理系统升级停机")
    page.fill("#id_window_start", local(day + timedelta(hours=22)))
    page.fill("#id_window_end", local(day + timedelta(hours=21)))
    assert page.locator("#window-order-check").is_visible()  # checked while typing
    page.fill("#id_window_end", f"{local(day)[:10]} 24:00")
    assert page.locator("#window-order-check").count() == 0
    page.click("#submit")
    # Neither a missing function nor the warnings let it through without a decision.
    assert page.locator("#functions-check").is_visible()
    assert not MaintenanceNotice.objects.exclude(pk=other.pk).exists()
    page.check("input[name=functions][value=issue]")
    page.check("input[name=functions][value=certify]")
    page.fill("#id_body_markdown", "升级期间暂停**开票**。<script>document.title='pwned'</script>")
    page.fill("#id_preparation_checklist", "完成开票\n备份数据")
    page.click("#submit")
    page.wait_for_selector("#form-warnings")
    assert page.locator('#form-warnings [data-code="overlap"]').count() == 1
    page.check("#id_confirm_warnings")
    page.click("#submit")
    page.wait_for_selector("#notice-state")
    notice = MaintenanceNotice.objects.exclude(pk=other.pk).get()
    assert page.url.endswith(f"/notices/{notice.pk}/")
    assert notice.window_end == day + timedelta(days=1)  # "24:00" is the next midnight
    assert page.title() != "pwned" and "<strong>开票</strong>" in page.inner_html(".notice-body")

    # Revise: the window moves one hour earlier.
    page.click("#revise-notice")
    page.fill("#id_window_start", local(day + timedelta(hours=21)))
    page.fill("#id_reason", "税务局更正开始时间")
    page.click("#submit")
    page.wait_for_selector("#form-warnings")  # the overlap is still there: confirm again
    page.check("#id_confirm_warnings")
    page.click("#submit")
    page.wait_for_selector("#notice-revisions .window-moved")
    assert "税务局更正开始时间" in page.inner_text("#notice-revisions")

    # Cancel the other notice.
    page.goto(f"{page.base_url}/manage/notices/{other.pk}/cancel/")
    page.fill("#id_reason", "与升级合并，取消单独维护")
    page.click("#submit")
    page.wait_for_selector("#notice-cancelled")
    assert MaintenanceNotice.objects.get(pk=other.pk).state == NoticeState.CANCELLED
    page.click("#logout")

    # A finance user reads the notice: scheduled, with its history, then in progress once the window starts.
    login(fiona)
    page.goto(f"{page.base_url}/notices/{notice.pk}/")
    assert page.get_attribute("#notice-state", "data-state") == "scheduled"
    assert "税务局更正开始时间" in page.inner_text("#notice-revisions")
    assert "完成开票" in page.inner_text("#preparation-checklist")
    assert page.locator('.notice-warning[data-code="filing_deadline"]').is_visible()
    with time_machine.travel(day + timedelta(hours=21, minutes=5), tick=True):
        advance_notice_states()
        assert MaintenanceNotice.objects.get(pk=notice.pk).state == NoticeState.IN_PROGRESS
        page.reload()
        assert page.get_attribute("#notice-state", "data-state") == "in_progress"
    assert "notice-admin-actions" not in page.content()  # finance staff get no admin buttons


def test_pasting_the_official_text_fills_the_form_for_the_admin_to_confirm(page, login, nora):
    from pathlib import Path

    system = xian_vat()
    text = (Path(__file__).parent / "data" / "seeds" / "003_d146b63d8d799c8b.txt").read_text()
    login(nora)
    page.goto(f"{page.base_url}/manage/notices/new/")
    page.fill("#id_original_text", text)
    page.click("#parse-text")
    page.wait_for_selector("#proposal")
    assert page.input_value("#id_system") == str(system.pk)
    assert page.input_value("#id_window_start") == "2023-10-10 00:00"
    assert page.input_value("#id_window_end") == "2023-10-13 00:00"
    assert page.is_checked("input[name=functions][value=certify]")
    assert page.locator("#proposal-windows li").count() == 3
    page.click("#proposal-windows li[data-window='2'] button")
    page.wait_for_selector("#proposal")
    assert page.input_value("#id_window_start") == "2023-10-15 22:00"
    page.click("#submit")
    page.wait_for_selector("#notice-state")
    assert MaintenanceNotice.objects.get().original_text.startswith("西安增值税发票管理系统")


def test_reading_a_text_flags_beside_each_field_what_it_did_not_find(page, login, nora, tmp_path):
    import os

    system, _ = TaxSystem.objects.get_or_create(
        slug="shaanxi-etax", defaults={"region": "陕西", "name": "电子税务局", "functions": ["query", "file"]}
    )
    text = (
        "国家税务总局陕西省税务局关于电子税务局系统升级的通告\n"
        "定于2030年10月12日20:00至10月13日8:00对电子税务局进行升级。\n"
        "国家税务总局陕西省税务局\n2030年10月9日"
    )
    shots = os.environ.get("SCREENSHOT_DIR")  # set to look at the page by eye
    login(nora)
    for language, missing_functions in (("zh-hans", "文中未找到暂停的功能"), ("en", "No stopped functions found")):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": page.base_url}])
        page.goto(f"{page.base_url}/manage/notices/new/")
        page.fill("#id_original_text", text)
        page.click("#parse-text")
        page.wait_for_selector("#proposal")
        assert page.input_value("#id_system") == str(system.pk)
        assert page.input_value("#id_issuing_bureau") == "国家税务总局陕西省税务局"
        assert page.input_value("#id_title") == "国家税务总局陕西省税务局关于电子税务局系统升级的通告"
        assert page.input_value("#id_window_start") == "2030-10-12 20:00"
        assert page.input_value("#id_window_end") == "2030-10-13 08:00"
        for part in ("system", "title", "issuing_bureau", "window_start"):
            assert page.locator(f".field-{part} .proposal-found").is_visible()
        note = page.locator(".field-functions .proposal-missing")
        assert note.is_visible() and missing_functions in note.inner_text()
        assert page.locator('#proposal-parts [data-part="functions"] .text-warning-emphasis').is_visible()
        if shots:
            for width in (1366, 390):
                page.set_viewport_size({"width": width, "height": 900})
                page.screenshot(path=f"{shots}/parse-{language}-{width}.png", full_page=True)
            page.set_viewport_size({"width": 1366, "height": 900})
