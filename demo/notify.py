"""Demo subscriptions: bj_finance follows 北京 by email and through a WeCom robot and a signed
webhook, both pointing at `scripts/notify_receiver.py` on 127.0.0.1:8765; xa_finance follows 西安.

Idempotent: nothing is created twice. Deliveries come from the real paths: the reconciliation alerts the
recovery demo raises, reminders of windows starting soon, and one test message per new channel.
"""

from __future__ import annotations

DEMO_RECEIVER = "http://127.0.0.1:8765"
DEMO_WEBHOOK_SECRET = "demo-webhook-secret-2026"  # demo only; README shows how to verify with it
ALL_KINDS = [
    "notice_published",
    "notice_changed",
    "notice_cancelled",
    "window_starting_soon",
    "window_started",
    "window_ended",
    "incident_opened",
    "incident_updated",
    "incident_resolved",
]


def load(stdout) -> None:
    from django.db import transaction

    from notices.notify import services
    from notices.notify.models import Channel, Subscription
    from notices.notify.reminders import reminders_send
    from outage_portal import outbound
    from outage_portal.models import User

    bj = User.objects.get(username="bj_finance")
    xa = User.objects.get(username="xa_finance")
    channels = {
        "wecom": ("北京财务群（企业微信机器人）", f"{DEMO_RECEIVER}/wecom", ""),
        "webhook": ("ERP 接收端（签名 Webhook）", f"{DEMO_RECEIVER}/webhook", DEMO_WEBHOOK_SECRET),
    }
    try:
        outbound.check_url(DEMO_RECEIVER)
    except outbound.Refused:
        # `make run` allows the receiver's host:port; elsewhere the demo does without the two channels.
        stdout.write(f"demo channels skipped: OUTBOUND_ALLOW does not list {DEMO_RECEIVER.split('//')[1]}")
        channels = {}
    with transaction.atomic():
        for kind, (name, url, secret) in channels.items():
            channel = Channel.objects.filter(owner=bj, name=name).first()
            if channel is None:
                channel = services.channel_create(owner=bj, name=name, kind=kind, url=url, secret=secret)
                services.channel_send_test(channel=channel, user=bj)
            if not Subscription.objects.filter(channel=channel).exists():
                services.subscription_create(
                    owner=bj, channel=channel, regions=["北京"], kinds=[*ALL_KINDS, "reconciliation_gaps"]
                )
        if not Subscription.objects.filter(owner=bj, channel__isnull=True).exists():
            services.subscription_create(owner=bj, regions=["北京"], kinds=[*ALL_KINDS, "reconciliation_gaps"])
        if not Subscription.objects.filter(owner=xa).exists():
            services.subscription_create(
                owner=xa, regions=["西安"], kinds=["notice_published", "notice_changed", "window_starting_soon"]
            )
    reminders = reminders_send()
    stdout.write(
        f"subscriptions: bj_finance (email, WeCom robot and signed webhook at {DEMO_RECEIVER}), xa_finance; "
        f"{reminders} reminder deliveries. Run scripts/notify_receiver.py to receive the robot and webhook messages."
    )
