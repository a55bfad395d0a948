"""Reissue request workflow through the services: every transition, its rules, log and constraints."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from recovery.models import Decision, Gap, GapStatus
from recovery.reissue import services
from recovery.reissue.models import ReissueRequest, ReviewState, ReviewTransition
from recovery.reissue.services import HandEnteredInvoice, InvalidTransition
from tests.recovery.reissue.fixtures import DAY, approved, draft, reconcile, reissued, submitted, tax_record

pytestmark = pytest.mark.usefixtures("messages_in_english")


def states(req):
    return list(req.transitions.values_list("from_state", "to_state"))


def test_accountant_drafts_a_request_from_gaps_and_an_invoice_the_portal_never_saw(beijing, alice, gaps):
    req = services.reissue_request_create(
        company=beijing,
        user=alice,
        gaps=gaps[:2],
        manual=[
            HandEnteredInvoice(
                invoice_code="1100231130",
                invoice_number="８８８８８８８８",
                issue_date=DAY,
                amount=Decimal("50.00"),
                tax=Decimal("6.50"),
                counterparty_name="天津客户",
            )
        ],
        contact_name="王经理",
    )
    assert req.state == ReviewState.DRAFT
    items = list(req.items.order_by("invoice_key"))
    assert [i.invoice_key for i in items] == [gaps[0].invoice_key, gaps[1].invoice_key, "110023113088888888"]
    assert (
        items[0].amount == Decimal("100.00")
        and items[0].tax == Decimal("13.00")
        and items[0].total == Decimal("113.00")
    )
    assert items[0].counterparty_name == "上海客户有限公司"
    assert items[2].total == Decimal("56.50") and items[2].gap is None
    assert states(req) == [("", "draft")]


def test_changing_only_the_gaps_or_only_the_hand_entered_invoices_keeps_the_other_kind(beijing, alice, gaps):
    by_hand = HandEnteredInvoice(
        invoice_code="1100231130",
        invoice_number="88888888",
        issue_date=DAY,
        amount=Decimal("50.00"),
        tax=Decimal("6.50"),
        counterparty_name="天津客户",
    )
    req = draft(beijing, alice, gaps, manual=[by_hand])
    services.reissue_request_update(request=req, user=alice, manual=[])
    assert sorted(req.items.values_list("invoice_key", flat=True)) == [g.invoice_key for g in gaps]
    services.reissue_request_update(request=req, user=alice, manual=[by_hand])
    services.reissue_request_update(request=req, user=alice, gaps=gaps[:1])
    assert sorted(req.items.values_list("invoice_key", flat=True)) == [gaps[0].invoice_key, "110023113088888888"]
    kept = req.items.get(gap=None)
    assert (kept.total, kept.counterparty_name) == (Decimal("56.50"), "天津客户")


def test_saving_the_invoices_costs_the_same_queries_for_one_or_many(beijing, alice, gaps):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    req = draft(beijing, alice, gaps[:1])
    counts = []
    for chosen in (gaps[:1], gaps):
        with CaptureQueriesContext(connection) as queries:
            services.reissue_request_update(request=req, user=alice, gaps=chosen)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert req.items.count() == len(gaps)


def test_full_workflow_logs_every_transition_with_who_and_why(beijing, alice, bob, gaps):
    req = submitted(beijing, alice, gaps)
    services.reissue_request_return(request=req, user=bob, comment="缺少合同")
    req.refresh_from_db()
    assert req.state == ReviewState.RETURNED
    services.reissue_request_update(request=req, user=alice, reason_detail="补充了合同")
    services.reissue_request_submit(request=req, user=alice)
    services.reissue_request_approve(request=req, user=bob, comment="ok")
    req.refresh_from_db()
    assert req.approved_by == bob and req.approved_at is not None
    numbers = {i.pk: f"26110000000000{n:06d}" for n, i in enumerate(req.items.all())}
    services.reissue_request_record_reissued(request=req, user=alice, new_numbers=numbers)
    req.refresh_from_db()
    assert req.state == ReviewState.REISSUED
    assert sorted(req.items.values_list("new_invoice_key", flat=True)) == sorted(numbers.values())
    assert states(req) == [
        ("", "draft"),
        ("draft", "submitted"),
        ("submitted", "returned"),
        ("returned", "submitted"),
        ("submitted", "approved"),
        ("approved", "reissued"),
    ]
    returned = req.transitions.get(to_state="returned")
    assert returned.actor == bob and returned.comment == "缺少合同"


def test_request_closes_itself_when_the_new_numbers_appear_in_the_tax_system(beijing, alice, bob, gaps):
    req = reissued(beijing, alice, bob, gaps)
    other = reissued(beijing, alice, bob, [], manual=[HandEnteredInvoice("", "12345678", DAY, Decimal(1), Decimal(0))])
    new_keys = list(req.items.values_list("new_invoice_key", flat=True))
    for key in new_keys[:-1]:
        tax_record(beijing, code="", number=key)
    reconcile(beijing)
    req.refresh_from_db()
    assert req.state == ReviewState.REISSUED  # one invoice still missing
    tax_record(beijing, code="", number=new_keys[-1])
    reconcile(beijing)
    req.refresh_from_db()
    other.refresh_from_db()
    assert req.state == ReviewState.CLOSED and req.closed_at is not None
    assert other.state == ReviewState.REISSUED
    closing = req.transitions.get(to_state="closed")
    assert closing.actor is None
    gap_states = set(Gap.objects.filter(pk__in=[g.pk for g in gaps]).values_list("status", "decision"))
    assert gap_states == {(GapStatus.RESOLVED, Decision.LINKED)}
    # The old numbers are still only in our books: a later run must not reopen the resolved gaps.
    reconcile(beijing)
    assert set(Gap.objects.filter(pk__in=[g.pk for g in gaps]).values_list("status", flat=True)) == {GapStatus.RESOLVED}


def test_close_seen_is_set_based(beijing, alice, bob, gaps, django_assert_max_num_queries):
    req = reissued(beijing, alice, bob, gaps)
    for key in req.items.values_list("new_invoice_key", flat=True):
        tax_record(beijing, code="", number=key)
    with django_assert_max_num_queries(12):
        assert services.reissue_requests_close_seen(company_id=beijing.pk) == 1


@pytest.mark.parametrize("person", ["bob", "fiona", "carol"])
def test_only_accountants_draft(request, beijing, gaps, person):
    with pytest.raises(PermissionDenied):
        draft(beijing, request.getfixturevalue(person), gaps)


@pytest.mark.parametrize("person", ["bob", "fiona", "carol", "charlie"])
def test_only_accountants_of_the_company_submit(request, beijing, alice, gaps, person):
    req = draft(beijing, alice, gaps)
    with pytest.raises(PermissionDenied):
        services.reissue_request_submit(request=req, user=request.getfixturevalue(person))
    assert ReissueRequest.objects.get(pk=req.pk).state == ReviewState.DRAFT


@pytest.mark.parametrize("person", ["alice", "fiona", "carol", "xavier"])
def test_only_reviewers_of_the_company_approve_or_return(request, beijing, alice, gaps, person):
    req = submitted(beijing, alice, gaps)
    user = request.getfixturevalue(person)
    with pytest.raises(PermissionDenied):
        services.reissue_request_approve(request=req, user=user)
    with pytest.raises(PermissionDenied):
        services.reissue_request_return(request=req, user=user, comment="no")
    assert ReissueRequest.objects.get(pk=req.pk).state == ReviewState.SUBMITTED


def test_nobody_approves_or_returns_their_own_request(beijing, erin, bob, gaps):
    req = submitted(beijing, erin, gaps)
    with pytest.raises(PermissionDenied, match="own"):
        services.reissue_request_approve(request=req, user=erin)
    with pytest.raises(PermissionDenied):
        services.reissue_request_return(request=req, user=erin, comment="x")
    services.reissue_request_approve(request=req, user=bob)


def test_the_database_refuses_self_approval_too(beijing, erin, gaps):
    req = submitted(beijing, erin, gaps)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReissueRequest.objects.filter(pk=req.pk).update(
            state="approved", approved_by=erin, approved_at=req.submitted_at
        )


def test_the_database_refuses_unknown_states_and_approval_without_reviewer(beijing, alice, gaps):
    req = draft(beijing, alice, gaps)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReissueRequest.objects.filter(pk=req.pk).update(state="lost")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReissueRequest.objects.filter(pk=req.pk).update(state="approved", submitted_at=req.created_at)


def test_invalid_transitions_raise_a_clear_error(beijing, alice, bob, dave, gaps):
    req = draft(beijing, alice, gaps)
    with pytest.raises(InvalidTransition, match="RR-"):
        services.reissue_request_approve(request=req, user=bob)
    with pytest.raises(InvalidTransition):
        services.reissue_request_record_reissued(request=req, user=alice, new_numbers={})
    with pytest.raises(InvalidTransition):
        services.reissue_request_close(request=req, user=alice)
    services.reissue_request_submit(request=req, user=alice)
    with pytest.raises(InvalidTransition):
        services.reissue_request_submit(request=req, user=alice)
    services.reissue_request_approve(request=req, user=bob)
    with pytest.raises(InvalidTransition):
        services.reissue_request_approve(request=req, user=dave)
    with pytest.raises(InvalidTransition):
        services.reissue_request_update(request=req, user=alice, reason_detail="late change")


def test_returning_needs_a_comment(beijing, alice, bob, gaps):
    req = submitted(beijing, alice, gaps)
    with pytest.raises(ValidationError, match="fixing"):
        services.reissue_request_return(request=req, user=bob, comment="  ")
    assert not ReviewTransition.objects.filter(to_state="returned").exists()


def test_submitting_needs_invoices(beijing, alice):
    req = services.reissue_request_create(company=beijing, user=alice)
    with pytest.raises(ValidationError, match="at least one invoice"):
        services.reissue_request_submit(request=req, user=alice)


def test_recording_reissued_numbers_checks_each_one(beijing, alice, bob, gaps):
    req = approved(beijing, alice, bob, gaps[:2])
    items = list(req.items.all())
    with pytest.raises(ValidationError) as exc:
        services.reissue_request_record_reissued(
            request=req, user=alice, new_numbers={items[0].pk: "abc", items[1].pk: ""}
        )
    text = " ".join(exc.value.messages)
    assert "abc" in text and items[1].invoice_key in text
    with pytest.raises(ValidationError, match="once"):
        services.reissue_request_record_reissued(
            request=req,
            user=alice,
            new_numbers={items[0].pk: "26110000000000000001", items[1].pk: "26110000000000000001"},
        )
    req.refresh_from_db()
    assert req.state == ReviewState.APPROVED


def test_a_gap_cannot_be_in_two_open_requests(beijing, alice, gaps):
    draft(beijing, alice, gaps[:1])
    with pytest.raises(ValidationError, match="Already in another open request"):
        draft(beijing, alice, gaps)


def test_gaps_of_another_company_are_refused(beijing, xian, alice, gaps):
    Gap.objects.filter(pk=gaps[0].pk).update(company=xian)
    with pytest.raises(ValidationError, match="company"):
        draft(beijing, alice, list(Gap.objects.filter(pk=gaps[0].pk)))
    assert not ReissueRequest.objects.exists()


def test_total_must_equal_amount_plus_tax_in_the_database(beijing, alice, gaps):
    req = draft(beijing, alice, gaps)
    with pytest.raises(IntegrityError), transaction.atomic():
        req.items.update(total=Decimal("1.00"))
