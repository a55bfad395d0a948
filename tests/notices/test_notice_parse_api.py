"""POST /api/notices/parse/: integrators who collect announcements get the same reading as the page."""

from __future__ import annotations

import pytest
from django.utils import translation

pytestmark = pytest.mark.django_db

SHAANXI = """国家税务总局陕西省税务局关于电子税务局系统升级暂停服务的通告
定于3月23日（星期六）18:00至3月24日（星期日）8:00对电子税务局进行升级，期间申报、缴款功能暂停。
国家税务总局陕西省税务局
2024年3月20日
"""


def test_a_notice_admin_gets_region_system_bureau_windows_and_functions(api_for, nora):
    response = api_for(nora).post("/api/notices/parse/", {"text": SHAANXI}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["region"] == "陕西" and body["system"] == "shaanxi-etax" and body["system_name"] == "电子税务局"
    assert body["bureau"] == "国家税务总局陕西省税务局"
    assert [(w["start"], w["end"]) for w in body["windows"]] == [
        ("2024-03-23T18:00:00+08:00", "2024-03-24T08:00:00+08:00")
    ]
    assert body["functions"] == ["file"]
    assert body["published"] == "2024-03-20"
    assert body["missing"] == [] and body["messages"] == {}


def test_a_city_lands_on_its_provinces_systems_and_what_is_missing_is_named(api_for, nora):
    text = "西安增值税发票管理系统将于10月15日晚上10点至次日凌晨6点停机。"
    body = api_for(nora).post("/api/notices/parse/", {"text": text, "published": "2030-10-01"}, format="json").json()
    assert body["region"] == "陕西" and body["system"] == "shaanxi-vat-invoice"
    assert [(w["start"], w["end"]) for w in body["windows"]] == [
        ("2030-10-15T22:00:00+08:00", "2030-10-16T06:00:00+08:00")
    ]
    assert body["missing"] == ["title", "bureau"]
    assert body["title"] == "" and set(body["messages"]) == {"title", "bureau"}
    assert body["functions"] == ["issue", "query", "certify", "red_letter", "download"]  # the whole system stops


def test_a_text_that_says_nothing_names_every_missing_part_in_the_callers_language(api_for, nora):
    api = api_for(nora)
    english = api.post("/api/notices/parse/", {"text": "今天天气很好。"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["missing"] == ["title", "region", "system", "bureau", "windows", "functions"]
    assert english.json()["messages"]["windows"].startswith("No maintenance window")
    chinese = api.post("/api/notices/parse/", {"text": "今天天气很好。"}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    with translation.override("zh-hans"):
        assert chinese.json()["messages"]["windows"] == translation.gettext(
            "No maintenance window (date and time “至” date and time) found in the text."
        )
    assert chinese.json()["messages"]["windows"] != english.json()["messages"]["windows"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": "   "}, "text"),
        ({"text": ["a"]}, "text"),
        ({"text": "x" * 100_001}, "text"),
        ({"text": "通告", "published": "23/03/2024"}, "published"),
    ],
)
def test_bad_input_is_a_400_that_names_the_field(api_for, nora, body, field):
    response = api_for(nora).post("/api/notices/parse/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [field] and error["message"]


def test_only_notice_admins_may_parse(api_for, client, fiona):
    assert api_for(fiona).post("/api/notices/parse/", {"text": SHAANXI}, format="json").status_code == 403
    assert client.post("/api/notices/parse/", {"text": SHAANXI}, content_type="application/json").status_code in (
        401,
        403,
    )


def test_the_schema_documents_the_parse_endpoint(api_for, nora):
    schema = api_for(nora).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/notices/parse/"]["post"]
    assert "NoticeParse" in str(operation["responses"]["200"])
    properties = schema["components"]["schemas"]["NoticeParse"]["properties"]
    assert {"region", "system", "bureau", "windows", "functions", "missing"} <= set(properties)


def test_the_read_notice_command_prints_the_same_reading(tmp_path):
    import json
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    notice = tmp_path / "notice.txt"
    notice.write_text(SHAANXI, encoding="utf-8")
    out = StringIO()
    call_command("read_notice", str(notice), stdout=out)
    body = json.loads(out.getvalue())
    assert body["region"] == "陕西" and body["system"] == "shaanxi-etax" and body["functions"] == ["file"]
    assert body["windows"][0]["start"] == "2024-03-23T18:00:00+08:00"
    with pytest.raises(CommandError):
        call_command("read_notice", str(notice), published="23/03/2024")
