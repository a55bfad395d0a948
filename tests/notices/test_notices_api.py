"""The notices API: read for everyone signed in, write for notice admins, same rules as the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notices import services
from notices.models import Incident, MaintenanceNotice, TaxSystem
from tests.notices.fixtures import at, make_notice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def notice_body(**extra):
    body = {
        "system": "shaanxi-vat-invoice",
        "title": "西安增值税发票管理系统升级",
        "window_start": "2030-10-10 00:00",
        "window_end": "2030-10-12 24:00",
        "functions": ["issue", "query"],
        "body_markdown": "升级。",
        "document_number": "西税公告〔2030〕1号",
    }
    body.update(extra)
    return body


def test_everyone_signed_in_reads_notices_incidents_and_systems(api_for, fiona, xian_vat):
    make_notice(xian_vat, start=at(2030, 10, 10))
    api = api_for(fiona)
    assert api.get("/api/notices/").json()["count"] == 1
    assert api.get("/api/incidents/").status_code == 200
    assert api.get("/api/tax-systems/?region=西安").json()["count"] == 4  # 陕西's systems: 西安 is in 陕西


def test_anonymous_api_calls_are_refused(client):
    assert client.get("/api/notices/").status_code in (401, 403)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/notices/"),
        ("post", "/api/incidents/"),
        ("post", "/api/tax-systems/"),
    ],
)
def test_non_admins_get_403_on_writes(api_for, alice, method, url):
    response = getattr(api_for(alice), method)(url, {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_non_admins_cannot_cancel_extend_or_resolve(api_for, alice, xian_vat, beijing_vat):
    notice = make_notice(xian_vat, start=at(2030, 10, 10))
    incident = services.incident_open(
        system=beijing_vat, title="故障", functions=["issue"], started_at=timezone.now(), message="排查中"
    )
    api = api_for(alice)
    assert api.post(f"/api/notices/{notice.pk}/cancel/", {"reason": "x"}, format="json").status_code == 403
    assert api.patch(f"/api/notices/{notice.pk}/", {"title": "x"}, format="json").status_code == 403
    assert api.post(f"/api/incidents/{incident.pk}/resolve/", {}, format="json").status_code == 403


def test_admin_publishes_revises_and_cancels_a_notice(api_for, nora, xian_vat):
    api = api_for(nora)
    created = api.post("/api/notices/", notice_body(), format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["window_end"] == "2030-10-13T00:00:00+08:00" and data["state"] == "scheduled"
    assert data["revision"] == 1 and data["warnings"] == [] and data["url"] == f"/notices/{data['id']}/"
    revised = api.patch(
        f"/api/notices/{data['id']}/",
        {"window_start": "2030-10-15T22:00:00+08:00", "window_end": "2030-10-16T06:00:00+08:00", "reason": "更正"},
        format="json",
    ).json()
    assert revised["revision"] == 2
    assert revised["revisions"][0]["old_window_start"] == "2030-10-10T00:00:00+08:00"
    assert revised["revisions"][0]["new_window_start"] == "2030-10-15T22:00:00+08:00"
    assert revised["revisions"][0]["changed_by"] == "nora" and revised["revisions"][0]["reason"] == "更正"
    cancelled = api.post(f"/api/notices/{data['id']}/cancel/", {"reason": "推迟"}, format="json").json()
    assert cancelled["state"] == "cancelled" and cancelled["cancel_reason"] == "推迟"


def test_api_refuses_reversed_windows_and_unknown_functions_with_clear_errors(api_for, nora, xian_vat):
    api = api_for(nora)
    for far_off in ("0001-01-01", "0001-01-01 00:00", "2230-01-01T00:00+08:00"):  # the first two answered 500
        refused = api.post("/api/notices/", notice_body(window_start=far_off), format="json")
        assert refused.status_code == 400
        assert refused.json()["error"]["fields"]["window_start"] == ["Choose a time between the years 1900 and 2199."]
    no_next_day = api.post("/api/notices/", notice_body(window_end="9999-12-31 24:00"), format="json")
    assert no_next_day.status_code == 400 and "window_end" in no_next_day.json()["error"]["fields"]
    reversed_window = api.post("/api/notices/", notice_body(window_end="2030-10-09 00:00"), format="json")
    assert reversed_window.status_code == 400
    assert "end after it starts" in reversed_window.json()["error"]["fields"]["window_end"][0]
    in_chinese = api.post(
        "/api/notices/", notice_body(window_end="2030-10-09 00:00"), format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert in_chinese.json()["error"]["fields"]["window_end"] == ["结束时间必须晚于开始时间。"]
    unknown = api.post("/api/notices/", notice_body(functions=["teleport"]), format="json")
    assert unknown.status_code == 400 and "teleport" in unknown.json()["error"]["message"]
    empty = api.post("/api/notices/", notice_body(functions=[]), format="json")
    assert empty.status_code == 400 and "functions" in empty.json()["error"]["fields"]
    assert not MaintenanceNotice.objects.exists()


def test_api_sanitises_hostile_markdown(api_for, nora, xian_vat):
    body = "<script>alert(1)</script>[x](javascript:alert(1))"
    data = api_for(nora).post("/api/notices/", notice_body(body_markdown=body), format="json").json()
    assert "script" not in data["body_html"] and "javascript:" not in data["body_html"]
    assert data["body_markdown"] == body  # what the admin wrote is kept; only the HTML is cleaned


def test_api_returns_the_warnings(api_for, nora, xian_vat):
    make_notice(xian_vat, start=at(2030, 10, 11), hours=4)
    data = api_for(nora).post("/api/notices/", notice_body(), format="json").json()
    assert [w["code"] for w in data["warnings"]] == ["overlap"]


def test_extend_through_the_api(api_for, nora, xian_vat):
    notice = make_notice(xian_vat, start=timezone.now() - timedelta(hours=1), hours=2)
    api = api_for(nora)
    new_end = (notice.window_end + timedelta(hours=3)).isoformat()
    data = api.post(f"/api/notices/{notice.pk}/extend/", {"new_end": new_end, "reason": "延长"}, format="json").json()
    assert data["state"] == "extended" and data["announced_end"] is not None
    again = api.post(f"/api/notices/{notice.pk}/extend/", {"new_end": new_end}, format="json")
    assert again.status_code == 400 and "new_end" in again.json()["error"]["fields"]


def test_filters_by_region_system_function_and_time(api_for, fiona, xian_vat, beijing_vat):
    make_notice(xian_vat, start=at(2030, 10, 10), functions=["issue"])
    make_notice(xian_vat, start=at(2030, 11, 10), functions=["certify"])
    make_notice(beijing_vat, start=at(2030, 10, 10), functions=["issue", "query"])
    api = api_for(fiona)

    def count(query):
        return api.get(f"/api/notices/?{query}").json()["count"]

    assert count("region=西安") == 2
    assert count("system=beijing-vat-invoice") == 1
    assert count("function=issue") == 2
    assert count("function=certify&region=西安") == 1
    assert count("active_from=2030-11-01T00:00:00%2B08:00") == 1
    assert count("active_to=2030-10-31T00:00:00%2B08:00") == 2

    # Beyond what a moment can be turned into UTC from: said, field by field, in the client's language.
    refused = api.get("/api/notices/?active_from=0001-01-01", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["active_from"] == ["请选择 1900 年至 2199 年之间的时间。"]


def test_incident_lifecycle_through_the_api(api_for, nora, fiona, beijing_vat):
    api = api_for(nora)
    started = (timezone.now() - timedelta(hours=6)).isoformat()
    created = api.post(
        "/api/incidents/",
        {
            "system": "beijing-vat-invoice",
            "title": "数据同步故障",
            "functions": ["issue"],
            "severity": "critical",
            "started_at": started,
            "impact_regions": ["北京"],
            "impact_invoice_types": ["增值税专用发票"],
            "message": "正在排查",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    bad_region = api.patch(f"/api/incidents/{pk}/", {"impact_regions": ["火星"]}, format="json")
    assert bad_region.status_code == 400 and "火星" in bad_region.json()["error"]["message"]
    update = api.post(f"/api/incidents/{pk}/updates/", {"state": "identified", "message": "已定位"}, format="json")
    assert update.status_code == 201 and update.json()["state"] == "identified"
    early_postmortem = api.post(f"/api/incidents/{pk}/postmortem/", {"cause": "x"}, format="json")
    assert early_postmortem.status_code == 400
    ended = (timezone.now() - timedelta(minutes=1)).isoformat()
    resolved = api.post(f"/api/incidents/{pk}/resolve/", {"ended_at": ended, "message": "已恢复"}, format="json").json()
    assert resolved["state"] == "resolved" and len(resolved["updates"]) == 3
    api.post(
        f"/api/incidents/{pk}/postmortem/",
        {"cause": "数据同步错误", "lost": "发票未同步", "actions": "重推"},
        format="json",
    )
    read = api_for(fiona).get(f"/api/incidents/{pk}/").json()
    assert "数据同步错误" in read["postmortem_html"]
    assert api_for(fiona).get("/api/incidents/?function=issue&region=北京").json()["count"] == 1
    assert Incident.objects.get().state == "resolved"


def test_admin_adds_a_system_and_the_catalogue_validates_functions(api_for, nora):
    api = api_for(nora)
    bad = api.post(
        "/api/tax-systems/",
        {"region": "陕西", "name": "出口退税管理系统", "slug": "shaanxi-export-refund", "functions": ["x"]},
        format="json",
    )
    assert bad.status_code == 400
    good = api.post(
        "/api/tax-systems/",
        {"region": "西安", "name": "出口退税管理系统", "slug": "shaanxi-export-refund", "functions": ["file"]},
        format="json",
    )
    assert good.status_code == 201 and TaxSystem.objects.get(slug="shaanxi-export-refund").region == "陕西"


def test_list_endpoints_keep_their_query_count(api_for, nora, xian_vat, beijing_vat, django_assert_max_num_queries):
    for day in range(1, 9):
        notice = make_notice(xian_vat, start=at(2030, 10, day * 2), hours=2)
        services.notice_revise(notice=notice, user=nora, title=f"改 {day}")
        services.incident_open(
            system=beijing_vat, title=f"故障 {day}", functions=["issue"], started_at=timezone.now(), message="排查"
        )
    api = api_for(nora)
    with django_assert_max_num_queries(8):
        assert api.get("/api/notices/").json()["count"] == 8
    with django_assert_max_num_queries(8):
        assert api.get("/api/incidents/").json()["count"] == 8


@pytest.mark.parametrize("message", [None, "  "])
def test_an_incident_without_a_first_update_is_refused_on_the_message_field(api_for, nora, beijing_vat, message):
    body = {
        "system": "beijing-vat-invoice",
        "title": "数据同步故障",
        "functions": ["issue"],
        "started_at": (timezone.now() - timedelta(hours=1)).isoformat(),
    }
    if message is not None:
        body["message"] = message
    response = api_for(nora).post("/api/incidents/", body, format="json")
    assert response.status_code == 400 and "message" in response.json()["error"]["fields"]
    assert not Incident.objects.exists()
