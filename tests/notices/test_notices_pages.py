"""Notice admins' pages: posting, revising, cancelling, warnings before confirming, pasted text;
public notice and incident pages; who may do what."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib import messages
from django.contrib.messages import get_messages
from django.utils import timezone

from notices import services
from notices.models import FilingDeadline, Incident, MaintenanceNotice, NoticeState, TextTemplate
from tests.notices.fixtures import at, make_notice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
SEEDS = Path(__file__).parent / "data" / "seeds"


def notice_post(system, **extra):
    data = {
        "system": system.pk,
        "title": "西安增值税发票管理系统升级",
        "window_start": "2030-10-10 00:00",
        "window_end": "2030-10-12 24:00",
        "functions": ["issue", "query", "certify"],
        "body_markdown": "升级期间暂停开票。",
        "preparation_checklist": "完成开票\n备份数据",
        "recovery_checklist": "检查账户状态",
        "alternatives": "办税服务厅\n自助办税终端",
        "contacts": "12366 纳税服务热线",
        "document_number": "西税公告〔2030〕1号",
    }
    data.update(extra)
    return data


WRITE_PAGES = [
    ("get", "/manage/notices/"),
    ("get", "/manage/notices/new/"),
    ("post", "/manage/notices/new/"),
    ("get", "/manage/incidents/"),
    ("get", "/manage/incidents/new/"),
    ("get", "/manage/systems/"),
    ("get", "/manage/systems/new/"),
    ("get", "/manage/calendar/"),
    ("get", "/manage/calendar/new/"),
    ("get", "/manage/templates/"),
    ("get", "/manage/templates/new/"),
]


@pytest.mark.parametrize(("method", "url"), WRITE_PAGES)
def test_people_who_are_not_notice_admins_get_403_on_write_pages(client_for, fiona, method, url):
    assert getattr(client_for(fiona), method)(url).status_code == 403


def test_non_admins_cannot_edit_cancel_or_extend_a_notice_nor_touch_an_incident(
    client_for, carol, xian_vat, beijing_vat
):
    notice = make_notice(xian_vat, start=timezone.now() + timedelta(days=3))
    incident = services.incident_open(
        system=beijing_vat, title="故障", functions=["issue"], started_at=timezone.now(), message="排查中"
    )
    client = client_for(carol)
    for url in (
        f"/manage/notices/{notice.pk}/edit/",
        f"/manage/notices/{notice.pk}/cancel/",
        f"/manage/notices/{notice.pk}/extend/",
        f"/manage/incidents/{incident.pk}/",
    ):
        assert client.post(url, {"reason": "x"}).status_code == 403
    assert client.post(f"/manage/incidents/{incident.pk}/resolve/", {}).status_code == 403
    assert MaintenanceNotice.objects.get().state == NoticeState.SCHEDULED


def test_anonymous_visitors_are_sent_to_log_in_for_write_pages_but_read_public_pages(client, xian_vat, beijing_vat):
    notice = make_notice(xian_vat, start=timezone.now() + timedelta(days=3))
    incident = services.incident_open(
        system=beijing_vat, title="数据同步故障", functions=["issue"], started_at=timezone.now(), message="排查中"
    )
    assert client.get("/manage/notices/new/").status_code == 302
    assert client.get(f"/notices/{notice.pk}/").status_code == 200
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "数据同步故障" in page and "排查中" in page


def test_an_admin_posts_a_notice_where_24_00_is_the_next_midnight(client_for, nora, xian_vat):
    response = client_for(nora).post("/manage/notices/new/", notice_post(xian_vat))
    notice = MaintenanceNotice.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/notices/{notice.pk}/"
    assert (notice.window_start, notice.window_end) == (at(2030, 10, 10), at(2030, 10, 13))
    assert notice.functions == ["issue", "query", "certify"] and notice.created_by == nora


def test_reversed_window_and_no_function_are_shown_inline_and_nothing_is_stored(client_for, nora, xian_vat):
    response = client_for(nora).post(
        "/manage/notices/new/", notice_post(xian_vat, window_end="2030-10-09 08:00", functions=[])
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "end after it starts" in errors["window_end"][0]
    assert "at least one" in errors["functions"][0]
    assert 'data-field="window_end"' in response.content.decode()
    assert not MaintenanceNotice.objects.exists()


def test_unknown_function_and_nonsense_times_are_refused(client_for, nora, xian_vat):
    response = client_for(nora).post(
        "/manage/notices/new/", notice_post(xian_vat, functions=["teleport"], window_start="next tuesday")
    )
    errors = response.context["form"].errors
    assert "teleport" in errors["functions"][0]
    assert "2026-10-12 24:00" in errors["window_start"][0]
    assert not MaintenanceNotice.objects.exists()


def test_hostile_markdown_never_reaches_the_page(client_for, client, nora, xian_vat):
    body = (
        "# 通知\n\n<script>document.title='pwned'</script>\n\n"
        "[详情](javascript:alert(1))\n\n<img src=x onerror=alert(1)>"
    )
    client_for(nora).post("/manage/notices/new/", notice_post(xian_vat, body_markdown=body))
    notice = MaintenanceNotice.objects.get()
    client.logout()
    page = client.get(f"/notices/{notice.pk}/").content.decode()
    assert "pwned" not in page and "javascript:" not in page and "onerror" not in page
    assert "<h2>通知</h2>" in page


def test_warnings_are_shown_before_posting_and_need_the_checkbox(client_for, nora, xian_vat):
    make_notice(xian_vat, start=at(2030, 10, 11), hours=4, document_number="西税公告〔2030〕1号")
    make_notice(xian_vat, start=at(2030, 10, 1), hours=4, document_number="西税公告〔2030〕1号")
    services.filing_deadline_save(region="", period=date(2030, 10, 1), tax_type="增值税", deadline=date(2030, 10, 22))
    client = client_for(nora)
    response = client.post("/manage/notices/new/", notice_post(xian_vat))
    assert response.status_code == 200 and MaintenanceNotice.objects.count() == 2
    codes = sorted(w.code for w in response.context["warnings"])
    assert codes == ["contradiction", "filing_deadline", "overlap"]
    assert 'name="confirm_warnings"' in response.content.decode()
    response = client.post("/manage/notices/new/", notice_post(xian_vat, confirm_warnings="on"))
    assert response.status_code == 302 and MaintenanceNotice.objects.count() == 3


def test_pasting_the_xian_notice_proposes_system_window_and_functions(client_for, nora, xian_vat):
    text = (SEEDS / "003_d146b63d8d799c8b.txt").read_text()
    client = client_for(nora)
    response = client.post("/manage/notices/new/", {"original_text": text, "parse": "1"})
    form = response.context["form"]
    assert form.initial["system"] == xian_vat.pk
    # As the inputs show them: Beijing time.
    assert form["window_start"].value() == "2023-10-10 00:00" and form["window_end"].value() == "2023-10-13 00:00"
    assert form.initial["functions"] == ["issue", "query", "certify"]
    assert len(response.context["proposal"].windows) == 3
    # The admin picks the third window the text states.
    response = client.post("/manage/notices/new/", {"original_text": text, "use_window": "2"})
    assert response.context["form"]["window_start"].value() == "2023-10-15 22:00"
    assert not MaintenanceNotice.objects.exists()  # nothing is posted until the admin confirms


def test_start_from_template_fills_the_form(client_for, nora):
    template = services.text_template_save(
        kind="notice", name="例行升级", title="系统例行升级", body_markdown="例行升级。", preparation_checklist="备份"
    )
    response = client_for(nora).get(f"/manage/notices/new/?template={template.pk}")
    assert response.context["form"].initial["title"] == "系统例行升级"
    assert response.context["form"].initial["preparation_checklist"] == "备份"


def test_revising_keeps_history_shown_on_the_notice_page(client_for, client, nora, xian_vat):
    notice = make_notice(xian_vat, start=at(2030, 10, 10), hours=8, user=nora)
    admin = client_for(nora)
    response = admin.post(
        f"/manage/notices/{notice.pk}/edit/",
        notice_post(xian_vat, window_start="2030-10-15 22:00", window_end="2030-10-16 06:00", reason="税务局更正"),
    )
    assert response.status_code == 302
    admin.logout()
    page = client.get(f"/notices/{notice.pk}/").content.decode()
    assert "税务局更正" in page
    assert "2030-10-10 00:00 – 2030-10-10 08:00 CST" in page and "2030-10-15 22:00 – 2030-10-16 06:00 CST" in page
    assert 'class="window-moved"' in page


def test_cancelling_from_the_page_needs_a_reason(client_for, nora, xian_vat):
    notice = make_notice(xian_vat, start=timezone.now() + timedelta(days=2))
    client = client_for(nora)
    response = client.post(f"/manage/notices/{notice.pk}/cancel/", {"reason": ""})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    response = client.post(f"/manage/notices/{notice.pk}/cancel/", {"reason": "推迟到下月"})
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.state == NoticeState.CANCELLED and notice.cancel_reason == "推迟到下月"


def test_a_cancelled_notice_is_not_opened_for_editing(client_for, nora, xian_vat):
    notice = make_notice(xian_vat, start=timezone.now() + timedelta(days=2))
    services.notice_cancel(notice=notice, user=nora, reason="推迟到下月")
    admin = client_for(nora)
    for response in (
        admin.get(f"/manage/notices/{notice.pk}/edit/"),
        admin.post(f"/manage/notices/{notice.pk}/edit/", notice_post(xian_vat, title="改了", reason="再发")),
    ):
        assert response.status_code == 302 and response.url == f"/notices/{notice.pk}/"
        levels = [message.level for message in get_messages(response.wsgi_request)]
        assert levels and set(levels) == {messages.ERROR}
    notice.refresh_from_db()
    assert notice.title != "改了" and notice.revision == 2 and notice.state == NoticeState.CANCELLED


def test_the_notice_page_shows_the_state_by_the_clock_without_the_beat(client, xian_vat):
    with time_machine.travel(at(2030, 10, 1), tick=False):
        notice = make_notice(xian_vat, start=at(2030, 10, 10, 22), hours=8)
    with time_machine.travel(at(2030, 10, 10, 23), tick=False):
        page = client.get(f"/notices/{notice.pk}/").content.decode()
    assert 'data-state="in_progress"' in page


def test_notice_page_shows_checklists_alternatives_contacts_and_the_archived_original(client, xian_vat):
    notice = make_notice(
        xian_vat,
        start=at(2030, 10, 10),
        preparation_checklist="- 完成所有开票\n- 备份数据",
        recovery_checklist="核对发票",
        alternatives="办税服务厅",
        contacts="12366",
        source_url="https://shaanxi.chinatax.gov.cn/notice/1",
        original_text="原文：系统停机",
        issuing_bureau="国家税务总局西安市税务局",
    )
    page = client.get(f"/notices/{notice.pk}/").content.decode()
    for text in (
        "完成所有开票",
        "备份数据",
        "核对发票",
        "办税服务厅",
        "12366",
        "原文：系统停机",
        "国家税务总局西安市税务局",
    ):
        assert text in page


def test_public_and_list_pages_keep_their_query_count(
    client_for, client, nora, xian_vat, django_assert_max_num_queries
):
    for day in range(1, 8):
        notice = make_notice(xian_vat, start=at(2030, 10, day * 3), hours=2, user=nora)
        services.notice_revise(notice=notice, user=nora, title=f"改 {day}")
    admin = client_for(nora)
    with django_assert_max_num_queries(12):
        assert admin.get("/manage/notices/?region=西安&function=issue").status_code == 200
    with django_assert_max_num_queries(12):
        assert admin.get("/manage/incidents/").status_code == 200
    admin.logout()
    with django_assert_max_num_queries(10):
        assert client.get(f"/notices/{notice.pk}/").status_code == 200


def test_incident_from_open_to_post_mortem_through_the_pages(client_for, client, nora, beijing_vat):
    admin = client_for(nora)
    started = (timezone.localtime() - timedelta(hours=5)).strftime("%Y-%m-%d %H:%M")
    response = admin.post(
        "/manage/incidents/new/",
        {
            "system": beijing_vat.pk,
            "title": "数据同步故障致发票未显示",
            "functions": ["issue"],
            "severity": "critical",
            "started_at": started,
            "impact_invoice_types": "增值税专用发票，数电普票",
            "impact_regions": "北京",
            "impact_summary": "09:30 起开具的发票未同步",
            "state": "investigating",
            "message": "正在排查。",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302 and incident.impact_invoice_types == ["增值税专用发票", "数电普票"]
    admin.post(f"/manage/incidents/{incident.pk}/update/", {"state": "identified", "message": "已定位：数据同步错误"})
    bad = admin.post(f"/manage/incidents/{incident.pk}/resolve/", {"ended_at": "2000-01-01 00:00", "message": "x"})
    assert bad.status_code == 400 and "ended_at" in bad.context["resolve_form"].errors
    ended = (timezone.localtime() - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")
    admin.post(f"/manage/incidents/{incident.pk}/resolve/", {"ended_at": ended, "message": "已恢复"})
    admin.post(
        f"/manage/incidents/{incident.pk}/postmortem/",
        {"cause": "维护期间数据同步错误", "lost": "约 6 小时发票未同步", "actions": "重新同步并开放补开"},
    )
    incident.refresh_from_db()
    assert incident.state == "resolved" and [u.state for u in incident.updates.order_by("posted_at")] == [
        "investigating",
        "identified",
        "resolved",
    ]
    admin.logout()
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    for text in ("已定位：数据同步错误", "维护期间数据同步错误", "约 6 小时发票未同步", "增值税专用发票"):
        assert text in page


def test_catalogue_calendar_and_templates_are_editable_by_notice_admins(client_for, nora):
    admin = client_for(nora)
    response = admin.post(
        "/manage/systems/new/",
        {
            "region": "陕西",
            "name": "出口退税管理系统",
            "slug": "shaanxi-export-refund",
            "functions": ["file"],
            "sort_order": 900,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    response = admin.post(
        "/manage/calendar/new/",
        {"region": "", "tax_type": "增值税", "period": "2030-10-01", "deadline": "2030-10-22", "note": "国庆顺延"},
    )
    assert response.status_code == 302 and FilingDeadline.objects.get().note == "国庆顺延"
    response = admin.post(
        "/manage/calendar/new/", {"region": "", "tax_type": "增值税", "period": "2030-10-01", "deadline": "2030-09-01"}
    )
    assert response.status_code == 200  # before its period, or a duplicate: refused with a message
    response = admin.post(
        "/manage/templates/new/", {"kind": "incident_update", "name": "已恢复", "body_markdown": "系统已恢复。"}
    )
    assert response.status_code == 302 and TextTemplate.objects.get().kind == "incident_update"


def test_pasting_the_beijing_report_proposes_system_and_functions_for_an_incident(client_for, nora, beijing_vat):
    text = (SEEDS / "000_264295d3c1219f80.txt").read_text()
    response = client_for(nora).post("/manage/incidents/new/", {"original_text": text, "parse": "1"})
    form = response.context["form"]
    assert form.initial["system"] == beijing_vat.pk
    assert form.initial["functions"] == ["issue", "query", "download"]
    assert not Incident.objects.exists()


def test_extending_from_the_page_and_refusing_an_earlier_end(client_for, client, nora, xian_vat):
    notice = make_notice(xian_vat, start=timezone.now() - timedelta(hours=1), hours=2)
    admin = client_for(nora)
    earlier = admin.post(f"/manage/notices/{notice.pk}/extend/", {"new_end": "2000-01-01 00:00"})
    assert earlier.status_code == 200 and "new_end" in earlier.context["form"].errors
    new_end = timezone.localtime(notice.window_end + timedelta(hours=4)).strftime("%Y-%m-%d %H:%M")
    assert (
        admin.post(f"/manage/notices/{notice.pk}/extend/", {"new_end": new_end, "reason": "迁移未完成"}).status_code
        == 302
    )
    admin.logout()
    page = client.get(f"/notices/{notice.pk}/").content.decode()
    assert 'data-state="extended"' in page and 'id="notice-extended"' in page


def test_correcting_an_incident_and_using_an_update_template(client_for, nora, beijing_vat):
    incident = services.incident_open(
        system=beijing_vat, title="故障", functions=["issue"], started_at=timezone.now(), message="排查中"
    )
    template = services.text_template_save(kind="incident_update", name="已定位", body_markdown="原因已定位。")
    admin = client_for(nora)
    page = admin.get(f"/manage/incidents/{incident.pk}/?template={template.pk}")
    assert page.context["update_form"].initial["message"] == "原因已定位。"
    response = admin.post(
        f"/manage/incidents/{incident.pk}/edit/",
        {
            "system": beijing_vat.pk,
            "title": "数据同步故障",
            "functions": ["issue", "query"],
            "severity": "major",
            "started_at": timezone.localtime(incident.started_at).strftime("%Y-%m-%d %H:%M"),
            "impact_regions": "火星",
        },
    )
    assert response.status_code == 200 and "火星" in str(response.context["form"].errors)
    incident.refresh_from_db()
    assert incident.title == "故障"  # nothing half-stored


def test_a_deadline_is_removed_with_a_post(client_for, nora):
    deadline = services.filing_deadline_save(region="西安", period=date(2030, 9, 1), deadline=date(2030, 10, 22))
    admin = client_for(nora)
    assert admin.get(f"/manage/calendar/{deadline.pk}/delete/").status_code == 405
    assert admin.post(f"/manage/calendar/{deadline.pk}/delete/").status_code == 302
    assert not FilingDeadline.objects.exists()


def test_a_text_template_is_edited_and_removed_with_a_post(client_for, nora):
    template = services.text_template_save(kind="notice", name="停机", title="系统停机维护")
    admin = client_for(nora)
    response = admin.post(
        f"/manage/templates/{template.pk}/edit/", {"kind": "notice", "name": "停机", "title": "系统升级"}
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.title == "系统升级"
    assert admin.get(f"/manage/templates/{template.pk}/delete/").status_code == 405
    assert admin.post(f"/manage/templates/{template.pk}/delete/").status_code == 302
    assert not TextTemplate.objects.exists()


def test_a_list_filter_it_cannot_take_is_said_beside_its_field(client_for, nora, xian_vat):
    make_notice(xian_vat, start=at(2030, 10, 10))
    for page in ("/manage/notices/", "/manage/incidents/"):
        response = client_for(nora).get(page, {"active_from": "9999-12-31"}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        assert 'data-for="active_from">Choose a time between the years 1900 and 2199.' in response.content.decode()


def test_a_window_far_outside_any_tax_system_is_refused_beside_its_field(client_for, nora, xian_vat):
    client = client_for(nora)
    for start in ("0001-01-01 00:00", "9999-12-31 24:00"):  # both answered 500
        response = client.post("/manage/notices/new/", notice_post(xian_vat, window_start=start))
        assert response.status_code == 200 and "window_start" in response.context["form"].errors
    assert not MaintenanceNotice.objects.exists()
