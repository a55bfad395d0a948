"""No internal code reaches a page: events, reminder lead times, deliveries, filters, menu."""

from __future__ import annotations

import pytest
from django.urls import reverse

from notices.notify import services as notify_services
from notices.notify.models import Channel, Delivery

pytestmark = pytest.mark.usefixtures("seeded_tax_systems")


def test_subscriptions_name_events_and_say_reminders_as_lead_times(client_for, fiona):
    notify_services.subscription_create(
        owner=fiona,
        kinds=["notice_published", "incident_opened"],
        functions=["issue"],
        systems=["beijing-vat-invoice"],
        lead_minutes=[60, 1440],
    )
    body = client_for(fiona).get(reverse("notices:notify-settings")).content.decode()
    table = body[body.index('id="subscription-table"') : body.index("</table>", body.index('id="subscription-table"'))]
    assert "公告发布" in table and "故障发生" in table
    assert "提前 1 天 / 1 小时" in table
    assert "北京 · " in table  # the system by name, not its slug
    for code in ("notice_published", "incident_opened", "1440", "beijing-vat-invoice", ">issue<"):
        assert code not in table


def test_the_channel_name_field_is_not_a_task_name(client_for, fiona):
    body = client_for(fiona).get(reverse("notices:notify-settings")).content.decode()
    assert "渠道名称" in body and "任务名" not in body


def test_deliveries_say_the_event_in_words(client_for, nora, fiona):
    channel = Channel.objects.create(
        owner=fiona, name="ERP", kind="webhook", url="https://erp.example.cn/h", secret="s"
    )
    Delivery.objects.create(
        event_key="alert:1",
        event_kind="reconciliation_gaps",
        title="北京华信科技有限公司：3 条新差异",
        target=f"channel:{channel.pk}",
        channel=channel,
        channel_kind=channel.kind,
    )
    body = client_for(nora).get(reverse("notices:notify-deliveries")).content.decode()
    assert "对账发现差异" in body and ">reconciliation_gaps<" not in body


def test_english_filter_labels_are_words_not_field_names(client_for, alice, fiona):
    client = client_for(alice)
    client.cookies["django_language"] = "en"
    body = client.get(reverse("recovery:recovery-gap-list")).content.decode()
    for label in ("Kind", "Status", "Direction", "Issued from", "Invoice number"):
        assert f">{label}</label>" in body
    for lowercase in (">kind</label>", ">status</label>", ">window id</label>", ">invoice key</label>"):
        assert lowercase not in body
    body = client.get(reverse("recovery:reissue-request-list")).content.decode()
    assert ">State</label>" in body and ">state</label>" not in body


def test_the_companies_menu_item_opens_a_page_with_members_and_roles(client_for, alice, carol, beijing):
    client = client_for(carol)
    home = client.get(reverse("portal:home")).content.decode()
    assert 'data-nav="company-page-list" href="/companies/"' in home
    page = client.get("/companies/")
    assert page["Content-Type"].startswith("text/html")
    detail = client.get(reverse("portal:company-page-detail", args=[beijing.pk])).content.decode()
    assert "alice" in detail and "会计" in detail and "公司管理员" in detail


def test_gap_states_read_as_people_say_them(client_for, alice):
    from django.utils import translation

    from recovery.models import GapStatus

    with translation.override("zh-hans"):
        assert [str(label) for _value, label in GapStatus.choices] == ["待处理", "已确认", "已忽略", "已解决"]


def test_api_docs_come_from_our_static_files(client_for, fiona):
    client = client_for(fiona)  # the docs, like the schema, are for signed-in people
    body = client.get(reverse("portal:api-docs")).content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in body and "cdn" not in body.lower()
    body = client.get(reverse("portal:api-redoc")).content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/" in body and "googleapis" not in body and "cdn" not in body
    assert "<script>" not in body  # no inline script
    assert "Content-Security-Policy" in body and "img-src 'self' data:" in body  # its CDN logo stays out
