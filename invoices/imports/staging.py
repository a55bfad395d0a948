"""Staging an import and merging it set-based into Invoice or TaxRecord.

Parsing streams validated rows into two staging tables (PostgreSQL gets them through COPY, SQLite
through executemany); the merge is a handful of statements over the whole file, never a query per
invoice.
"""

# ruff: noqa: S608 -- only quoted identifiers from model metadata are interpolated; values go as parameters.
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, BinaryIO

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from invoices.imports.parsers import SHANGHAI, RowError, iter_csv, iter_xlsx, reader_for, validate_row
from invoices.models import BATCH_IN_PROGRESS_STATES, ImportBatch, Invoice, InvoiceChange, InvoiceType, TaxRecord
from outage_portal.sql import statement_settings

if TYPE_CHECKING:
    from invoices.imports.copy_lane import CsvLayout

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


@dataclass(frozen=True)
class Staged:
    """Staged rows (those numbered within `rows`, or all of them), as `Staging.summary` found them."""

    rows: tuple[int, int] | None
    count: int
    lowest_key: str | None
    highest_key: str | None
    first_day: date | None
    last_day: date | None


@dataclass(frozen=True)
class NewRows:
    """What inserting staged rows as new invoices did (`Staging.add_new`), added up over the parts."""

    staged: int = 0
    created: int = 0
    first_day: date | None = None
    last_day: date | None = None

    def __add__(self, other: NewRows) -> NewRows:
        days = [d for d in (self.first_day, self.last_day, other.first_day, other.last_day) if d is not None]
        return NewRows(
            staged=self.staged + other.staged,
            created=self.created + other.created,
            first_day=min(days, default=None),
            last_day=max(days, default=None),
        )


# As Staging names them: the batch, and the claim that created them (a fetch's have none).
STAGING_TABLE = re.compile(r"^invoice_import_(?:rows|rejects)_([0-9]+)(?:_([0-9a-f]+))?$")
CLAIM_IN_NAME = 12  # characters of the claim token in a table name (PostgreSQL names stop at 63)


def staging_leftovers_drop() -> list[str]:
    """Drop the staging tables of batches no longer in progress (or gone); the tables dropped.

    Every import drops its own; on PostgreSQL, where they are unlogged tables rather than temporary
    ones, a worker killed mid-import leaves them behind (empty after a server crash, but there).
    A table created inside a transaction not yet committed (a fetch's) is not seen here at all.
    """
    if connection.vendor != "postgresql":
        return []  # temporary tables: they go with their connection
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relpersistence = 'u' "
            "AND relnamespace = current_schema()::regnamespace AND relname ~ %s",
            [STAGING_TABLE.pattern],
        )
        tables = {
            name: (int(match[1]), match[2] or "")
            for (name,) in cursor.fetchall()
            if (match := STAGING_TABLE.match(name))
        }
        # A batch in progress keeps the tables of its current claim; a stale claim's tables go.
        live = dict(
            ImportBatch.objects.filter(
                pk__in={pk for pk, _claim in tables.values()}, state__in=BATCH_IN_PROGRESS_STATES
            ).values_list("pk", "claim_token")
        )
        dropped = sorted(
            name
            for name, (pk, claim) in tables.items()
            if pk not in live or (claim and claim != live[pk][:CLAIM_IN_NAME])
        )
        for name in dropped:
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(name)}")
    return dropped


class Staging:
    """Two staging tables for one batch: validated rows and rejected rows.

    On PostgreSQL they are unlogged tables, not temporary ones: the COPY lane may stage in a second
    connection while the import's own transaction writes what is staged (`invoices.imports.pipeline`), and a
    temporary table is seen by its connection alone. Unlogged, they cost no WAL, as temporary ones
    did; whoever created them drops them (`drop`), and `staging_leftovers_drop` sweeps up after a
    worker that died. On SQLite (one connection) they are temporary.
    """

    def __init__(self, *, model, batch: ImportBatch, compared: tuple[str, ...], claim: str = ""):
        self.model = model
        self.batch = batch
        # Named after the claim too: a worker whose lease expired cannot drop the tables of the one
        # that took the batch over, nor write into them.
        suffix = f"_{claim[:CLAIM_IN_NAME]}" if claim else ""
        self.rows = f"invoice_import_rows_{batch.pk}{suffix}"
        self.rejects = f"invoice_import_rejects_{batch.pk}{suffix}"
        self.fields = [model._meta.get_field(name) for name in ("invoice_key", *compared)]
        self.names = ["row_no", *(f.name for f in self.fields)]
        self.postgres = connection.vendor == "postgresql"
        self.created = False
        # The file's header of each field, filled as it is read: the report names columns by them.
        self.headers: dict[str, str] = {}

    # Phase 1 -----------------------------------------------------------------------------------
    def create(self) -> None:
        q = connection.ops.quote_name
        columns = ", ".join(f"{q(f.column)} {f.db_type(connection)}" for f in self.fields)
        kind = "UNLOGGED" if self.postgres else "TEMPORARY"
        with connection.cursor() as cursor:
            self.drop()
            cursor.execute(f"CREATE {kind} TABLE {q(self.rows)} (row_no integer NOT NULL, {columns})")
            if self.postgres:
                # A writer takes the staged rows a block at a time, by row number. Rows are staged in
                # the order of their numbers, so a BRIN index finds a block's pages; a B-tree index
                # cost the lane a tenth of its time.
                cursor.execute(f"CREATE INDEX {q(self.rows + '_row_no')} ON {q(self.rows)} USING brin (row_no)")
            cursor.execute(
                f"CREATE {kind} TABLE {q(self.rejects)} "
                "(row_no integer NOT NULL, col varchar(40) NOT NULL, reason varchar(500) NOT NULL)"
            )
        self.created = True

    def index_new_rows(self) -> None:
        """Make the rows staged since the last call findable by their numbers: BRIN summarises new
        pages only when vacuum or this asks, and reads every page it has not summarised."""
        if self.postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT brin_summarize_new_values(%s::regclass)", [self.rows + "_row_no"])

    def empty(self) -> None:
        """Forget what was staged (the lane declined part-way through a file). DELETE, not TRUNCATE:
        a writer in another connection may hold the tables open, and TRUNCATE would wait for it."""
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self.quoted_rows}")
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(self.rejects)}")

    def drop(self) -> None:
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {q(self.rows)}")
            cursor.execute(f"DROP TABLE IF EXISTS {q(self.rejects)}")

    def load(self, stream: BinaryIO) -> int:
        """Parse and validate every row into the staging tables; returns the rows read.

        On PostgreSQL a plain CSV file goes through the COPY lane (see `copy_lane`), which hands the
        rows it cannot judge in SQL back to `load_rows`; every other file, and one the lane declines,
        is read here, row by row. (`invoices.imports.pipeline` runs the lane beside the writes instead.)
        """
        layout = self.lane_layout(stream)
        if layout is not None:
            from invoices.imports.copy_lane import CopyLane

            rows_read = CopyLane(self, layout).load(stream, self.copy_progress)
            if rows_read is not None:
                return rows_read
        return self.load_python(stream)

    def lane_layout(self, stream: BinaryIO) -> CsvLayout | None:
        """The layout of a file the COPY lane can take (a plain CSV file, on PostgreSQL), else None."""
        if not self.postgres or reader_for(stream, self.batch.original_name) is not iter_csv:
            return None
        from invoices.imports.copy_lane import csv_layout

        layout = csv_layout(stream)
        if layout is not None:
            self.headers.update(layout.headers)
        return layout

    def load_python(self, stream: BinaryIO) -> int:
        """Parse and validate every row of the file in Python, from its start; the rows read."""
        stream.seek(0)
        reader = reader_for(stream, self.batch.original_name)
        size = max(self.batch.size, 1)
        rows = reader(stream, headers=self.headers) if reader in (iter_csv, iter_xlsx) else reader(stream)
        return self.load_rows(rows, progress=lambda rows: self._progress(rows, lambda: stream.tell() * 100 // size))

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
        # Saved from the parsing connection, while the import's own transaction may hold the batch's
        # row (a caller's transaction that claimed it): skip a locked row rather than wait for a
        # transaction that is waiting for this parse. Progress is only ever a sketch.
        with transaction.atomic():
            unlocked = ImportBatch.objects.filter(pk=self.batch.pk).select_for_update(skip_locked=True)
            ImportBatch.objects.filter(pk__in=unlocked).update(rows_processed=rows, progress_percent=done)

    def copy_progress(self, lines: int, offset: int) -> None:
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
        """Merge everything staged; what the merge did. Runs inside the caller's transaction."""
        new = self.add_new(self.summary())
        return self.merged_new(new) if new is not None else self.merge_into_existing()

    def summary(self, rows: tuple[int, int] | None = None) -> Staged:
        """How many rows are staged with numbers within `rows` (all of them without), and their keys'
        and issue dates' spans."""
        q = connection.ops.quote_name
        key, issue_date = q("invoice_key"), q("issue_date")
        with connection.cursor() as cursor, self._reading_rows(cursor, rows) as (where, bounds):
            cursor.execute(
                f"SELECT COUNT(*), MIN({key}), MAX({key}), MIN({issue_date}), MAX({issue_date}) "
                f"FROM {self.quoted_rows} {where}",
                bounds,
            )
            count, lowest, highest, first_day, last_day = cursor.fetchone()
        return Staged(rows, count, lowest, highest, _as_date(first_day), _as_date(last_day))

    def add_new(self, staged: Staged) -> NewRows | None:
        """Insert the `staged` rows (`summary`'s) as new invoices.

        A first import of a period (or of any range of keys we hold nothing in) only adds: one plain
        INSERT, without the change log, the UPDATE or the anti-join, each of which would join every
        staged row against the target for nothing. None, with nothing inserted, where the target
        already holds a key in the rows' range, or where the insert fails on the unique key (an
        invoice written meanwhile by someone else, or one the file holds twice): then only the
        general merge will do. Runs inside the caller's transaction.
        """
        if not staged.count:
            return NewRows()
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            if self._holds_keys_between(cursor, staged.lowest_key, staged.highest_key):
                return None
            columns, selected, values = self._insert_parts()
            try:
                with self._reading_rows(cursor, staged.rows) as (where, bounds):
                    cursor.execute(
                        f"INSERT INTO {q(self.model._meta.db_table)} ({columns}) "
                        f"SELECT {selected} FROM {self.quoted_rows} s {where}",
                        [*values, *bounds],
                    )
                    created = cursor.rowcount
            except IntegrityError:
                return None
            return NewRows(staged=staged.count, created=created, first_day=staged.first_day, last_day=staged.last_day)

    @contextmanager
    def _reading_rows(self, cursor, rows: tuple[int, int] | None) -> Iterator[tuple[str, list]]:
        """A savepoint for statements reading the staged rows numbered within `rows` (a block; all
        of them when None), giving the WHERE clause (on the rows as they are named, or aliased) and
        its parameters. A block's rows are read through the BRIN index: the planner has no
        statistics for the staging table, guesses it holds a handful of rows and would read it
        whole, each block's statement reading every block before it. SET LOCAL would outlive the
        savepoint, so it is undone at its end (a rollback to it undoes it too). A block's inserted
        rows are kept for the tally's trigger until the statement ends (`RecordTally`): in memory,
        rather than in a temporary file written and read back (a second per million rows)."""
        with transaction.atomic():
            if rows is None:
                yield "", []
                return
            with statement_settings(cursor, {"enable_seqscan": "off", "work_mem": "64MB"}):
                yield "WHERE row_no BETWEEN %s AND %s", list(rows)

    def merged_new(self, new: NewRows) -> MergeResult:
        """What the merge did, when every staged row was added as new by `add_new` (at once or in
        parts); keeps the rejected rows."""
        return MergeResult(
            created=new.created,
            updated=0,
            unchanged=new.staged - new.created,
            rejected=self._keep_rejections(),
            issued_from=new.first_day if new.created else None,
            issued_to=new.last_day if new.created else None,
        )

    @cached_property
    def written_at(self) -> datetime:
        """One time for every row this batch writes, however many statements write them."""
        return timezone.now()

    def _insert_parts(self) -> tuple[str, str, list]:
        """The target's columns, what to SELECT for them from the staged rows `s`, and its parameters."""
        q = connection.ops.quote_name
        tax_record = self.model is TaxRecord
        stamp = connection.ops.adapt_datetimefield_value(self.written_at)
        columns = (
            f"{q('company_id')}, {q('direction')}, {', '.join(q(f.column) for f in self.fields)}, "
            f"{q('batch_id')}, {q('created_at')}, {q('updated_at')}" + (f", {q('seen_at')}" if tax_record else "")
        )
        selected = f"%s, %s, {', '.join(f's.{q(f.column)}' for f in self.fields)}, %s, %s, %s" + (
            ", %s" if tax_record else ""
        )
        values = [self.batch.company_id, self.batch.direction, self.batch.pk, stamp, stamp]
        return columns, selected, values + ([stamp] if tax_record else [])

    def merge_into_existing(self) -> MergeResult:
        """The general merge: duplicates within the file rejected, changed invoices logged and
        updated, new ones inserted."""
        q = connection.ops.quote_name
        rows, rejects, target = q(self.rows), q(self.rejects), q(self.model._meta.db_table)
        company_id, direction, batch_id = self.batch.company_id, self.batch.direction, self.batch.pk
        key = q("invoice_key")
        match = f"t.{q('company_id')} = %s AND t.{q('direction')} = %s AND t.{key} = s.{key}"
        compared = [f for f in self.fields if f.name != "invoice_key"]
        distinct = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        differs = " OR ".join(f"t.{q(f.column)} {distinct} s.{q(f.column)}" for f in compared)
        now = self.written_at
        stamp = connection.ops.adapt_datetimefield_value(now)
        columns, selected, inserted = self._insert_parts()
        with connection.cursor() as cursor:
            if self.postgres:  # autovacuum would analyze the staged rows only later, if at all
                cursor.execute(f"ANALYZE {rows}")
            cursor.execute(f"SELECT COUNT(*) FROM {rows}")
            (staged,) = cursor.fetchone()
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
            first_day, last_day = self._written_span(cursor) if created + updated else (None, None)
        return MergeResult(
            created=created,
            updated=updated,
            unchanged=staged - created - updated,
            rejected=self._keep_rejections(),
            issued_from=_as_date(first_day),
            issued_to=_as_date(last_day),
        )

    def _keep_rejections(self) -> int:
        """Copy the reasons rows were rejected to the batch's report; how many rows were rejected (a
        row with two problems is one rejected row with two reasons)."""
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {q('invoices_importrejection')} ({q('batch_id')}, {q('row')}, {q('column')}, "
                f"{q('reason')}) SELECT %s, row_no, col, reason FROM {q(self.rejects)} ORDER BY row_no",
                [self.batch.pk],
            )
            if not cursor.rowcount:
                return 0
            cursor.execute(f"SELECT COUNT(DISTINCT row_no) FROM {q(self.rejects)}")
            return cursor.fetchone()[0]

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
        """Whether the target already has an invoice of this company and direction keyed in the range.

        Asked as "the first key from `lowest` on", in the unique key's order: only that index answers
        it at once. Asked as "any row in the range", the planner, trusting figures from before the
        import that promise many such rows, read the table from its start until it met one, and a
        new range has none: every block of a big import read the whole table."""
        q = connection.ops.quote_name
        company, direction, key = q("company_id"), q("direction"), q("invoice_key")
        cursor.execute(
            f"SELECT {key} <= %s FROM {q(self.model._meta.db_table)} WHERE {company} = %s AND {direction} = %s "
            f"AND {key} >= %s ORDER BY {company}, {direction}, {key} LIMIT 1",
            [highest, self.batch.company_id, self.batch.direction, lowest],
        )
        first = cursor.fetchone()
        return first is not None and bool(first[0])

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
