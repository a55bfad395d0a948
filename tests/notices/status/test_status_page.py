"""The public status page: derived state, history bars, cache, constant queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from notices.status import cache as status_cache
from notices.status import derived
from notices.status.models import ComponentState, StatusDay
from tests.notices.status.helpers import at, bulk_history, make_incident, make_notice, make_update, system


def forget_cached_pages():
    cache.clear()
    status_cache.invalidate()  # also drops this process's copies


@pytest.fixture(autouse=True)
def _empty_cache():
    forget_cached_pages()
    yield
    forget_cached_pages()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what the block scheduled for after commit (status receivers) at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def cell_state(html: str, slug: str, function: str) -> str:
    """The data-state of one grid cell in the rendered page."""
    row = html.split(f'data-system="{slug}"', 1)[1].split("</tr>", 1)[0]
    return row.split(f'data-function="{function}" data-state="', 1)[1].split('"', 1)[0]


def test_status_page_needs_no_login_and_shows_chinese(client, db):
    with time_machine.travel(at("2026-10-10 08:00")):
        make_incident(start=at("2026-10-10 07:00"), title="北京发票数据同步故障")
        response = client.get("/status/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "北京发票数据同步故障" in html
    assert "增值税发票管理系统" in html
    assert 'id="ical-link"' in html
    assert 'href="/subscribe/" id="email-subscribe-link"' in html  # visitors can ask for email alerts
    for kind in ("application/rss+xml", "application/atom+xml", "text/calendar"):
        assert f'rel="alternate" type="{kind}"' in html


def test_window_turns_a_system_maintenance_while_it_runs(client, db):
    make_notice(start=at("2026-10-15 22:00"), end=at("2026-10-16 06:00"), functions=["issue", "file"])
    with time_machine.travel(at("2026-10-15 21:59")):
        html = client.get("/status/").content.decode()
        assert cell_state(html, "shaanxi-vat-invoice", "issue") == "operational"
    with time_machine.travel(at("2026-10-15 22:00")):
        html = client.get("/status/").content.decode()
        assert cell_state(html, "shaanxi-vat-invoice", "issue") == "maintenance"
        assert cell_state(html, "shaanxi-vat-invoice", "query") == "operational"
        # "file" is not something this system offers: it shows as not offered, never as maintenance.
        assert cell_state(html, "shaanxi-vat-invoice", "file") == "not_offered"
    with time_machine.travel(at("2026-10-16 06:00")):
        html = client.get("/status/").content.decode()
        assert cell_state(html, "shaanxi-vat-invoice", "issue") == "operational"


def test_cancelled_window_changes_nothing(db):
    make_notice(start=at("2026-10-10 00:00"), end=at("2026-10-12 00:00"), state="cancelled")
    [row] = derived.current_status(at("2026-10-11 00:00"), systems=[system()])
    assert row.state == ComponentState.OPERATIONAL


def test_worst_state_wins_and_severity_decides(db):
    xian = system()
    make_notice(xian, start=at("2026-10-10 00:00"), end=at("2026-10-12 00:00"), functions=["issue", "query"])
    make_incident(xian, start=at("2026-10-10 09:00"), severity="minor", functions=["query", "download"])
    make_incident(xian, start=at("2026-10-10 09:30"), severity="critical", functions=["issue"])
    [row] = derived.current_status(at("2026-10-10 10:00"), systems=[xian])
    states = {cell.function: cell.state for cell in row.cells if cell.offered}
    assert states == {
        "issue": "outage",
        "query": "degraded",
        "certify": "operational",
        "red_letter": "operational",
        "download": "degraded",
    }
    assert row.state == "outage"


def test_resolved_incident_no_longer_counts(db):
    make_incident(start=at("2026-10-10 07:00"), end=at("2026-10-10 09:00"))
    [row] = derived.current_status(at("2026-10-10 10:00"), systems=[system("beijing-vat-invoice")])
    assert row.state == ComponentState.OPERATIONAL


def test_changing_a_notice_shows_on_the_cached_page(client, db, committed):
    with time_machine.travel(at("2026-10-01 09:00"), tick=False):
        with committed():
            notice = make_notice(start=at("2026-10-10 00:00"), end=at("2026-10-12 00:00"), title="第一次公告")
        assert "第一次公告" in client.get("/status/").content.decode()
        assert "第一次公告" in client.get("/status/").content.decode()  # from the cache
        with committed():
            notice.title = "修订后的公告"
            notice.save()
        html = client.get("/status/").content.decode()
    assert "修订后的公告" in html and "第一次公告" not in html


def test_incident_update_refreshes_the_cached_page(client, db, committed):
    with time_machine.travel(at("2026-10-10 08:00"), tick=False):
        incident = make_incident(start=at("2026-10-10 07:00"))
        client.get("/status/")
        with committed():
            make_update(incident, body="<p>已切换至备用数据库</p>", posted_at=at("2026-10-10 07:50"))
        assert "已切换至备用数据库" in client.get("/status/").content.decode()


def test_cached_page_is_per_language(client, db):
    client.get("/status/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    english = client.get("/status/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in english


def test_anonymous_copy_carries_each_visitors_own_csrf_token(client, db):
    from django.test import Client

    first = client.get("/status/")
    second = Client().get("/status/")
    token_first = first.cookies["csrftoken"].value
    assert "csrf-token-filled" not in second.content.decode()
    assert second.cookies["csrftoken"].value != token_first


def test_signed_in_people_see_their_own_navigation(client, client_for, alice, charlie):
    client.get("/status/")  # warms the cache anonymously
    html = client_for(alice).get("/status/").content.decode()
    assert 'id="current-user">alice<' in html
    assert 'data-nav="status-page"' in html


def test_status_page_queries_do_not_grow_with_history(client, db, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = at("2026-10-10 08:00")

    def count() -> int:
        forget_cached_pages()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/status/").status_code == 200
        return len(ctx.captured_queries)

    with time_machine.travel(now, tick=False):
        bulk_history(systems=20, notices=50, incidents=20, now=now)
        make_update(make_incident(start=now - timedelta(hours=2), severity="minor"))  # active, with an update
        derived.status_days_refresh_recent(days=120, now=now)
        small = count()
        bulk_history(systems=20, notices=450, incidents=180, now=now)
        make_incident(start=now - timedelta(hours=1))
        derived.status_days_refresh_recent(days=120, now=now)
        large = count()
        forget_cached_pages()
        with django_assert_max_num_queries(8):
            client.get("/status/")
    assert small == large


def test_history_rows_follow_windows_and_incidents(db, committed):
    xian = system()
    with committed():
        notice = make_notice(xian, start=at("2026-10-10 22:00"), end=at("2026-10-11 02:00"))
    days = {row.day.isoformat(): row for row in StatusDay.objects.filter(system=xian)}
    assert days["2026-10-10"].state == "maintenance" and days["2026-10-10"].minutes_maintenance == 120
    assert days["2026-10-11"].minutes_maintenance == 120
    # Moving the window clears its old days.
    notice.window_start, notice.window_end = at("2026-10-20 22:00"), at("2026-10-20 23:00")
    with committed():
        notice.save()
    assert StatusDay.objects.get(system=xian, day="2026-10-10").state == "operational"
    assert StatusDay.objects.get(system=xian, day="2026-10-20").minutes_maintenance == 60
    with committed():
        make_incident(xian, start=at("2026-10-20 22:30"), end=at("2026-10-21 01:00"), severity="critical")
    row = StatusDay.objects.get(system=xian, day="2026-10-20")
    assert row.state == "outage" and row.minutes_down == 90


def test_nightly_task_extends_an_open_incident_into_the_new_day(db, committed):
    from notices.status.tasks import status_days_nightly

    xian = system()
    with time_machine.travel(at("2026-10-10 23:00"), tick=False), committed():
        make_incident(xian, start=at("2026-10-10 22:00"))
    assert not StatusDay.objects.filter(system=xian, day="2026-10-11").exists()
    with time_machine.travel(at("2026-10-11 00:05"), tick=False):
        status_days_nightly.delay()
    assert StatusDay.objects.get(system=xian, day="2026-10-11").state == "outage"
    assert StatusDay.objects.get(system=xian, day="2026-10-10").minutes_down == 120


def test_history_bar_is_a_few_svg_paths(client, db, committed):
    with time_machine.travel(at("2026-10-20 08:00"), tick=False), committed():
        make_incident(start=at("2026-10-10 07:00"), end=at("2026-10-10 09:00"))
        make_notice(system("beijing-vat-invoice"), start=at("2026-10-12 01:00"), end=at("2026-10-12 03:00"))
    with time_machine.travel(at("2026-10-20 08:00"), tick=False):
        html = client.get(reverse("notices:system-detail", args=["beijing-vat-invoice"])).content.decode()
    bar = html.split('class="history-bar"', 1)[1].split("</svg>", 1)[0]
    assert bar.count("<path") == 3  # operational, maintenance, outage
    assert "2026-10-10" in html.split('id="history-days"', 1)[1]


def test_system_page_shows_state_windows_and_incidents(client, db, django_assert_max_num_queries):
    xian = system()
    with time_machine.travel(at("2026-10-10 08:00"), tick=False):
        make_notice(xian, start=at("2026-10-10 00:00"), end=at("2026-10-12 00:00"), title="正在维护")
        make_notice(xian, start=at("2026-10-15 22:00"), end=at("2026-10-16 06:00"), title="即将维护")
        make_incident(xian, start=at("2026-10-10 07:00"), title="查验服务故障", functions=["query"])
        with django_assert_max_num_queries(10):
            html = client.get(reverse("notices:system-detail", args=[xian.slug])).content.decode()
    assert 'id="system-state" data-state="outage"' in html
    current = html.split('class="list-unstyled mb-3 current-windows"', 1)[1].split("</ul>", 1)[0]
    upcoming = html.split('class="list-unstyled mb-3 upcoming-windows"', 1)[1].split("</ul>", 1)[0]
    assert "正在维护" in current and "即将维护" in upcoming
    assert "查验服务故障" in html
    assert "2026-10-15 22:00 CST" in upcoming


def test_calendar_places_windows_on_shanghai_days(client, db):
    # 2026-10-15 22:00 – 10-16 06:00 Shanghai is 14:00 – 22:00 UTC on the 15th: it touches two local days.
    notice = make_notice(start=at("2026-10-15 22:00"), end=at("2026-10-16 06:00"))
    make_notice(start=at("2026-11-02 00:00"), end=at("2026-11-02 04:00"), title="十一月维护")
    html = client.get("/status/calendar/?month=2026-10").content.decode()
    for day in ("2026-10-15", "2026-10-16"):
        cell = html.split(f'data-day="{day}"', 1)[1].split("</td>", 1)[0]
        assert f'data-notice="{notice.pk}"' in cell
    cell = html.split('data-day="2026-10-17"', 1)[1].split("</td>", 1)[0]
    assert "data-notice" not in cell
    assert (
        "十一月维护"
        not in html.split('id="maintenance-calendar"', 1)[1].split("</table>", 1)[0].split('data-day="2026-11-01"')[0]
    )


def test_calendar_refuses_a_malformed_month(client, db):
    response = client.get("/status/calendar/?month=2026-13")
    assert response.status_code == 400
    assert "2026-13" in response.content.decode()


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "1899-12", "2200-01"])
def test_calendar_refuses_a_month_outside_its_range(client, db, month):
    response = client.get(f"/status/calendar/?month={month}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert f"日历的范围是 1900-01 至 2199-12，{month} 不在其中。" in response.content.decode()


def test_calendar_offers_no_step_past_its_range(client, db):
    first = client.get("/status/calendar/?month=1900-01").content.decode()
    last = client.get("/status/calendar/?month=2199-12").content.decode()
    assert 'id="calendar-previous"' not in first and 'id="calendar-next"' in first
    assert 'id="calendar-next"' not in last and 'id="calendar-previous"' in last


def test_dashboard_panels_list_only_what_is_not_operational(db, django_assert_max_num_queries):
    from notices.selectors import dashboard_panels

    now = at("2026-10-10 08:00")
    make_notice(start=at("2026-10-10 00:00"), end=at("2026-10-12 00:00"), functions=["issue"])
    make_notice(start=at("2026-10-20 00:00"), end=at("2026-10-21 00:00"), title="两周内")
    make_notice(start=at("2026-11-20 00:00"), end=at("2026-11-21 00:00"), title="太远")
    make_incident(start=at("2026-10-10 07:00"), severity="minor", functions=["query", "issue"])
    with django_assert_max_num_queries(5):
        panels = dashboard_panels(now)
    cells = {(row.system.slug, cell.function, cell.state) for row, cell in panels["affected_cells"]}
    assert cells == {
        ("shaanxi-vat-invoice", "issue", "maintenance"),
        ("beijing-vat-invoice", "issue", "degraded"),
        ("beijing-vat-invoice", "query", "degraded"),
    }
    assert [n.title for n in panels["upcoming_windows"]] == ["两周内"]
    assert len(panels["incidents"]) == 1


def test_dashboard_includes_the_panels(client_for, fiona):
    make_incident(start=at("2020-01-01 00:00"), title="仍在处理的故障")
    html = client_for(fiona).get("/").content.decode()
    assert 'id="status-panels"' in html and "仍在处理的故障" in html


def test_the_dashboards_compact_grid_badges_each_offered_function_with_its_state(client_for, fiona):
    from django.utils.html import escape

    from notices.grid import Function

    make_incident(start=at("2020-01-01 00:00"), functions=["issue"], title="开票服务中断")
    beijing = system("beijing-vat-invoice")
    html = client_for(fiona).get("/").content.decode()
    grid = html.split('id="status-compact-grid"', 1)[1].split("</table>", 1)[0]
    row = grid.split(f"<td>{escape(str(beijing))}</td>", 1)[1].split("</tr>", 1)[0]
    labels = dict(Function.choices)
    offered = [f for f in Function.values if f in beijing.functions]  # in the grid's column order
    states = {f: ComponentState.OUTAGE if f == "issue" else ComponentState.OPERATIONAL for f in offered}
    expected = "".join(
        f'<span class="badge state-{state}" title="{escape(labels[f])}: {escape(ComponentState(state).label)}">'
        "&nbsp;</span>"
        for f, state in states.items()
    )
    assert row == f"<td>{expected}</td>"


def test_language_switch_works_from_the_cached_anonymous_page(db):
    import re

    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.get("/status/")  # first visit: renders, stores, sets the CSRF cookie
    html = browser.get("/status/").content.decode()  # returning visitor, served from the cache
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = browser.post("/i18n/setlang/", {"language": "en", "next": "/status/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert '<html lang="en">' in browser.get("/status/").content.decode()
    stranger = Client(enforce_csrf_checks=True)
    stranger.get("/status/")
    forged = stranger.post("/i18n/setlang/", {"language": "en", "csrfmiddlewaretoken": token})
    assert forged.status_code == 403  # another visitor's token is worthless


def test_a_change_made_by_another_process_shows_within_a_second(client, db, monkeypatch):
    from notices.models import MaintenanceNotice

    clock = [1000.0]
    monkeypatch.setattr(status_cache.time, "monotonic", lambda: clock[0])
    with time_machine.travel(at("2026-10-01 09:00"), tick=False):
        notice = make_notice(start=at("2026-10-10 00:00"), end=at("2026-10-12 00:00"), title="第一次公告")
        client.get("/status/")
        # Another process: it changed the row and gave the cache a new version; this process's copy
        # is not cleared by it.
        MaintenanceNotice.objects.filter(pk=notice.pk).update(title="另一进程修订")
        cache.set(status_cache.VERSION_KEY, "set-by-another-process", None)
        assert "第一次公告" in client.get("/status/").content.decode()
        clock[0] += status_cache.LOCAL_TRUST_SECONDS + 0.01
        assert "另一进程修订" in client.get("/status/").content.decode()


def test_retiring_a_system_takes_it_off_the_cached_page(client, db):
    xian = system()
    assert f'data-system="{xian.slug}"' in client.get("/status/").content.decode()
    xian.is_active = False
    xian.save()
    assert f'data-system="{xian.slug}"' not in client.get("/status/").content.decode()


def test_anonymous_page_is_sent_gzipped_to_browsers_that_accept_it(db):
    import gzip
    import re

    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    plain = browser.get("/status/").content.decode()  # renders and stores; sets the CSRF cookie
    response = browser.get("/status/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response["Content-Encoding"] == "gzip" and "Accept-Encoding" in response["Vary"]
    html = gzip.decompress(response.content).decode()
    assert html.endswith("</html>\n") and "增值税发票管理系统" in html
    assert html.replace(re.search(r'value="([^"]+)">\s*</body>', html).group(1), "") == plain.replace(
        re.search(r'value="([^"]+)">\s*</body>', plain).group(1), ""
    )
    token = re.search(r'form="language-switch" name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    switched = browser.post("/i18n/setlang/", {"language": "en", "next": "/status/", "csrfmiddlewaretoken": token})
    assert switched.status_code == 302


def test_the_status_page_lists_each_region_once_even_when_its_systems_are_not_adjacent(db):
    from notices.models import TaxSystem
    from notices.selectors import status_page

    beijing = system("beijing-vat-invoice")
    xian = system("shaanxi-vat-invoice")
    # Sorted between Beijing's systems: 北京, 西安, 北京 in catalogue order.
    TaxSystem.objects.filter(pk=xian.pk).update(sort_order=beijing.sort_order)
    TaxSystem.objects.create(
        region=beijing.region, name="北京后来的系统", slug="beijing-later", functions=["file"], sort_order=99
    )
    regions = status_page(at("2026-10-10 08:00"))["regions"]
    names = [group["region"] for group in regions]
    assert len(names) == len(set(names))
    beijing_rows = next(group["rows"] for group in regions if group["region"] == beijing.region)
    assert "beijing-later" in [row.system.slug for row in beijing_rows]
