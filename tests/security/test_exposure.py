"""What an ordinary account, or nobody at all, can learn that is not theirs."""

from __future__ import annotations

import pytest

from notices.notify.models import ChannelKind, Delivery

COMPANY_FILTERED = [
    "/api/reconciliation-runs/",
    "/api/reconciliation-alerts/",
    "/api/imports/",
    "/api/gaps/",
    "/api/invoices/",
    "/api/reissue-requests/",
    "/api/deferred-filings/",
    "/api/hand-issued-invoices/",
]


# --- The API schema and its docs ------------------------------------------------------------------
def test_the_api_schema_and_docs_need_a_sign_in(client, db):
    assert client.get("/api/schema/").status_code in (401, 403)
    response = client.get("/api/docs/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/api/docs/?script=").status_code == 302


def test_signed_in_users_read_the_api_schema_and_docs(client_for, alice):
    client = client_for(alice)
    assert client.get("/api/schema/").status_code == 200
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert b"<script>" not in page.content  # its set-up script is a file of its own (CSP)
    assert client.get("/api/docs/?script=").status_code == 200


def test_a_public_api_documents_itself_to_anybody(client, db, settings):
    settings.API_DOCS_PUBLIC = True
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


# --- Deliveries -----------------------------------------------------------------------------------
@pytest.fixture
def deliveries(alice):
    gap_alert = Delivery.objects.create(
        event_key="alert:1",
        event_kind="reconciliation_gaps",
        title="北京华信科技有限公司: 3 new reconciliation gaps",
        target=f"email:{alice.email}",
        channel_kind=ChannelKind.EMAIL,
        email=alice.email,
    )
    notice = Delivery.objects.create(
        event_key="notice:1:rev:1",
        event_kind="notice_published",
        title="北京 电子税务局 维护",
        target="email:wang.subscriber@example.org",
        channel_kind=ChannelKind.EMAIL,
        email="wang.subscriber@example.org",
    )
    return gap_alert, notice


def test_notice_admins_do_not_see_a_companys_gap_alerts(api_for, client_for, nora, deliveries):
    gap_alert, notice = deliveries
    listed = {row["id"] for row in api_for(nora).get("/api/deliveries/").json()["results"]}
    assert listed == {notice.pk}
    assert api_for(nora).get(f"/api/deliveries/{gap_alert.pk}/").status_code == 404
    page = client_for(nora).get("/subscriptions/deliveries/")
    assert gap_alert.title not in page.content.decode()
    assert client_for(nora).get(f"/subscriptions/deliveries/{gap_alert.pk}/").status_code == 404


def test_notice_admins_see_only_the_domain_of_a_subscribers_address(api_for, client_for, nora, deliveries):
    _gap_alert, notice = deliveries
    row = api_for(nora).get(f"/api/deliveries/{notice.pk}/").json()
    assert row["email"] == "w***@example.org"
    for url in ("/subscriptions/deliveries/", f"/subscriptions/deliveries/{notice.pk}/"):
        html = client_for(nora).get(url).content.decode()
        assert "wang.subscriber" not in html and "w***@example.org" in html


def test_members_see_their_own_gap_alerts_with_their_address(api_for, alice, deliveries):
    gap_alert, _notice = deliveries
    rows = api_for(alice).get("/api/deliveries/").json()["results"]
    assert [(r["id"], r["email"]) for r in rows] == [(gap_alert.pk, alice.email)]


# --- Company filters ------------------------------------------------------------------------------
@pytest.mark.parametrize("url", COMPANY_FILTERED)
def test_another_companys_id_is_answered_like_one_that_does_not_exist(api_for, alice, xian, url):
    api = api_for(alice)
    theirs = api.get(url, {"company": xian.pk})
    missing = api.get(url, {"company": xian.pk + 1000})
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
    assert str(xian.pk) not in theirs.content.decode()


def test_own_company_filter_still_works(api_for, alice, beijing):
    assert api_for(alice).get("/api/reconciliation-runs/", {"company": beijing.pk}).status_code == 200


@pytest.mark.parametrize("url", ["/recovery/gaps/", "/invoices/", "/recovery/reissue/"])
def test_pages_answer_another_companys_id_like_a_missing_one(client_for, alice, xian, url):
    client = client_for(alice)
    theirs = client.get(url, {"company": xian.pk})
    missing = client.get(url, {"company": xian.pk + 1000})
    assert theirs.status_code == missing.status_code
    assert theirs.context["filter"].errors == missing.context["filter"].errors
    assert xian.name not in theirs.content.decode()


@pytest.mark.parametrize(
    "url, body",
    [
        ("/api/reconciliation-runs/", {"direction": "issued"}),
    ],
)
def test_writing_to_another_company_is_answered_like_a_missing_one(api_for, alice, xian, url, body):
    api = api_for(alice)
    theirs = api.post(url, {**body, "company": xian.pk}, format="json")
    missing = api.post(url, {**body, "company": xian.pk + 1000}, format="json")
    assert theirs.status_code == missing.status_code == 400
    assert theirs.json()["error"]["fields"]["company"] == [
        m.replace(str(xian.pk + 1000), str(xian.pk)) for m in missing.json()["error"]["fields"]["company"]
    ]
