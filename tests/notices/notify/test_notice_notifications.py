"""Notices and incidents reach subscribers: the notices lifecycle and the notification delivery, together."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from notices import services
from notices.models import TaxSystem
from notices.notify import services as notify
from notices.notify.models import Delivery, DeliveryState


def test_published_revised_and_cancelled_notice_reach_a_regional_subscriber_once_each(
    nora, fiona, django_capture_on_commit_callbacks
):
    fiona.email = "fiona@example.cn"
    fiona.save()
    notify.subscription_create(
        owner=fiona, regions=["西安"], kinds=["notice_published", "notice_changed", "notice_cancelled"]
    )
    system = TaxSystem.objects.get(region="陕西", name="增值税发票管理系统")
    start = timezone.now() + timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        notice = services.notice_publish(
            system=system,
            title="西安增值税发票管理系统升级停机",
            window_start=start,
            window_end=start + timedelta(hours=8),
            functions=["issue", "query"],
            user=nora,
        )
    with django_capture_on_commit_callbacks(execute=True):
        notice = services.notice_revise(
            notice=notice, user=nora, reason="推迟一天", window_start=start + timedelta(days=1),
            window_end=start + timedelta(days=1, hours=8),
        )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_cancel(notice=notice, user=nora, reason="升级取消")
    subjects = [m.subject for m in mail.outbox if "fiona@example.cn" in m.to]
    assert len(subjects) == 3 and all("陕西增值税发票管理系统" in s and "CST" in s for s in subjects)
    kinds = sorted(Delivery.objects.filter(email="fiona@example.cn").values_list("event_kind", "state"))
    assert kinds == [
        ("notice_cancelled", DeliveryState.DELIVERED),
        ("notice_changed", DeliveryState.DELIVERED),
        ("notice_published", DeliveryState.DELIVERED),
    ]


def test_a_notice_elsewhere_reaches_nobody_following_another_region(nora, fiona, django_capture_on_commit_callbacks):
    fiona.email = "fiona@example.cn"
    fiona.save()
    notify.subscription_create(owner=fiona, regions=["北京"], kinds=["notice_published"])
    system = TaxSystem.objects.get(region="陕西", name="增值税发票管理系统")
    start = timezone.now() + timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_publish(
            system=system, title="西安停机", window_start=start, window_end=start + timedelta(hours=2),
            functions=["issue"], user=nora,
        )  # fmt: skip
    assert not Delivery.objects.exists() and not mail.outbox
