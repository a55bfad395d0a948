"""Reminders fire at each subscriber's lead times as the clock moves; a rescheduled window gets fresh
reminders, a cancelled one none (its cancellation is sent instead)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from notices.events import Event, EventKind, event_publish
from notices.models import MaintenanceNotice, NoticeState, TaxSystem
from notices.notify import services
from notices.notify.models import Delivery
from notices.notify.reminders import reminders_send

pytestmark = pytest.mark.usefixtures("seeded_tax_systems")


SHANGHAI = ZoneInfo("Asia/Shanghai")
POSTED = datetime(2026, 10, 10, 9, 0, tzinfo=SHANGHAI)
START = datetime(2026, 10, 15, 22, 0, tzinfo=SHANGHAI)


@pytest.fixture
def notice(db):
    with time_machine.travel(POSTED, tick=False):
        return MaintenanceNotice.objects.create(
            system=TaxSystem.objects.get(slug="shaanxi-vat-invoice"),
            title="西安 · 增值税发票管理系统 升级维护",
            window_start=START,
            window_end=START + timedelta(hours=8),
            functions=["issue", "query"],
        )


def at(moment):
    return time_machine.travel(moment, tick=False)


def remind(moment, capture) -> list[tuple[str, str]]:
    with at(moment), capture(execute=True):
        reminders_send()
    return sorted(Delivery.objects.filter(event_kind="window_starting_soon").values_list("email", "event_key"))


def test_reminders_fire_at_each_lead_time_once(notice, fiona, charlie, django_capture_on_commit_callbacks):
    services.subscription_create(owner=fiona, kinds=["window_starting_soon"], regions=["西安"])  # 24 h and 1 h
    services.subscription_create(owner=charlie, kinds=["window_starting_soon"], lead_minutes=[180])
    key = "reminder:notice:{}:20261015T140000Z:{}".format
    assert remind(START - timedelta(hours=25), django_capture_on_commit_callbacks) == []
    day_before = remind(START - timedelta(hours=23, minutes=59), django_capture_on_commit_callbacks)
    assert day_before == [("fiona@example.com", key(notice.pk, 1440))]
    assert remind(START - timedelta(hours=5), django_capture_on_commit_callbacks) == day_before  # nothing new
    after_three = remind(START - timedelta(hours=2, minutes=59), django_capture_on_commit_callbacks)
    assert ("charlie@example.com", key(notice.pk, 180)) in after_three and len(after_three) == 2
    final = remind(START - timedelta(minutes=59), django_capture_on_commit_callbacks)
    assert ("fiona@example.com", key(notice.pk, 60)) in final and len(final) == 3
    assert remind(START + timedelta(minutes=1), django_capture_on_commit_callbacks) == final  # started: no more
    delivered = Delivery.objects.filter(event_kind="window_starting_soon", state="delivered").count()
    assert delivered == 3


def test_rescheduled_window_gets_fresh_reminders(notice, fiona, django_capture_on_commit_callbacks):
    services.subscription_create(owner=fiona, kinds=["window_starting_soon"])
    remind(START - timedelta(minutes=30), django_capture_on_commit_callbacks)
    assert Delivery.objects.count() == 1
    new_start = START + timedelta(days=1)
    MaintenanceNotice.objects.filter(pk=notice.pk).update(
        window_start=new_start, window_end=new_start + timedelta(hours=8)
    )
    keys = [k for _e, k in remind(new_start - timedelta(minutes=30), django_capture_on_commit_callbacks)]
    assert keys == [
        f"reminder:notice:{notice.pk}:20261015T140000Z:60",
        f"reminder:notice:{notice.pk}:20261016T140000Z:60",
    ]


def test_cancelled_window_sends_its_cancellation_and_no_reminder(notice, fiona, django_capture_on_commit_callbacks):
    services.subscription_create(owner=fiona, kinds=["window_starting_soon", "notice_cancelled"])
    with at(START - timedelta(hours=30)):
        MaintenanceNotice.objects.filter(pk=notice.pk).update(state=NoticeState.CANCELLED)
        with django_capture_on_commit_callbacks(execute=True):
            event_publish(
                Event(
                    kind=EventKind.NOTICE_CANCELLED,
                    key=f"notice:{notice.pk}:cancelled",
                    subject=f"notice:{notice.pk}",
                    title="已取消：西安 · 增值税发票管理系统 升级维护",
                    body="",
                    url=f"/notices/{notice.pk}/",
                    regions=("西安",),
                    system="shaanxi-vat-invoice",
                    functions=("issue", "query"),
                )
            )
    for moment in (START - timedelta(hours=23), START - timedelta(minutes=30)):
        remind(moment, django_capture_on_commit_callbacks)
    assert list(Delivery.objects.values_list("event_kind", flat=True)) == ["notice_cancelled"]


def test_lead_time_before_the_notice_was_posted_is_skipped(fiona, django_capture_on_commit_callbacks, db):
    services.subscription_create(owner=fiona, kinds=["window_starting_soon"])
    late_post = START - timedelta(hours=3)
    with at(late_post):
        notice = MaintenanceNotice.objects.create(
            system=TaxSystem.objects.get(slug="shaanxi-vat-invoice"),
            title="临时维护",
            window_start=START,
            window_end=START + timedelta(hours=2),
            functions=["issue"],
        )
    assert remind(late_post + timedelta(minutes=1), django_capture_on_commit_callbacks) == []
    got = remind(START - timedelta(minutes=10), django_capture_on_commit_callbacks)
    assert [k for _e, k in got] == [f"reminder:notice:{notice.pk}:20261015T140000Z:60"]


def test_reminder_text_names_the_start_time_in_china_time(notice, fiona, django_capture_on_commit_callbacks):
    services.subscription_create(owner=fiona, kinds=["window_starting_soon"])
    remind(START - timedelta(minutes=30), django_capture_on_commit_callbacks)
    payload = Delivery.objects.get().payload
    assert "2026-10-15 22:00 CST" in payload["body"]
    assert payload["window_start"] == "2026-10-15T14:00:00+00:00"
    assert payload["extra"]["lead_minutes"] == 60


def test_reminder_still_retrying_when_its_window_is_cancelled_is_not_sent(
    notice, fiona, django_capture_on_commit_callbacks, settings
):
    from notices.notify.models import DeliveryState

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens: the first attempt fails
    settings.NOTIFY_RETRY_BASE_SECONDS = 60
    services.subscription_create(owner=fiona, kinds=["window_starting_soon"])
    remind(START - timedelta(minutes=30), django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1
    MaintenanceNotice.objects.filter(pk=notice.pk).update(state=NoticeState.CANCELLED)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    assert services.delivery_attempt(delivery_id=delivery.pk).state == DeliveryState.SKIPPED
