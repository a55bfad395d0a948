"""A page per gap, and a gap list that leads to it, marks what is already in hand and acts by POST."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import time_machine
from django.urls import reverse

from recovery.models import Gap, GapComment, GapKind, GapStatus
from tests.recovery.helpers import gaps_in_every_state
from tests.recovery.reissue.fixtures import book, draft, make_gaps, reconcile, tax_record


def _gaps(beijing, monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda *a, **k: None)
    return make_gaps(beijing)


def test_gap_page_sets_our_record_beside_the_tax_systems(client_for, fiona, beijing, monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda *a, **k: None)
    book(beijing, number="00000007", amount="700.00", tax="91.00")
    tax_record(beijing, number="00000007", amount="690.00", tax="89.70")
    reconcile(beijing)
    gap = Gap.objects.get(kind=GapKind.AMOUNT_MISMATCH)
    body = client_for(fiona).get(reverse("recovery:recovery-gap-detail", args=[gap.pk])).content.decode()
    assert "金额不符" in body
    assert "791.00" in body and "779.70" in body  # both totals, side by side
    assert body.count('data-differs="1"') == 3  # amount, tax and total differ; nothing else
    assert "已按规范化号码配对，但金额、税额或价税合计的差额超出容差。" in body  # why the key rule did not settle it
    assert "发现此差异的对账" in body and "首次发现" in body


def test_a_gap_only_in_our_books_says_which_rules_found_nothing(client_for, alice, beijing, monkeypatch):
    gap = _gaps(beijing, monkeypatch)[0]
    body = client_for(alice).get(reverse("recovery:recovery-gap-detail", args=[gap.pk])).content.decode()
    assert "税务系统中没有" in body
    assert "税务系统中没有相同发票代码和号码的记录。" in body
    assert "待处理" in body and "打开" not in body


def test_another_companys_gap_is_not_found(client_for, charlie, beijing, monkeypatch):
    gap = _gaps(beijing, monkeypatch)[0]
    assert client_for(charlie).get(reverse("recovery:recovery-gap-detail", args=[gap.pk])).status_code == 404
    response = client_for(charlie).post(reverse("recovery:recovery-gap-act", args=[gap.pk]), {"action": "acknowledge"})
    assert response.status_code == 404
    assert Gap.objects.get(pk=gap.pk).status == GapStatus.OPEN


def test_finance_staff_read_and_comment_but_do_not_decide(client_for, fiona, beijing, monkeypatch):
    gap = _gaps(beijing, monkeypatch)[0]
    client = client_for(fiona)
    body = client.get(reverse("recovery:recovery-gap-detail", args=[gap.pk])).content.decode()
    assert 'value="acknowledge"' not in body and 'id="start-reissue"' not in body
    assert 'id="read-only-note"' in body
    client.post(reverse("recovery:recovery-gap-act", args=[gap.pk]), {"action": "dismiss", "reason": "x"})
    assert Gap.objects.get(pk=gap.pk).status == GapStatus.OPEN
    client.post(reverse("recovery:recovery-gap-act", args=[gap.pk]), {"action": "comment", "body": "客户说已重开"})
    body = client.get(reverse("recovery:recovery-gap-detail", args=[gap.pk])).content.decode()
    assert "客户说已重开" in body and GapComment.objects.count() == 1


def test_accountant_dismisses_from_the_page_and_the_decision_shows(client_for, alice, beijing, monkeypatch):
    gap = _gaps(beijing, monkeypatch)[0]
    client = client_for(alice)
    client.post(reverse("recovery:recovery-gap-act", args=[gap.pk]), {"action": "dismiss", "reason": "客户作废"})
    gap.refresh_from_db()
    assert gap.status == GapStatus.DISMISSED and gap.decided_by == alice
    body = client.get(reverse("recovery:recovery-gap-detail", args=[gap.pk])).content.decode()
    assert "已忽略" in body and "客户作废" in body and 'value="dismiss"' not in body


def test_starting_a_reissue_request_from_the_page_posts_and_ticks_the_gap(client_for, alice, beijing, monkeypatch):
    gap = _gaps(beijing, monkeypatch)[0]
    client = client_for(alice)
    assert client.get(reverse("recovery:recovery-gap-act", args=[gap.pk])).status_code == 405
    response = client.post(reverse("recovery:recovery-gap-act", args=[gap.pk]), {"action": "reissue"})
    assert response.status_code == 302 and response["Location"] == reverse("recovery:reissue-request-new")
    form = client.get(response["Location"]).content.decode()
    assert f'value="{gap.pk}" id="gap-{gap.pk}"' in form
    assert f'id="gap-{gap.pk}" data-amount="113.00" checked' in form


def test_the_page_names_the_requests_holding_the_gap(client_for, alice, beijing, monkeypatch):
    gaps = _gaps(beijing, monkeypatch)
    req = draft(beijing, alice, [gaps[0]])
    body = client_for(alice).get(reverse("recovery:recovery-gap-detail", args=[gaps[0].pk])).content.decode()
    assert 'id="gap-in-requests"' in body and req.number in body
    assert 'id="start-reissue"' not in body  # it is in one already


def test_gap_list_links_each_gap_and_marks_those_in_open_requests(
    client_for, alice, beijing, monkeypatch, django_assert_max_num_queries
):
    gaps = _gaps(beijing, monkeypatch)
    req = draft(beijing, alice, [gaps[1]])
    client = client_for(alice)
    # session, user, count, page, may decide, may draft, the live requests, the filter's companies,
    # and the menu's three (roles, permissions twice).
    with django_assert_max_num_queries(11):
        body = client.get(reverse("recovery:recovery-gap-list")).content.decode()
    for gap in gaps:
        assert f'href="{reverse("recovery:recovery-gap-detail", args=[gap.pk])}"' in body
    assert body.count('class="badge text-bg-info text-decoration-none in-request"') == 1
    assert f"已在 {req.number} 中" in body
    assert "所属故障或维护" in body and "维护时间" not in body
    assert "待处理" in body


def test_gap_page_queries_do_not_grow_with_runs_and_comments(
    client_for, alice, beijing, monkeypatch, django_assert_num_queries
):
    gap = _gaps(beijing, monkeypatch)[0]
    client = client_for(alice)
    for _ in range(3):
        reconcile(beijing)
    for i in range(5):
        GapComment.objects.create(gap=gap, author=alice, body=f"note {i}")
    # session, user, gap, roles, requests, rules, runs, comments, and the menu's three.
    with django_assert_num_queries(11):
        body = client.get(reverse("recovery:recovery-gap-detail", args=[gap.pk])).content.decode()
    assert body.count("再次发现") == 3 and body.count("note ") == 5


def test_after_a_rerun_the_gap_page_and_the_api_show_the_rerun_as_last_seen(
    client_for, api_for, alice, beijing, monkeypatch
):
    monkeypatch.setattr("notices.events.event_publish", lambda *a, **k: None)
    book(beijing, number="00000001")  # only in our books
    with time_machine.travel(datetime(2026, 12, 1, 1, 0, tzinfo=UTC)):
        first = reconcile(beijing)
    with time_machine.travel(datetime(2026, 12, 2, 2, 30, tzinfo=UTC)):
        second = reconcile(beijing)
    gap = Gap.objects.get()
    assert (gap.first_seen_run_id, gap.last_seen_run_id) == (first.pk, second.pk)
    body = client_for(alice).get(reverse("recovery:recovery-gap-detail", args=[gap.pk])).content.decode()
    assert re.search(r"首次发现</dt><dd[^>]*>2026-12-01 09:00<", body)  # shown in Asia/Shanghai
    assert re.search(r"最近发现</dt><dd[^>]*>2026-12-02 10:30<", body)
    assert body.count("再次发现") == 1  # both runs are listed as having seen it
    assert api_for(alice).get(f"/api/gaps/{gap.pk}/").json()["last_seen_at"].startswith("2026-12-02T10:30")


def test_the_gap_list_shows_the_gaps_still_there_newest_first_then_the_most_recently_resolved(
    client_for, alice, beijing
):
    expected = gaps_in_every_state(beijing, 120)  # three pages; the later two are read from the list's end
    client, shown = client_for(alice), []
    for page in (1, 2, 3):
        body = client.get(reverse("recovery:recovery-gap-list"), {"page": page}).content.decode()
        shown += [int(pk) for pk in re.findall(r'<tr data-gap="(\d+)"', body)]
    assert shown == expected


def test_bulk_actions_show_only_to_those_who_may_use_them(client_for, alice, bob, fiona, beijing, monkeypatch):
    _gaps(beijing, monkeypatch)
    for user in (bob, fiona):
        body = client_for(user).get(reverse("recovery:recovery-gap-list")).content.decode()
        assert 'id="bulk-actions"' not in body and 'name="ids"' not in body
    body = client_for(alice).get(reverse("recovery:recovery-gap-list")).content.decode()
    assert 'id="apply-selected" disabled' in body and 'id="reissue-selected" name="reissue" value="1" disabled' in body


def test_applying_to_nothing_says_tick_first_not_updated_zero(client_for, alice, beijing, monkeypatch):
    _gaps(beijing, monkeypatch)
    response = client_for(alice).post(reverse("recovery:recovery-gap-bulk"), {"action": "acknowledge"}, follow=True)
    body = response.content.decode()
    assert "请先勾选至少一条差异。" in body and "已更新 0" not in body


def test_finance_staff_cannot_decide_by_posting_the_bulk_form(client_for, fiona, beijing, monkeypatch):
    gaps = _gaps(beijing, monkeypatch)
    response = client_for(fiona).post(
        reverse("recovery:recovery-gap-bulk"), {"action": "acknowledge", "ids": [g.pk for g in gaps]}, follow=True
    )
    assert "只有会计和公司管理员可以处理差异。" in response.content.decode()
    assert not Gap.objects.filter(status=GapStatus.ACKNOWLEDGED).exists()


def test_request_reissue_of_selected_posts_and_opens_the_form_with_them(client_for, alice, beijing, monkeypatch):
    gaps = _gaps(beijing, monkeypatch)
    client = client_for(alice)
    response = client.post(reverse("recovery:recovery-gap-bulk"), {"reissue": "1", "ids": [gaps[0].pk, gaps[2].pk]})
    assert response["Location"] == reverse("recovery:reissue-request-new")  # no token or ids in the URL
    form = client.get(response["Location"]).content.decode()
    assert f'id="gap-{gaps[0].pk}" data-amount="113.00" checked' in form
    assert f'id="gap-{gaps[1].pk}" data-amount="226.00" >' in form


def test_the_bulk_form_never_sends_anyone_elsewhere(client_for, alice, beijing, monkeypatch):
    gaps = _gaps(beijing, monkeypatch)
    response = client_for(alice).post(
        reverse("recovery:recovery-gap-bulk"),
        {"action": "acknowledge", "ids": [gaps[0].pk], "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("recovery:recovery-gap-list")
