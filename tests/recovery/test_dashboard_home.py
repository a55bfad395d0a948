"""The home page: figures a glance can read, open gaps over time, and each role's own work."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from invoices.models import Direction, TaxSource
from notices import services as notice_services
from notices.models import MaintenanceNotice, TaxSystem
from recovery import selectors
from recovery.models import Gap, GapStatus, ReconciliationRun, RunState
from recovery.reissue import services as reissue_services
from tests.recovery.reissue.fixtures import draft, make_gaps


def _gap(company, run, key, *, found_days_ago, resolved_days_ago=None, amount="100.00"):
    now = timezone.now()
    return Gap.objects.create(
        company=company,
        direction=Direction.ISSUED,
        kind="only_in_books",
        gap_key=key,
        invoice_key=key,
        issue_date=date(2026, 11, 10),
        amount_at_risk=Decimal(amount),
        first_seen_run=run,
        last_seen_run=run,
        first_seen_at=now - timedelta(days=found_days_ago),
        last_seen_at=now,
        status=GapStatus.RESOLVED if resolved_days_ago is not None else GapStatus.OPEN,
        resolved_at=now - timedelta(days=resolved_days_ago) if resolved_days_ago is not None else None,
    )


def _run(company):
    return ReconciliationRun.objects.create(
        company=company,
        direction=Direction.ISSUED,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        state=RunState.SUCCEEDED,
    )


def test_the_trend_counts_gaps_open_each_day_not_detections(alice, beijing):
    run = _run(beijing)
    _gap(beijing, run, "A", found_days_ago=10, resolved_days_ago=5)
    _gap(beijing, run, "B", found_days_ago=10, resolved_days_ago=5)
    _gap(beijing, run, "C", found_days_ago=3)
    figures = selectors.gap_figures(alice, today=timezone.localdate())
    by_day = dict(figures["trend"])
    today = timezone.localdate()
    assert by_day[today - timedelta(days=20)] == 0
    assert by_day[today - timedelta(days=7)] == 2  # A and B open, C not yet found
    assert by_day[today - timedelta(days=2)] == 1  # A and B resolved: only C
    assert by_day[today] == 1 and figures["open"] == 1  # after every resolution the line comes down


def test_headline_cards_show_open_gaps_amount_waiting_and_ages(client_for, alice, bob, beijing, monkeypatch):
    run = _run(beijing)
    _gap(beijing, run, "A", found_days_ago=2, amount="1234.50")
    _gap(beijing, run, "B", found_days_ago=1, amount="10.00")
    TaxSource.objects.create(company=beijing, kind="simulator", last_fetch_at=timezone.now() - timedelta(hours=2))
    body = client_for(alice).get(reverse("portal:home")).content.decode()
    assert 'id="figure-open-gaps">2<' in body
    assert "¥1,244.50" in body
    assert 'id="figure-waiting">0<' in body
    assert re.search(r'id="figure-fetch" title="[^"]+">2\xa0小时前<', body)
    assert 'id="figure-backup">暂无<' in body


def test_the_chart_has_dated_axes_and_a_value_on_hover(client_for, alice, beijing):
    run = _run(beijing)
    _gap(beijing, run, "A", found_days_ago=3)
    body = client_for(alice).get(reverse("portal:home")).content.decode()
    chart = body[body.index('id="gap-trend"') : body.index("</svg>")]
    today = timezone.localdate()
    assert '<text x="' in chart and today.strftime("%m-%d") in chart  # the x axis names days
    assert f"<title>{today:%Y-%m-%d}：1 条未处理差异</title>" in chart
    assert chart.count("<circle") == 30


def test_every_dashboard_table_is_headed(client_for, alice, beijing):
    _gap(beijing, _run(beijing), "A", found_days_ago=1)
    body = client_for(alice).get(reverse("portal:home")).content.decode()
    tables = re.findall(r"<table.*?</table>", body, flags=re.S)
    assert tables and all("<thead>" in t for t in tables if 'id="status-compact-grid"' not in t)


def test_empty_states_say_what_it_means(client_for, alice, beijing):
    body = client_for(alice).get(reverse("portal:home")).content.decode()
    assert "没有未处理差异：我方账簿与税务系统一致。" in body


def test_a_reviewer_sees_the_requests_waiting_for_review(client_for, alice, bob, beijing, monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda *a, **k: None)
    gaps = make_gaps(beijing)
    req = reissue_services.reissue_request_submit(request=draft(beijing, alice, gaps[:1]), user=alice)
    body = client_for(bob).get(reverse("portal:home")).content.decode()
    assert 'id="review-queue"' in body and req.number in body
    assert 'id="figure-waiting">1<' in body
    assert 'id="review-queue"' not in client_for(alice).get(reverse("portal:home")).content.decode()


def test_the_notice_admins_home_shows_notices_incidents_and_failing_sources(client_for, nora, beijing):
    system = TaxSystem.objects.get(slug="beijing-vat-invoice")
    start = timezone.now() + timedelta(days=1)
    notice = notice_services.notice_publish(
        system=system,
        title="北京增值税发票系统升级",
        window_start=start,
        window_end=start + timedelta(hours=4),
        functions=["issue"],
        body_markdown="升级",
    )
    MaintenanceNotice.objects.filter(pk=notice.pk).update(
        window_start=timezone.now() - timedelta(hours=8), window_end=timezone.now() - timedelta(hours=2)
    )
    notice_services.incident_open(
        system=system,
        title="北京开票服务中断",
        functions=["issue"],
        started_at=timezone.now() - timedelta(hours=1),
        message="正在排查",
    )
    TaxSource.objects.create(company=beijing, kind="simulator", last_fetch_error="连接超时")
    body = client_for(nora).get(reverse("portal:home")).content.decode()
    assert "北京增值税发票系统升级" in body[body.index('id="notices-to-confirm"') :]
    assert "北京开票服务中断" in body[body.index('id="open-incidents"') :]
    assert "连接超时" in body[body.index('id="failing-sources"') :]
    assert 'id="headline"' not in body and 'id="gaps-by-kind"' not in body  # no finance widgets


def test_the_notice_admins_home_has_empty_states(client_for, nora):
    body = client_for(nora).get(reverse("portal:home")).content.decode()
    assert "没有待确认的公告" in body and "没有未结束的故障。" in body and "所有数据源最近一次取数均成功。" in body


def test_home_queries_do_not_grow_with_gaps_and_companies(client_for, alice, beijing, django_assert_max_num_queries):
    run = _run(beijing)
    for i in range(40):
        _gap(beijing, run, f"K{i}", found_days_ago=i % 20)
    client = client_for(alice)
    # session, user, membership, permissions (2), menu roles, figures and trend (1), companies, runs,
    # backups, fetches, waiting, review queue, by kind, by incident, filing reminders (2), status (3).
    with django_assert_max_num_queries(20):
        assert client.get(reverse("portal:home")).status_code == 200
