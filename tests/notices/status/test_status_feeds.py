"""RSS, Atom and iCal of notices and incidents: parse back, Chinese text, filters, stable UIDs."""

from __future__ import annotations

import feedparser
import icalendar
import pytest
from django.urls import reverse

from tests.notices.status.helpers import at, make_incident, make_notice, make_update, system


@pytest.fixture
def history(db):
    xian_notice = make_notice(
        system(), start=at("2026-10-10 00:00"), end=at("2026-10-12 23:59"), functions=["issue", "query"]
    )
    beijing_notice = make_notice(
        system("beijing-etax"),
        start=at("2026-10-20 22:00"),
        end=at("2026-10-21 02:00"),
        functions=["file"],
        title="北京电子税务局申报系统升级",
    )
    incident = make_incident(start=at("2026-10-08 09:00"), title="北京发票数据同步故障")
    make_update(incident, body="<p>已定位数据同步故障。</p>")
    return {"xian": xian_notice, "beijing": beijing_notice, "incident": incident}


@pytest.mark.parametrize("url_name", ["notices:status-rss", "notices:status-atom"])
def test_feeds_parse_with_chinese_titles_and_zoned_times(client, history, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    titles = [entry.title for entry in feed.entries]
    assert any("西安增值税发票管理系统停机维护" in t for t in titles)
    assert any("北京发票数据同步故障" in t for t in titles)
    notice_entry = next(e for e in feed.entries if "西安增值税" in e.title)
    assert "2026-10-10 00:00 CST" in notice_entry.summary
    incident_entry = next(e for e in feed.entries if "同步故障" in e.title)
    assert "已定位数据同步故障" in incident_entry.summary


def test_feeds_filter_by_region_system_and_function(client, history):
    def titles(query):
        return [e.title for e in feedparser.parse(client.get(f"/status/feed.atom?{query}").content).entries]

    assert all("北京" in t for t in titles("region=北京")) and len(titles("region=北京")) == 2
    [xian] = titles("system=shaanxi-vat-invoice")
    assert "西安增值税发票管理系统停机维护" in xian
    assert len(titles("function=file")) == 1 and "申报系统升级" in titles("function=file")[0]


def test_feed_refuses_an_unknown_function(client, db):
    response = client.get("/status/feed.rss?function=fly")
    assert response.status_code == 400


def test_feeds_need_no_login(client, history):
    for url in ("/status/feed.rss", "/status/feed.atom", "/status/maintenance.ics", "/status/calendar/"):
        assert client.get(url).status_code == 200, url


def _events(content: bytes) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(content)
    return {str(event["uid"]): event for event in cal.walk("VEVENT")}


def test_ical_parses_with_shanghai_times_and_stable_uids(client, history, settings):
    settings.SITE_URL = "https://status.example.cn"
    response = client.get("/status/maintenance.ics")
    assert response["Content-Type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    events = _events(response.content)
    notice = history["xian"]
    event = events[f"notice-{notice.pk}@status.example.cn"]
    start = event.decoded("dtstart")
    assert str(start.tzinfo) == "Asia/Shanghai" and start.strftime("%Y-%m-%d %H:%M") == "2026-10-10 00:00"
    assert "TZID=Asia/Shanghai" in response.content.decode()
    assert "西安增值税发票管理系统停机维护" in str(event["summary"])
    assert int(event["sequence"]) == 1
    assert str(event["status"]) == "CONFIRMED"


def test_revised_window_keeps_its_uid_with_a_higher_sequence(client, history):
    notice = history["xian"]
    uid = next(
        u for u in _events(client.get("/status/maintenance.ics").content) if u.startswith(f"notice-{notice.pk}@")
    )
    notice.window_start, notice.window_end = at("2026-10-15 22:00"), at("2026-10-16 06:00")
    notice.revision = 2
    notice.save()
    events = _events(client.get("/status/maintenance.ics").content)
    assert len([u for u in events if u.startswith(f"notice-{notice.pk}@")]) == 1
    event = events[uid]
    assert int(event["sequence"]) == 2
    assert event.decoded("dtstart").strftime("%Y-%m-%d %H:%M") == "2026-10-15 22:00"


def test_cancelled_window_stays_in_the_calendar_as_cancelled(client, history):
    notice = history["xian"]
    notice.state, notice.revision, notice.cancel_reason = "cancelled", 2, "维护取消"
    notice.save()
    events = _events(client.get("/status/maintenance.ics").content)
    event = next(e for u, e in events.items() if u.startswith(f"notice-{notice.pk}@"))
    assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 2


def test_ical_filters_by_region_and_function(client, history):
    beijing = _events(client.get("/status/maintenance.ics?region=北京").content)
    assert [u.split("@")[0] for u in beijing] == [f"notice-{history['beijing'].pk}"]
    issue = _events(client.get("/status/maintenance.ics?function=issue").content)
    assert [u.split("@")[0] for u in issue] == [f"notice-{history['xian'].pk}"]
    assert client.get("/status/maintenance.ics?function=teleport").status_code == 400
