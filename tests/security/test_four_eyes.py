"""Four eyes: nobody who prepared, edited (invoices, evidence, fields) or submitted a request or a
deferred-filing application approves it — refused by the service, the pages, the API and the
database itself. Erin is both accountant and reviewer of Beijing; Alice drafts, Erin edits."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from recovery.deferred import services as deferred_services
from recovery.deferred.models import DeferredFiling
from recovery.reissue import services
from recovery.reissue.models import ReissueRequest, ReviewParticipant, ReviewState
from tests.recovery.reissue.fixtures import PDF_BYTES, application, draft

pytestmark = pytest.mark.usefixtures("messages_in_english")


def state(req):
    return type(req).objects.get(pk=req.pk).state


@pytest.fixture
def edited_by_erin(beijing, alice, erin, gaps):
    """Alice's draft of one invoice; Erin adds the other two; Alice submits."""
    req = draft(beijing, alice, gaps[:1])
    services.reissue_request_update(request=req, user=erin, gaps=gaps)
    services.reissue_request_submit(request=req, user=alice)
    return req


def test_an_editor_who_is_also_a_reviewer_cannot_approve_through_the_service(edited_by_erin, erin):
    with pytest.raises(PermissionDenied, match="edited"):
        services.reissue_request_approve(request=edited_by_erin, user=erin)
    with pytest.raises(PermissionDenied):
        services.reissue_request_return(request=edited_by_erin, user=erin, comment="fix it")
    assert state(edited_by_erin) == ReviewState.SUBMITTED


def test_an_editor_cannot_approve_on_the_page(client_for, edited_by_erin, erin):
    response = client_for(erin).post(
        reverse("recovery:reissue-request-transition", args=[edited_by_erin.pk, "approve"])
    )
    assert response.status_code == 403 and "edited" in response.content.decode()
    assert state(edited_by_erin) == ReviewState.SUBMITTED


def test_an_editor_cannot_approve_through_the_api(api_for, edited_by_erin, erin, bob):
    response = api_for(erin).post(f"/api/reissue-requests/{edited_by_erin.pk}/approve/", {}, format="json")
    assert response.status_code == 403 and "edited" in response.json()["error"]["message"]
    assert state(edited_by_erin) == ReviewState.SUBMITTED
    # Another reviewer, who took no part, approves.
    response = api_for(bob).post(f"/api/reissue-requests/{edited_by_erin.pk}/approve/", {}, format="json")
    assert response.status_code == 200


def test_the_database_refuses_an_editor_as_approver(edited_by_erin, erin):
    with pytest.raises(IntegrityError), transaction.atomic():
        ReissueRequest.objects.filter(pk=edited_by_erin.pk).update(
            state=ReviewState.APPROVED, approved_by=erin, approved_at=timezone.now()
        )
    assert state(edited_by_erin) == ReviewState.SUBMITTED


def test_the_database_refuses_the_approver_as_a_later_participant(edited_by_erin, bob):
    services.reissue_request_approve(request=edited_by_erin, user=bob)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewParticipant.objects.create(reissue_request=edited_by_erin, user=bob, role="edited")


def test_adding_evidence_makes_a_participant(beijing, alice, erin, gaps):
    req = draft(beijing, alice, gaps)
    services.reissue_evidence_add(request=req, user=erin, name="合同.pdf", content=PDF_BYTES)
    services.reissue_request_submit(request=req, user=alice)
    with pytest.raises(PermissionDenied):
        services.reissue_request_approve(request=req, user=erin)


def test_deferred_filing_edited_by_a_reviewer_is_not_approved_by_them(beijing, alice, erin, bob):
    app = application(beijing, alice)
    deferred_services.deferred_filing_update(application=app, user=erin, reason="故障持续两天，无法申报")
    deferred_services.deferred_filing_submit(application=app, user=alice)
    with pytest.raises(PermissionDenied):
        deferred_services.deferred_filing_approve(application=app, user=erin)
    with pytest.raises(IntegrityError), transaction.atomic():
        DeferredFiling.objects.filter(pk=app.pk).update(
            state=ReviewState.APPROVED, approved_by=erin, approved_at=timezone.now()
        )
    deferred_services.deferred_filing_approve(application=app, user=bob)
    assert state(app) == ReviewState.APPROVED
