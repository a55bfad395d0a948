"""Who may do what, in pages and API alike: every transition, forged ids of another company, self-approval."""

from __future__ import annotations

import pytest
from django.urls import reverse

from recovery.reissue import services
from recovery.reissue.models import ReissueRequest, ReviewState
from tests.recovery.reissue.fixtures import application, approved, draft, reissued, submitted

pytestmark = pytest.mark.usefixtures("messages_in_english")


def page_post(client, req, action, **data):
    return client.post(reverse("recovery:reissue-request-transition", args=[req.pk, action]), data)


def api_post(api, req, action, data=None):
    return api.post(f"/api/reissue-requests/{req.pk}/{action}/", data or {}, format="json")


def state(req):
    return ReissueRequest.objects.get(pk=req.pk).state


# (action, the state it starts from, who may, who may not (same company), comment)
SETUPS = {
    "submit": lambda b, a, r, g: draft(b, a, g),
    "approve": lambda b, a, r, g: submitted(b, a, g),
    "return": lambda b, a, r, g: submitted(b, a, g),
    "record-reissued": lambda b, a, r, g: approved(b, a, r, g),
    "close": lambda b, a, r, g: reissued(b, a, r, g),
}
ALLOWED = {"submit": "alice", "approve": "dave", "return": "dave", "record-reissued": "alice", "close": "alice"}
REFUSED = {
    "submit": ["bob", "fiona", "carol"],
    "approve": ["alice", "fiona", "carol"],
    "return": ["alice", "fiona", "carol"],
    "record-reissued": ["bob", "fiona", "carol"],
    "close": ["bob", "fiona", "carol"],
}
TARGET = {
    "submit": ReviewState.SUBMITTED,
    "approve": ReviewState.APPROVED,
    "return": ReviewState.RETURNED,
    "record-reissued": ReviewState.REISSUED,
    "close": ReviewState.CLOSED,
}


def _payload(action, req):
    data = {"comment": "请补充合同"}
    if action == "record-reissued":
        data["new_numbers"] = {str(i.pk): f"2611{n:016d}" for n, i in enumerate(req.items.all(), start=1)}
    return data


def _page_payload(action, req):
    data = {"comment": "请补充合同"}
    if action == "record-reissued":
        data.update({f"new_{i.pk}": f"2611{n:016d}" for n, i in enumerate(req.items.all(), start=1)})
    return data


@pytest.mark.parametrize("action", list(SETUPS))
def test_page_transitions_only_for_the_right_role(
    request, client_for, beijing, alice, bob, dave, fiona, carol, gaps, action
):
    req = SETUPS[action](beijing, alice, bob, gaps)
    before = state(req)
    for person in REFUSED[action]:
        response = page_post(client_for(request.getfixturevalue(person)), req, action, **_page_payload(action, req))
        assert response.status_code == 403, (person, action)
        assert state(req) == before
    response = page_post(
        client_for(request.getfixturevalue(ALLOWED[action])), req, action, **_page_payload(action, req)
    )
    assert response.status_code == 302
    assert state(req) == TARGET[action]


@pytest.mark.parametrize("action", list(SETUPS))
def test_api_transitions_only_for_the_right_role(
    request, api_for, beijing, alice, bob, dave, fiona, carol, gaps, action
):
    req = SETUPS[action](beijing, alice, bob, gaps)
    before = state(req)
    for person in REFUSED[action]:
        response = api_post(api_for(request.getfixturevalue(person)), req, action, _payload(action, req))
        assert response.status_code == 403, (person, action, response.content)
        assert response.json()["error"]["code"] == "permission_denied"
        assert state(req) == before
    response = api_post(api_for(request.getfixturevalue(ALLOWED[action])), req, action, _payload(action, req))
    assert response.status_code == 200, response.content
    assert response.json()["state"] == TARGET[action]


@pytest.mark.parametrize("action", list(SETUPS))
def test_another_company_gets_404_for_every_transition(
    request, client_for, api_for, beijing, alice, bob, charlie, xavier, gaps, action
):
    req = SETUPS[action](beijing, alice, bob, gaps)
    before = state(req)
    for outsider in (charlie, xavier):
        assert page_post(client_for(outsider), req, action, **_page_payload(action, req)).status_code == 404
        assert api_post(api_for(outsider), req, action, _payload(action, req)).status_code == 404
    assert state(req) == before


def test_outsiders_see_nothing_of_a_request(client_for, api_for, beijing, alice, charlie, gaps):
    req = draft(beijing, alice, gaps)
    for name in (
        "recovery:reissue-request-detail",
        "recovery:reissue-request-edit",
        "recovery:reissue-request-print",
        "recovery:reissue-request-pdf",
        "recovery:reissue-request-zip",
    ):
        assert client_for(charlie).get(reverse(name, args=[req.pk])).status_code == 404, name
    assert api_for(charlie).get(f"/api/reissue-requests/{req.pk}/").status_code == 404
    assert (
        api_for(charlie).patch(f"/api/reissue-requests/{req.pk}/", {"reason_detail": "x"}, format="json").status_code
        == 404
    )
    assert api_for(charlie).get("/api/reissue-requests/").json()["count"] == 0
    assert req.number not in client_for(charlie).get(reverse("recovery:reissue-request-list")).content.decode()


def test_self_approval_is_refused_in_page_and_api(client_for, api_for, beijing, erin, bob, gaps):
    req = submitted(beijing, erin, gaps)
    response = page_post(client_for(erin), req, "approve")
    assert response.status_code == 403 and "own" in response.content.decode()
    response = api_post(api_for(erin), req, "approve")
    assert response.status_code == 403 and "own" in response.json()["error"]["message"]
    assert api_post(api_for(erin), req, "return", {"comment": "x"}).status_code == 403
    assert state(req) == ReviewState.SUBMITTED
    assert api_post(api_for(bob), req, "approve").status_code == 200


def test_invalid_transition_is_a_400_with_a_clear_message(api_for, client_for, beijing, alice, bob, gaps):
    req = draft(beijing, alice, gaps)
    response = api_post(api_for(bob), req, "approve")
    assert response.status_code == 400
    assert "cannot move" in response.json()["error"]["message"]
    response = client_for(bob).post(
        reverse("recovery:reissue-request-transition", args=[req.pk, "approve"]), follow=True
    )
    assert "cannot move" in response.content.decode()


def test_api_create_with_forged_company_or_gap_ids_is_404(api_for, beijing, xian, alice, charlie, gaps):
    body = {"company": beijing.pk, "gaps": [gaps[0].pk], "reason": "outage"}
    assert api_for(charlie).post("/api/reissue-requests/", body, format="json").status_code == 404
    body = {"company": xian.pk, "gaps": [gaps[0].pk]}
    assert api_for(charlie).post("/api/reissue-requests/", body, format="json").status_code == 404
    assert not ReissueRequest.objects.exists()


@pytest.mark.parametrize("unknown", [999999, 2**64])  # the second is beyond any key: SQLite cannot bind it
def test_api_names_the_gap_ids_it_does_not_know(api_for, xian, charlie, gaps, unknown):
    body = {"company": xian.pk, "gaps": [gaps[0].pk, unknown]}
    response = api_for(charlie).post("/api/reissue-requests/", body, format="json")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["message"] == f"No such gap: {gaps[0].pk}, {unknown}."


def test_page_refuses_a_gap_id_beyond_any_key(client_for, beijing, alice, gaps):
    body = {"company": beijing.pk, "gaps": [gaps[0].pk, 2**64], "reason": "outage", "action": "reissue"}
    response = client_for(alice).post(reverse("recovery:reissue-request-new"), body, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and not ReissueRequest.objects.exists()
    assert str(2**64) in str(response.context["form"].errors["gaps"])


def test_api_create_by_non_accountant_is_403(api_for, beijing, bob, gaps):
    response = api_for(bob).post("/api/reissue-requests/", {"company": beijing.pk, "gaps": [gaps[0].pk]}, format="json")
    assert response.status_code == 403


def test_api_create_update_and_submit(api_for, beijing, alice, gaps):
    api = api_for(alice)
    body = {
        "company": beijing.pk,
        "gaps": [g.pk for g in gaps],
        "reason": "data_loss",
        "action": "hand_issue",
        "contact_name": "王经理",
        "manual_invoices": [
            {
                "invoice_number": "00001234",
                "invoice_code": "1100231130",
                "issue_date": "2026-11-09",
                "amount": "10.00",
                "tax": "1.30",
            }
        ],
    }
    response = api.post("/api/reissue-requests/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["state"] == "draft" and len(data["items"]) == 4 and data["transitions"][0]["to_state"] == "draft"
    pk = data["id"]
    response = api.patch(f"/api/reissue-requests/{pk}/", {"gaps": [gaps[0].pk], "manual_invoices": []}, format="json")
    assert response.status_code == 200, response.content
    assert [i["invoice_key"] for i in response.json()["items"]] == [gaps[0].invoice_key]
    assert api.post(f"/api/reissue-requests/{pk}/submit/", {}, format="json").json()["state"] == "submitted"
    response = api.patch(f"/api/reissue-requests/{pk}/", {"contact_name": "x"}, format="json")
    assert response.status_code == 400


def test_record_reissued_via_api_validates_numbers(api_for, beijing, alice, bob, gaps):
    req = approved(beijing, alice, bob, gaps[:1])
    item = req.items.get()
    response = api_post(api_for(alice), req, "record-reissued", {"new_numbers": {str(item.pk): "12ab"}})
    assert response.status_code == 400 and "12ab" in response.json()["error"]["message"]
    assert state(req) == ReviewState.APPROVED
    numbers = {str(item.pk): "26110000000000000001"}
    for extra, message in (
        (f"{item.pk + 1000}", f"Not invoices of this request: {item.pk + 1000}"),
        ("RR-1", "RR-1 is not an item id."),
    ):
        response = api_post(
            api_for(alice), req, "record-reissued", {"new_numbers": {**numbers, extra: "26110000000000000002"}}
        )
        assert response.status_code == 400 and response.json()["error"]["fields"]["new_numbers"] == [message]
    assert state(req) == ReviewState.APPROVED


def test_record_reissued_page_shows_why_a_number_is_refused(client_for, beijing, alice, bob, gaps):
    req = approved(beijing, alice, bob, gaps[:1])
    item = req.items.get()
    response = client_for(alice).post(
        reverse("recovery:reissue-request-transition", args=[req.pk, "record-reissued"]),
        {f"new_{item.pk}": "12ab"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("recovery:reissue-request-detail", args=[req.pk])
    assert "12ab is not an invoice number" in response.content.decode()
    assert state(req) == ReviewState.APPROVED
    page_post(client_for(alice), req, "record-reissued", **{f"new_{item.pk}": "26110000000000000001"})
    assert req.items.get().new_invoice_key == "26110000000000000001"
    assert state(req) == ReviewState.REISSUED


def test_list_pages_and_api_keep_query_counts_flat(
    client_for, api_for, beijing, alice, bob, gaps, django_assert_max_num_queries
):
    for gap in gaps:
        services.reissue_request_submit(request=draft(beijing, alice, [gap]), user=alice)
    client = client_for(alice)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("recovery:reissue-request-list")).status_code == 200
    api = api_for(alice)
    with django_assert_max_num_queries(12):
        assert api.get("/api/reissue-requests/").json()["count"] == 3
    req = ReissueRequest.objects.first()
    with django_assert_max_num_queries(16):
        assert client.get(reverse("recovery:reissue-request-detail", args=[req.pk])).status_code == 200


def test_api_refuses_to_move_a_draft_to_another_company(api_for, beijing, xian, alice, gaps):
    req = draft(beijing, alice, gaps)
    filing = application(beijing, alice)
    for url, subject in (
        (f"/api/reissue-requests/{req.pk}/", req),
        (f"/api/deferred-filings/{filing.pk}/", filing),
    ):
        response = api_for(alice).patch(url, {"company": xian.pk}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["fields"]["company"] == [f"{subject.number} cannot move to another company."]
        assert type(subject).objects.get(pk=subject.pk).company_id == beijing.pk
