"""Import files the invoices tests (and the reliability tests) share: a backup CSV as Excel saves it, and
rows for the COPY lane."""

SELLER = "91110108MA01B2C3D0"
BUYER = "91350100M000100Y43"
HEADER = (
    "发票代码,发票号码,开票日期,销方识别号,销方名称,购方识别号,购买方名称,金额,税额,价税合计,税率,发票票种,发票状态"
)


def csv_rows(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


GOOD = [
    f"'011002300111,'00000001,2026-11-18,{SELLER},北京华信,{BUYER},福州客户,\"1,000.00\",130.00,1130.00,13%,增值税专用发票,正常",
    f"011002300111,００００００02,2026/11/18,{SELLER},北京华信,{BUYER},福州客户,200.10,26.01,226.11,13%,增值税普通发票,作废",
]

# The COPY lane's files carry the 数电 number column as well.
LANE_HEADER = "发票代码,发票号码,数电发票号码,开票日期,销方识别号,销方名称,购方识别号,购买方名称,金额,税额,价税合计,税率,发票票种,发票状态"  # noqa: E501


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", newline: str = "\n") -> bytes:
    text = newline.join([LANE_HEADER, *(",".join(row) for row in rows)]) + newline
    return text.encode(encoding)


def usual_row(serial: int, **cells) -> list[str]:
    values = {
        "code": "",
        "number": "",
        "digital": f"2511200000000{serial:07d}",
        "date": "2025-03-01 09:30:00",
        "seller": SELLER,
        "seller_name": "北京华信科技有限公司",
        "buyer": BUYER,
        "buyer_name": "福州闽江贸易有限公司",
        "amount": "1000.00",
        "tax": "130.00",
        "total": "1130.00",
        "rate": "13%",
        "type": "数电票（增值税专用发票）",
        "status": "正常",
        **cells,
    }
    return list(values.values())
