"""Orders for the response tests."""

from __future__ import annotations

from decimal import Decimal

from invoices.models import Direction, Order
from tests.recovery.helpers import DAY

CUSTOMER = "91310000MA1FL5XK8U"


def order(company, number, *, day=DAY, amount="100.00", tax="13.00", party=CUSTOMER, invoice="", **extra):
    amount, tax = Decimal(amount), Decimal(tax)
    return Order.objects.create(
        company=company,
        direction=extra.pop("direction", Direction.ISSUED),
        order_number=number,
        order_date=day,
        counterparty_name=extra.pop("name", "上海明远贸易有限公司"),
        counterparty_tax_id=party,
        amount=amount,
        tax=tax,
        total=amount + tax,
        invoice_key=invoice,
        **extra,
    )
