"""Error pages speak the reader's language and lead back into the portal (DEBUG is off in tests)."""

from __future__ import annotations

from django.test import RequestFactory
from django.views.defaults import server_error


def test_a_missing_page_says_so_in_chinese_with_the_portal_around_it(client_for, alice):
    response = client_for(alice).get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in body and "返回工作台" in body and 'id="main-nav"' in body


def test_another_companys_object_reads_as_missing_in_english_too(client_for, charlie, alice, beijing):
    from invoices.imports.services import import_file
    from invoices.models import ImportKind
    from tests.invoices.helpers import GOOD, csv_rows

    batch = import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=csv_rows(*GOOD).encode()
    ).batch
    response = client_for(charlie).get(f"/imports/{batch.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "belongs to a company you are not a member of" in response.content.decode()


def test_a_server_error_page_needs_nothing_that_may_be_broken(settings):
    from django.utils import translation

    with translation.override("zh-hans"):
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "出错了" in response.content.decode() and "不会只保存一半" in response.content.decode()


def test_a_form_sent_without_its_csrf_token_is_explained(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(alice)
    response = client.post("/imports/new/", {})
    assert response.status_code == 403
    assert "表单已过期" in response.content.decode() and "没有保存任何内容" in response.content.decode()
