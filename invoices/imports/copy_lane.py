"""The COPY lane: a plain CSV file parsed and checked by PostgreSQL instead of row by row in Python.

Python reads a row in about 15 µs, several times what writing it costs; a million-row backup spent
most of its import there. Most big files are machine-written: no quoting, every cell in its usual
form. For those, PostgreSQL's COPY parses the CSV (and decodes GBK) in C into a table of raw text
cells, a block of the file at a time, and one statement per block moves every row whose cells are
all in their usual form into the staging table, normalised by SQL that gives exactly what
`validate_row` gives for such a row. What is left
(anything unusual, and every row to reject) then goes through `validate_row` itself, so the rules and
their messages stay in one place.

Cells with few distinct values (the parties, names, rate, type and status) are not checked in SQL at
all: their distinct combinations, usually a few thousand, go through the same Python functions
`validate_row` uses, and rows join the answers. Dates and times join tables of every valid value.

The lane declines a file, and the Python parser reads all of it, wherever COPY's CSV rules and
Python's could read it differently: a double quote, NUL, a "\\." line, a row with more or fewer cells
than the header, bytes that do not decode, an amount PostgreSQL's numeric input refuses.
"""

# ruff: noqa: S608 -- only generated column names are interpolated; values go as parameters or COPY.
from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import psycopg2
from django.db import DatabaseError, connection, transaction

from invoices.imports.parsers import (
    MAX_AMOUNT,
    FileRefused,
    clean_buyer_id,
    clean_invoice_type,
    clean_name,
    clean_status,
    clean_tax_id,
    clean_tax_rate,
    detect_encoding,
    header_names,
    is_blank,
    map_header,
    require_columns,
)
from invoices.imports.staging import DEFAULT_TYPE, copy_text
from invoices.models import SELLER_ID_OPTIONAL_TYPES
from outage_portal.sql import transaction_settings

logger = logging.getLogger(__name__)

HEAD_BYTES = 65536  # where the header is looked for (its encoding is judged on the file, not this)
COPY_BLOCK = 8 * 1024 * 1024  # bytes per block: copied, judged, staged, then handed to the writer
MAX_LINE_BYTES = 4 * 1024 * 1024  # no invoice row is near this; a longer "line" is left to Python to refuse
READ_BYTES = 1024 * 1024  # what COPY asks for at a time: checked while PostgreSQL parses the last
PG_ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "gb18030": "GB18030"}
# Cells judged by their distinct values, in Python, with validate_row's own functions.
FEW_VALUED = ("seller_tax_id", "seller_name", "buyer_tax_id", "buyer_name", "tax_rate", "invoice_type", "status")
_BLANK_LINE = re.compile(rb"(?m)^(?=\r?\n)")
# A regular expression: `b"\n\n" in data` steps through a piece about a byte at a time (its first byte
# ends every line); with the search for a backslash pair, 0.3 s of the 0.65 s a million rows spent here.
_BLANK_LINE_INSIDE = re.compile(rb"\n\r?\n")


@dataclass(frozen=True)
class CsvLayout:
    encoding: str  # PostgreSQL's name for it
    data_offset: int  # where the first row after the header starts, in bytes
    first_row: int  # that row's number as `iter_csv` counts rows (the header's plus one)
    width: int  # cells in the header, which every row must have
    columns: dict[str, int]  # field → cell index
    headers: dict[str, str]  # field → the header cell as the file wrote it


def csv_layout(stream: BinaryIO) -> CsvLayout | None:
    """The layout of a CSV file the lane can take, or None (then the Python parser reads it)."""
    try:
        encoding = detect_encoding(stream)
    except FileRefused:
        return None
    # Only whole lines of this head are read: no character spans a line's end in UTF-8 or GB18030.
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    offset = 3 if encoding == "utf-8-sig" else 0
    for number in range(1, 11):  # iter_csv looks for the header in the first ten rows too
        end = head.find(b"\n", offset)
        line = head[offset:end]
        if end < 0 or b'"' in line or b"\x00" in line or b"\r" in line[:-1]:
            return None
        try:
            cells = line.decode("utf-8" if encoding == "utf-8-sig" else encoding).rstrip("\r").split(",")
        except UnicodeDecodeError:
            return None
        offset = end + 1
        mapping = map_header(cells)
        if mapping:
            try:
                require_columns(mapping)
            except FileRefused:
                return None
            return CsvLayout(
                encoding=PG_ENCODINGS[encoding],
                data_offset=offset,
                first_row=number + 1,
                width=len(cells),
                columns={field: index for index, field in mapping.items()},
                headers=header_names(cells, mapping),
            )
    return None


class CopyLane:
    """Loads one CSV file into `staging`'s tables through COPY; `load` returns None if it declines."""

    def __init__(self, staging, layout: CsvLayout):
        self.staging = staging
        self.layout = layout
        prefix = f"invoice_import_{staging.batch.pk}"
        self.raw, self.combos, self.days, self.times = (f"{prefix}_{n}" for n in ("raw", "combos", "days", "times"))
        self.cells = [f"c{i}" for i in range(layout.width)]

    def cell(self, field: str) -> str:
        index = self.layout.columns.get(field)
        return f"r.c{index}" if index is not None else "''"

    def load(
        self,
        stream: BinaryIO,
        progress: Callable[[int, int], None],
        staged: Callable[[int, int], None] | None = None,
    ) -> int | None:
        """Rows read (blank and summary rows not counted), or None when the lane declines the file.

        Block by block: each block of the file is copied, judged and staged before the next is read,
        and then `staged(first_row, last_row)` hears of it, so that a writer in another connection
        can store those rows while this one reads on (`invoices.imports.pipeline`). A file declined part-way
        leaves the staging tables empty again, for the Python parser to fill from the start.
        """
        spent = dict.fromkeys(("copy", "judge", "move", "python"), 0.0)
        combinations = rows = 0

        def timed(step: str, started: float) -> float:
            now = time.perf_counter()
            spent[step] += now - started
            return now

        try:
            self._create()
            stream.seek(self.layout.data_offset)
            lines = _CheckedLines(stream, empty_row=b"," * (self.layout.width - 1))
            first_row = self.layout.first_row
            while not lines.ended:
                started = time.perf_counter()
                copied = self._copy(lines)
                if not copied:
                    continue  # the file ended on the last block's boundary
                last_row = first_row + copied - 1
                started = timed("copy", started)
                combinations += self._judge_combinations()
                started = timed("judge", started)
                moved = self._move_usual_rows()
                started = timed("move", started)
                if moved < copied:
                    moved += self.staging.load_rows(self._unusual_rows(first_row, last_row))
                    timed("python", started)
                rows += moved
                self.staging.index_new_rows()
                self._empty_raw()
                progress(lines.count, stream.tell())
                if staged is not None:
                    staged(first_row, last_row)
                first_row = last_row + 1
        except Declined:
            self.staging.empty()
            return None
        finally:
            self._drop()
        logger.info(
            "copy lane, batch %s: %d rows; copied in %.2fs, %d combinations judged in %.2fs, moved in %.2fs, "
            "unusual rows read by Python in %.2fs",
            self.staging.batch.pk, rows, spent["copy"], combinations, spent["judge"], spent["move"], spent["python"],
        )  # fmt: skip
        return rows

    # -- tables ------------------------------------------------------------------------------------
    def _create(self) -> None:
        """The raw cells (one block at a time), the judged combinations and the calendar: temporary,
        this connection's own."""
        self._drop()
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.raw} (row_no integer GENERATED ALWAYS AS IDENTITY "
                f"(START WITH {self.layout.first_row}), {', '.join(f'{c} text NOT NULL' for c in self.cells)})"
            )
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.combos} ("
                + ", ".join(f"raw_{field} text NOT NULL" for field in FEW_VALUED)
                + ", seller_tax_id text NOT NULL, seller_name text NOT NULL, buyer_tax_id text NOT NULL, "
                "buyer_name text NOT NULL, tax_rate numeric(5, 4), invoice_type text NOT NULL, status text NOT NULL)"
            )
        self._calendar()

    def _empty_raw(self) -> None:
        # TRUNCATE keeps the identity counting on: the next block's rows carry on the file's numbering.
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {self.raw}")

    def _drop(self) -> None:
        with connection.cursor() as cursor:
            for table in (self.raw, self.combos, self.days, self.times):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")

    # -- 1. COPY -----------------------------------------------------------------------------------
    def _copy(self, lines: _CheckedLines) -> int:
        """COPY the next block of whole lines into the raw table; the rows copied. Raises Declined
        where COPY would read the block differently from Python."""
        columns = ", ".join(self.cells)
        statement = (
            f"COPY {self.raw} ({columns}) FROM STDIN WITH (FORMAT csv, ENCODING '{self.layout.encoding}', "
            f"FORCE_NOT_NULL ({columns}))"
        )
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.copy_expert(statement, _Block(lines, COPY_BLOCK), size=READ_BYTES)
                return cursor.rowcount
        # A quote or NUL in the file, ragged rows, undecodable bytes, mixed line ends: Python's turn.
        # (copy_expert is psycopg2's own, so its errors come unwrapped.)
        except (DatabaseError, psycopg2.Error) as error:
            raise Declined from error

    # -- 2. the few-valued cells, judged once per distinct combination --------------------------------
    def _judge_combinations(self) -> int:
        """Judge the block's combinations not judged in an earlier block; how many were judged.
        (A refused combination is not kept: it comes back with each block that holds it, to be
        refused again; the rows holding it go to Python.)"""
        raw_cells = [self.cell(field) for field in FEW_VALUED]
        known = " AND ".join(f"k.raw_{field} = {cell}" for field, cell in zip(FEW_VALUED, raw_cells, strict=True))
        judged_rows: list[list] = []
        count = 0
        with connection.chunked_cursor() as distinct:
            distinct.execute(
                f"SELECT DISTINCT {', '.join(raw_cells)} FROM {self.raw} r "
                f"WHERE NOT EXISTS (SELECT 1 FROM {self.combos} k WHERE {known})"
            )
            while chunk := distinct.fetchmany(2000):
                count += len(chunk)
                for combination in chunk:
                    judged = self._judge(dict(zip(FEW_VALUED, combination, strict=True)))
                    if judged is not None:
                        judged_rows.append([*combination, *judged])
        if judged_rows:
            with connection.cursor() as cursor:
                cursor.copy_expert(f"COPY {self.combos} FROM STDIN", io.StringIO(copy_text(judged_rows)))
                cursor.execute(f"ANALYZE {self.combos}")
        return count

    def _judge(self, cells: dict[str, str]) -> list | None:
        """The cleaned values, as validate_row would clean them, or None if any of them is refused."""
        kind, kind_problem = clean_invoice_type(cells["invoice_type"], default_type=DEFAULT_TYPE)
        seller, seller_problem = clean_tax_id(cells["seller_tax_id"], required=kind not in SELLER_ID_OPTIONAL_TYPES)
        buyer, buyer_problem = clean_buyer_id(cells["buyer_tax_id"])
        rate, rate_problem = clean_tax_rate(cells["tax_rate"])
        status, status_problem = clean_status(cells["status"])
        if seller_problem or buyer_problem or rate_problem or kind_problem or status_problem:
            return None
        return [seller, clean_name(cells["seller_name"]), buyer, clean_name(cells["buyer_name"]), rate, kind, status]

    # -- 3. every usual row moved by one statement ------------------------------------------------------
    def _move_usual_rows(self) -> int:
        """Copy the block's rows validate_row takes as they are into staging; how many.

        The amounts are cast as they are: PostgreSQL's numeric input reads the same value as
        `parse_money` from every cell it accepts, but it refuses a cell such as "1,234.00" by failing
        the whole statement. Then the statement runs again behind a screen that lets only plain
        numbers through, and the other rows go to Python.
        """
        for screen in self._money_screens():
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    return self._move(cursor, money_screen=screen)
            except DatabaseError:
                continue
        raise Declined

    def _money_screens(self) -> list[Callable[[str], str]]:
        """Conditions on one amount cell: first none at all, then one that lets only plain numbers
        (at most 14 + 2 digits) by."""

        def plain(cell: str) -> str:
            return f"{cell} ~ '^-?([0-9]{{1,14}}(\\.[0-9]{{0,2}})?|\\.[0-9]{{1,2}})$'"

        if connection.pg_version < 160000:
            return [lambda cell: "true", plain]
        # From PostgreSQL 16 numeric input also reads "0x1A", "0o17" and "0b101"; Python does not.
        return [lambda cell: f"ltrim({cell}, '0123456789.-+eE ') = ''", plain]

    def _move(self, cursor, *, money_screen: Callable[[str], str]) -> int:
        """Each condition admits only cells `validate_row` reads as they are (or, for amounts, reads
        to the same value), and each value is what it makes of them. Each amount is cast once, behind
        its own check, in a CASE, whose order PostgreSQL keeps; conditions joined by AND it may
        evaluate in any order. The row's conditions sit in one CASE too, the only condition on its
        own cells: as separate conditions, the planner would multiply their guessed selectivities
        and plan for a handful of rows."""
        cell = self.cell
        digital, code, number = cell("digital_number"), cell("invoice_code"), cell("invoice_number")
        issued = cell("issue_date")

        def digits(sql: str) -> str:
            return f"{sql} !~ '[^0-9]'"  # a quarter cheaper than ltrim(cell, '0123456789') = ''

        def amount(sql: str) -> str:
            return f"CASE WHEN {sql} <> '' AND {money_screen(sql)} THEN {sql}::numeric(16, 2) END"

        numbers = f"""({digital} = '' OR (length({digital}) = 20 AND {digits(digital)}))
            AND ({code} = '' OR (length({code}) IN (10, 12) AND {digits(code)}))
            AND ({number} = '' OR (length({number}) <= 20 AND {digits(number)}
                                  AND ({code} = '' OR length({number}) = 8)))
            AND ({digital} <> '' OR {number} <> '')"""
        # A date alone, or date, " " or "T", and a time: `t.at` is null for the empty time only.
        clock = f"""CASE WHEN t.at IS NULL THEN length({issued}) = 10
                    ELSE length({issued}) = 19 AND substr({issued}, 11, 1) IN (' ', 'T') END"""
        # Below MAX_AMOUNT, as parse_money wants each amount and the column the total; NaN, which
        # numeric input accepts and Python does not, is above every number in PostgreSQL. An amount
        # is null where its cell is empty or, behind a screen, not let through.
        usual = f"""CASE WHEN NOT ({numbers}) OR NOT ({clock}) OR r.amount IS NULL OR r.tax IS NULL THEN false
                 WHEN {cell("total")} = '' THEN abs(r.amount + r.tax) < {MAX_AMOUNT}
                 WHEN r.total IS NULL THEN false
                 ELSE r.total = r.amount + r.tax AND abs(r.total) < {MAX_AMOUNT} END"""
        staging = self.staging
        values = {
            "row_no": "r.row_no",
            # The 数电 number if there is one, else code and number (8 digits whenever there is a code).
            "invoice_key": f"CASE WHEN {digital} <> '' THEN {digital} ELSE {code} || {number} END",
            "invoice_code": code,
            "invoice_number": number,
            "digital_number": f"CASE WHEN {digital} <> '' THEN {digital} "
            f"WHEN {code} = '' AND length({number}) = 20 THEN {number} ELSE '' END",
            "issue_date": "d.day",
            "issued_at": "d.midnight + t.at",
            "seller_tax_id": "k.seller_tax_id",
            "seller_name": "k.seller_name",
            "buyer_tax_id": "k.buyer_tax_id",
            "buyer_name": "k.buyer_name",
            "amount": "r.amount",
            "tax": "r.tax",
            "total": "r.amount + r.tax",
            "tax_rate": "k.tax_rate",
            "invoice_type": "k.invoice_type",
            "status": "k.status",
        }
        same_combination = " AND ".join(f"k.raw_{field} = {cell(field)}" for field in FEW_VALUED)
        # jit off: compiling this statement costs more than it saves. work_mem: the day and time
        # tables hash in one batch. join_collapse_limit 1: joined in the order written, the
        # combinations last: the planner cannot estimate that join (it expects almost no rows out of
        # it) and, anywhere but last, would then plan the calendar joins for a handful of rows,
        # hashing a million to join a few thousand days to them.
        transaction_settings(cursor, {"jit": "off", "work_mem": "64MB", "join_collapse_limit": "1"})
        # OFFSET 0 keeps the subquery whole: flattened into the outer query, each use of an amount
        # would cast its cell again.
        cursor.execute(
            f"""INSERT INTO {staging.quoted_rows} ({", ".join(staging.column(n) for n in staging.names)})
            SELECT {", ".join(values[name] for name in staging.names)}
            FROM (SELECT r.*, {amount(cell("amount"))} AS amount, {amount(cell("tax"))} AS tax,
                         {amount(cell("total"))} AS total
                  FROM {self.raw} r OFFSET 0) r
            JOIN {self.days} d ON d.text = left({issued}, 10)
            JOIN {self.times} t ON t.text = substr({issued}, 12)
            JOIN {self.combos} k ON {same_combination}
            WHERE {usual}"""
        )
        return cursor.rowcount

    def _calendar(self) -> None:
        """Every date `validate_row` takes in its usual form, and every time of day (or none).

        From 1992: Shanghai kept daylight saving time until 1991, and a clock time inside a change
        may be read differently here and in Python; those rows take the Python path.
        """
        with connection.cursor() as cursor:
            cursor.execute(
                f"""CREATE TEMPORARY TABLE {self.days} AS
                SELECT to_char(g, 'YYYY-MM-DD') AS text, g::date AS day,
                       g::date::timestamp AT TIME ZONE 'Asia/Shanghai' AS midnight
                FROM generate_series(DATE '1992-01-01', DATE '2100-12-31', INTERVAL '1 day') g"""
            )
            cursor.execute(
                f"""CREATE TEMPORARY TABLE {self.times} AS
                SELECT '' AS text, NULL::interval AS at
                UNION ALL
                SELECT to_char(TIME '00:00' + s * INTERVAL '1 second', 'HH24:MI:SS'), s * INTERVAL '1 second'
                FROM generate_series(0, 86399) s"""
            )
            cursor.execute(f"ANALYZE {self.days}")
            cursor.execute(f"ANALYZE {self.times}")

    # -- 4. the rest, through validate_row ----------------------------------------------------------
    def _unusual_rows(self, first_row: int, last_row: int):
        """(row number, {field: cell}) of each row of the block not moved, skipping all-blank ones as
        iter_csv does."""
        fields = list(self.layout.columns.items())
        with transaction.atomic(), connection.chunked_cursor() as cursor:
            with connection.cursor() as settings:
                # The block's staged row numbers hashed once: the planner knows nothing of the staging
                # table and may otherwise probe its BRIN index, a whole block of pages, once per row.
                transaction_settings(settings, {"enable_nestloop": "off", "work_mem": "64MB"})
            cursor.execute(
                f"SELECT row_no, {', '.join(self.cells)} FROM {self.raw} r WHERE NOT EXISTS "
                f"(SELECT 1 FROM {self.staging.quoted_rows} s WHERE s.row_no = r.row_no "
                "AND s.row_no BETWEEN %s AND %s) ORDER BY row_no",
                [first_row, last_row],
            )
            while chunk := cursor.fetchmany(2000):
                for row_no, *cells in chunk:
                    if not is_blank(cells):
                        yield row_no, {field: cells[index] for field, index in fields}


class Declined(Exception):
    """The file holds something COPY would read differently from Python's csv module."""


class _CheckedLines:
    """The file's remaining bytes in pieces of whole lines, each checked before COPY sees it."""

    def __init__(self, stream: BinaryIO, *, empty_row: bytes):
        self.stream = stream
        self.empty_row = empty_row
        self.carry = b""
        self.ended = False
        self.count = 0  # lines handed out

    def piece(self, size: int) -> bytes:
        while not self.ended:
            block = self.stream.read(size)
            data = self.carry + block
            if block:
                cut = data.rfind(b"\n") + 1
                if not cut:
                    if len(data) > MAX_LINE_BYTES:  # csv.reader refuses such a field too
                        raise Declined
                    self.carry = data  # one line longer than a read: read on
                    continue
                data, self.carry = data[:cut], data[cut:]
            else:
                self.carry, self.ended = b"", True
            # Pieces end at a line's end, so none of these can straddle two of them.
            # A backslash looked for first: one byte is found by memchr, a pair only a byte at a time.
            if b'"' in data or b"\x00" in data or (b"\\" in data and b"\\." in data):
                raise Declined
            if data[:1] in (b"\n", b"\r") or _BLANK_LINE_INSIDE.search(data):
                # COPY refuses an empty line; iter_csv skips it but counts it. An all-empty row keeps
                # the count, and the pass over the unusual rows skips it as iter_csv does.
                data = _BLANK_LINE.sub(self.empty_row, data)
            self.count += data.count(b"\n")
            if data:
                return data
        return b""


class _Block:
    """What one COPY statement reads: pieces of whole lines until `limit` bytes have gone."""

    def __init__(self, lines: _CheckedLines, limit: int):
        self.lines = lines
        self.left = limit

    def read(self, size: int = READ_BYTES) -> bytes:
        if self.left <= 0:
            return b""
        piece = self.lines.piece(size)
        self.left -= len(piece)
        return piece
