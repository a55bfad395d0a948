"""Subscriptions and notifications: real SMTP and HTTP receivers on 127.0.0.1, retries, once-only
delivery, company-private events, pages and API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from notices.events import Event, EventKind, event_publish
from notices.notify import services
from notices.notify.models import Delivery, DeliveryState
from outage_portal.timefmt import local_text

pytestmark = pytest.mark.usefixtures("seeded_tax_systems")


TITLE = "北京 · 增值税发票管理系统 停机维护公告"


def notice_event(key="notice:1:rev:1", kind=EventKind.NOTICE_PUBLISHED, region="北京", **extra) -> Event:
    now = timezone.now()
    fields = {
        "kind": kind,
        "key": key,
        "subject": "notice:1",
        "title": TITLE,
        "body": "10月15日22:00至10月16日06:00暂停开具、查询。请提前完成开票并备份数据。",
        "url": "/notices/1/",
        "regions": (region,),
        "system": "beijing-vat-invoice",
        "functions": ("issue", "query"),
        "window_start": now + timedelta(days=2),
        "window_end": now + timedelta(days=2, hours=8),
        "occurred_at": now,
    }
    fields.update(extra)
    return Event(**fields)


def publish(django_capture_on_commit_callbacks, event):
    with django_capture_on_commit_callbacks(execute=True):
        event_publish(event)


def subscribe(user, *, channel=None, kinds=(EventKind.NOTICE_PUBLISHED,), **fields):
    return services.subscription_create(owner=user, channel=channel, kinds=[str(k) for k in kinds], **fields)


@pytest.fixture(autouse=True)
def _fast_retries(settings):
    settings.NOTIFY_RETRY_BASE_SECONDS = 0  # inline (eager) retries run at once
    settings.NOTIFY_HTTP_READ_TIMEOUT = 2
    settings.SITE_URL = "http://portal.test"


# --- Channels against real receivers -------------------------------------------------------------


def test_email_reaches_smtp_server_with_chinese_subject_both_parts_and_unsubscribe(
    smtp_server, fiona, django_capture_on_commit_callbacks
):
    subscription = subscribe(fiona, regions=["北京"])
    event = notice_event()
    publish(django_capture_on_commit_callbacks, event)
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert TITLE in message["Subject"]  # decoded from RFC 2047
    assert message["To"] == "fiona@example.com"
    delivery = Delivery.objects.get()
    assert message["X-Portal-Delivery"] == str(delivery.uuid)
    unsubscribe = str(message["List-Unsubscribe"]).strip().strip("<>")
    assert unsubscribe.startswith("http://portal.test/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "请提前完成开票并备份数据" in text and "请提前完成开票并备份数据" in html
    assert "http://portal.test/notices/1/" in text and unsubscribe in html
    # Shown in Beijing time with its zone, as every moment the portal writes.
    window = f"{local_text(event.window_start)} – {local_text(event.window_end)}"
    assert window.endswith(" CST") and window in text
    assert delivery.state == DeliveryState.DELIVERED and delivery.subscription == subscription


def test_wecom_robot_gets_markdown_message_in_utf8(receiver, fiona, django_capture_on_commit_callbacks):
    robot = receiver()
    channel = services.channel_create(owner=fiona, name="财务群", kind="wecom", url=robot.url)
    subscribe(fiona, channel=channel)
    publish(django_capture_on_commit_callbacks, notice_event())
    [request] = robot.requests
    assert request["headers"]["Content-Type"].startswith("application/json")
    document = json.loads(request["body"].decode("utf-8"))
    assert document["msgtype"] == "markdown"
    assert set(document["markdown"]) == {"content"}
    assert TITLE in document["markdown"]["content"]
    assert TITLE.encode("utf-8") in request["body"]  # raw UTF-8, not \\u escapes


def test_dingtalk_robot_gets_markdown_and_a_valid_sign(receiver, fiona, django_capture_on_commit_callbacks):
    robot = receiver()
    secret = "SEC0123456789abcdef"
    channel = services.channel_create(
        owner=fiona, name="钉钉群", kind="dingtalk", url=robot.url + "?access_token=abc", secret=secret
    )
    subscribe(fiona, channel=channel)
    publish(django_capture_on_commit_callbacks, notice_event())
    [request] = robot.requests
    document = json.loads(request["body"])
    assert document["msgtype"] == "markdown"
    assert document["markdown"]["title"] == TITLE[:64]
    assert TITLE in document["markdown"]["text"]
    query = parse_qs(urlsplit(request["path"]).query)
    assert query["access_token"] == ["abc"]
    timestamp = query["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected]  # parse_qs undoes the urlencoding


def test_robot_errcode_counts_as_failure(receiver, fiona, django_capture_on_commit_callbacks, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 1
    robot = receiver(reply={"errcode": 93000, "errmsg": "invalid webhook url"})
    channel = services.channel_create(owner=fiona, name="群", kind="wecom", url=robot.url)
    subscribe(fiona, channel=channel)
    publish(django_capture_on_commit_callbacks, notice_event())
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED and "93000" in delivery.last_error


def test_webhook_is_signed_so_the_receiver_can_verify_it(receiver, fiona, django_capture_on_commit_callbacks):
    hook = receiver()
    secret = "whsec-0123456789abcdef"
    channel = services.channel_create(owner=fiona, name="ERP", kind="webhook", url=hook.url, secret=secret)
    subscribe(fiona, channel=channel)
    publish(django_capture_on_commit_callbacks, notice_event())
    [request] = hook.requests
    headers, body = request["headers"], request["body"]
    timestamp = headers["X-Portal-Timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Portal-Signature"], expected)
    delivery = Delivery.objects.get()
    assert headers["X-Portal-Delivery"] == str(delivery.uuid) == headers["Idempotency-Key"]
    assert headers["X-Portal-Event"] == "notice:1:rev:1"
    document = json.loads(body.decode("utf-8"))
    assert document["id"] == str(delivery.uuid)
    assert document["event"]["title"] == TITLE and document["event"]["kind"] == "notice_published"
    assert document["event"]["regions"] == ["北京"]
    tampered = hmac.new(secret.encode(), timestamp.encode() + b"." + body + b" ", hashlib.sha256).hexdigest()
    assert headers["X-Portal-Signature"] != "sha256=" + tampered


# --- Retries, once-only, failing channels ----------------------------------------------------------


def test_receiver_failing_twice_then_succeeding_gets_one_delivery_and_the_log_shows_three_attempts(
    receiver, fiona, client_for, django_capture_on_commit_callbacks
):
    hook = receiver(statuses=[500, 500, 200])
    channel = services.channel_create(owner=fiona, name="ERP", kind="webhook", url=hook.url, secret="s" * 20)
    subscribe(fiona, channel=channel)
    publish(django_capture_on_commit_callbacks, notice_event())
    assert len(hook.requests) == 3 and len(hook.completed) == 1
    assert {r["headers"]["X-Portal-Delivery"] for r in hook.requests} == {str(Delivery.objects.get().uuid)}
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 3
    log = list(delivery.attempt_log.values_list("number", "ok", "status_code"))
    assert log == [(1, False, 500), (2, False, 500), (3, True, 200)]
    page = client_for(fiona).get(reverse("notices:notify-delivery-detail", args=[delivery.pk])).content.decode()
    assert page.count('data-ok="0"') == 2 and page.count('data-ok="1"') == 1
    channel.refresh_from_db()
    assert channel.consecutive_failures == 0 and not channel.is_failing


def test_backoff_is_exponential(settings):
    settings.NOTIFY_RETRY_BASE_SECONDS = 30
    assert [services.backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert services.backoff_seconds(20) == 3600


def test_failed_attempt_waits_for_its_backoff(receiver, fiona, settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_RETRY_BASE_SECONDS = 60
    hook = receiver(statuses=[503])
    channel = services.channel_create(owner=fiona, name="ERP", kind="webhook", url=hook.url, secret="s" * 20)
    subscribe(fiona, channel=channel)
    publish(django_capture_on_commit_callbacks, notice_event())
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert services.delivery_attempt(delivery_id=delivery.pk).claimed is False  # not due yet
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert services.delivery_attempt(delivery_id=delivery.pk).state == DeliveryState.DELIVERED
    assert len(hook.completed) == 1


def test_hanging_receiver_times_out_without_holding_up_others(receiver, fiona, django_capture_on_commit_callbacks):
    hanging, healthy = receiver(hang_first=1), receiver()
    slow = services.channel_create(owner=fiona, name="慢", kind="webhook", url=hanging.url, secret="s" * 20)
    fast = services.channel_create(owner=fiona, name="快", kind="wecom", url=healthy.url)
    subscribe(fiona, channel=slow)
    subscribe(fiona, channel=fast)
    publish(django_capture_on_commit_callbacks, notice_event())
    assert len(healthy.completed) == 1
    stuck = Delivery.objects.get(channel=slow)
    assert stuck.state in (DeliveryState.PENDING, DeliveryState.DELIVERED)
    assert stuck.attempt_log.first().ok is False  # the first attempt timed out (short read timeout)


def test_same_event_published_twice_is_delivered_once(receiver, fiona, django_capture_on_commit_callbacks):
    hook = receiver()
    channel = services.channel_create(owner=fiona, name="群", kind="wecom", url=hook.url)
    subscribe(fiona, channel=channel)
    subscribe(fiona, channel=channel, regions=["北京"])  # two subscriptions, one target
    publish(django_capture_on_commit_callbacks, notice_event())
    publish(django_capture_on_commit_callbacks, notice_event())
    delivery = Delivery.objects.get()
    assert services.delivery_attempt(delivery_id=delivery.pk).claimed is False
    assert len(hook.requests) == 1


def test_expired_lease_is_swept_and_sent_once(receiver, fiona, django_capture_on_commit_callbacks):
    hook = receiver()
    channel = services.channel_create(owner=fiona, name="群", kind="wecom", url=hook.url)
    subscribe(fiona, channel=channel)
    with django_capture_on_commit_callbacks(execute=False):
        event_publish(notice_event())  # rows written, tasks never run: as if the worker died
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.SENDING, attempts=1, lease_until=timezone.now() + timedelta(seconds=60)
    )
    assert services.deliveries_sweep() == 0  # someone still holds it
    Delivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert services.deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 2
    assert services.deliveries_sweep() == 0 and len(hook.requests) == 1


def test_channel_that_keeps_failing_is_marked_and_its_owner_told(
    receiver, fiona, settings, client_for, django_capture_on_commit_callbacks
):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    settings.NOTIFY_CHANNEL_FAILURE_THRESHOLD = 3
    hook = receiver(statuses=[500] * 10)
    channel = services.channel_create(owner=fiona, name="坏掉的群", kind="wecom", url=hook.url)
    subscribe(fiona, channel=channel)
    publish(django_capture_on_commit_callbacks, notice_event(key="a"))
    channel.refresh_from_db()
    assert channel.consecutive_failures == 2 and not channel.is_failing
    publish(django_capture_on_commit_callbacks, notice_event(key="b"))
    channel.refresh_from_db()
    assert channel.is_failing and "500" in channel.last_error
    page = client_for(fiona).get(reverse("notices:notify-settings")).content.decode()
    assert "channel-failing" in page and "坏掉的群" in page


# --- Who hears what --------------------------------------------------------------------------------


def test_company_event_reaches_only_members_of_that_company(
    smtp_server, alice, charlie, nora, django_capture_on_commit_callbacks, beijing
):
    subscribe(alice, kinds=[EventKind.RECONCILIATION_GAPS])
    subscribe(charlie, kinds=[EventKind.RECONCILIATION_GAPS])
    subscribe(nora, kinds=[EventKind.RECONCILIATION_GAPS])
    event = Event(
        kind=EventKind.RECONCILIATION_GAPS,
        key="alert:1",
        subject=f"reconciliation:{beijing.pk}",
        title="北京华信科技有限公司: 3 条新差异",
        body="仅在我方账上: 3",
        url="/recovery/gaps/",
        regions=("北京",),
        company_id=beijing.pk,
    )
    publish(django_capture_on_commit_callbacks, event)
    assert [m["To"] for m in smtp_server.messages] == ["alice@example.com"]


def test_grid_cells_and_kinds_decide(fiona, carol, bob, alice, django_capture_on_commit_callbacks):
    subscribe(fiona, regions=["西安"])  # other region
    subscribe(carol, functions=["file"])  # other function
    subscribe(bob, kinds=[EventKind.INCIDENT_OPENED])  # other kind
    subscribe(alice, systems=["beijing-vat-invoice"], functions=["issue"])
    publish(django_capture_on_commit_callbacks, notice_event())
    assert list(Delivery.objects.values_list("email", flat=True)) == ["alice@example.com"]


def test_reconciliation_alert_reaches_company_members_through_alert_publish(
    smtp_server, alice, charlie, beijing, django_capture_on_commit_callbacks
):
    from datetime import date

    from recovery.models import Alert, ReconciliationRun

    subscribe(alice, kinds=[EventKind.RECONCILIATION_GAPS])
    subscribe(charlie, kinds=[EventKind.RECONCILIATION_GAPS])
    run = ReconciliationRun.objects.create(
        company=beijing, direction="issued", period_start=date(2026, 11, 1), period_end=date(2026, 11, 30)
    )
    alert = Alert.objects.create(company=beijing, run=run, counts={"only_in_books": 2})
    from recovery.services import alert_publish

    with django_capture_on_commit_callbacks(execute=True):
        alert_publish(alert_id=alert.pk)
        alert_publish(alert_id=alert.pk)
    assert [m["To"] for m in smtp_server.messages] == ["alice@example.com"]
    assert Delivery.objects.get().event_key == f"alert:{alert.pk}"
