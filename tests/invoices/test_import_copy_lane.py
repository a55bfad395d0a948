"""The COPY lane stages exactly what the Python parser stages, row for row and message for message.

It is an optimisation (PostgreSQL parses and checks plain CSV files in bulk); these tests hold it to
the Python path as the reference: the same rows, values, row numbers, rejections and counts, for
files of usual rows, unusual rows, rows to reject and rows the lane must hand back to Python.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoices.imports import copy_lane
from invoices.imports.services import COMPARED_FIELDS, import_file
from invoices.imports.staging import Staging
from invoices.models import ImportBatch, ImportKind, Invoice
from tests.invoices.helpers import BUYER, SELLER, csv_bytes, usual_row

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY lane is PostgreSQL's"),
]


def staged(company, content: bytes, *, lane: bool, monkeypatch) -> dict:
    """What staging holds after loading `content` through the lane or through Python alone."""
    used = []
    real_load = copy_lane.CopyLane.load

    def spy(self, stream, progress):
        result = real_load(self, stream, progress)
        used.append(result is not None)
        return result

    with monkeypatch.context() as patch:
        patch.setattr(copy_lane.CopyLane, "load", spy)
        if not lane:
            patch.setattr(copy_lane, "csv_layout", lambda stream: None)
        batch = ImportBatch.objects.create(
            company=company, kind=ImportKind.BACKUP, direction="issued", original_name="b.csv", size=len(content)
        )
        stage = Staging(model=Invoice, batch=batch, compared=COMPARED_FIELDS)
        stage.create()
        try:
            read = stage.load(io.BytesIO(content))
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT * FROM {stage.quoted_rows} ORDER BY row_no")
                rows = cursor.fetchall()
                cursor.execute(f"SELECT row_no, col, reason FROM {stage.rejects} ORDER BY row_no, col, reason")
                rejects = cursor.fetchall()
        finally:
            stage.drop()
    return {"read": read, "rows": rows, "rejects": rejects, "lane": bool(used and used[-1])}


def both_ways(company, content: bytes, monkeypatch) -> dict:
    through_lane = staged(company, content, lane=True, monkeypatch=monkeypatch)
    through_python = staged(company, content, lane=False, monkeypatch=monkeypatch)
    assert not through_python["lane"]
    for part in ("read", "rows", "rejects"):
        assert through_lane[part] == through_python[part], part
    return through_lane


def test_a_plain_file_goes_through_the_lane_with_the_same_result(beijing, monkeypatch):
    result = both_ways(beijing, csv_bytes([usual_row(n) for n in range(1, 40)], encoding="gb18030"), monkeypatch)
    assert result["lane"] and result["read"] == 39 and len(result["rows"]) == 39 and not result["rejects"]


def test_unusual_and_bad_rows_go_to_python_inside_the_lane(beijing, monkeypatch):
    rows = [
        usual_row(1),
        usual_row(2, digital="'25112000000000000002"),  # Excel's apostrophe: folded by Python
        usual_row(3, amount="¥1000.00", total=""),  # a currency sign: the cast fails, the screened retry runs
        usual_row(4, date="2025-02-30"),  # no such day
        usual_row(5, date="2025-03-01T09:30:00"),
        usual_row(6, date="2025-03-01"),
        usual_row(7, date=" 2025-03-01 "),
        usual_row(8, seller="91110108MA01B2C3D1"),  # check digit wrong
        usual_row(9, total="1130.01"),
        usual_row(10, rate="免税", status="作废", type=""),
        usual_row(11, amount="NaN"),
        usual_row(12, code="011002400111", number="00012345", digital=""),
        usual_row(13, code="011002400111", number="0001234", digital=""),
        ["", "", "", "", "", "", "", "", "", "", "", "", "", ""],  # blank
        usual_row(14, digital="-", amount="-", tax="-", total="-"),  # a summary row
        usual_row(15, date="2025-03-01 24:00:00"),
        usual_row(16, amount="1e3", tax="130", total="1130"),
        usual_row(17, buyer_name="  带空格的名称  ", seller_name="x" * 250),
        usual_row(18, date="1991-06-01 12:00:00"),
        usual_row(1),  # the same invoice twice: the merge, not staging, rejects it
    ]
    result = both_ways(beijing, csv_bytes(rows, newline="\r\n") + b"\r\n", monkeypatch)
    assert result["lane"]
    # Row numbers count the header as row 1: usual_row(n) is row n + 1.
    rejected = [(row_no, column) for row_no, column, _reason in result["rejects"]]
    assert rejected == [
        (5, "issue_date"), (9, "seller_tax_id"), (10, "total"), (12, "amount"), (14, "invoice_number"),
        (17, "issue_date"),
    ]  # fmt: skip
    assert result["read"] == 18  # 20 rows, less the blank and the summary row


def test_quotes_or_ragged_rows_make_the_lane_decline_with_the_same_result(beijing, monkeypatch):
    quoted = csv_bytes([usual_row(1), usual_row(2, buyer_name='"闽江, 贸易"')])
    assert not both_ways(beijing, quoted, monkeypatch)["lane"]
    ragged = csv_bytes([usual_row(1), usual_row(2)[:-2]])
    assert not both_ways(beijing, ragged, monkeypatch)["lane"]


def test_an_amount_numeric_input_refuses_even_behind_the_screen_declines(beijing, monkeypatch):
    # "1.2.3" is digits and points only, and no number: the quick screen lets it by, the cast fails,
    # the plain-number screen stops it, and Python rejects the row.
    result = both_ways(beijing, csv_bytes([usual_row(1), usual_row(2, amount="1.2.3")]), monkeypatch)
    assert result["lane"] and [r[0] for r in result["rejects"]] == [3]


def test_an_import_through_the_lane_reports_like_any_other(beijing):
    content = csv_bytes([usual_row(n) for n in range(1, 6)] + [usual_row(6, amount="abc")], encoding="utf-8-sig")
    report = import_file(company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=content)
    batch = report.batch
    assert (batch.state, batch.rows_read, batch.rows_created, batch.rows_rejected) == ("succeeded", 6, 5, 1)
    assert str(batch.issued_from) == str(batch.issued_to) == "2025-03-01"
    assert Invoice.objects.filter(company=beijing).count() == 5


def mostly(usual, odd):
    """The usual value nine times in ten, so that most generated rows reach the lane's statement."""
    return st.sampled_from([True] * 9 + [False]).flatmap(lambda is_usual: usual if is_usual else odd)


NUMBER = st.one_of(
    st.just(""), st.from_regex(r"[0-9]{1,21}", fullmatch=True), st.sampled_from(["-", "'1", "１２", " 1"])
)
DIGITAL = st.integers(1, 10**7).map(lambda n: f"2511200000000{n:07d}")
CELLS = {
    "code": mostly(st.just(""), st.sampled_from(["011002400111", "0110024001", "01100240011", "x"])),
    "number": mostly(st.just(""), NUMBER),
    "digital": mostly(DIGITAL, NUMBER),
    "date": mostly(
        st.datetimes(min_value=datetime(1988, 1, 1), max_value=datetime(2100, 12, 31, 23, 59, 59)).map(
            lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
        ),
        st.one_of(
            st.dates(min_value=date(1985, 1, 1), max_value=date(2200, 1, 1)).map(str),
            st.sampled_from(["2024-02-29", "2025-02-29", "2025-04-31 10:00:00", "2025-01-01T23:59:59", "2025/01/01"]),
            st.sampled_from(["2025-01-01 24:00:00", "2025-01-01 23:59:60", "1991-09-15 01:30:00", "2025-01-01 ", ""]),
        ),
    ),
    "seller": mostly(st.just(SELLER), st.sampled_from([BUYER, "", "91110108MA01B2C3D1", "91110108ma01b2c3d0", "1"])),
    "seller_name": mostly(st.just("北京华信"), st.text(alphabet="北京华信 \t\u3000x", max_size=8)),
    "buyer": mostly(st.just(BUYER), st.sampled_from(["", "91350100M000100Y4X", " " + BUYER])),
    "buyer_name": st.text(alphabet="福州闽江 x", max_size=8),
    "amount": mostly(
        st.decimals(min_value=-(10**14), max_value=10**14, places=2).map(str),
        st.one_of(
            st.decimals(min_value=-(10**15), max_value=10**15, places=3).map(str),
            st.sampled_from(["", "-", ".", ".5", "5.", "1e3", "NaN", "1.2.3", "0.005", "-0.005", "+1", "1_0", "¥1"]),
        ),
    ),
    "tax": mostly(st.decimals(min_value=-1000, max_value=1000, places=2).map(str), st.sampled_from(["", "x", "1e2"])),
    "total": st.just(""),
    "rate": mostly(st.sampled_from(["13%", "6%"]), st.sampled_from(["0.13", "13", "", "免税", "***", "abc", " 9% "])),
    "type": mostly(st.just("数电票（普通发票）"), st.sampled_from(["", "专票", "01", "未知", " 普票 "])),
    "status": mostly(st.just("正常"), st.sampled_from(["", "作废", "红冲", "未知", " 正常"])),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.fixed_dictionaries(CELLS), min_size=1, max_size=12),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_any_file_stages_the_same_through_the_lane_and_through_python(beijing, monkeypatch, rows, encoding, newline):
    for n, row in enumerate(rows):
        if n % 3 != 2:  # most rows state their total, and most of those state it right
            try:
                row["total"] = str(Decimal(row["amount"]) + Decimal(row["tax"]) + (n % 5 == 4))
            except ArithmeticError:
                row["total"] = "1"
    content = b"\xef\xbb\xbf" if encoding == "utf-8-sig" else b""
    content += csv_bytes(
        [[row[cell] for cell in CELLS] for row in rows], encoding=encoding.replace("-sig", ""), newline=newline
    )
    both_ways(beijing, content, monkeypatch)


def test_the_lane_saves_progress_between_its_blocks(beijing, monkeypatch):
    saved = []
    real_progress = Staging._progress

    def spy(self, rows, percent):
        saved.append((rows, percent()))
        real_progress(self, rows, percent)

    monkeypatch.setattr(Staging, "_progress", spy)
    monkeypatch.setattr(copy_lane, "COPY_BLOCK", 2000)  # bytes per COPY statement
    monkeypatch.setattr(copy_lane, "READ_BYTES", 1000)
    content = csv_bytes([usual_row(n) for n in range(1, 60)])
    report = import_file(company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=content)
    assert report.batch.rows_created == 59
    assert len(saved) > 3
    assert saved == sorted(saved) and saved[-1][0] == 59  # rows and percent only grow; every line counted
    assert all(0 < percent <= 90 for _rows, percent in saved)  # the merge is still to come
