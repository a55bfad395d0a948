"""The tallies of invoices and tax records (`RecordTally`) always equal the rows there are, whatever
wrote or removed them: imports (raw SQL, the pipeline), the ORM, a company's deletion, TRUNCATE.
The tally is kept by triggers: each assertion here would fail without them (the tally starts empty)."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from invoices.imports.services import import_file
from invoices.models import TALLIES, Direction, ImportKind, Invoice, InvoiceTally, TaxRecord
from outage_portal.models import Company
from tests.invoices.helpers import csv_bytes, usual_row

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own")


def assert_tallied(*companies: Company) -> None:
    """Each company's tally, per kind of record and direction, is the number of its rows; and some
    rows are there, so that an empty tally could not pass."""
    rows = 0
    for model, tally in TALLIES.items():
        for company in companies:
            for direction in Direction.values:
                held = model.objects.filter(company=company, direction=direction).count()
                assert tally.objects.total([company.pk], direction=direction) == held, (model, company, direction)
                rows += held
            assert tally.objects.total([company.pk]) == model.objects.filter(company=company).count()
    assert rows


def backup(company, rows, *, direction="issued", kind=ImportKind.BACKUP):
    batch = import_file(
        company=company, kind=kind, direction=direction, filename="备份.csv", content=csv_bytes(rows)
    ).batch
    assert batch.state == "succeeded", batch.failure_reason
    return batch


def record(model, company, n: int, *, direction: str = "issued"):
    values = {
        "company": company,
        "direction": direction,
        "invoice_key": f"261120000000{n:08d}",
        "digital_number": f"261120000000{n:08d}",
        "issue_date": date(2026, 11, 18),
        "seller_tax_id": company.credit_code,
        "amount": Decimal("100.00"),
        "tax": Decimal("13.00"),
        "total": Decimal("113.00"),
        "invoice_type": "digital_special",
    }
    if model is TaxRecord:
        values["seen_at"] = timezone.now()
    return model(**values)


def test_imports_that_create_update_add_and_reject_keep_the_tally(beijing, xian):
    backup(beijing, [usual_row(n) for n in range(1, 21)])
    backup(beijing, [usual_row(n) for n in range(1, 6)], direction="received")
    assert_tallied(beijing)
    # A re-import: five changed, five unchanged, ten new.
    batch = backup(beijing, [usual_row(n, amount="2000.00", total="2130.00") for n in range(1, 6)]
                   + [usual_row(n) for n in range(6, 11)] + [usual_row(n) for n in range(100, 110)])  # fmt: skip
    assert (batch.rows_created, batch.rows_updated, batch.rows_unchanged) == (10, 5, 5)
    assert_tallied(beijing)
    # The same invoice twice in a file, a row refused, and invoices we hold: only the new one counts.
    batch = backup(beijing, [usual_row(200), usual_row(200), usual_row(201, seller="bad"), usual_row(1)])
    assert (batch.rows_created, batch.rows_rejected) == (1, 2)
    assert_tallied(beijing)
    # Tax-system exports into TaxRecord, and another company beside.
    backup(beijing, [usual_row(n) for n in range(1, 8)], kind=ImportKind.TAX_EXPORT)
    backup(xian, [usual_row(n) for n in range(1, 4)])
    assert_tallied(beijing, xian)
    assert InvoiceTally.objects.total([beijing.pk, xian.pk]) == Invoice.objects.count() == 36 + 3


@postgresql_only
def test_a_pipelined_import_and_its_fallback_to_the_full_merge_keep_the_tally(beijing, pipelined):
    backup(beijing, [usual_row(n) for n in range(1, 120)])
    assert_tallied(beijing)
    # Blocks of new rows added, then one holding keys we have: rolled back, then the full merge.
    backup(beijing, [usual_row(n) for n in range(500, 560)] + [usual_row(n) for n in range(100, 160)])
    assert pipelined and Invoice.objects.count() == 119 + 60 + 40
    assert_tallied(beijing)


def test_orm_writes_keep_the_tally(beijing, xian):
    Invoice.objects.bulk_create(record(Invoice, beijing, n) for n in range(10))
    TaxRecord.objects.bulk_create(record(TaxRecord, beijing, n) for n in range(4))
    record(Invoice, beijing, 50, direction="received").save()
    record(Invoice, xian, 1).save()
    assert_tallied(beijing, xian)
    Invoice.objects.filter(company=beijing, invoice_key__endswith="3").delete()
    Invoice.objects.get(company=beijing, invoice_key__endswith="4").delete()
    assert_tallied(beijing, xian)
    # Moved to the other direction (nothing in the portal does it, but the count follows).
    moved = Invoice.objects.get(company=beijing, invoice_key__endswith="5")
    moved.direction = "received"
    moved.save()
    Invoice.objects.filter(company=beijing, invoice_key__endswith="6").update(direction="received")
    assert InvoiceTally.objects.total([beijing.pk], direction="received") == 3
    assert_tallied(beijing, xian)


def test_deleting_a_company_deletes_its_tally_and_leaves_the_others(beijing, xian):
    Invoice.objects.bulk_create(record(Invoice, company, n) for company in (beijing, xian) for n in range(5))
    TaxRecord.objects.bulk_create(record(TaxRecord, beijing, n) for n in range(3))
    beijing.delete()
    assert not InvoiceTally.objects.filter(company_id=beijing.pk).exists()
    assert not TALLIES[TaxRecord].objects.filter(company_id=beijing.pk).exists()
    assert_tallied(xian)


@postgresql_only
def test_truncate_empties_the_tally(beijing):
    Invoice.objects.bulk_create(record(Invoice, beijing, n) for n in range(5))
    TaxRecord.objects.bulk_create(record(TaxRecord, beijing, n) for n in range(5))
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE invoices_invoice CASCADE")
    assert InvoiceTally.objects.total([beijing.pk]) == 0
    Invoice.objects.bulk_create(record(Invoice, beijing, n) for n in range(2))
    assert_tallied(beijing)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_writers_into_one_company_do_not_wait_for_each_other(beijing):
    """Each writer counts into a row of the tally no other transaction holds: a second import into
    a company does not queue behind the first one's commit."""
    holding, release, failed = threading.Event(), threading.Event(), []

    def first_writer():
        try:
            with transaction.atomic():
                Invoice.objects.bulk_create(record(Invoice, beijing, n) for n in range(3))
                holding.set()
                release.wait(30)
        except Exception as error:  # reported by the assertion below
            failed.append(error)
        finally:
            holding.set()
            connection.close()

    writer = threading.Thread(target=first_writer)
    writer.start()
    try:
        assert holding.wait(30)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # Were the count one row, this writer would wait for the first's commit and fail here.
                cursor.execute("SET LOCAL lock_timeout = '5s'")
            Invoice.objects.bulk_create(record(Invoice, beijing, n) for n in range(10, 12))
    finally:
        release.set()
        writer.join()
    assert not failed
    assert InvoiceTally.objects.filter(company=beijing).count() == 2
    assert_tallied(beijing)
