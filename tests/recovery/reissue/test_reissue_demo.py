"""The demo's reissue part: a submitted and an approved request for the Beijing gaps, a hand-issued
invoice and a deferred-filing draft; loading twice changes nothing."""

from __future__ import annotations

from django.core.management import call_command

from recovery.deferred.models import DeferredFiling
from recovery.reissue.models import HandIssuedInvoice, ReissueRequest, ReviewState


def test_demo_creates_the_reissue_story_once(db, monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda *a, **k: None)
    call_command("load_demo", force=True)
    states = sorted(ReissueRequest.objects.values_list("state", flat=True))
    assert states == [ReviewState.APPROVED, ReviewState.SUBMITTED]
    approved = ReissueRequest.objects.get(state=ReviewState.APPROVED)
    assert approved.created_by.username == "bj_accountant" and approved.approved_by.username == "bj_reviewer"
    assert approved.items.exists() and approved.company.region == "北京"
    assert HandIssuedInvoice.objects.count() == 1
    assert DeferredFiling.objects.get().state == ReviewState.DRAFT
    counts = (ReissueRequest.objects.count(), HandIssuedInvoice.objects.count(), DeferredFiling.objects.count())
    call_command("load_demo", force=True)
    assert (ReissueRequest.objects.count(), HandIssuedInvoice.objects.count(), DeferredFiling.objects.count()) == counts
