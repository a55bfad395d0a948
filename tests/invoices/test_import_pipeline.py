"""A big plain CSV file on PostgreSQL is read in a second connection while its invoices are written.

The pipeline (`invoices.imports.pipeline`) is an optimisation: whatever a file holds, the invoices, the
report and the rejected rows are what the one-connection import gives, and a failure on either
side stores nothing. Blocks are shrunk here to a few rows so that small files span many of them.
"""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.utils import translation

from invoices.imports import copy_lane
from invoices.imports.services import COMPARED_FIELDS, import_file
from invoices.imports.staging import Staging, staging_leftovers_drop
from invoices.models import BatchState, ImportBatch, ImportKind, Invoice, InvoiceChange
from tests.invoices.helpers import csv_bytes, usual_row

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the pipeline runs the COPY lane, PostgreSQL's"),
]

FIELDS = ("invoice_key", "issue_date", "issued_at", "seller_tax_id", "buyer_tax_id", "buyer_name", "amount", "tax",
          "total", "tax_rate", "invoice_type", "status")  # fmt: skip


def run(company, rows, **kwargs):
    return import_file(
        company=company,
        kind=ImportKind.BACKUP,
        direction="issued",
        filename="备份.csv",
        content=csv_bytes(rows),
        **kwargs,
    ).batch


def books(company) -> list[tuple]:
    return list(Invoice.objects.filter(company=company).order_by("invoice_key").values_list(*FIELDS))


def staging_tables(*batches) -> list[str]:
    """The batches' staging tables and indexes that exist. (Those of earlier tests may too: their
    reader committed them, and the drop, inside the test's transaction, was rolled back.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname ~ %s ORDER BY 1",
            [f"^invoice_import_.*_({'|'.join(str(b.pk) for b in batches)})(_|$)"],
        )
        return [name for (name,) in cursor.fetchall()]


def test_a_big_file_lands_as_the_one_connection_import_lands_it(beijing, monkeypatch, pipelined):
    rows = [usual_row(n, amount=f"{n}.00", tax="0.13", total=f"{n}.13") for n in range(1, 120)]
    rows[40] = usual_row(41, seller="91110108MA01B2C3D1")  # rejected: wrong check digit
    rows[70] = usual_row(71, amount="¥71.00", tax="0.13", total="")  # unusual: read by Python in its block
    rows[100] = usual_row(101, buyer="", buyer_name="个人")  # a combination first seen in a late block
    batch = run(beijing, rows)
    assert pipelined == [batch.pk]
    assert (batch.state, batch.rows_read, batch.rows_created, batch.rows_rejected) == (
        BatchState.SUCCEEDED,
        119,
        118,
        1,
    )
    assert list(batch.rejections.values_list("row", "column")) == [(42, "seller_tax_id")]
    through_pipeline = books(beijing)

    Invoice.objects.filter(company=beijing).delete()
    monkeypatch.setattr(copy_lane, "COPY_BLOCK", 2**30)  # one block: no pipeline
    sequential = run(beijing, rows)
    assert pipelined == [batch.pk]
    assert (sequential.rows_created, sequential.issued_from, sequential.issued_to) == (
        118, batch.issued_from, batch.issued_to,
    )  # fmt: skip
    assert books(beijing) == through_pipeline
    assert not staging_tables(batch, sequential)


def test_reimporting_the_same_big_file_changes_nothing(beijing, pipelined):
    rows = [usual_row(n) for n in range(1, 80)]
    run(beijing, rows)
    before = books(beijing)
    again = run(beijing, rows)
    assert len(pipelined) == 2
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 79)
    assert books(beijing) == before and not InvoiceChange.objects.exists()


def test_a_late_block_overlapping_our_books_rolls_back_to_the_full_merge(beijing, pipelined):
    run(beijing, [usual_row(n) for n in range(90, 100)])  # the last rows of the next file, already held
    rows = [usual_row(n) for n in range(1, 100)]
    rows[-1] = usual_row(99, status="作废")  # ...and one of them voided since
    batch = run(beijing, rows)
    assert (batch.rows_created, batch.rows_updated, batch.rows_unchanged) == (89, 1, 9)
    assert Invoice.objects.filter(company=beijing).count() == 99
    change = InvoiceChange.objects.get()
    assert change.batch == batch and list(change.changes) == ["status"]


def test_an_invoice_twice_in_different_blocks_keeps_the_first(beijing, pipelined):
    rows = [usual_row(n) for n in range(1, 90)]
    rows.append(usual_row(5, amount="2000.00", tax="260.00", total="2260.00"))
    batch = run(beijing, rows)
    assert (batch.rows_read, batch.rows_created, batch.rows_rejected) == (90, 89, 1)
    assert list(batch.rejections.values_list("row", "column")) == [(91, "invoice_number")]
    assert Invoice.objects.get(company=beijing, invoice_key__endswith="0000005").amount == 1000


def test_a_quote_in_a_late_block_hands_the_whole_file_to_python(beijing, pipelined):
    rows = [usual_row(n) for n in range(1, 90)]
    rows[80] = usual_row(81, buyer_name='"闽江, 贸易"')
    batch = run(beijing, rows)
    assert (batch.state, batch.rows_read, batch.rows_created) == (BatchState.SUCCEEDED, 89, 89)
    assert Invoice.objects.get(company=beijing, invoice_key__endswith="0000081").buyer_name == "闽江, 贸易"
    assert not staging_tables(batch)


def test_a_failure_while_reading_stores_nothing(beijing, pipelined, monkeypatch):
    run(beijing, [usual_row(n) for n in range(500, 505)])
    real_move = copy_lane.CopyLane._move_usual_rows
    blocks = []

    def move_then_fail(self):
        blocks.append(1)
        if len(blocks) == 4:
            raise RuntimeError("the disk is full")
        return real_move(self)

    monkeypatch.setattr(copy_lane.CopyLane, "_move_usual_rows", move_then_fail)
    batch = run(beijing, [usual_row(n) for n in range(1, 90)])
    assert batch.state == BatchState.FAILED and len(blocks) == 4
    assert Invoice.objects.filter(company=beijing).count() == 5  # only the earlier import's
    assert not batch.rejections.exists() and not staging_tables(batch)


def test_a_failure_while_writing_stops_the_reader_and_stores_nothing(beijing, pipelined, monkeypatch):
    real_add = Staging.add_new
    calls = []

    def add_then_fail(self, staged):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("lost the connection")
        return real_add(self, staged)

    monkeypatch.setattr(Staging, "add_new", add_then_fail)
    batch = run(beijing, [usual_row(n) for n in range(1, 200)])
    assert batch.state == BatchState.FAILED
    assert not Invoice.objects.filter(company=beijing).exists() and not staging_tables(batch)


def test_reasons_are_in_the_language_of_whoever_imports(beijing, pipelined):
    rows = [usual_row(n) for n in range(1, 60)]
    rows[30] = usual_row(31, date="2025-02-30")
    with translation.override("en"):
        batch = run(beijing, rows)
    assert pipelined == [batch.pk]
    assert "is not a date" in batch.rejections.get().reason  # the reader thread speaks the importer's language


def test_the_sweep_drops_only_the_staging_of_batches_no_longer_in_progress(beijing):
    def batch(state):
        return ImportBatch.objects.create(
            company=beijing, kind=ImportKind.BACKUP, direction="issued", original_name="b.csv", state=state
        )

    finished, running = batch(BatchState.SUCCEEDED), batch(BatchState.RUNNING)
    for owner in (finished, running):
        Staging(model=Invoice, batch=owner, compared=("issue_date",)).create()
    dropped = staging_leftovers_drop()
    assert f"invoice_import_rows_{finished.pk}" in dropped and f"invoice_import_rejects_{finished.pk}" in dropped
    rows = f"invoice_import_rows_{running.pk}"
    assert staging_tables(finished, running) == [f"invoice_import_rejects_{running.pk}", rows, f"{rows}_row_no"]


def _staged(company, rows: int) -> Staging:
    """Staging tables of a running batch holding `rows` usual rows; the caller drops them."""
    batch = ImportBatch.objects.create(
        company=company, kind=ImportKind.BACKUP, direction="issued", original_name="b.csv", state=BatchState.RUNNING
    )
    stage = Staging(model=Invoice, batch=batch, compared=COMPARED_FIELDS)
    stage.create()
    try:
        assert stage.load(io.BytesIO(csv_bytes([usual_row(n) for n in range(1, rows + 1)]))) == rows
    except BaseException:
        stage.drop()
        raise
    return stage


def test_a_blocks_statements_read_that_block_not_every_row_staged(beijing):
    """The writer asks for each block by its row numbers while the reader stages more: read whole,
    the staging table would be read once per block, a million-row file's time growing with its
    square."""
    stage = _staged(beijing, 20000)
    try:

        def scans() -> tuple[int, int]:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT seq_tup_read, idx_scan FROM pg_stat_xact_user_tables WHERE relname = %s", [stage.rows]
                )
                return cursor.fetchone()

        before = scans()
        staged = stage.summary((19002, 20001))  # the last thousand rows (the header is row 1)
        assert stage.add_new(staged).created == staged.count == 1000
        after = scans()
        with connection.cursor() as cursor:  # the planner is left as it was for what follows in the import
            cursor.execute("SHOW enable_seqscan")
            assert cursor.fetchone() == ("on",)
    finally:
        stage.drop()
    assert after[0] == before[0], "no staged row read but through the index"
    assert after[1] == before[1] + 2
    assert Invoice.objects.filter(company=beijing).count() == 1000


def test_a_blocks_check_for_keys_already_held_reads_the_key_index_not_the_table(beijing):
    """Before adding a block the writer asks whether the company already holds a key in the block's
    range. Asked of the table while the planner's figures still promise many rows there (gathered
    before those rows went), PostgreSQL read the table from its start looking for one: every block of
    a big import read the whole table."""

    def seq_scans() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'invoices_invoice'")
            return cursor.fetchone()[0]

    first = _staged(beijing, 20000)
    try:
        assert first.add_new(first.summary()).created == 20000
    finally:
        first.drop()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE invoices_invoice")
    Invoice.objects.filter(company=beijing).delete()  # the figures still count 20,000 rows in the range
    again = _staged(beijing, 20000)
    try:
        before = seq_scans()
        staged = again.summary((2, 20001))
        assert again.add_new(staged).created == 20000
        assert seq_scans() == before, "the table was read, not the index"
    finally:
        again.drop()
