"""Small realistic e-invoice and backup files, as the tax platform and Excel hand them out.

`python -m tests.invoices.einvoices` rewrites the copies kept in tests/invoices/data/; tests read those files,
and the builders are importable for tests that need variations.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SELLER = ("91110108MA01B2C3D0", "北京华信科技有限公司")
BUYER = ("91350100M000100Y43", "福州闽江贸易有限公司")
ZIP_TIME = (2025, 1, 6, 10, 15, 0)  # fixed, so rebuilding gives the same bytes

DIGITAL_NUMBER = "25112000000000012345"
OFD_NUMBER = "25112000000000067890"
VAT_CODE, VAT_NUMBER = "011002400111", "00012345"


def einvoice_xml(number: str = DIGITAL_NUMBER, *, amount="1000.00", tax="130.00", total="1130.00") -> bytes:
    """A 数电 e-invoice XML (root EInvoice), one line item."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<EInvoice>
  <Header>
    <EIid>{number}</EIid>
    <EInvoiceTag>SWEI1100</EInvoiceTag>
    <Version>0.1</Version>
    <InherentLabel>
      <EInvoiceType><LabelCode>01</LabelCode><LabelName>增值税专用发票</LabelName></EInvoiceType>
    </InherentLabel>
  </Header>
  <EInvoiceData>
    <SellerInformation>
      <SellerIdNum>{SELLER[0]}</SellerIdNum>
      <SellerName>{SELLER[1]}</SellerName>
      <SellerAddr>北京市海淀区中关村大街1号</SellerAddr>
    </SellerInformation>
    <BuyerInformation>
      <BuyerIdNum>{BUYER[0]}</BuyerIdNum>
      <BuyerName>{BUYER[1]}</BuyerName>
    </BuyerInformation>
    <BasicInformation>
      <TotalAmWithoutTax>{amount}</TotalAmWithoutTax>
      <TotalTaxAm>{tax}</TotalTaxAm>
      <TotalTax-includedAmount>{total}</TotalTax-includedAmount>
      <TotalTax-includedAmountInChinese>壹仟壹佰叁拾圆整</TotalTax-includedAmountInChinese>
      <Drawer>李强</Drawer>
      <RequestTime>2025-01-06 10:15:00</RequestTime>
    </BasicInformation>
    <IssuItemInformation>
      <ItemName>*信息技术服务*软件维护费</ItemName>
      <Quantity>1</Quantity>
      <UnPrice>{amount}</UnPrice>
      <Amount>{amount}</Amount>
      <TaxRate>0.13</TaxRate>
      <ComTaxAm>{tax}</ComTaxAm>
    </IssuItemInformation>
  </EInvoiceData>
  <TaxSupervisionInfo>
    <InvoiceNumber>{number}</InvoiceNumber>
    <IssueTime>2025-01-06 10:15:00</IssueTime>
    <TaxBureauCode>11100000000</TaxBureauCode>
    <TaxBureauName>国家税务总局北京市税务局</TaxBureauName>
  </TaxSupervisionInfo>
</EInvoice>
""".encode()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIME), data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


_OFD_PAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData><ofd:MaxUnitID>10</ofd:MaxUnitID>
<ofd:PageArea><ofd:PhysicalBox>0 0 210 140</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData>
<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>"""


def digital_ofd(number: str = OFD_NUMBER, *, amount="200.10", tax="26.01", with_total: bool = False) -> bytes:
    """A 数电 OFD: the invoice data is in OFD.xml's CustomDatas (价税合计 usually absent)."""
    total = f'\n        <ofd:CustomData Name="价税合计">{amount}</ofd:CustomData>' if with_total else ""
    ofd_xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.1" DocType="OFD">
  <ofd:DocBody>
    <ofd:DocInfo>
      <ofd:DocID>6b3a7c1e2f0d4a9b8c7d6e5f4a3b2c1d</ofd:DocID>
      <ofd:Title>电子发票（增值税专用发票）</ofd:Title>
      <ofd:Author>国家税务总局</ofd:Author>
      <ofd:CreationDate>2025-01-06</ofd:CreationDate>
      <ofd:CustomDatas>
        <ofd:CustomData Name="发票号码">{number}</ofd:CustomData>
        <ofd:CustomData Name="合计金额">{amount}</ofd:CustomData>
        <ofd:CustomData Name="合计税额">{tax}</ofd:CustomData>{total}
        <ofd:CustomData Name="开票日期">2025年01月06日</ofd:CustomData>
        <ofd:CustomData Name="购买方纳税人识别号">{BUYER[0]}</ofd:CustomData>
        <ofd:CustomData Name="销售方纳税人识别号">{SELLER[0]}</ofd:CustomData>
      </ofd:CustomDatas>
    </ofd:DocInfo>
    <ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>
  </ofd:DocBody>
</ofd:OFD>""".encode()
    return _zip({"OFD.xml": ofd_xml, "Doc_0/Document.xml": _OFD_PAGE, "Doc_0/Pages/Page_0/Content.xml": b"<x/>"})


def vat_ofd(code: str = VAT_CODE, number: str = VAT_NUMBER) -> bytes:
    """An older VAT e-ordinary invoice OFD: the data is Doc_0/Attachs/original_invoice.xml (namespaced)."""
    ofd_xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo>
<ofd:DocID>0f1e2d3c4b5a69788796a5b4c3d2e1f0</ofd:DocID></ofd:DocInfo>
<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"""
    original = f"""<?xml version="1.0" encoding="UTF-8"?>
<eInvoice xmlns="http://www.edrm.org.cn/schema/e-invoice/2019" Version="1.0">
  <InvoiceCode>{code}</InvoiceCode>
  <InvoiceNo>{number}</InvoiceNo>
  <IssueDate>20240618</IssueDate>
  <InvoiceCheckCode>12345678901234567890</InvoiceCheckCode>
  <Buyer><BuyerName>{BUYER[1]}</BuyerName><BuyerTaxID>{BUYER[0]}</BuyerTaxID></Buyer>
  <Seller><SellerName>{SELLER[1]}</SellerName><SellerTaxID>{SELLER[0]}</SellerTaxID></Seller>
  <TaxExclusiveTotalAmount>88.50</TaxExclusiveTotalAmount>
  <TaxTotalAmount>11.50</TaxTotalAmount>
  <TaxInclusiveTotalAmount>100.00</TaxInclusiveTotalAmount>
</eInvoice>""".encode()
    return _zip({"OFD.xml": ofd_xml, "Doc_0/Document.xml": _OFD_PAGE, "Doc_0/Attachs/original_invoice.xml": original})


BACKUP_HEADER = "发票代码,发票号码,数电发票号码,开票日期,销方识别号,销方名称,购方识别号,购买方名称,金额,税额,价税合计,税率,发票票种,发票状态"  # noqa: E501
BACKUP_ROWS = [
    f"'011002400111,'00020001,,2025-01-06,{SELLER[0]},{SELLER[1]},{BUYER[0]},{BUYER[1]},\"1,000.00\",130.00,1130.00,13%,增值税专用发票,正常",
    f",,25112000000000020002,2025/01/07,{SELLER[0]},{SELLER[1]},{BUYER[0]},{BUYER[1]},500.00,30.00,530.00,6%,数电票（普通发票）,正常",
    "合计,-,-,,,,,,1500.00,160.00,1660.00,,,",
]


def backup_csv(encoding: str) -> bytes:
    text = "\r\n".join([BACKUP_HEADER, *BACKUP_ROWS]) + "\r\n"  # Excel writes CRLF
    return ("\ufeff" + text).encode("utf-8") if encoding == "utf-8-sig" else text.encode(encoding)


def platform_export_xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "发票基础信息"
    sheet.append(["序号", "发票代码", "发票号码", "数电发票号码", "销方识别号", "销方名称", "购方识别号", "购买方名称",
                  "开票日期", "金额", "税额", "价税合计", "发票来源", "发票票种", "发票状态", "是否正数发票",
                  "发票风险等级", "开票人", "备注"])  # fmt: skip
    sheet.append([1, None, None, "25112000000000030003", SELLER[0], SELLER[1], BUYER[0], BUYER[1],
                  "2025-01-08 09:30:00", 0.1 + 0.2, 0.04, 0.34, "电子发票服务平台", "数电票（增值税专用发票）", "正常",
                  "是", "正常", "李强", ""])  # fmt: skip
    sheet.append(["合计", "-", "-", "-", None, None, None, None, None, 0.3, 0.04, 0.34] + [None] * 7)
    workbook.create_sheet("信息汇总表")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


FILES = {
    "backup-gbk.csv": lambda: backup_csv("gbk"),
    "backup-utf8-bom.csv": lambda: backup_csv("utf-8-sig"),
    "platform-export.xlsx": platform_export_xlsx,
    "digital-invoice.xml": einvoice_xml,
    "digital-invoice.ofd": digital_ofd,
    "vat-e-invoice.ofd": vat_ofd,
}
# What each kept file imports as: (invoice keys, rows read).
EXPECTED_KEYS = {
    "backup-gbk.csv": {"01100240011100020001", "25112000000000020002"},
    "backup-utf8-bom.csv": {"01100240011100020001", "25112000000000020002"},
    "platform-export.xlsx": {"25112000000000030003"},
    "digital-invoice.xml": {DIGITAL_NUMBER},
    "digital-invoice.ofd": {OFD_NUMBER},
    "vat-e-invoice.ofd": {VAT_CODE + VAT_NUMBER},
}


def write_all(directory: Path = DATA) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, build in FILES.items():
        (directory / name).write_bytes(build())


if __name__ == "__main__":
    write_all()
