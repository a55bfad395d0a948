"""E-invoice files as the tax platform hands them out: 数电 XML, 数电 OFD, older VAT OFD.

One file is one invoice, so each parser yields a single `(1, {field: raw value})` row that goes
through the same `validate_row` as CSV and XLSX rows. OFD files are zips: only the one XML member
that carries the invoice data is read, with a size cap, never extracted to disk (so member names
like `../../etc/passwd` cannot matter), and XML is parsed with defusedxml (no DTDs, no entities).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from django.utils.translation import gettext_lazy as _

from invoices import invoice_types
from invoices.imports.parsers import FileRefused  # parsers imports this module only when a file needs it

MAX_XML_BYTES = 5 * 1024 * 1024  # an invoice XML is a few KB; anything near this is not one
MAX_OFD_MEMBERS = 2000
MAX_OFD_BYTES = 50 * 1024 * 1024  # sum of declared member sizes (fonts and seals included)
OLD_VAT_NAMESPACE = "http://www.edrm.org.cn/schema/e-invoice/2019"
OLD_VAT_MEMBER = "Doc_0/Attachs/original_invoice.xml"


def _parse_xml(data: bytes) -> Element:
    if len(data) > MAX_XML_BYTES:
        raise FileRefused(_("The XML is larger than 5 MB; an e-invoice is a few KB."))
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception:
        # ParseError, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden, ValueError on odd
        # encodings: to the person uploading, all the same thing.
        raise FileRefused(_("The file is not well-formed XML (or uses DTDs or entities, which are refused)."))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: Element | None, path: str) -> Element | None:
    """Find by local names along a slash path, whatever the namespaces."""
    for part in path.split("/"):
        if element is None:
            return None
        element = next((child for child in element if _local(child.tag) == part), None)
    return element


def _text(element: Element | None, path: str) -> str:
    found = _find(element, path)
    return (found.text or "").strip() if found is not None else ""


def _sum_money(first: str, second: str) -> str:
    try:
        return str(Decimal(first) + Decimal(second))
    except (InvalidOperation, ValueError):
        return ""


def _digital_type(root: Element) -> str:
    """数电 XML names its kind in a label (`…/LabelName`); 专用 means the special invoice."""
    names = [(el.text or "").strip() for el in root.iter() if _local(el.tag) in ("LabelName", "InvoiceType")]
    for name in names:  # 增值税专用发票 here is the 数电 one; 铁路电子客票 the 数电 railway e-ticket
        if name and (known := invoice_types.lookup(f"数电（{name}）")) is not None:
            return known
    labels = " ".join(names)
    if "专用" in labels:
        return "digital_special"
    if "普通" in labels:
        return "digital_ordinary"
    return ""


def einvoice_xml_row(root: Element) -> dict:
    """数电 e-invoice XML (root `EInvoice`) → raw row."""
    data = _find(root, "EInvoiceData")
    basic = _find(data, "BasicInformation")
    supervision = _find(root, "TaxSupervisionInfo")
    number = _text(_find(root, "Header"), "EIid") or _text(supervision, "InvoiceNumber")
    issued = _text(supervision, "IssueTime") or _text(basic, "RequestTime")
    return {
        "digital_number": number,
        "issue_date": issued.replace("T", " "),
        "seller_tax_id": _text(data, "SellerInformation/SellerIdNum"),
        "seller_name": _text(data, "SellerInformation/SellerName"),
        "buyer_tax_id": _text(data, "BuyerInformation/BuyerIdNum"),
        "buyer_name": _text(data, "BuyerInformation/BuyerName"),
        "amount": _text(basic, "TotalAmWithoutTax"),
        "tax": _text(basic, "TotalTaxAm"),
        "total": _text(basic, "TotalTax-includedAmount"),
        "invoice_type": _digital_type(root),
    }


def old_vat_xml_row(root: Element) -> dict:
    """Older VAT e-invoice (`eInvoice` in the edrm namespace) → raw row."""
    return {
        "invoice_code": _text(root, "InvoiceCode"),
        "invoice_number": _text(root, "InvoiceNo"),
        "issue_date": _text(root, "IssueDate"),
        "seller_tax_id": _text(root, "Seller/SellerTaxID"),
        "seller_name": _text(root, "Seller/SellerName"),
        "buyer_tax_id": _text(root, "Buyer/BuyerTaxID"),
        "buyer_name": _text(root, "Buyer/BuyerName"),
        "amount": _text(root, "TaxExclusiveTotalAmount"),
        "tax": _text(root, "TaxTotalAmount"),
        "total": _text(root, "TaxInclusiveTotalAmount"),
        "invoice_type": _text(root, "InvoiceType") or "e_ordinary",
    }


OFD_CUSTOM_DATA = {
    "发票号码": "digital_number",
    "发票代码": "invoice_code",
    "开票日期": "issue_date",
    "合计金额": "amount",
    "合计税额": "tax",
    "价税合计": "total",
    "购买方纳税人识别号": "buyer_tax_id",
    "购买方名称": "buyer_name",
    "销售方纳税人识别号": "seller_tax_id",
    "销售方名称": "seller_name",
}


def digital_ofd_row(root: Element) -> dict | None:
    """数电 OFD: `OFD.xml` → DocBody/DocInfo/CustomDatas/CustomData[@Name]; None when it has none."""
    custom = _find(root, "DocBody/DocInfo/CustomDatas")
    if custom is None:
        return None
    row: dict = {}
    for item in custom:
        field = OFD_CUSTOM_DATA.get((item.get("Name") or "").strip())
        if field:
            row[field] = (item.text or "").strip()
    if not row:
        return None
    number = row.get("digital_number", "")
    if row.get("invoice_code") or len(number) != 20:  # a VAT OFD may carry a 发票号码 of 8 digits alongside a 发票代码
        row["invoice_number"] = row.pop("digital_number", "")
    if not row.get("total"):  # often absent: the platform leaves it for the reader to add up
        row["total"] = _sum_money(row.get("amount", ""), row.get("tax", ""))
    return row


def iter_xml(stream: io.BufferedIOBase) -> Iterator[tuple[int, dict]]:
    root = _parse_xml(stream.read(MAX_XML_BYTES + 1))
    name = _local(root.tag)
    if name == "EInvoice":
        yield 1, einvoice_xml_row(root)
    elif name == "eInvoice":
        yield 1, old_vat_xml_row(root)
    else:
        raise FileRefused(_("This XML is not an e-invoice (expected an EInvoice or eInvoice root element)."))


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    with archive.open(name) as member:  # read at most the cap, whatever the header claims
        data = member.read(MAX_XML_BYTES + 1)
    if len(data) > MAX_XML_BYTES:
        raise FileRefused(_("The OFD's invoice data is larger than 5 MB and is refused."))
    return data


def iter_ofd(stream: io.BufferedIOBase) -> Iterator[tuple[int, dict]]:
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
            if len(members) > MAX_OFD_MEMBERS or sum(m.file_size for m in members) > MAX_OFD_BYTES:
                raise FileRefused(_("The OFD file expands to more than 50 MB and is refused."))
            names = {m.filename.replace("\\", "/").lstrip("/"): m.filename for m in members}
            row = None
            if "OFD.xml" in names:
                row = digital_ofd_row(_parse_xml(_read_member(archive, names["OFD.xml"])))
            if row is None and OLD_VAT_MEMBER in names:
                root = _parse_xml(_read_member(archive, names[OLD_VAT_MEMBER]))
                if _local(root.tag) != "eInvoice":
                    raise FileRefused(_("The OFD's original_invoice.xml is not an e-invoice."))
                row = old_vat_xml_row(root)
    except FileRefused:
        raise
    except Exception:
        # BadZipFile, encrypted members (RuntimeError), unknown compression (NotImplementedError),
        # truncated deflate streams (zlib.error, EOFError), corrupt headers (ValueError, OverflowError).
        raise FileRefused(_("The file is not a readable OFD (zip) archive."))
    if row is None:
        raise FileRefused(
            _("No invoice data in this OFD: neither OFD.xml custom data nor Doc_0/Attachs/original_invoice.xml.")
        )
    yield 1, row
