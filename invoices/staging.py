"""Staging an import and merging it set-based into Invoice or TaxRecord.

Parsing streams validated rows into two temporary tables private to the connection (PostgreSQL gets
them through COPY, SQLite through executemany); the merge is a handful of statements over the whole
file, never a query per invoice.
"""

# ruff: noqa: S608 -- only quoted identifiers from model metadata are interpolated; values go as parameters.
from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import BinaryIO

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from invoices.models import ImportBatch, Invoice, InvoiceChange, InvoiceType, TaxRecord
from invoices.parsers import SHANGHAI, RowError, iter_csv, reader_for, validate_row

DEFAULT_TYPE = InvoiceType.DIGITAL_ORDINARY  # for a row that names no invoice type
STAGE_CHUNK = 5000  # rows parsed between two writes to the staging table (and two progress updates)
WRITE_CHUNK = 2000


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True)
class MergeResult:
    created: int
    updated: int
    unchanged: int
    rejected: int
    # The issue dates of the rows created or updated (None when none were).
    issued_from: date | None
    issued_to: date | None


class Staging:
    """Two temporary tables private to this connection: validated rows and rejected rows.

    PostgreSQL gets them through COPY; SQLite through executemany. The merge is a handful of
    statements over the whole file, never a query per invoice.
    """

    def __init__(self, *, model, batch: ImportBatch, compared: tuple[str, ...]):
        self.model = model
        self.batch = batch
        self.rows = f"invoice_import_rows_{batch.pk}"
        self.rejects = f"invoice_import_rejects_{batch.pk}"
        self.fields = [model._meta.get_field(name) for name in ("invoice_key", *compared)]
        self.names = ["row_no", *(f.name for f in self.fields)]
        self.postgres = connection.vendor == "postgresql"
        self.created = False

    # Phase 1 -----------------------------------------------------------------------------------
    def create(self) -> None:
        q = connection.ops.quote_name
        columns = ", ".join(f"{q(f.column)} {f.db_type(connection)}" for f in self.fields)
        with connection.cursor() as cursor:
            self.drop()
            cursor.execute(f"CREATE TEMPORARY TABLE {q(self.rows)} (row_no integer NOT NULL, {columns})")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {q(self.rejects)} "
                "(row_no integer NOT NULL, col varchar(40) NOT NULL, reason varchar(500) NOT NULL)"
            )
        self.created = True

    def drop(self) -> None:
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {q(self.rows)}")
            cursor.execute(f"DROP TABLE IF EXISTS {q(self.rejects)}")

    def load(self, stream: BinaryIO) -> int:
        """Parse and validate every row into the staging tables; returns the rows read.

        On PostgreSQL a plain CSV file goes through the COPY lane (see `copylane`), which hands the
        rows it cannot judge in SQL back to `load_rows`; every other file is read here, row by row.
        """
        reader = reader_for(stream, self.batch.original_name)
        if self.postgres and reader is iter_csv:
            from invoices.copylane import CopyLane, csv_layout

            layout = csv_layout(stream)
            if layout is not None:
                # The lane writes to the staging tables only once it can no longer decline.
                rows_read = CopyLane(self, layout).load(stream, self._copy_progress)
                if rows_read is not None:
                    return rows_read
                stream.seek(0)
        size = max(self.batch.size, 1)
        return self.load_rows(
            reader(stream), progress=lambda rows: self._progress(rows, lambda: stream.tell() * 100 // size)
        )

    def load_rows(self, rows: Iterable[tuple[int, dict]], progress: Callable[[int], None] | None = None) -> int:
        """Validate parsed (row number, {field: cell}) rows into the staging tables; returns the rows read."""
        # PostgreSQL: each good row goes straight to its COPY line, no list of dicts kept in between.
        good: list = []
        keep = self._copy_line if self.postgres else (lambda values: values)
        bad: list[RowError] = []
        rows_read = 0
        for row_number, raw in rows:
            values, errors = validate_row(row_number, raw, default_type=DEFAULT_TYPE)
            if values is None and not errors:
                continue  # a summary row
            rows_read += 1
            if errors:
                bad.extend(errors)
            else:
                values["row_no"] = row_number
                good.append(keep(values))
            if rows_read % STAGE_CHUNK == 0:
                self._flush(good, bad)
                if progress is not None:
                    progress(rows_read)
        self._flush(good, bad)
        return rows_read

    @property
    def quoted_rows(self) -> str:
        return connection.ops.quote_name(self.rows)

    def column(self, name: str) -> str:
        """The quoted staging column of a field name (or of row_no)."""
        return self._columns([name])

    def add(self, rows: Iterable[dict]) -> None:
        """Stage rows validated elsewhere (a fetch's records), numbered in the order given."""
        good: list = []
        keep = self._copy_line if self.postgres else (lambda values: values)
        for number, values in enumerate(rows, start=1):
            good.append(keep({**values, "row_no": number}))
            if len(good) >= STAGE_CHUNK:
                self._flush(good, [])
        self._flush(good, [])

    def _progress(self, rows: int, percent: Callable[[], int]) -> None:
        try:
            done = min(99, int(percent()))
        except (OSError, ValueError):
            done = 0
        ImportBatch.objects.filter(pk=self.batch.pk).update(rows_processed=rows, progress_percent=done)

    def _copy_progress(self, lines: int, offset: int) -> None:
        """The COPY lane's progress: reading the file is most of its work before the merge."""
        self._progress(lines, lambda: offset * 90 // max(self.batch.size, 1))

    def _copy_line(self, values: dict) -> str:
        """One row in COPY's text format. Most rows need no escaping: check the joined line once
        rather than translating each of its values."""
        cells = ["\\N" if value is None else str(value) for value in map(values.__getitem__, self.names)]
        line = "\t".join(cells)
        if line.count("\t") != len(cells) - 1 or "\\" in line or "\n" in line or "\r" in line:
            line = "\t".join(
                [
                    "\\N" if value is None else str(value).translate(_COPY_ESCAPES)
                    for value in (values[name] for name in self.names)
                ]
            )
        return line + "\n"

    def _flush(self, good: list, bad: list[RowError]) -> None:
        """Write the staged rows: COPY lines (PostgreSQL) or value dicts (SQLite)."""
        names = self.names
        if good:
            if self.postgres:
                self._copy_text(self.rows, names, "".join(good))
            else:
                self._insert(self.rows, names, [[self._adapt(values[name]) for name in names] for values in good])
        if bad:
            # A reason quotes the cell it refuses, which may hold NUL; PostgreSQL refuses NUL in text.
            reasons = [[e.row, e.column[:40], e.reason.replace("\x00", "")[:500]] for e in bad]
            if self.postgres:
                self._copy(self.rejects, ["row_no", "col", "reason"], reasons)
            else:
                self._insert(self.rejects, ["row_no", "col", "reason"], reasons)
        good.clear()
        bad.clear()

    def _columns(self, names: list[str]) -> str:
        columns = {f.name: f.column for f in self.fields}
        return ", ".join(connection.ops.quote_name(columns.get(name, name)) for name in names)

    def _copy(self, table: str, names: list[str], rows) -> None:
        self._copy_text(table, names, copy_text(rows))

    def _copy_text(self, table: str, names: list[str], text: str) -> None:
        with connection.cursor() as cursor:
            cursor.copy_expert(
                f"COPY {connection.ops.quote_name(table)} ({self._columns(names)}) FROM STDIN", io.StringIO(text)
            )

    def _insert(self, table: str, names: list[str], rows: list[list]) -> None:
        marks = ", ".join(["%s"] * len(names))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {connection.ops.quote_name(table)} ({self._columns(names)}) VALUES ({marks})", rows
            )

    @staticmethod
    def _adapt(value):
        if isinstance(value, datetime):
            return connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, date):
            return connection.ops.adapt_datefield_value(value)
        if isinstance(value, Decimal):
            return str(value)
        return value

    # Phase 2 -----------------------------------------------------------------------------------
    def merge(self) -> MergeResult:
        """What the merge did. Runs inside the caller's transaction."""
        q = connection.ops.quote_name
        rows, rejects, target = q(self.rows), q(self.rejects), q(self.model._meta.db_table)
        company_id, direction, batch_id = self.batch.company_id, self.batch.direction, self.batch.pk
        key = q("invoice_key")
        match = f"t.{q('company_id')} = %s AND t.{q('direction')} = %s AND t.{key} = s.{key}"
        compared = [f for f in self.fields if f.name != "invoice_key"]
        distinct = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        differs = " OR ".join(f"t.{q(f.column)} {distinct} s.{q(f.column)}" for f in compared)
        now = timezone.now()
        stamp = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            analyzed = False

            def analyze() -> None:
                nonlocal analyzed
                if self.postgres and not analyzed:  # autovacuum never analyzes temporary tables
                    cursor.execute(f"ANALYZE {rows}")
                    analyzed = True

            issue_date = q("issue_date")
            cursor.execute(f"SELECT COUNT(*), MIN({key}), MAX({key}), MIN({issue_date}), MAX({issue_date}) FROM {rows}")
            staged, lowest, highest, first_day, last_day = cursor.fetchone()

            columns = (
                f"{q('company_id')}, {q('direction')}, {', '.join(q(f.column) for f in self.fields)}, "
                f"{q('batch_id')}, {q('created_at')}, {q('updated_at')}"
                + (f", {q('seen_at')}" if self.model is TaxRecord else "")
            )
            selected = f"%s, %s, {', '.join(f's.{q(f.column)}' for f in self.fields)}, %s, %s, %s" + (
                ", %s" if self.model is TaxRecord else ""
            )
            inserted = [company_id, direction, batch_id, stamp, stamp, *([stamp] if self.model is TaxRecord else [])]

            # A first import of a period (or of any range of keys we hold nothing in) only adds: one
            # plain INSERT, without the change log, the UPDATE or the anti-join, each of which would
            # join every staged row against the target for nothing. An invoice written meanwhile by
            # someone else, or one the file holds twice, makes it fail; then, back at the savepoint,
            # the general merge below runs.
            only_new = staged > 0 and not self._holds_keys_between(cursor, lowest, highest)
            if only_new:
                try:
                    with transaction.atomic():
                        cursor.execute(f"INSERT INTO {target} ({columns}) SELECT {selected} FROM {rows} s", inserted)
                        created, updated = cursor.rowcount, 0
                except IntegrityError:
                    only_new = False
            if not only_new:
                analyze()
                # The same invoice twice in one file: keep the first, reject the others.
                cursor.execute(
                    f"INSERT INTO {rejects} (row_no, col, reason) SELECT s.row_no, 'invoice_number', %s "
                    f"FROM {rows} s WHERE EXISTS (SELECT 1 FROM {rows} e WHERE e.{key} = s.{key} "
                    "AND e.row_no < s.row_no)",
                    [_("the same invoice appears twice in this file")],
                )
                if cursor.rowcount:
                    staged -= cursor.rowcount
                    cursor.execute(f"DELETE FROM {rows} WHERE row_no IN (SELECT row_no FROM {rejects})")
                if self.model is Invoice:
                    self._log_changes(cursor, match=match, differs=differs, compared=compared, now=now)
                extra_set = f", {q('seen_at')} = %s" if self.model is TaxRecord else ""
                assignments = ", ".join(f"{q(f.column)} = s.{q(f.column)}" for f in compared)
                cursor.execute(
                    f"UPDATE {target} AS t SET {assignments}, {q('batch_id')} = %s, {q('updated_at')} = %s"
                    f"{extra_set} FROM {rows} s WHERE {match} AND ({differs})",
                    [batch_id, stamp, *([stamp] if extra_set else []), company_id, direction],
                )
                updated = cursor.rowcount
                cursor.execute(
                    f"INSERT INTO {target} ({columns}) SELECT {selected} FROM {rows} s "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {match}) ON CONFLICT DO NOTHING",
                    [*inserted, company_id, direction],
                )
                created = cursor.rowcount
                first_day, last_day = self._written_span(cursor)

            cursor.execute(
                f"INSERT INTO {q('invoices_importrejection')} ({q('batch_id')}, {q('row')}, {q('column')}, "
                f"{q('reason')}) SELECT %s, row_no, col, reason FROM {rejects} ORDER BY row_no",
                [batch_id],
            )
            rejected = cursor.rowcount
        if not created + updated:
            first_day = last_day = None
        return MergeResult(
            created=created,
            updated=updated,
            unchanged=staged - created - updated,
            rejected=rejected,
            issued_from=_as_date(first_day),
            issued_to=_as_date(last_day),
        )

    def _written_span(self, cursor) -> tuple:
        """The first and last issue date of the rows this batch created or updated."""
        q = connection.ops.quote_name
        cursor.execute(
            f"SELECT MIN({q('issue_date')}), MAX({q('issue_date')}) FROM {q(self.model._meta.db_table)} "
            f"WHERE {q('company_id')} = %s AND {q('direction')} = %s AND {q('batch_id')} = %s",
            [self.batch.company_id, self.batch.direction, self.batch.pk],
        )
        return cursor.fetchone()

    def _holds_keys_between(self, cursor, lowest: str, highest: str) -> bool:
        """Whether the target already has an invoice of this company and direction keyed in the range."""
        q = connection.ops.quote_name
        cursor.execute(
            f"SELECT 1 FROM {q(self.model._meta.db_table)} WHERE {q('company_id')} = %s AND {q('direction')} = %s "
            f"AND {q('invoice_key')} BETWEEN %s AND %s LIMIT 1",
            [self.batch.company_id, self.batch.direction, lowest, highest],
        )
        return cursor.fetchone() is not None

    def _log_changes(self, cursor, *, match: str, differs: str, compared: list, now: datetime) -> None:
        """One InvoiceChange per invoice this file changes, with each changed field's old and new value."""
        q = connection.ops.quote_name
        old = ", ".join(f"t.{q(f.column)}" for f in compared)
        new = ", ".join(f"s.{q(f.column)}" for f in compared)
        cursor.execute(
            f"SELECT t.{q('id')}, {old}, {new} FROM {q(self.rows)} s "
            f"JOIN {q(self.model._meta.db_table)} t ON {match} WHERE {differs}",
            [self.batch.company_id, self.batch.direction],
        )
        width = len(compared)
        while chunk := cursor.fetchmany(WRITE_CHUNK):
            changes = []
            for row in chunk:
                diff = {}
                for i, field in enumerate(compared):
                    before, after = _display(field, row[1 + i]), _display(field, row[1 + width + i])
                    if before != after:
                        diff[field.name] = [before, after]
                if diff:  # SQLite compares decimals as floats; an unchanged-looking row logs nothing
                    changes.append(
                        InvoiceChange(invoice_id=row[0], batch_id=self.batch.pk, changed_at=now, changes=diff)
                    )
            InvoiceChange.objects.bulk_create(changes)


def copy_text(rows: Iterable[Iterable]) -> str:
    """Rows in COPY's text format, every value escaped (NULL for None)."""
    return "".join(
        "\t".join(["\\N" if value is None else str(value).translate(_COPY_ESCAPES) for value in row]) + "\n"
        for row in rows
    )


def _as_date(value) -> date | None:
    """SQLite returns dates as text."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _display(field: models.Field, value) -> str:
    """A stored value as a person reads it in the history, the same on PostgreSQL and SQLite."""
    if value is None or value == "":
        return ""
    if isinstance(field, models.DecimalField):
        return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-field.decimal_places)))
    if isinstance(field, models.DateTimeField):
        if isinstance(value, str):  # SQLite keeps UTC as text
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:  # ...and its "datetime" columns come back as naive UTC
            value = value.replace(tzinfo=UTC)
        return timezone.localtime(value, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(field, models.DateField):
        return str(value)[:10]
    return str(value)
