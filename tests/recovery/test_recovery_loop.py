"""The loop closes: when the tax system shows an invoice a gap was about, every open reissue request
holding it is flagged (reissuing would duplicate it); drafts, submitted and returned requests left with
nothing to reissue are withdrawn and their requesters told; approved ones cannot record a reissue until
someone confirms; gap-alert subscribers hear that the gaps resolved; resolved gaps say what happened."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from notices.events import EventKind
from notices.notify import services as notify
from notices.notify.models import Delivery
from recovery.models import Gap, GapStatus
from recovery.reissue import services
from recovery.reissue.models import RequestedAction, ReviewState
from tests.recovery.reissue.fixtures import draft, make_gaps, reconcile, tax_record

pytestmark = pytest.mark.usefixtures("messages_in_english")


def recover(company, gaps):
    """The tax system catches up: it now shows these gaps' invoices, as our books hold them."""
    for gap in gaps:
        invoice = gap.invoice
        tax_record(
            company,
            number=invoice.invoice_number,
            amount=str(invoice.amount),
            tax=str(invoice.tax),
            buyer_tax_id=invoice.buyer_tax_id,
        )


def state(req):
    return type(req).objects.get(pk=req.pk).state


@pytest.fixture
def six(beijing, published):
    return make_gaps(beijing, 6)


def test_moot_drafts_and_submitted_requests_are_withdrawn_and_their_requesters_told(
    beijing, alice, six, django_capture_on_commit_callbacks
):
    drafted = draft(beijing, alice, six[:2])
    sent = services.reissue_request_submit(request=draft(beijing, alice, six[2:4]), user=alice)
    recover(beijing, six[:4])
    with django_capture_on_commit_callbacks(execute=True):
        reconcile(beijing)
    assert state(drafted) == state(sent) == ReviewState.WITHDRAWN
    last = sent.transitions.order_by("at", "pk").last()
    assert (last.from_state, last.to_state, last.actor) == (ReviewState.SUBMITTED, ReviewState.WITHDRAWN, None)
    to_alice = [m for m in mail.outbox if m.to == ["alice@example.com"]]
    assert {sent.number, drafted.number} == {m.subject.split(" ")[0] for m in to_alice}
    assert all("withdrawn" in m.subject for m in to_alice)


def test_a_request_still_holding_a_missing_invoice_is_flagged_and_withdrawn_in_one_click(
    beijing, alice, six, client_for, django_capture_on_commit_callbacks
):
    req = services.reissue_request_submit(request=draft(beijing, alice, six[:3]), user=alice)
    recover(beijing, six[:1])
    with django_capture_on_commit_callbacks(execute=True):
        reconcile(beijing)
    assert state(req) == ReviewState.SUBMITTED
    assert list(req.items.exclude(original_seen_at=None).values_list("invoice_key", flat=True)) == [six[0].invoice_key]
    client = client_for(alice)
    page = client.get(reverse("recovery:reissue-request-detail", args=[req.pk])).content.decode()
    assert 'id="originals-seen"' in page and "reissuing would duplicate it" in page
    assert page.count("original-seen") == 1
    response = client.post(reverse("recovery:reissue-request-transition", args=[req.pk, "withdraw"]))
    assert response.status_code == 302 and state(req) == ReviewState.WITHDRAWN
    # The invoices still missing may join a new request.
    draft(beijing, alice, six[1:3])


def test_an_approved_request_blocks_record_reissued_until_someone_confirms(
    beijing, alice, bob, six, api_for, django_capture_on_commit_callbacks
):
    req = services.reissue_request_approve(
        request=services.reissue_request_submit(request=draft(beijing, alice, six[:2]), user=alice), user=bob
    )
    recover(beijing, six[:2])
    with django_capture_on_commit_callbacks(execute=True):
        reconcile(beijing)
    assert state(req) == ReviewState.APPROVED  # approved requests are never withdrawn by themselves
    numbers = {item.pk: f"2611{n:016d}" for n, item in enumerate(req.items.all())}
    with pytest.raises(ValidationError, match="duplicate"):
        services.reissue_request_record_reissued(request=req, user=alice, new_numbers=numbers)
    api = api_for(bob)
    refused = api.post(f"/api/reissue-requests/{req.pk}/confirm-reissue/", {"comment": ""}, format="json")
    assert refused.status_code == 400
    confirmed = api.post(
        f"/api/reissue-requests/{req.pk}/confirm-reissue/",
        {"comment": "客户已作废原票，仍需补开"},
        format="json",
    )
    assert confirmed.status_code == 200 and confirmed.json()["duplicates_confirmed_by"] == bob.pk
    services.reissue_request_record_reissued(request=req, user=alice, new_numbers=numbers)
    assert state(req) == ReviewState.REISSUED


def test_gap_alert_subscribers_hear_the_gaps_resolved_and_the_requests_fate(
    beijing, alice, fiona, six, django_capture_on_commit_callbacks, published
):
    req = services.reissue_request_submit(request=draft(beijing, alice, six[:2]), user=alice)
    recover(beijing, six[:2])
    with django_capture_on_commit_callbacks(execute=True):
        run = reconcile(beijing)
    [event] = [e for e in published if e.kind == EventKind.RECONCILIATION_RESOLVED]
    assert event.key == f"resolved:{run.pk}" and event.company_id == beijing.pk
    assert event.extra["counts"] == {"only_in_books": 2}
    assert req.number in event.body and "withdrawn" in event.body


def test_a_gap_alert_subscription_receives_the_resolved_event(
    beijing, fiona, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFY_RETRY_BASE_SECONDS = 0
    notify.subscription_create(owner=fiona, kinds=[str(EventKind.RECONCILIATION_GAPS)])
    gaps = make_gaps(beijing, 2)
    recover(beijing, gaps)
    with django_capture_on_commit_callbacks(execute=True):
        run = reconcile(beijing)
    delivery = Delivery.objects.get(event_key=f"resolved:{run.pk}")
    assert delivery.email == "fiona@example.com" and delivery.event_kind == EventKind.RECONCILIATION_RESOLVED


def test_resolved_gaps_say_what_happened(beijing, six, client_for, alice):
    recover(beijing, six[:1])
    reconcile(beijing)
    gap = Gap.objects.get(pk=six[0].pk)
    assert gap.status == GapStatus.RESOLVED
    with translation.override("zh-hans"):
        assert gap.outcome.startswith("税务系统已显示此发票，差异已于 ")
        assert gap.outcome.endswith(" 解决。")
    page = client_for(alice).get(
        reverse("recovery:recovery-gap-list"), {"status": "resolved"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "税务系统已显示此发票" in page.content.decode()
    assert Gap.objects.get(pk=six[1].pk).outcome == ""


def test_a_red_letter_request_is_not_flagged(beijing, alice, six, django_capture_on_commit_callbacks):
    req = draft(beijing, alice, six[:1], action=RequestedAction.RED_LETTER_REISSUE)
    recover(beijing, six[:1])
    with django_capture_on_commit_callbacks(execute=True):
        reconcile(beijing)
    assert state(req) == ReviewState.DRAFT and not req.items.exclude(original_seen_at=None).exists()
