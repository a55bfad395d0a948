"""GET /api/status/: derived state per system × function for integrators."""

from __future__ import annotations

import time_machine

from tests.notices.status.helpers import at, make_incident, make_notice, system


def test_status_api_needs_authentication(client, db):
    response = client.get("/api/status/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_status_api_reports_each_function(api_for, alice, django_assert_max_num_queries):
    notice = make_notice(start=at("2026-10-10 00:00"), end=at("2026-10-12 00:00"), functions=["issue"])
    incident = make_incident(start=at("2026-10-10 07:00"), severity="minor", functions=["query"])
    api = api_for(alice)
    with time_machine.travel(at("2026-10-10 08:00"), tick=False), django_assert_max_num_queries(8):
        body = api.get("/api/status/").json()
    assert body["as_of"].startswith("2026-10-10T08:00:00+08:00")
    systems = {s["slug"]: s for s in body["systems"]}
    xian = {f["function"]: f for f in systems["shaanxi-vat-invoice"]["functions"]}
    assert xian["issue"] == {"function": "issue", "state": "maintenance", "notices": [notice.pk], "incidents": []}
    assert systems["shaanxi-vat-invoice"]["state"] == "maintenance"
    beijing = {f["function"]: f["state"] for f in systems["beijing-vat-invoice"]["functions"]}
    assert beijing["query"] == "degraded" and beijing["issue"] == "operational"
    assert systems["beijing-vat-invoice"]["functions"][1]["incidents"] == [incident.pk]
    assert "file" not in xian  # not offered by this system


def test_status_api_filters_by_region_system_and_function(api_for, alice):
    api = api_for(alice)
    regions = {s["region"] for s in api.get("/api/status/?region=北京,西安").json()["systems"]}
    assert regions == {"北京", "陕西"}  # 西安 asks for its bureau, 陕西
    [only] = api.get(f"/api/status/?system={system().slug}").json()["systems"]
    assert only["slug"] == "shaanxi-vat-invoice"
    filing = api.get("/api/status/?function=file").json()["systems"]
    assert filing and all([f["function"] for f in s["functions"]] == ["file"] for s in filing)


def test_status_api_rejects_unknown_function_with_the_error_shape(api_for, alice):
    response = api_for(alice).get("/api/status/?function=teleport")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid" and "function" in response.json()["error"]["fields"]
