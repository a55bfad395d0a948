"""Subscription settings, channels (write-only secrets, test button), visitor double opt-in, signed
unsubscribe, the deliveries dashboard and the API (own rows only, forged ids 404)."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.urls import reverse

from notices.events import EventKind
from notices.notify import services
from notices.notify.models import Channel, Delivery, Subscription
from notices.notify.tokens import unsubscribe_token

pytestmark = pytest.mark.usefixtures("seeded_tax_systems")


SECRET = "super-secret-signing-key-42"


@pytest.fixture
def webhook(fiona):
    return services.channel_create(
        owner=fiona, name="ERP", kind="webhook", url="https://erp.example.cn/hook", secret=SECRET
    )


def test_member_subscribes_to_a_region_by_email_from_the_settings_page(client_for, fiona):
    client = client_for(fiona)
    assert client.get(reverse("notices:notify-settings")).status_code == 200
    response = client.post(
        reverse("notices:notify-subscription-create"),
        {
            "target": "email",
            "regions": ["北京"],
            "kinds": ["notice_published", "window_starting_soon"],
            "lead_minutes": ["1440", "60"],
        },
    )
    assert response.status_code == 302
    subscription = Subscription.objects.get(owner=fiona)
    assert subscription.regions == ["北京"] and subscription.channel is None
    assert subscription.lead_minutes == [1440, 60] and subscription.confirmed_at is not None


def test_unknown_region_is_refused_with_a_message(client_for, fiona):
    response = client_for(fiona).post(
        reverse("notices:notify-subscription-create"),
        {"target": "email", "regions": ["火星"], "kinds": ["notice_published"]},
    )
    assert response.status_code == 400 and not Subscription.objects.exists()


def test_channel_secret_is_never_shown_again(client_for, fiona, webhook):
    client = client_for(fiona)
    assert SECRET not in client.get(reverse("notices:notify-settings")).content.decode()
    edit = client.get(reverse("notices:notify-channel-edit", args=[webhook.pk])).content.decode()
    assert SECRET not in edit and "https://erp.example.cn/hook" in edit
    # Saving without a secret keeps the stored one.
    client.post(
        reverse("notices:notify-channel-edit", args=[webhook.pk]), {"name": "ERP 2", "url": "https://erp.example.cn/h2"}
    )
    webhook.refresh_from_db()
    assert webhook.secret == SECRET and webhook.name == "ERP 2"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.cn/x", "file:///etc/passwd"])
def test_channel_address_must_be_http_or_https(client_for, fiona, url):
    response = client_for(fiona).post(
        reverse("notices:notify-channel-create"), {"name": "x", "kind": "wecom", "url": url}
    )
    assert response.status_code == 400 and not Channel.objects.exists()


def test_webhook_needs_a_long_enough_secret(fiona):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        services.channel_create(owner=fiona, name="x", kind="webhook", url="https://a.example/h", secret="short")
    assert "secret" in caught.value.message_dict


def test_send_test_message_button_reaches_the_channel(client_for, fiona, receiver, django_capture_on_commit_callbacks):
    hook = receiver()
    channel = services.channel_create(owner=fiona, name="群", kind="wecom", url=hook.url)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(fiona).post(reverse("notices:notify-channel-test", args=[channel.pk]))
    assert response.status_code == 302
    [request] = hook.requests
    assert json.loads(request["body"])["msgtype"] == "markdown"
    delivery = Delivery.objects.get()
    assert delivery.is_test and delivery.state == "delivered"


def test_another_members_subscription_or_channel_is_404(client_for, fiona, alice, webhook):
    theirs = services.subscription_create(owner=fiona, kinds=["notice_published"], channel=webhook)
    client = client_for(alice)
    assert client.get(reverse("notices:notify-subscription-edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notices:notify-subscription-delete", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("notices:notify-channel-edit", args=[webhook.pk])).status_code == 404
    assert client.post(reverse("notices:notify-channel-test", args=[webhook.pk])).status_code == 404
    assert Subscription.objects.filter(pk=theirs.pk).exists()


def test_member_edits_a_subscription_then_removes_it_and_a_channel_with_its_subscriptions(client_for, fiona, webhook):
    client = client_for(fiona)
    subscription = services.subscription_create(owner=fiona, kinds=["notice_published"], regions=["北京"])
    url = reverse("notices:notify-subscription-edit", args=[subscription.pk])
    assert client.get(url).status_code == 200
    refused = client.post(url, {"target": "email", "regions": ["火星"], "kinds": ["notice_published"]})
    assert refused.status_code == 200 and refused.context["form"].errors
    moved = client.post(url, {"target": str(webhook.pk), "regions": ["西安"], "kinds": ["incident_opened"]})
    assert moved.status_code == 302
    subscription.refresh_from_db()
    assert subscription.channel == webhook and subscription.regions == ["陕西"]
    assert subscription.kinds == ["incident_opened"]

    assert client.post(reverse("notices:notify-channel-delete", args=[webhook.pk])).status_code == 302
    assert not Channel.objects.exists() and not Subscription.objects.exists()

    kept = services.subscription_create(owner=fiona, kinds=["notice_published"])
    assert client.get(reverse("notices:notify-subscription-delete", args=[kept.pk])).status_code == 405
    assert client.post(reverse("notices:notify-subscription-delete", args=[kept.pk])).status_code == 302
    assert not Subscription.objects.exists()


def test_cannot_route_a_subscription_to_someone_elses_channel(client_for, alice, webhook):
    response = client_for(alice).post(
        reverse("notices:notify-subscription-create"), {"target": str(webhook.pk), "kinds": ["notice_published"]}
    )
    assert response.status_code == 400 and not Subscription.objects.exists()


# --- Visitors --------------------------------------------------------------------------------------


def test_visitor_double_opt_in(client, db, django_capture_on_commit_callbacks):
    response = client.post(
        reverse("notices:notify-subscribe"),
        {"email": "wang@example.cn", "regions": ["北京"], "kinds": ["notice_published"]},
    )
    assert response.status_code == 200
    subscription = Subscription.objects.get()
    assert subscription.confirmed_at is None
    [message] = mail.outbox
    link = next(word for word in message.body.split() if "/subscribe/confirm/" in word)
    assert services.candidate_subscriptions().count() == 0  # unconfirmed: hears nothing
    assert client.get(link.replace("http://127.0.0.1:8000", "")).status_code == 200
    subscription.refresh_from_db()
    assert subscription.confirmed_at is not None
    assert client.get(reverse("notices:notify-confirm", args=["forged-token"])).status_code == 400


def test_visitor_confirmation_requests_are_rate_limited(client, db):
    data = {"email": "spam@example.cn", "kinds": ["notice_published"]}
    codes = [client.post(reverse("notices:notify-subscribe"), data).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert len(mail.outbox) == 3 and Subscription.objects.count() == 1


def test_visitor_cannot_follow_company_gaps(client, db):
    response = client.post(
        reverse("notices:notify-subscribe"), {"email": "x@example.cn", "kinds": ["reconciliation_gaps"]}
    )
    assert response.status_code == 400 and not mail.outbox


def test_unsubscribe_link_works_without_login(client, fiona):
    subscription = services.subscription_create(owner=fiona, kinds=["notice_published"])
    url = reverse("notices:notify-unsubscribe", args=[unsubscribe_token(subscription.pk)])
    page = client.get(url)
    assert page.status_code == 200 and Subscription.objects.exists()  # a GET (a mail scanner) changes nothing
    assert client.post(url).status_code == 200
    assert not Subscription.objects.exists()
    assert client.post(url).status_code == 200  # again: already gone, same answer
    assert client.get(reverse("notices:notify-unsubscribe", args=["nonsense"])).status_code == 400


def test_an_unsubscribe_link_opened_after_the_subscription_went_says_so(client, fiona):
    subscription = services.subscription_create(owner=fiona, kinds=["notice_published"])
    url = reverse("notices:notify-unsubscribe", args=[unsubscribe_token(subscription.pk)])
    services.subscription_delete(subscription=subscription)
    page = client.get(url)
    assert page.status_code == 200 and 'id="unsubscribed"' in page.content.decode()
    assert 'id="unsubscribe-button"' not in page.content.decode()


def test_one_click_unsubscribe_post_needs_no_csrf_token(fiona):
    from django.test import Client

    subscription = services.subscription_create(owner=fiona, kinds=["notice_published"])
    strict = Client(enforce_csrf_checks=True)
    url = reverse("notices:notify-unsubscribe", args=[unsubscribe_token(subscription.pk)])
    assert strict.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert not Subscription.objects.exists()


# --- Dashboard and navigation ----------------------------------------------------------------------


def _deliveries(n, channel):
    Delivery.objects.bulk_create(
        Delivery(
            event_key=f"notice:{i}",
            event_kind="notice_published" if i % 2 else "incident_opened",
            title=f"公告 {i}",
            target=f"channel:{channel.pk}",
            channel=channel,
            channel_kind=channel.kind,
            state="failed" if i % 3 == 0 else "pending",
        )
        for i in range(n)
    )


def test_deliveries_dashboard_for_notice_admins_with_filters(
    client_for, nora, fiona, webhook, django_assert_max_num_queries
):
    _deliveries(30, webhook)
    client = client_for(nora)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("notices:notify-deliveries"), {"state": "failed", "event_kind": "incident_opened"})
    body = page.content.decode()
    assert page.status_code == 200
    assert body.count('data-state="failed"') == 5  # i in 0, 6, 12, 18, 24
    assert client_for(fiona).get(reverse("notices:notify-deliveries")).status_code == 403
    client.logout()
    assert client.get(reverse("notices:notify-deliveries")).status_code == 302  # to the login page


def test_navigation_offers_subscriptions_to_members_and_deliveries_to_notice_admins(client_for, fiona, nora):
    member_page = client_for(fiona).get(reverse("notices:notify-settings")).content.decode()
    assert 'data-nav="notify-settings"' in member_page and 'data-nav="notify-deliveries"' not in member_page
    admin_page = client_for(nora).get(reverse("notices:notify-settings")).content.decode()
    assert 'data-nav="notify-deliveries"' in admin_page


# --- API -------------------------------------------------------------------------------------------


def test_api_subscriptions_are_own_only(api_for, fiona, alice, webhook):
    api = api_for(fiona)
    created = api.post(
        "/api/subscriptions/",
        {"channel": webhook.pk, "regions": ["北京"], "kinds": ["notice_published"], "lead_minutes": [120]},
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert api.get("/api/subscriptions/").json()["count"] == 1
    other = api_for(alice)
    assert other.get(f"/api/subscriptions/{pk}/").status_code == 404
    assert other.patch(f"/api/subscriptions/{pk}/", {"regions": []}, format="json").status_code == 404
    assert other.delete(f"/api/subscriptions/{pk}/").status_code == 404
    refused = other.post("/api/subscriptions/", {"channel": webhook.pk, "kinds": ["notice_published"]}, format="json")
    assert refused.status_code == 400 and "channel" in refused.json()["error"]["fields"]
    changed = api.patch(f"/api/subscriptions/{pk}/", {"functions": ["issue"]}, format="json")
    assert changed.json()["functions"] == ["issue"] and changed.json()["channel"] == webhook.pk


def test_api_channel_secret_is_write_only(api_for, fiona):
    api = api_for(fiona)
    created = api.post(
        "/api/notification-channels/",
        {"name": "ERP", "kind": "webhook", "url": "https://erp.example.cn/h", "secret": SECRET},
        format="json",
    )
    assert created.status_code == 201
    assert SECRET not in created.content.decode() and created.json()["has_secret"] is True
    listing = api.get("/api/notification-channels/")
    assert SECRET not in listing.content.decode()
    bad = api.post("/api/notification-channels/", {"name": "x", "kind": "wecom", "url": "ftp://x.cn/"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    pk = created.json()["id"]
    rekind = api.patch(f"/api/notification-channels/{pk}/", {"kind": "wecom"}, format="json")
    assert rekind.status_code == 400 and "kind" in rekind.json()["error"]["fields"]


def test_api_delivery_log_filters_and_scoping(api_for, nora, fiona, alice, webhook, django_assert_max_num_queries):
    _deliveries(12, webhook)
    with django_assert_max_num_queries(10):  # auth, permissions, count, page, attempts: not per row
        response = api_for(nora).get("/api/deliveries/", {"state": "failed"})
    assert response.json()["count"] == 4
    assert api_for(fiona).get("/api/deliveries/").json()["count"] == 12  # her own channel
    assert api_for(alice).get("/api/deliveries/").json()["count"] == 0
    some = Delivery.objects.first()
    assert api_for(alice).get(f"/api/deliveries/{some.pk}/").status_code == 404


def test_api_test_action(api_for, fiona, receiver, django_capture_on_commit_callbacks):
    hook = receiver()
    channel = services.channel_create(owner=fiona, name="群", kind="wecom", url=hook.url)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(fiona).post(f"/api/notification-channels/{channel.pk}/test/")
    assert response.status_code == 202 and len(hook.completed) == 1
    assert str(EventKind.NOTICE_PUBLISHED) == response.json()["event_kind"]


def test_settings_page_query_count_does_not_grow_with_rows(client_for, fiona, webhook, django_assert_max_num_queries):
    for n in range(8):
        services.subscription_create(owner=fiona, kinds=["notice_published"], channel=webhook if n % 2 else None)
    _deliveries(8, webhook)
    client = client_for(fiona)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("notices:notify-settings"))
    assert (
        response.status_code == 200 and response.content.decode().count("/delete/") == 9
    )  # 8 subscriptions, 1 channel


def test_delivery_to_a_deleted_channel_fails_at_once(fiona, webhook, django_capture_on_commit_callbacks):
    from notices.events import Event

    services.subscription_create(owner=fiona, kinds=["incident_opened"], channel=webhook)
    with django_capture_on_commit_callbacks(execute=False):
        services.event_fanout(
            Event(
                kind=EventKind.INCIDENT_OPENED, key="incident:9", subject="incident:9", title="故障", body="", url="/"
            )
        )
    delivery = Delivery.objects.get()
    webhook.delete()
    assert services.delivery_attempt(delivery_id=delivery.pk).state == "failed"
