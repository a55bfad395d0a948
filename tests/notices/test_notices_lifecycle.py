"""Notices: publishing, revisions, cancelling, extending, the clock-driven lifecycle and its events."""

from __future__ import annotations

import pytest
import time_machine
from django.core.exceptions import ValidationError

from notices import services, windows
from notices.events import EventKind
from notices.models import MaintenanceNotice, NoticeState
from notices.tasks import advance_notice_states
from tests.notices.fixtures import at, make_notice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_publishing_renders_markdown_once_and_neutralises_hostile_markup(xian_vat, nora):
    notice = make_notice(
        xian_vat,
        start=at(2030, 10, 10),
        user=nora,
        body_markdown="**停机**\n\n<script>alert(1)</script>\n\n[点我](javascript:alert(1)) [官网](https://etax.example.cn)",
    )
    assert "<strong>停机</strong>" in notice.body_html
    assert "<script" not in notice.body_html and "alert(1)" not in notice.body_html
    assert "javascript:" not in notice.body_html
    assert 'href="https://etax.example.cn"' in notice.body_html


def test_reversed_window_and_unknown_function_are_refused_and_nothing_is_stored(xian_vat):
    with pytest.raises(ValidationError) as reversed_window:
        services.notice_publish(
            system=xian_vat, title="x", window_start=at(2030, 1, 2), window_end=at(2030, 1, 1), functions=["issue"]
        )
    assert "end after it starts" in str(reversed_window.value)
    with pytest.raises(ValidationError) as unknown:
        services.notice_publish(
            system=xian_vat, title="x", window_start=at(2030, 1, 1), window_end=at(2030, 1, 2), functions=["teleport"]
        )
    assert "teleport" in str(unknown.value)
    assert not MaintenanceNotice.objects.exists()


def test_every_edit_is_a_revision_with_the_old_and_new_window(
    xian_vat, nora, published_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notice = make_notice(xian_vat, start=at(2030, 10, 10), user=nora)
        notice = services.notice_revise(
            notice=notice,
            user=nora,
            reason="税务局更正",
            window_start=at(2030, 10, 15, 22),
            window_end=at(2030, 10, 16, 6),
        )
        unchanged = services.notice_revise(notice=notice, user=nora, title=notice.title)
    assert unchanged.revision == notice.revision == 2
    revision = notice.revisions.get()
    assert revision.number == 2 and revision.changed_by == nora and revision.reason == "税务局更正"
    assert (revision.old_window_start, revision.old_window_end) == (at(2030, 10, 10), at(2030, 10, 10, 6))
    assert (revision.new_window_start, revision.new_window_end) == (at(2030, 10, 15, 22), at(2030, 10, 16, 6))
    assert set(revision.changes) == {"window_start", "window_end"}
    kinds = [(e.kind, e.key) for e in published_events]
    assert kinds == [
        (EventKind.NOTICE_PUBLISHED, f"notice:{notice.pk}:rev:1"),
        (EventKind.NOTICE_CHANGED, f"notice:{notice.pk}:rev:2"),
    ]
    changed = published_events[1]
    assert changed.subject == f"notice:{notice.pk}" and changed.regions == ("陕西",)
    assert changed.system == "shaanxi-vat-invoice" and changed.functions == ("issue", "query")
    assert changed.window_start == at(2030, 10, 15, 22) and changed.url == f"/notices/{notice.pk}/"
    assert "2030-10-15 22:00" in changed.title


def test_the_clock_moves_a_notice_and_announces_start_and_end_once_each(
    xian_vat, published_events, django_capture_on_commit_callbacks
):
    with time_machine.travel(at(2030, 10, 1, 12), tick=False):
        notice = make_notice(xian_vat, start=at(2030, 10, 10, 22), hours=8)
    published_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with time_machine.travel(at(2030, 10, 10, 21, 59), tick=False):
            advance_notice_states()
        assert MaintenanceNotice.objects.get().state == NoticeState.SCHEDULED
        with time_machine.travel(at(2030, 10, 10, 22, 0), tick=False):
            advance_notice_states()
            advance_notice_states()  # the next minute's beat, or a second beat: nothing more
        assert MaintenanceNotice.objects.get().state == NoticeState.IN_PROGRESS
        with time_machine.travel(at(2030, 10, 11, 6, 1), tick=False):
            advance_notice_states()
            advance_notice_states()
    assert MaintenanceNotice.objects.get().state == NoticeState.COMPLETED
    assert [e.kind for e in published_events] == [EventKind.WINDOW_STARTED, EventKind.WINDOW_ENDED]
    assert published_events[0].key == f"notice:{notice.pk}:started:{int(notice.window_start.timestamp())}"


def test_extending_a_running_window_keeps_the_announced_end(xian_vat, nora):
    with time_machine.travel(at(2030, 10, 1), tick=False):
        notice = make_notice(xian_vat, start=at(2030, 10, 10, 22), hours=8)
    with time_machine.travel(at(2030, 10, 11, 1), tick=False):
        with pytest.raises(ValidationError):
            services.notice_extend(notice=notice, new_end=at(2030, 10, 11, 5), user=nora)  # earlier than the end
        services.notice_states_advance()
        notice = services.notice_extend(notice=notice, new_end=at(2030, 10, 11, 12), user=nora, reason="数据迁移未完成")
    assert notice.state == NoticeState.EXTENDED
    assert notice.announced_end == at(2030, 10, 11, 6) and notice.window_end == at(2030, 10, 11, 12)
    with time_machine.travel(at(2030, 10, 11, 7), tick=False):
        assert services.notice_state_at(notice, at(2030, 10, 11, 7)) == NoticeState.EXTENDED
        services.notice_states_advance()
        assert MaintenanceNotice.objects.get().state == NoticeState.EXTENDED  # not completed at the old end
    with time_machine.travel(at(2030, 10, 11, 12, 1), tick=False):
        services.notice_states_advance()
    assert MaintenanceNotice.objects.get().state == NoticeState.COMPLETED


def test_a_scheduled_window_cannot_be_extended_and_a_finished_one_cannot_be_cancelled(xian_vat, nora):
    with time_machine.travel(at(2030, 10, 1), tick=False):
        notice = make_notice(xian_vat, start=at(2030, 10, 10), hours=8)
        with pytest.raises(ValidationError, match="in progress"):
            services.notice_extend(notice=notice, new_end=at(2030, 10, 12), user=nora)
    with time_machine.travel(at(2030, 10, 20), tick=False):
        with pytest.raises(ValidationError, match="over"):
            services.notice_cancel(notice=notice, user=nora, reason="x")


def test_cancelling_is_kept_in_history_announced_and_stops_the_clock(
    xian_vat, nora, published_events, django_capture_on_commit_callbacks
):
    with time_machine.travel(at(2030, 10, 1), tick=False):
        notice = make_notice(xian_vat, start=at(2030, 10, 10), hours=8)
        with django_capture_on_commit_callbacks(execute=True):
            notice = services.notice_cancel(notice=notice, user=nora, reason="升级推迟，另行通知")
        with pytest.raises(ValidationError):
            services.notice_revise(notice=notice, user=nora, title="改个标题")
    assert notice.state == NoticeState.CANCELLED and notice.revisions.get().changes == {
        "state": ["scheduled", "cancelled"]
    }
    assert [e.kind for e in published_events] == [EventKind.NOTICE_CANCELLED]
    with time_machine.travel(at(2030, 10, 10, 1), tick=False):
        services.notice_states_advance()
    assert MaintenanceNotice.objects.get().state == NoticeState.CANCELLED


def test_moving_a_finished_window_later_puts_it_back_to_scheduled(xian_vat, nora):
    with time_machine.travel(at(2030, 10, 1), tick=False):
        notice = make_notice(xian_vat, start=at(2030, 10, 2), hours=2)
    with time_machine.travel(at(2030, 10, 3), tick=False):
        services.notice_states_advance()
        notice = services.notice_revise(
            notice=notice, user=nora, window_start=at(2030, 10, 5), window_end=at(2030, 10, 5, 2)
        )
    assert notice.state == NoticeState.SCHEDULED


def test_outage_windows_cover_incidents_and_notices_of_the_asked_regions(xian_vat, beijing_vat, nora):
    make_notice(xian_vat, start=at(2030, 10, 10), hours=8)
    cancelled = make_notice(xian_vat, start=at(2030, 10, 11), hours=8)
    services.notice_cancel(notice=cancelled, user=nora, reason="推迟")
    with time_machine.travel(at(2030, 10, 12), tick=False):
        incident = services.incident_open(
            system=beijing_vat,
            title="数据同步故障",
            functions=["issue"],
            started_at=at(2030, 10, 10, 9, 30),
            message="正在排查",
            impact_regions=["西安"],
        )
    assert incident.impact_regions == ["陕西"]  # a city in the impact scope is stored as its bureau's region
    found = windows.outage_windows(regions=["西安"], start=at(2030, 10, 9), end=at(2030, 10, 13))
    assert [(w.kind, w.region) for w in found] == [("incident", "陕西"), ("notice", "陕西")]
    assert found[0].id == incident.pk and found[0].end is None and found[0].url == f"/incidents/{incident.pk}/"
    assert windows.outage_windows(regions=["上海"], start=at(2030, 10, 9), end=at(2030, 10, 13)) == []
    assert windows.outage_windows(regions=["北京"], start=at(2030, 10, 11), end=at(2030, 10, 12))[0].kind == "incident"
