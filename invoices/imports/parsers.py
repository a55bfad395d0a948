"""Parsers for invoice files: local backups (CSV, XLSX, e-invoice XML/OFD) and the platform's export.

Each parser streams the file and yields `(row_number, {field: raw value})`; validation is separate
(`validate_row`) so every format shares one set of rules and one set of messages.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from operator import itemgetter
from typing import BinaryIO
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from invoices import invoice_types
from invoices.keys import invoice_key, normalise_digits
from invoices.models import SELLER_ID_OPTIONAL_TYPES, TOTAL_MAY_EXCEED_TYPES, InvoiceStatus
from outage_portal.validators import is_digits, normalise_tax_id, validate_taxpayer_id


class FileRefused(Exception):
    """The file as a whole cannot be read (wrong format, encoding, no known columns)."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# Header names seen in backups and in the platform export (全量发票查询), Chinese and English.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "invoice_code": ("发票代码", "invoice code", "invoice_code", "code"),
    "invoice_number": ("发票号码", "invoice number", "invoice_number", "number", "invoice no"),
    "digital_number": (
        "数电发票号码", "数电票号码", "全电发票号码", "电子发票号码", "digital number", "digital_number",
    ),
    "issue_date": ("开票日期", "开票时间", "issue date", "issue_date", "date"),
    "seller_tax_id": (
        "销方识别号", "销售方识别号", "销售方纳税人识别号", "销方纳税人识别号", "销方税号", "销售方税号",
        "销售方统一社会信用代码/纳税人识别号", "销方统一社会信用代码/纳税人识别号", "seller tax id", "seller_tax_id",
    ),
    "seller_name": ("销方名称", "销售方名称", "seller name", "seller_name"),
    "buyer_tax_id": (
        "购方识别号", "购买方识别号", "购买方纳税人识别号", "购方纳税人识别号", "购方税号", "购买方税号",
        "购买方统一社会信用代码/纳税人识别号", "购方统一社会信用代码/纳税人识别号", "buyer tax id", "buyer_tax_id",
    ),
    "buyer_name": ("购买方名称", "购方名称", "buyer name", "buyer_name"),
    "amount": ("金额", "不含税金额", "合计金额", "金额合计", "amount"),
    "tax": ("税额", "合计税额", "税额合计", "tax"),
    "total": ("价税合计", "价税合计金额", "total"),
    "tax_rate": ("税率", "税率/征收率", "tax rate", "tax_rate"),
    "invoice_type": ("发票票种", "发票类型", "发票种类", "票种", "invoice type", "invoice_type", "type"),
    "status": ("发票状态", "status"),
}  # fmt: skip
_HEADER_NOISE = re.compile(r"[\s\ufeff*]+")  # spaces, a BOM, and the * tools put on required columns


def _header_key(cell) -> str:
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", str(cell or ""))).lower()


_HEADER_LOOKUP = {_header_key(alias): field for field, aliases in HEADER_ALIASES.items() for alias in aliases}

STATUS_ALIASES: dict[str, str] = {
    "正常": InvoiceStatus.NORMAL,
    "作废": InvoiceStatus.VOIDED,
    "已作废": InvoiceStatus.VOIDED,
    "红冲": InvoiceStatus.RED_LETTER,
    "已红冲": InvoiceStatus.RED_LETTER,
    "红字": InvoiceStatus.RED_LETTER,
    "全额红冲": InvoiceStatus.RED_LETTER,
    "": InvoiceStatus.NORMAL,
    # The portal's own English labels, so what its pages show imports back.
    "Normal": InvoiceStatus.NORMAL,
    "Voided": InvoiceStatus.VOIDED,
    "Red-letter": InvoiceStatus.RED_LETTER,
    **{choice.value: choice.value for choice in InvoiceStatus},
}
XLSX_EXPORT_SHEET = "发票基础信息"
XLSX_SUFFIXES = (".xlsx", ".xlsm")
HEADER_ROWS = 10  # the header may be anywhere in a file's first rows: exports put a title line above it


def map_header(cells: list) -> dict[int, str]:
    mapping = {}
    for index, cell in enumerate(cells):
        field = _HEADER_LOOKUP.get(_header_key(cell))
        if field and field not in mapping.values():
            mapping[index] = field
    return mapping


def header_names(cells: list, mapping: dict[int, str]) -> dict[str, str]:
    """{field: the header cell as the file wrote it}, for the report."""
    return {field: str(cells[index]).replace("\ufeff", "").strip()[:40] for index, field in mapping.items()}


def require_columns(mapping: dict[int, str]) -> None:
    fields = set(mapping.values())
    has_number = "invoice_number" in fields or "digital_number" in fields
    missing = [name for name in ("issue_date", "amount", "tax") if name not in fields]
    if not has_number or missing:
        raise FileRefused(
            _(
                "No invoice columns found: the file needs an invoice number (发票号码 or 数电发票号码), 开票日期, 金额 and 税额."  # noqa: E501
            )
        )


SAMPLE_BYTES = 65536  # what the encoding is judged on: enough rows to hold the file's Chinese text


def detect_encoding(stream: BinaryIO) -> str:
    """The file's encoding (Python's name for it), judged on whole characters; the stream is left at 0.

    Samples are decoded incrementally, so a character that a sample's last byte cuts in two (a UTF-8
    character of two to four bytes, a GBK one of two, a GB18030 one of four) waits for the next
    sample rather than passing for a wrong byte. UTF-8 is chosen once it has read a character beyond
    ASCII without error; GB18030 (a superset of GBK, what Excel saves in China) when UTF-8 has failed.
    Until a sample decides, the next is read: a file may be plain ASCII for its first rows."""
    stream.seek(0)
    try:
        first = stream.read(SAMPLE_BYTES)
        if first.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        decoders = {name: codecs.getincrementaldecoder(name)() for name in ("utf-8", "gb18030")}
        sample = first
        while True:
            at_end = len(sample) < SAMPLE_BYTES or not (following := stream.read(SAMPLE_BYTES))
            read_beyond_ascii = {}
            for name in list(decoders):
                try:
                    read_beyond_ascii[name] = not decoders[name].decode(sample, final=at_end).isascii()
                except UnicodeDecodeError:
                    del decoders[name]
            if not decoders:
                raise FileRefused(
                    _("The file is neither UTF-8 nor GBK/GB18030 text; save it as CSV (UTF-8) and try again.")
                )
            # UTF-8 first, while it stands: GB18030 reads almost any bytes, UTF-8 only its own.
            if "utf-8" not in decoders:
                return "gb18030"
            if read_beyond_ascii["utf-8"] or at_end:
                return "utf-8"
            sample = following
    finally:
        stream.seek(0)


def is_blank(cells: list[str]) -> bool:
    """A CSV row with nothing in it, or only whitespace in every cell: skipped, not reported."""
    return not "".join(cells).strip()


def is_blank_xlsx(cells) -> bool:
    """A spreadsheet row without a value in any cell: skipped, not reported."""
    return not any(c not in (None, "") for c in cells)


def csv_text(stream: BinaryIO) -> io.TextIOWrapper:
    """The CSV file as text in its encoding (`detect_encoding`), line ends left to the csv module.
    Detach it when done: closing it would close the stream."""
    return io.TextIOWrapper(stream, encoding=detect_encoding(stream), newline="")


def is_xlsx(head: bytes, name: str) -> bool:
    """Whether a file is a spreadsheet, by its first bytes and its name (lower case): a zip archive
    named .xlsx or .xlsm. A file so named that is no zip archive is refused."""
    if not name.endswith(XLSX_SUFFIXES):
        return False
    if not head.startswith(b"PK"):
        raise FileRefused(_("The file is named .xlsx but is not a spreadsheet."))
    return True


def iter_csv(stream: io.BufferedIOBase, headers: dict | None = None) -> Iterator[tuple[int, dict]]:
    """Rows of a CSV file; `headers`, if given, is filled with the file's header of each field."""
    text = csv_text(stream)
    try:
        reader = csv.reader(text)
        mapping: dict[int, str] = {}
        for line_number, cells in enumerate(reader, start=1):
            if not mapping:
                mapping = map_header(cells)
                if mapping:
                    require_columns(mapping)
                    if headers is not None:
                        headers.update(header_names(cells, mapping))
                    fields, pick, width = tuple(mapping.values()), itemgetter(*mapping), max(mapping) + 1
                elif line_number >= HEADER_ROWS:
                    break
                continue
            if is_blank(cells):
                continue
            if len(cells) >= width and len(fields) > 1:
                yield line_number, dict(zip(fields, pick(cells), strict=True))
            else:
                yield line_number, {field: cells[i] if i < len(cells) else "" for i, field in mapping.items()}
        if not mapping:
            require_columns({})
    except UnicodeDecodeError:
        raise FileRefused(_("The file changes encoding part-way through; save it again as CSV (UTF-8)."))
    except csv.Error as exc:
        raise FileRefused(_("The CSV file is malformed: %(error)s") % {"error": exc})
    finally:
        text.detach()


def open_xlsx(stream: io.BufferedIOBase):
    """A read-only workbook, or FileRefused: not a spreadsheet, or one that expands past the cap."""
    from openpyxl import load_workbook

    try:
        # Checked from the zip's directory before openpyxl inflates anything: a small XLSX can expand
        # to gigabytes (a zip bomb), and openpyxl holds its shared strings in memory.
        with zipfile.ZipFile(stream) as archive:
            if sum(info.file_size for info in archive.infolist()) > settings.XLSX_MAX_EXPANDED_BYTES:
                raise FileRefused(
                    _("The spreadsheet expands to more than %(mb)d MB when opened and is refused; save it as CSV.")
                    % {"mb": settings.XLSX_MAX_EXPANDED_BYTES // (1024 * 1024)}
                )
        stream.seek(0)
        return load_workbook(stream, read_only=True, data_only=True)
    except FileRefused:
        raise
    except Exception:
        raise FileRefused(_("The file is not a readable XLSX spreadsheet."))


def iter_xlsx(stream: io.BufferedIOBase, headers: dict | None = None) -> Iterator[tuple[int, dict]]:
    workbook = open_xlsx(stream)
    try:
        yield from _xlsx_rows(workbook, {} if headers is None else headers)
    except FileRefused:
        raise
    except Exception:
        # openpyxl reads a sheet lazily: a damaged sheet part fails here, mid-iteration, with any error.
        raise FileRefused(_("The spreadsheet is damaged: a sheet cannot be read."))
    finally:
        workbook.close()


def _xlsx_rows(workbook, headers: dict) -> Iterator[tuple[int, dict]]:
    sheet = workbook[XLSX_EXPORT_SHEET] if XLSX_EXPORT_SHEET in workbook.sheetnames else workbook.worksheets[0]
    mapping: dict[int, str] = {}
    for row_number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        if not mapping:
            mapping = map_header(list(cells))
            if mapping:
                require_columns(mapping)
                headers.update(header_names(list(cells), mapping))
            elif row_number >= HEADER_ROWS:
                break
            continue
        if is_blank_xlsx(cells):
            continue
        yield row_number, {field: cells[i] if i < len(cells) else None for i, field in mapping.items()}
    if not mapping:
        require_columns({})


def iter_rows(stream: io.BufferedIOBase, filename: str) -> Iterator[tuple[int, dict]]:
    return reader_for(stream, filename)(stream)


def reader_for(stream: io.BufferedIOBase, filename: str) -> Callable[[io.BufferedIOBase], Iterator[tuple[int, dict]]]:
    """The parser for this file, judged by its first bytes and its name."""
    from invoices.imports import einvoice_files

    head = stream.read(64)
    stream.seek(0)
    name = filename.lower()
    if is_xlsx(head, name):
        return iter_xlsx
    if head.startswith(b"PK"):
        if name.endswith(".ofd"):
            return einvoice_files.iter_ofd
        raise FileRefused(_("This is a zip archive, not a CSV, XLSX or OFD file."))
    if name.endswith(".ofd"):
        raise FileRefused(_("The file is named .ofd but is not an OFD (zip) archive."))
    if name.endswith(".xml") or head.lstrip(codecs.BOM_UTF8).lstrip().startswith(b"<"):
        return einvoice_files.iter_xml
    return iter_csv


# --- Validation ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


_CENT = Decimal("0.01")
# Full-width digits, point and minus from Chinese input methods folded; currency signs, thousands
# separators, Excel's apostrophe and spaces dropped.
_MONEY_FOLD = {
    **{ord(ch): ord(ch) - 0xFEE0 for ch in "０１２３４５６７８９．－"},
    **{ord(ch): None for ch in "¥￥,，'‘’ \t\u3000"},
}
MAX_AMOUNT = Decimal(10) ** 14  # 16 digits with 2 decimals
_PLAIN_MONEY = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def parse_money(value) -> Decimal:
    """Exact cents. Spreadsheet floats (0.1 + 0.2 style) are rounded through their shortest repr."""
    if type(value) is str and _PLAIN_MONEY.fullmatch(value):
        text = value  # the usual cell, "1234.56": nothing to fold
    else:
        if isinstance(value, float):
            value = repr(value)
        # Not normalise_digits: that drops "-", and red-letter invoices carry negative amounts.
        text = (
            str(value).translate(_MONEY_FOLD).strip() if value is not None and not isinstance(value, Decimal) else value
        )
    if text in ("", None):
        raise ValidationError(_("missing amount"))
    try:
        amount = Decimal(text).quantize(_CENT, rounding=ROUND_HALF_UP)
    except (ArithmeticError, ValueError):  # InvalidOperation, and Overflow for exponents like 1e999999999
        raise ValidationError(_("“%(value)s” is not an amount") % {"value": value})
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:  # NaN, or beyond what the column holds
        raise ValidationError(_("“%(value)s” is not a plausible amount") % {"value": value})
    return amount


def parse_date(value) -> date:
    parsed = _parse_date(value)
    if not 1990 <= parsed.year <= 2100:  # also keeps time-zone arithmetic away from year 1 and 9999
        raise ValidationError(_("“%(value)s” is not a plausible issue date") % {"value": value})
    return parsed


def _parse_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":  # the usual ISO form: C-speed, no strptime
        try:
            return date.fromisoformat(text[:10]) if len(text) == 10 else datetime.fromisoformat(text).date()
        except ValueError:
            pass
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValidationError(_("“%(value)s” is not a date (use YYYY-MM-DD)") % {"value": text})


SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_issue_time(value) -> datetime | None:
    """The issue time when the cell carries one (the platform export does), in Asia/Shanghai."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    text = str(value or "").strip()
    if len(text) == 10:
        return None  # a date alone
    if len(text) == 19 and text[4] == "-" and text[10] in " T":
        try:
            return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
        except ValueError:
            pass
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=SHANGHAI)
        except ValueError:
            continue
    return None


_TAX_ID_CACHE: dict[str, tuple[str, ValidationError | None]] = {}


def clean_tax_id(raw, *, required: bool) -> tuple[str, str]:
    """(normalised tax ID, problem or ""). Memoised: a backup repeats the same few hundred parties
    on a million rows, and the checksum is the costliest check per row. The error is kept, not its
    text, so the message still comes out in the language active when it is shown."""
    text = str(raw or "")
    known = _TAX_ID_CACHE.get(text)
    if known is None:
        tax_id, problem = normalise_tax_id(text), None
        if tax_id:
            try:
                validate_taxpayer_id(tax_id)
            except ValidationError as exc:
                problem = exc
        if len(_TAX_ID_CACHE) > 20000:
            _TAX_ID_CACHE.clear()
        known = _TAX_ID_CACHE[text] = (tax_id, problem)
    if known[1] is not None:
        return known[0], known[1].messages[0]
    if required and not known[0]:
        return "", str(_("missing seller tax ID"))
    return known[0], ""


_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")
_RESIDENT_ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]


def is_resident_id(text: str) -> bool:
    """A mainland resident identity card number (18 characters, ISO 7064 MOD 11-2 check character)."""
    if not _RESIDENT_ID.fullmatch(text):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(text[:17], _RESIDENT_ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == text[17]


def clean_buyer_id(raw) -> tuple[str, str]:
    """(buyer's ID, problem or ""): a taxpayer ID, or the identity card number of a person who
    bought (invoices to individuals, cars above all, carry it in the buyer's ID column)."""
    buyer, problem = clean_tax_id(raw, required=False)
    if problem and is_resident_id(buyer):
        return buyer, ""
    return buyer, problem


def clean_name(raw) -> str:
    # NUL never belongs in a name, and PostgreSQL refuses it in text.
    return str(raw or "").replace("\x00", "").strip()[:200]


# A file uses a handful of rates ("13%", "6%"); only good ones are kept, an error is worded each time.
_RATE_CACHE: dict[str, Decimal] = {}
_NO_RATE = ("免税", "不征税", "***", "多税率")
_SEVERAL_RATES = re.compile(r"%.*[0-9]|[、,，;；/]")
# Tax cells of an invoice without VAT (不征税 toll invoices, exempt sales) as exports print them.
NO_TAX_MARKS = frozenset({"*", "**", "***", "****", "--", "—", "——", "不征税", "免税"})


def clean_tax_rate(raw) -> tuple[Decimal | None, str]:
    """(rate as a fraction, problem or ""): "13%", "13" and "0.13" are all 0.1300; exempt is None."""
    rate = str(raw or "").strip().rstrip("%")
    if not rate or rate in _NO_RATE or rate in NO_TAX_MARKS or _SEVERAL_RATES.search(rate):
        return None, ""  # none, or lines at several rates ("13%、6%", 多税率): no one rate for the invoice
    known = _RATE_CACHE.get(rate)
    if known is not None:
        return known, ""
    try:
        number = Decimal(rate)
        number = (number / 100 if number >= 1 else number).quantize(Decimal("0.0001"))
        if not (number.is_finite() and 0 <= number < 1):
            raise InvalidOperation
    except ArithmeticError:  # InvalidOperation, and Overflow for exponents like 1e999999999
        return None, str(_("“%(value)s” is not a tax rate") % {"value": rate})
    if len(_RATE_CACHE) < 1000:
        _RATE_CACHE[rate] = number
    return number, ""


_TYPE_CACHE: dict[str, str] = {}  # a file holds a handful of labels; each is normalised once


def clean_invoice_type(raw, *, default_type: str) -> tuple[str | None, str]:
    """(type, problem or ""): any label or code the platform, its older names or common tools use."""
    text = str(raw or "").strip()
    if not text:
        return default_type, ""
    value = _TYPE_CACHE.get(text)
    if value is None:
        value = invoice_types.lookup(text)
        if value is None:
            return None, invoice_types.unknown_type_message(text)
        if len(_TYPE_CACHE) < 1000:
            _TYPE_CACHE[text] = value
    return value, ""


_STATUS_NOISE = re.compile(r"[\s()（）\-－—_:：,，、]+")


def clean_status(raw) -> tuple[str | None, str]:
    """(status, problem or ""). The platform writes a red-letter invoice's status with how much was
    reversed ("已红冲-部分", "已红冲-全额"): whichever, it was red-lettered."""
    text = str(raw or "").strip()
    value = STATUS_ALIASES.get(text)
    if value is None:
        folded = _STATUS_NOISE.sub("", text)
        if "作废" in folded:
            value = InvoiceStatus.VOIDED
        elif any(word in folded for word in ("红冲", "冲红", "红字")):
            value = InvoiceStatus.RED_LETTER
        else:
            value = STATUS_ALIASES.get(folded)
    if value is None:
        return None, str(_("unknown invoice status “%(value)s”") % {"value": text})
    return value, ""


def _plain_issue_time(value) -> datetime | None:
    """The usual ISO cell, "2025-03-01 09:30:00", parsed once for both the date and the time.

    None for anything else (or an implausible year): then parse_date and parse_issue_time decide,
    with their messages. Where this answers, it answers exactly what they would."""
    if type(value) is not str:
        return None
    text = value.strip()
    if len(text) != 19 or text[4] != "-" or text[7] != "-" or text[10] not in " T":
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if 1990 <= parsed.year <= 2100 else None


def validate_row(row_number: int, raw: dict, *, default_type: str) -> tuple[dict | None, list[RowError]]:
    """One raw row → the field values of an invoice, or the reasons it is rejected."""
    errors: list[RowError] = []

    def fail(column: str, reason) -> None:
        errors.append(RowError(row_number, column, str(reason)))

    for name in ("invoice_code", "invoice_number", "digital_number"):
        cell = raw.get(name)
        if cell and str(cell).strip() == "-":
            return None, []  # the export's summary rows carry "-" in the number columns
    code = normalise_digits(raw.get("invoice_code"))
    number = normalise_digits(raw.get("invoice_number"))
    digital = normalise_digits(raw.get("digital_number"))
    if digital and (len(digital) != 20 or not is_digits(digital)):
        fail("digital_number", _("a 数电 invoice number has 20 digits"))
    if code and (len(code) not in (10, 12) or not is_digits(code)):
        fail("invoice_code", _("an invoice code has 10 or 12 digits"))
    if number and not is_digits(number):
        fail("invoice_number", _("an invoice number has only digits"))
    elif len(number) > 20:
        fail("invoice_number", _("an invoice number has at most 20 digits"))
    elif number and code and len(number) != 8:
        fail("invoice_number", _("an invoice number has 8 digits"))
    key = invoice_key(code=code, number=number, digital_number=digital)
    if not key:
        fail("invoice_number", _("no invoice number"))
    values: dict = {
        "invoice_key": key,
        "invoice_code": code,
        "invoice_number": number,
        "digital_number": digital or (number if len(number) == 20 and not code else ""),
        "seller_name": clean_name(raw.get("seller_name")),
        "buyer_name": clean_name(raw.get("buyer_name")),
    }
    issued = _plain_issue_time(raw.get("issue_date"))
    if issued is not None:
        values["issue_date"], values["issued_at"] = issued.date(), issued.replace(tzinfo=SHANGHAI)
    else:
        try:
            values["issue_date"] = parse_date(raw.get("issue_date"))
        except ValidationError as exc:
            fail("issue_date", exc.messages[0])
        values["issued_at"] = parse_issue_time(raw.get("issue_date"))
    kind, kind_problem = clean_invoice_type(raw.get("invoice_type"), default_type=default_type)
    values["seller_tax_id"], problem = clean_tax_id(
        raw.get("seller_tax_id"), required=kind not in SELLER_ID_OPTIONAL_TYPES
    )
    if problem:
        fail("seller_tax_id", problem)
    values["buyer_tax_id"], problem = clean_buyer_id(raw.get("buyer_tax_id"))
    if problem:
        fail("buyer_tax_id", problem)
    for field in ("amount", "tax"):
        try:
            values[field] = parse_money(raw.get(field))
        except ValidationError as exc:
            if field == "tax" and str(raw.get(field)).strip() in NO_TAX_MARKS:
                values[field] = Decimal("0.00")  # 不征税 / 免税: the platform prints stars for the tax
            else:
                fail(field, exc.messages[0])
    if "amount" in values and "tax" in values:
        computed = values["amount"] + values["tax"]
        if abs(computed) >= MAX_AMOUNT:  # each fits the column, their sum need not
            fail("total", _("“%(value)s” is not a plausible amount") % {"value": computed})
        elif raw.get("total") not in (None, ""):
            try:
                total = parse_money(raw.get("total"))
            except ValidationError as exc:
                fail("total", exc.messages[0])
            else:
                # An itinerary's total adds charges that bear no VAT (the development fund): what is
                # stored is its VAT part, amount + tax, as for every invoice.
                beyond_vat = kind in TOTAL_MAY_EXCEED_TYPES and abs(total) > abs(computed)
                if total != computed and not beyond_vat:
                    fail(
                        "total", _("total %(total)s is not amount + tax (%(sum)s)") % {"total": total, "sum": computed}
                    )
        values["total"] = computed
    for field, (value, problem) in (
        ("tax_rate", clean_tax_rate(raw.get("tax_rate"))),
        ("invoice_type", (kind, kind_problem)),
        ("status", clean_status(raw.get("status"))),
    ):
        values[field] = value
        if problem:
            fail(field, problem)
    return (None, errors) if errors else (values, [])
