"""A member follows 北京 by email and adds a signed webhook through the real settings page."""

import pytest

from notices.notify.models import Channel, Subscription

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("seeded_tax_systems"),
]


def test_member_adds_a_subscription_and_a_webhook_whose_secret_is_not_shown_again(login, fiona):
    page = login(fiona)
    page.click("#main-nav [data-nav=notify-settings]")
    form = page.locator("#subscription-form")
    form.locator("input[name=regions][value='北京']").check()
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#subscription-table td:has-text('北京')")
    assert Subscription.objects.get(owner=fiona).regions == ["北京"]

    channel_form = page.locator("#channel-form")
    channel_form.locator("input[name=name]").fill("ERP 接收端")
    channel_form.locator("select[name=kind]").select_option("webhook")
    channel_form.locator("input[name=url]").fill("https://erp.example.cn/portal-hook")
    channel_form.locator("input[name=secret]").fill("a-very-long-signing-secret")
    channel_form.locator("button[type=submit]").click()
    page.wait_for_selector("#channel-table td:has-text('ERP 接收端')")
    assert Channel.objects.get(owner=fiona).secret == "a-very-long-signing-secret"
    assert "a-very-long-signing-secret" not in page.content()
    assert page.locator("#channel-form input[name=secret]").input_value() == ""
