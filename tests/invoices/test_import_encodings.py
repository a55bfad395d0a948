"""A file's encoding is judged on whole characters, wherever a buffer happens to end.

Every boundary the import reads at is tried with a character cut by it, at each of its bytes: the
sample the encoding is judged on (Python path and COPY lane alike), the lane's reads and its COPY
blocks (shrunk here so small files cross many), and, at their real sizes, the 64 KB sample and the
lane's 1 MB reads. GBK's two-byte characters, GB18030's four-byte ones and UTF-8's three-byte ones.
"""

from __future__ import annotations

import io

import pytest
from django.db import connection

from invoices.imports import copy_lane, parsers
from invoices.imports.parsers import FileRefused, detect_encoding
from invoices.imports.services import COMPARED_FIELDS, import_file
from invoices.imports.staging import Staging
from invoices.models import BatchState, ImportBatch, ImportKind, Invoice

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY lane is PostgreSQL's")

SELLER = "91110108MA01B2C3D0"
BUYER = "91350100M000100Y43"
HEADER = "发票代码,发票号码,数电发票号码,开票日期,销方识别号,销方名称,购方识别号,购买方名称,金额,税额,价税合计,税率,发票票种,发票状态\r\n"  # noqa: E501
# (encoding, a character, its width): GBK two bytes; GB18030 four bytes (a CJK extension A character,
# which GBK lacks); UTF-8 three bytes.
CHARACTERS = [("gbk", "华", 2), ("gb18030", "㐀", 4), ("utf-8", "华", 3)]


def row(serial: int, seller_name: str = "北京华信科技有限公司", buyer_name: str = "福州闽江贸易有限公司") -> str:
    return (
        f",,2511200000000{serial:07d},2025-03-01 09:30:00,{SELLER},{seller_name},{BUYER},{buyer_name},"
        "1000.00,130.00,1130.00,13%,数电发票（增值税专用发票）,正常\r\n"
    )


def file_cut_at(boundary: int, encoding: str, char: str, into: int, *, after: int = 5) -> tuple[bytes, str]:
    """A CSV file in `encoding` whose byte `boundary` falls `into` bytes inside `char` (0: on its start).
    The character opens one row's buyer name, the seller name before it pads the row to place it;
    the file, and that buyer name."""
    width = len(char.encode(encoding))
    assert 0 <= into < width
    content = HEADER.encode(encoding)
    serial = 1
    while len(content) < boundary - 400:
        content += row(serial).encode(encoding)
        serial += 1
    before = row(serial, "\x00").encode(encoding).split(b"\x00")[0]
    between = row(serial, "", "\x00").encode(encoding).split(b"\x00")[0][len(before) :]
    pad = boundary - into - len(content) - len(before) - len(between)
    assert pad >= 0, "boundary too close to the header"
    name = char + "有限公司"
    marked = content + row(serial, "A" * pad, name).encode(encoding)
    assert marked[boundary - into : boundary - into + width] == char.encode(encoding)
    for more in range(serial + 1, serial + 1 + after):
        marked += row(more).encode(encoding)
    return marked, name


def cut_cases(boundary: int):
    return [
        pytest.param(boundary, encoding, char, into, id=f"{encoding}-{boundary}-{into}")
        for encoding, char, width in CHARACTERS
        for into in range(width)
    ]


# --- the judgement itself -----------------------------------------------------------------------
@pytest.mark.parametrize(("boundary", "encoding", "char", "into"), cut_cases(parsers.SAMPLE_BYTES))
def test_the_encoding_is_judged_on_whole_characters_at_the_sample_end(boundary, encoding, char, into):
    content, _name = file_cut_at(boundary, encoding, char, into)
    expected = "utf-8" if encoding == "utf-8" else "gb18030"
    assert detect_encoding(io.BytesIO(content)) == expected


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_a_file_plain_ascii_for_its_first_sample_is_judged_on_what_follows(encoding):
    content = b"invoice number,issue date,amount,tax\r\n" + b"12345678,2025-03-01,1.00,0.13\r\n" * 5000
    content += "12345679,2025-03-01,1.00,0.13,华信\r\n".encode(encoding)
    assert len(content) > 2 * parsers.SAMPLE_BYTES
    assert detect_encoding(io.BytesIO(content)) == ("utf-8" if encoding == "utf-8" else "gb18030")


@pytest.mark.parametrize(("boundary", "encoding", "char", "into"), cut_cases(parsers.SAMPLE_BYTES))
def test_a_file_whose_first_chinese_is_cut_by_the_sample_end_imports(beijing, boundary, encoding, char, into):
    """Plain ASCII up to the sample's end, where its first Chinese character is cut: the bytes the
    sample holds of it decide nothing (in UTF-8 they may be the start of a GBK character and the
    reverse); the next sample does."""
    header = b"invoice number,issue date,seller tax id,amount,tax,buyer name\r\n"
    line = f"1{{:07d}},2025-03-01,{SELLER},100.00,13.00,ACME\r\n"
    content, serial = header, 1
    while len(content) < boundary - 200:
        content += line.format(serial).encode()
        serial += 1
    last = f"1{serial:07d},2025-03-01,{SELLER},100.00,13.00,".encode()
    pad = boundary - into - len(content) - len(last)
    name = "A" * pad + char + "有限公司"
    content += last + (name + "\r\n").encode(encoding)
    assert content[boundary - into :].startswith(char.encode(encoding))
    assert detect_encoding(io.BytesIO(content)) == ("utf-8" if encoding == "utf-8" else "gb18030")
    batch = imported(beijing, content)
    assert batch.state == BatchState.SUCCEEDED, batch.failure_reason
    assert Invoice.objects.get(invoice_number=f"1{serial:07d}").buyer_name == name[:200]


def test_a_bom_or_an_empty_file_and_bytes_of_neither_encoding():
    assert detect_encoding(io.BytesIO("\ufeff发票号码".encode())) == "utf-8-sig"
    assert detect_encoding(io.BytesIO(b"")) == "utf-8"
    with pytest.raises(FileRefused):
        detect_encoding(io.BytesIO(b"\xff\xfe\x00\x00" * 100))  # UTF-32: neither


# --- the Python path ----------------------------------------------------------------------------
def imported(company, content: bytes) -> ImportBatch:
    report = import_file(
        company=company, kind=ImportKind.BACKUP, direction="issued", filename="备份.csv", content=content
    )
    return report.batch


@pytest.mark.parametrize(("boundary", "encoding", "char", "into"), cut_cases(parsers.SAMPLE_BYTES))
def test_a_file_cut_inside_a_character_at_64_kb_imports_whole(beijing, monkeypatch, boundary, encoding, char, into):
    monkeypatch.setattr(copy_lane, "csv_layout", lambda stream: None)  # the Python path alone
    content, name = file_cut_at(boundary, encoding, char, into)
    batch = imported(beijing, content)
    assert batch.state == BatchState.SUCCEEDED, batch.failure_reason
    assert batch.rows_rejected == 0 and batch.rows_created == Invoice.objects.count()
    assert Invoice.objects.filter(buyer_name=name).count() == 1


@pytest.mark.parametrize("size", [100, 4095, 8191, 8193, 65535, 65537, 131072 + 7, 300_001])
@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8"])
def test_files_of_many_sizes_import_in_either_encoding(beijing, size, encoding):
    char = "㐀" if encoding == "gb18030" else "华"
    rows = []
    serial = 1
    total = len(HEADER.encode(encoding))
    while total < size or not rows:
        line = row(serial, f"{char}{serial}号有限公司").encode(encoding)
        rows.append(line)
        total += len(line)
        serial += 1
    content = HEADER.encode(encoding) + b"".join(rows)
    batch = imported(beijing, content)
    assert batch.state == BatchState.SUCCEEDED, batch.failure_reason
    assert batch.rows_created == len(rows) and batch.rows_rejected == 0
    assert Invoice.objects.filter(seller_name=f"{char}1号有限公司").exists()


# --- the COPY lane ----------------------------------------------------------------------------------
def staged_through_lane(company, content: bytes) -> tuple[int | None, list[str]]:
    """Rows the lane read (None if it declined) and the buyer names it staged."""
    batch = ImportBatch.objects.create(
        company=company, kind=ImportKind.BACKUP, direction="issued", original_name="b.csv", size=len(content)
    )
    stage = Staging(model=Invoice, batch=batch, compared=COMPARED_FIELDS)
    stage.create()
    try:
        stream = io.BytesIO(content)
        layout = stage.lane_layout(stream)
        assert layout is not None, "the lane should take a plain CSV file"
        read = copy_lane.CopyLane(stage, layout).load(stream, lambda lines, offset: None)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT buyer_name FROM {stage.quoted_rows} ORDER BY row_no")
            names = [name for (name,) in cursor.fetchall()]
    finally:
        stage.drop()
    return read, names


@postgres_only
@pytest.mark.parametrize(
    ("boundary", "encoding", "char", "into"),
    [*cut_cases(parsers.SAMPLE_BYTES), *cut_cases(3000), *cut_cases(5000)],
)
def test_the_lane_takes_a_file_cut_inside_a_character_at_each_of_its_boundaries(
    beijing, monkeypatch, boundary, encoding, char, into
):
    """Boundaries: the 64 KB sample; with reads of 1,000 bytes and blocks of 3,000 and 5,000 bytes,
    a read and a block end at 3,000 and 5,000."""
    if boundary != parsers.SAMPLE_BYTES:
        monkeypatch.setattr(copy_lane, "READ_BYTES", 1000)
        monkeypatch.setattr(copy_lane, "COPY_BLOCK", boundary)
        monkeypatch.setattr(parsers, "SAMPLE_BYTES", boundary)  # the sample ends there too
    content, name = file_cut_at(boundary, encoding, char, into)
    read, names = staged_through_lane(beijing, content)
    assert read == content.count(b"\n") - 1
    assert names.count(name) == 1 and len(names) == read


@postgres_only
@pytest.mark.parametrize(("boundary", "encoding", "char", "into"), cut_cases(copy_lane.READ_BYTES)[::2])
def test_the_lane_takes_a_file_cut_inside_a_character_at_its_real_read_size(beijing, boundary, encoding, char, into):
    content, name = file_cut_at(boundary, encoding, char, into)
    read, names = staged_through_lane(beijing, content)
    assert read == content.count(b"\n") - 1 and names.count(name) == 1


@postgres_only
@pytest.mark.parametrize(("boundary", "encoding", "char", "into"), cut_cases(4000))
def test_the_pipelined_import_lands_a_file_cut_inside_a_character(
    beijing, monkeypatch, pipelined, boundary, encoding, char, into
):
    """The whole import as a big file takes it: the lane in a second connection, block by block."""
    monkeypatch.setattr(copy_lane, "COPY_BLOCK", boundary)
    monkeypatch.setattr(parsers, "SAMPLE_BYTES", boundary)
    content, name = file_cut_at(boundary, encoding, char, into, after=40)
    batch = imported(beijing, content)
    assert pipelined == [batch.pk]
    assert batch.state == BatchState.SUCCEEDED, batch.failure_reason
    assert batch.rows_created == content.count(b"\n") - 1 and batch.rows_rejected == 0
    assert Invoice.objects.filter(buyer_name=name).count() == 1
