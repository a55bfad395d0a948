"""Data for the reissue tests: Beijing gaps found by a real reconciliation run, requests in each state.

A plugin of the root conftest: the recovery, journey, reliability and security tests use these too."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices.keys import invoice_key
from invoices.models import Direction, Invoice, TaxRecord
from outage_portal import services as portal_services
from outage_portal.models import Role
from recovery import services as recovery_services
from recovery.deferred import services as deferred_services
from recovery.models import Gap
from recovery.reissue import services
from tests.conftest import PASSWORD

DAY = date(2026, 11, 10)
START, END = date(2026, 11, 1), date(2026, 11, 30)
SELLER = "91110108MA01B2C3D0"

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def zip_bytes(*members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in members:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def fields(company, *, code="1100231130", number="1", amount="100.00", tax="13.00", day=DAY, **extra):
    amount, tax = Decimal(amount), Decimal(tax)
    return {
        "company": company,
        "direction": Direction.ISSUED,
        "invoice_key": invoice_key(code=code, number=number),
        "invoice_code": code,
        "invoice_number": number,
        "issue_date": day,
        "seller_tax_id": SELLER,
        "buyer_tax_id": f"91310000MA{number[-8:]:0>8}",
        "buyer_name": extra.pop("buyer_name", "上海客户有限公司"),
        "amount": amount,
        "tax": tax,
        "total": amount + tax,
        "invoice_type": "special",
        **extra,
    }


def book(company, **kw) -> Invoice:
    return Invoice.objects.create(**fields(company, **kw))


def tax_record(company, **kw) -> TaxRecord:
    return TaxRecord.objects.create(seen_at=timezone.now(), **fields(company, **kw))


def reconcile(company):
    run = recovery_services.reconciliation_run_create(
        company=company, direction=Direction.ISSUED, period_start=START, period_end=END, enqueue=False
    )
    return recovery_services.reconciliation_run_execute(run_id=run.pk)


def make_gaps(company, n=3, *, start=1) -> list[Gap]:
    """n invoices in our books that the tax system lacks (plus one it has), reconciled."""
    for i in range(start, start + n):
        book(company, number=f"{i:08d}", amount=f"{100 * i}.00", tax=f"{13 * i}.00")
    book(company, number="00000999")
    tax_record(company, number="00000999")
    reconcile(company)
    return list(
        Gap.objects.filter(
            company=company, invoice_key__in=[f"1100231130{i:08d}" for i in range(start, start + n)]
        ).order_by("invoice_key")
    )


def member(username, company, *roles):
    user = portal_services.user_create(username=username, password=PASSWORD, email=f"{username}@example.com")
    for role in roles:
        portal_services.membership_grant(user=user, company=company, role=role)
    return user


@pytest.fixture
def messages_in_english(settings):
    """These tests read service and form messages; translations are compiled by the lead (and may
    or may not be present), so the tests pin English, the msgid language."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def dave(beijing):
    """A second Beijing reviewer."""
    return member("dave", beijing, Role.REVIEWER)


@pytest.fixture
def erin(beijing):
    """Beijing accountant who is also a reviewer (may not approve her own requests)."""
    return member("erin", beijing, Role.ACCOUNTANT, Role.REVIEWER)


@pytest.fixture
def xavier(xian):
    """A Xi'an reviewer (outsider to Beijing)."""
    return member("xavier", xian, Role.REVIEWER)


@pytest.fixture
def gaps(beijing, monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda *a, **k: None)
    return make_gaps(beijing)


def draft(company, user, gap_list, **kw):
    return services.reissue_request_create(company=company, user=user, gaps=gap_list, **kw)


def application(company, user, **kw):
    """A deferred-filing application in draft: October's VAT, due 15 November, unless `kw` says otherwise."""
    values = {"period": date(2026, 10, 1), "tax_type": "增值税", "deadline": date(2026, 11, 15), "reason": "故障"}
    return deferred_services.deferred_filing_create(company=company, user=user, **{**values, **kw})


def submitted(company, user, gap_list, **kw):
    req = draft(company, user, gap_list, **kw)
    return services.reissue_request_submit(request=req, user=user)


def approved(company, user, reviewer, gap_list, **kw):
    req = submitted(company, user, gap_list, **kw)
    return services.reissue_request_approve(request=req, user=reviewer)


def reissued(company, user, reviewer, gap_list, **kw):
    req = approved(company, user, reviewer, gap_list, **kw)
    numbers = {item.pk: f"2611{item.invoice_key[-8:]:0>16}" for item in req.items.all()}
    return services.reissue_request_record_reissued(request=req, user=user, new_numbers=numbers)


def later(days=1):
    return timezone.localdate() + timedelta(days=days)


def _form_data(beijing, gaps, **extra):
    """The reissue form's fields for these gaps, saved with contract evidence."""
    data = {
        "company": beijing.pk,
        "gaps": [g.pk for g in gaps],
        "reason": "outage",
        "action": "reissue",
        "evidence_kind": "contract",
        "manual-TOTAL_FORMS": "0",
        "manual-INITIAL_FORMS": "0",
        "intent": "save",
    }
    data.update(extra)
    return data
